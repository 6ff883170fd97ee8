// Test helpers for the ext4 builder: build a tree into a temporary image and
// ask e2fsprogs about it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import { FileTree, sortedChildren, type DirNode, type TreeNode } from '../../src/tree/tree.js';
import type { Source } from '../../src/io/source.js';
import { planExt4, type Ext4Options } from '../../src/ext4/build.js';
import { FileSink } from '../../src/node/file-sink.js';
import { MemorySink } from '../../src/io/memory-sink.js';
import { run } from '../helpers/oracle.js';

export async function buildImage(tree: FileTree, file: string, options: Ext4Options): Promise<void> {
  const plan = planExt4(tree, options);
  const sink = new FileSink(file);
  await plan.emit(sink, 0);
  await sink.finish(options.size);
}

export async function buildBytes(tree: FileTree, options: Ext4Options): Promise<Uint8Array> {
  const plan = planExt4(tree, options);
  const sink = new MemorySink();
  await plan.emit(sink, 0);
  await sink.finish(options.size);
  return sink.bytes();
}

/** e2fsck -fn: returns its output; expects a clean pass (exit 0, no fix offered). */
export function expectFsckClean(img: string): string {
  const r = run('e2fsck', ['-fn', img], { timeoutMs: 600_000 });
  const out = r.stdout + r.stderr;
  expect(out, out).not.toMatch(/\?|Fix|Clear|Salvage|Relocate|Optimize|corrupt|invalid|Error|differences/i);
  expect(r.status, out).toBe(0);
  expect(out).toMatch(/Pass 5: Checking group summary information/);
  return out;
}

let cmdCounter = 0;
export function debugfs(img: string, ...cmds: string[]): string {
  const dir = path.dirname(img);
  const cmdFile = path.join(dir, `cmds-${process.pid}-${++cmdCounter}`);
  fs.writeFileSync(cmdFile, cmds.join('\n') + '\n');
  try {
    return run('debugfs', ['-f', cmdFile, img], { timeoutMs: 600_000 }).stdout;
  } finally {
    fs.rmSync(cmdFile, { force: true });
  }
}

/** A sparse source: data only in `ranges`, zeros elsewhere. */
export function sparseSource(size: number, ranges: Array<[number, number]>, salt: number): Source {
  return {
    size,
    describe: 'sparse',
    read(offset, length) {
      const out = new Uint8Array(length);
      for (const [s, e] of ranges) {
        const a = Math.max(s, offset);
        const z = Math.min(e, offset + length);
        for (let i = a; i < z; i++) out[i - offset] = (i * 31 + salt) & 0xff || 1;
      }
      return out;
    },
    dataRanges: () => ranges,
  };
}


function quote(p: string): string {
  return `"${p}"`;
}

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
}

