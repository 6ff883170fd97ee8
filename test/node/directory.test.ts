import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileTree } from '../../src/index.js';
import { treeFromDirectory, splitDevice, scanDataRanges } from '../../src/node/directory.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';
import { ROOT, makeHostTree, listHostTree, listTree, compareContents } from './fixture.js';
import { codeOf } from '../helpers/codes.js';

const TOOLS = haveTools('find', 'stat', 'python3', 'mkfifo', 'mknod');


describe.skipIf(!TOOLS)('treeFromDirectory', () => {
  let tmp: { dir: string; cleanup: () => void };
  let src: string;
  beforeAll(() => {
    tmp = tempDir('dw-dir-');
    src = path.join(tmp.dir, 'src');
    fs.mkdirSync(src);
    makeHostTree(src, { devices: ROOT, sockets: true, xattrs: false });
  });
  afterAll(() => tmp.cleanup());

  it('gives the tree that find and stat list: kinds, modes, owners, ns mtimes, targets, devices, hard links', () => {
    const tree = treeFromDirectory(src, new FileTree(), '/');
    const want = listHostTree(src);
    const got = listTree(tree, '/');
    expect(got).toEqual(want);
    // the fixture really has what we claim to carry
    const kinds = new Set(want.map((r) => r.kind));
    for (const k of ['file', 'dir', 'symlink', 'fifo', 'socket', ...(ROOT ? ['char', 'block'] : [])]) expect(kinds).toContain(k);
    expect(want.filter((r) => r.link === '/etc/ls').map((r) => r.path).sort()).toEqual(['/etc/ls', '/usr/bin/busybox', '/usr/bin/sh']);
    expect(want.some((r) => (r.mode & 0o7000) === 0o4000)).toBe(true);
    expect(want.some((r) => !r.mtime.endsWith('000000000'))).toBe(true);
    expect(compareContents(tree, '/', src)).toBeGreaterThan(15);
  });

  it('hard links are one node object; root attributes go to the target directory', () => {
    const tree = treeFromDirectory(src, new FileTree(), '/srv/data');
    expect(tree.get('/srv/data/usr/bin/sh')).toBe(tree.get('/srv/data/etc/ls'));
    const top = fs.statSync(src);
    expect(tree.get('/srv/data')!.mode).toBe(top.mode & 0o7777);
    expect(tree.get('/srv')!.mode).toBe(0o755);
    expect(listTree(tree, '/srv/data')).toEqual(listHostTree(src));
  });

  it('owner policies: root forces 0:0, a map renames listed ids only', () => {
    const asRoot = treeFromDirectory(src, new FileTree(), '/', { owner: 'root' });
    for (const [, n] of asRoot.walk()) expect([n.uid, n.gid]).toEqual([0, 0]);
    const mapped = treeFromDirectory(src, new FileTree(), '/', { owner: { uid: { 1000: 0, 1234: 7 }, gid: { 1001: 0 } } });
    expect([mapped.get('/usr/bin/sgid')!.uid, mapped.get('/usr/bin/sgid')!.gid]).toEqual([0, 1000]);
    expect([mapped.get('/empty-dir')!.uid, mapped.get('/empty-dir')!.gid]).toEqual([0, 0]);
    expect([mapped.get('/dangling')!.uid, mapped.get('/dangling')!.gid]).toEqual([7, 5678]);
    expect([mapped.get('/etc/shadow')!.uid, mapped.get('/etc/shadow')!.gid]).toEqual([0, 42]);
  });

  it('clampMtime sets later times to the epoch and keeps earlier ones', () => {
    const epoch = { sec: 1600000000, nsec: 500_000_000 };
    const tree = treeFromDirectory(src, new FileTree(), '/', { clampMtime: epoch });
    const host = new Map(listHostTree(src).map((r) => [r.path, r.mtime]));
    let clamped = 0;
    let kept = 0;
    for (const [p, n] of tree.walk()) {
      const [s, ns] = host.get(p)!.split('.').map(Number);
      const later = s > epoch.sec || (s === epoch.sec && ns > epoch.nsec);
      expect(n.mtime).toEqual(later ? epoch : { sec: s, nsec: ns });
      if (later) clamped++;
      else kept++;
    }
    expect(clamped).toBeGreaterThan(0);
    expect(kept).toBeGreaterThan(0);
  });

  it('does not depend on the order the host reads directories in', () => {
    // tmpfs lists a directory in reverse creation order (ext4 in name-hash order), so make both copies there when we can.
    const base = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/dw-order-') : fs.mkdtempSync(path.join(tmp.dir, 'order-'));
    try {
      const one = path.join(base, 'one');
      const two = path.join(base, 'two');
      fs.mkdirSync(one);
      fs.mkdirSync(two);
      makeHostTree(one, { devices: ROOT, sockets: true });
      makeHostTree(two, { devices: ROOT, sockets: true, reverse: true });
      // precondition: getdents gives at least one directory in another order (ls -U does not sort; libuv's scandir would)
      const raw = (d: string) => run('ls', ['-U', '-a', d]).stdout;
      const differs = ['odd', 'usr/bin', 'etc', '.'].some((d) => raw(path.join(one, d)) !== raw(path.join(two, d)));
      expect(differs).toBe(true);
      const dump = (t: FileTree) => JSON.stringify([...t.walk()].map(([p, n]) => [p, n.kind, n.mode, n.uid, n.gid, n.mtime,
        n.kind === 'file' ? Buffer.from(n.source.read(0, n.source.size)).toString('base64') : n.kind === 'symlink' ? n.target : null]));
      const a = dump(treeFromDirectory(one, new FileTree(), '/'));
      const b = dump(treeFromDirectory(two, new FileTree(), '/'));
      expect(b).toBe(a);
      expect(a).toBe(dump(treeFromDirectory(src, new FileTree(), '/')));
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  });

  it('sparse files report their data ranges; dense files have none', () => {
    const d = path.join(tmp.dir, 'sparse');
    fs.mkdirSync(d);
    const f = path.join(d, 'holes');
    const fd = fs.openSync(f, 'w');
    fs.writeSync(fd, Buffer.alloc(10, 0xaa), 0, 10, 1 << 20);
    fs.writeSync(fd, Buffer.alloc(5000, 0xbb), 0, 5000, 3 << 20);
    fs.ftruncateSync(fd, 8 << 20);
    fs.closeSync(fd);
    fs.writeFileSync(path.join(d, 'dense'), Buffer.alloc(8192, 1));
    const tree = treeFromDirectory(d, new FileTree(), '/');
    const holes = tree.get('/holes');
    const dense = tree.get('/dense');
    if (holes?.kind !== 'file' || dense?.kind !== 'file') throw new Error('expected files');
    expect(dense.source.dataRanges).toBeUndefined();
    // filefrag would tell allocated extents; the content says the same: non-zero 4 KiB blocks
    expect(holes.source.dataRanges!()).toEqual([[1 << 20, (1 << 20) + 4096], [3 << 20, (3 << 20) + 8192]]);
    expect(holes.source.size).toBe(8 << 20);
    expect(Buffer.from(holes.source.read((3 << 20) + 4999, 2))).toEqual(Buffer.from([0xbb, 0]));
    expect(scanDataRanges(path.join(d, 'dense'), 8192)).toEqual([[0, 8192]]);
  });

  it('splits dev_t like glibc', () => {
    // makedev(4095, 1048575) and makedev(259, 3) as glibc encodes them
    expect(splitDevice((259n << 8n) | 3n)).toEqual({ major: 259, minor: 3 });
    expect(splitDevice(((0xfffffn & ~0xffn) << 12n) | ((4095n & 0xfffn) << 8n) | 0xffn)).toEqual({ major: 4095, minor: 1048575 });
  });

  it('a name that is not UTF-8 is INPUT_NAME_NOT_UTF8; a missing directory is IO_NOT_FOUND', () => {
    const d = path.join(tmp.dir, 'bad-name');
    fs.mkdirSync(d);
    fs.writeFileSync(Buffer.concat([Buffer.from(d + '/'), Buffer.from([0x66, 0xff, 0xfe])]), 'x');
    expect(codeOf(() => treeFromDirectory(d, new FileTree(), '/'))).toBe('INPUT_NAME_NOT_UTF8');
    expect(codeOf(() => treeFromDirectory(path.join(tmp.dir, 'nope'), new FileTree(), '/'))).toBe('IO_NOT_FOUND');
    expect(codeOf(() => treeFromDirectory(path.join(src, 'etc', 'passwd'), new FileTree(), '/'))).toBe('INPUT_NOT_A_DIRECTORY');
  });

  it.skipIf(!ROOT)('a directory reached twice (bind mount) is INPUT_DIRECTORY_LOOP', (ctx) => {
    const d = path.join(tmp.dir, 'loop');
    fs.mkdirSync(path.join(d, 'inner'), { recursive: true });
    const r = run('mount', ['--bind', d, path.join(d, 'inner')]);
    if (r.status !== 0) ctx.skip(); // no mount permission in this container
    try {
      expect(codeOf(() => treeFromDirectory(d, new FileTree(), '/'))).toBe('INPUT_DIRECTORY_LOOP');
    } finally {
      run('umount', [path.join(d, 'inner')]);
    }
  });

  it('a file that vanishes or shrinks after the walk fails with a code when read', () => {
    const d = path.join(tmp.dir, 'vanish');
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'gone'), 'soon gone');
    fs.writeFileSync(path.join(d, 'shrinks'), 'x'.repeat(10_000));
    const tree = treeFromDirectory(d, new FileTree(), '/');
    fs.rmSync(path.join(d, 'gone'));
    fs.truncateSync(path.join(d, 'shrinks'), 10);
    const gone = tree.get('/gone');
    const shrinks = tree.get('/shrinks');
    if (gone?.kind !== 'file' || shrinks?.kind !== 'file') throw new Error('expected files');
    expect(codeOf(() => gone.source.read(0, gone.source.size))).toBe('IO_NOT_FOUND');
    expect(codeOf(() => shrinks.source.read(0, shrinks.source.size))).toMatch(/^IO_/);
  });

  it('a source path with .. in `to` is TREE_PATH_ESCAPE', () => {
    expect(codeOf(() => treeFromDirectory(src, new FileTree(), '/a/../../b'))).toBe('TREE_PATH_ESCAPE');
  });
});