/** Compare an image against its tree with debugfs (ls -p, stat, ea_get, rdump). */
export function expectImageMatchesTree(img: string, tree: FileTree, workDir: string, opts: { owner?: 'root' } = {}): void {
  // 1. Listing: names, inode identity (hardlinks), mode, owner, size.
  const dirs: Array<[string, DirNode]> = [];
  for (const [p, n] of tree.walk()) if (n.kind === 'dir') dirs.push([p, n]);
  const out = debugfs(img, ...dirs.map(([p]) => `ls -p ${quote(p)}`));
  const sections = out.split(/^debugfs: /m).slice(1);
  expect(sections.length).toBe(dirs.length);
  const inoOf = new Map<TreeNode, number>();
  const stats: Array<[string, TreeNode]> = [];
  sections.forEach((sec, i) => {
    const [dpath, dnode] = dirs[i];
    const rows = new Map<string, { ino: number; mode: number; uid: number; gid: number; size: string }>();
    for (const line of sec.split('\n').slice(1)) {
      // /ino/mode/uid/gid/name/size/ — names may not contain '/'
      const m = /^\/(\d+)\/([0-7]+)\/(\d+)\/(\d+)\/(.*)\/(\d*)\/$/.exec(line);
      if (!m) continue;
      if (m[5] === '.' || m[5] === '..' || m[1] === '0') continue; // inode 0: htree node blocks' empty entries
      rows.set(m[5], { ino: +m[1], mode: parseInt(m[2], 8), uid: +m[3], gid: +m[4], size: m[6] });
    }
    if (dpath === '/') rows.delete('lost+found');
    const expectedNames = sortedChildren(dnode).map(([n]) => n).sort();
    expect([...rows.keys()].sort(), `names in ${dpath}`).toEqual(expectedNames);
    for (const [name, child] of sortedChildren(dnode)) {
      const r = rows.get(name)!;
      const cp = dpath === '/' ? `/${name}` : `${dpath}/${name}`;
      const typeBits = { file: 0o100000, dir: 0o040000, symlink: 0o120000, char: 0o020000, block: 0o060000, fifo: 0o010000, socket: 0o140000 }[child.kind];
      const perm = child.kind === 'dir' ? child.mode & 0o7777 : child.mode & 0o7777;
      expect({ p: cp, mode: r.mode.toString(8) }).toEqual({ p: cp, mode: (typeBits | perm).toString(8) });
      expect({ p: cp, uid: r.uid, gid: r.gid }).toEqual({ p: cp, uid: opts.owner === 'root' ? 0 : child.uid, gid: opts.owner === 'root' ? 0 : child.gid });
      if (child.kind === 'file') expect({ p: cp, size: r.size }).toEqual({ p: cp, size: String(child.source.size) });
      const prev = inoOf.get(child);
      if (prev !== undefined) expect({ p: cp, ino: r.ino }).toEqual({ p: cp, ino: prev });
      else {
        // distinct tree nodes get distinct inodes
        expect([...inoOf.values()]).not.toContain(r.ino);
        inoOf.set(child, r.ino);
        stats.push([cp, child]);
      }
    }
  });

  // 2. stat (devices, times, link counts) and xattrs.
  const cmds: string[] = [];
  const checks: Array<(sec: string) => void> = [];
  const linkCount = new Map<TreeNode, number>();
  for (const [, n] of tree.walk()) linkCount.set(n, (linkCount.get(n) ?? 0) + 1);
  for (const [p, n] of stats) {
    cmds.push(`stat ${quote(p)}`);
    checks.push((sec) => {
      const mt = /mtime: 0x([0-9a-f]+):([0-9a-f]+)/.exec(sec);
      expect(mt, `${p} stat`).not.toBeNull();
      const extra = parseInt(mt![2], 16);
      // seconds: signed 32-bit base plus the two epoch bits of the extra field
      const secs = (parseInt(mt![1], 16) | 0) + (extra & 3) * 0x1_0000_0000;
      expect({ p, sec: secs, nsec: extra >>> 2 }).toEqual({ p, sec: n.mtime.sec, nsec: n.mtime.nsec });
      const lc = /Links: (\d+)/.exec(sec);
      if (n.kind !== 'dir') expect({ p, links: Number(lc![1]) }).toEqual({ p, links: linkCount.get(n) });
      if (n.kind === 'char' || n.kind === 'block') {
        const d = /Device major\/minor number: (\d+):(\d+)/.exec(sec);
        expect(d, sec).not.toBeNull();
        expect({ p, major: +d![1], minor: +d![2] }).toEqual({ p, major: n.major, minor: n.minor });
      }
    });
    for (const x of n.xattrs ?? []) {
      cmds.push(`ea_get -x ${quote(p)} ${x.name}`);
      checks.push((sec) => {
        const body = sec.split('\n').slice(1).join('\n');
        if (x.value.length === 0) expect(body, `${p} ${x.name}`).toMatch(/\(0\)/);
        else expect({ p, x: x.name, v: body.replace(/^.*= /s, '').trim() }).toEqual({ p, x: x.name, v: hex(x.value) });
      });
    }
    if (n.xattrs && n.xattrs.length > 0) {
      cmds.push(`ea_list ${quote(p)}`);
      checks.push((sec) => {
        const names = [...sec.matchAll(/^ {2}(\S+) \(\d+\)/gm)].map((m) => m[1]).sort();
        expect({ p, names }).toEqual({ p, names: n.xattrs!.map((x) => x.name).sort() });
      });
    }
  }
  if (cmds.length > 0) {
    const so = debugfs(img, ...cmds).split(/^debugfs: /m).slice(1);
    expect(so.length).toBe(cmds.length);
    so.forEach((sec, i) => checks[i](sec));
  }

  // 3. rdump: bytes and symlink targets.
  const dump = path.join(workDir, 'rdump');
  fs.rmSync(dump, { recursive: true, force: true });
  fs.mkdirSync(dump);
  const r = run('debugfs', ['-R', `rdump / ${dump}`, img]);
  expect(r.status).toBe(0);
  for (const [p, n] of tree.walk()) {
    const hp = path.join(dump, p);
    if (n.kind === 'file') {
      expect({ p, size: fs.statSync(hp).size }).toEqual({ p, size: n.source.size });
      // Compare in chunks (files may be larger than memory allows); for a
      // sparse source, its data ranges plus a sample of its holes.
      const ranges: Array<readonly [number, number]> = n.source.dataRanges && n.source.size > 64 * 1024 * 1024
        ? [...n.source.dataRanges(), [n.source.size - 1, n.source.size], [Math.floor(n.source.size / 3), Math.floor(n.source.size / 3) + 8192]]
        : [[0, n.source.size]];
      const fd = fs.openSync(hp, 'r');
      try {
        for (const [s, e] of ranges) {
          for (let o = s; o < e; o += 16 * 1024 * 1024) {
            const len = Math.min(16 * 1024 * 1024, e - o);
            const got = Buffer.alloc(len);
            fs.readSync(fd, got, 0, len, o);
            expect(Buffer.compare(got, Buffer.from(n.source.read(o, len))) === 0, `bytes of ${p} at ${o}`).toBe(true);
          }
        }
      } finally {
        fs.closeSync(fd);
      }
    } else if (n.kind === 'symlink') {
      expect({ p, target: fs.readlinkSync(hp) }).toEqual({ p, target: n.target });
    }
  }
}

