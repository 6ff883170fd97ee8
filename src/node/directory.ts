// A host directory into the file tree. The walk uses lstat and never follows
// a symlink below the top; each directory's names are sorted by their bytes,
// so the host's read order never reaches an image.
//
// What is carried: regular files (as host-file sources, read when emitted),
// directories, symlinks (the target as stored), hard links (same st_dev and
// st_ino → the same FileNode object), character and block devices (major and
// minor split from st_rdev as glibc's gnu_dev_major/gnu_dev_minor do),
// FIFOs, sockets; the mode's permission bits including setuid, setgid and
// sticky; uid and gid (through the owner policy); mtime to the nanosecond.
//
// What is not: extended attributes (Node has no xattr API, so host xattrs are
// skipped; a tar archive made with --xattrs carries them instead), atime and
// ctime (host-clock noise that would break reproducibility).
//
// Two steps: listDirectory() walks the host (every lstat, readdir and
// readlink: the system-call half, which a worker thread can do while the
// main thread writes other partitions, see list-worker.ts) into a plain
// DirListing; treeFromListing() turns that into tree nodes.
//
// Sparse files: Node has no SEEK_DATA/SEEK_HOLE. A file whose allocated
// blocks (st_blocks × 512) are fewer than its size is sparse; for those
// alone, the source's dataRanges() scans the file once, on first call, and
// reports every 4 KiB block that is not all zeros as data. An allocated block
// of zeros thus also becomes a hole, which reads the same. Files that are
// not sparse get no dataRanges() and cost no extra read.
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { fail } from '../errors.js';
import type { Source } from '../io/source.js';
import { FileTree, splitTreePath, joinTreePath } from '../tree/tree.js';
import type { DirNode, NodeAttrs, Timestamp, TreeNode } from '../tree/tree.js';
import { fileSource, openForRead } from './file-source.js';
import { ioError } from './file-sink.js';
import { applyOwner, clampTime, timestampFromNs } from './owner.js';
import type { InputOptions } from './owner.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Zero-run granularity when looking for holes in a sparse host file. */
export const SPARSE_SCAN_BLOCK = 4096;
const SCAN_CHUNK = 1 << 20;
const ZERO_BLOCK = Buffer.alloc(SPARSE_SCAN_BLOCK);

function lstat(p: string): fs.BigIntStats {
  try {
    return fs.lstatSync(p, { bigint: true });
  } catch (e) {
    throw ioError(e, p, 'lstat');
  }
}

function decodeName(raw: Buffer, parent: string): string {
  try {
    return utf8.decode(raw);
  } catch {
    return fail('INPUT_NAME_NOT_UTF8', `${parent}: an entry's name is not UTF-8 (${raw.toString('hex')})`, {
      path: parent, actual: raw.toString('hex'),
    });
  }
}

/** Linux dev_t → major/minor, as glibc's gnu_dev_major / gnu_dev_minor. */
export function splitDevice(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}

/** The [start, end) ranges of `file` that hold non-zero 4 KiB blocks. */
export function scanDataRanges(file: string, size: number): Array<readonly [number, number]> {
  const ranges: Array<[number, number]> = [];
  const fd = openForRead(file);
  try {
    const buf = Buffer.alloc(SCAN_CHUNK);
    for (let pos = 0; pos < size; pos += SCAN_CHUNK) {
      const want = Math.min(SCAN_CHUNK, size - pos);
      let got = 0;
      while (got < want) {
        const r = fs.readSync(fd, buf, got, want - got, pos + got);
        if (r === 0) fail('IO_SOURCE_CHANGED', `${file}: shrank while being scanned`, { path: file, expected: size, actual: pos + got });
        got += r;
      }
      for (let b = 0; b < want; b += SPARSE_SCAN_BLOCK) {
        const n = Math.min(SPARSE_SCAN_BLOCK, want - b);
        if (buf.compare(ZERO_BLOCK, 0, n, b, b + n) === 0) continue;
        const start = pos + b;
        const last = ranges[ranges.length - 1];
        if (last && last[1] === start) last[1] = start + n;
        else ranges.push([start, start + n]);
      }
    }
  } catch (e) {
    throw ioError(e, file, 'read');
  } finally {
    fs.closeSync(fd);
  }
  return ranges;
}

/** A host file as a source; sparse files (st_blocks × 512 < size) also report their data ranges. */
export function hostFileSource(file: string, st: fs.BigIntStats): Source {
  return hostFileSourceOf(file, Number(st.size), st.size > 0n && st.blocks * 512n < st.size);
}

function hostFileSourceOf(file: string, size: number, sparse: boolean): Source {
  const base = fileSource(file, 0, size);
  if (!sparse) return base;
  let cached: Array<readonly [number, number]> | undefined;
  return {
    size: base.size,
    describe: base.describe,
    read: (o, n) => base.read(o, n),
    readInto: (o, t, to, n) => base.readInto!(o, t, to, n),
    dataRanges() {
      cached ??= scanDataRanges(file, size);
      return cached;
    },
  };
}

/** Entry kinds in a DirListing. */
const ListedKind = { Dir: 0, File: 1, Symlink: 2, Char: 3, Block: 4, Fifo: 5, Socket: 6 } as const;
type ListedKind = (typeof ListedKind)[keyof typeof ListedKind];

/** Numbers per entry in DirListing.nums, in this order. */
const MODE = 0, UID = 1, GID = 2, SIZE = 3, MTIME_SEC = 4, MTIME_NSEC = 5, MAJOR = 6, MINOR = 7;
const FIELDS = 8;

/**
 * A host directory walked: plain data (it crosses from a worker thread by
 * structured clone). Entry 0 is the directory itself; the others come in
 * walk order, each directory's entries sorted by the bytes of their names,
 * depth first, parents before children.
 */
export interface DirListing {
  /** The walked directory, resolved (a symlink given as the top is followed). */
  top: string;
  count: number;
  /** Each entry's name ('' for the top). */
  names: string[];
  /** The index of each entry's directory (-1 for the top). */
  parent: Int32Array;
  kind: Uint8Array;
  /** FIELDS numbers per entry: mode bits, uid, gid, size, mtime (s, ns), device major, minor. */
  nums: Float64Array;
  /** 1 for a sparse regular file (st_blocks × 512 < size). */
  sparse: Uint8Array;
  /** For a second name of a multiply-linked file (same st_dev and st_ino): the entry of the first name; else -1. */
  linkOf: Int32Array;
  /** Symlink targets, by entry. */
  targets: Map<number, string>;
}

/** Walk the host directory `dir` (lstat, never following a symlink below the top). */
export function listDirectory(dir: string): DirListing {
  const top = nodePath.resolve(dir);
  let st: fs.BigIntStats;
  try {
    st = fs.statSync(top, { bigint: true });
  } catch (e) {
    throw ioError(e, top, 'stat');
  }
  if (!st.isDirectory()) fail('INPUT_NOT_A_DIRECTORY', `${top} is not a directory`, { path: top });

  const names: string[] = [];
  const parents: number[] = [];
  const kinds: number[] = [];
  const nums: number[] = [];
  const sparse: number[] = [];
  const linkOf: number[] = [];
  const targets = new Map<number, string>();
  const push = (name: string, parent: number, kind: ListedKind, s: fs.BigIntStats, link = -1): number => {
    const mtime = timestampFromNs(s.mtimeNs);
    let major = 0;
    let minor = 0;
    if (kind === ListedKind.Char || kind === ListedKind.Block) ({ major, minor } = splitDevice(s.rdev));
    names.push(name);
    parents.push(parent);
    kinds.push(kind);
    nums.push(
      Number(s.mode & 0o7777n), Number(s.uid), Number(s.gid), Number(s.size),
      mtime.sec, mtime.nsec, major, minor,
    );
    sparse.push(kind === ListedKind.File && s.size > 0n && s.blocks * 512n < s.size ? 1 : 0);
    linkOf.push(link);
    return names.length - 1;
  };
  push('', -1, ListedKind.Dir, st);

  // dev:ino of every directory walked (a bind mount can make the walk loop)
  // and of every multiply-linked non-directory (hard links).
  const dirsSeen = new Set<string>([`${st.dev}:${st.ino}`]);
  const links = new Map<string, number>();

  const stack: Array<[string, number]> = [[top, 0]];
  while (stack.length > 0) {
    const [hostDir, dirIndex] = stack.pop()!;
    let raw: Buffer[];
    try {
      raw = fs.readdirSync(hostDir, { encoding: 'buffer' });
    } catch (e) {
      throw ioError(e, hostDir, 'readdir');
    }
    raw.sort(Buffer.compare);
    const subdirs: Array<[string, number]> = [];
    for (const r of raw) {
      const name = decodeName(r, hostDir);
      const hostPath = hostDir === '/' ? `/${name}` : `${hostDir}/${name}`;
      const cst = lstat(hostPath);
      if (cst.isDirectory()) {
        const key = `${cst.dev}:${cst.ino}`;
        if (dirsSeen.has(key)) {
          fail('INPUT_DIRECTORY_LOOP', `${hostPath}: this directory was already walked (a bind mount?)`, { path: hostPath });
        }
        dirsSeen.add(key);
        subdirs.push([hostPath, push(name, dirIndex, ListedKind.Dir, cst)]);
        continue;
      }
      let kind: ListedKind;
      if (cst.isFile()) kind = ListedKind.File;
      else if (cst.isSymbolicLink()) kind = ListedKind.Symlink;
      else if (cst.isCharacterDevice()) kind = ListedKind.Char;
      else if (cst.isBlockDevice()) kind = ListedKind.Block;
      else if (cst.isFIFO()) kind = ListedKind.Fifo;
      else if (cst.isSocket()) kind = ListedKind.Socket;
      else fail('INPUT_UNSUPPORTED_TYPE', `${hostPath}: unsupported file type (mode ${cst.mode.toString(8)})`, { path: hostPath });
      const linkKey = cst.nlink > 1n ? `${cst.dev}:${cst.ino}` : undefined;
      const first = linkKey === undefined ? undefined : links.get(linkKey);
      const i = push(name, dirIndex, kind, cst, first ?? -1);
      if (first !== undefined) continue;
      if (linkKey !== undefined) links.set(linkKey, i);
      if (kind === ListedKind.Symlink) {
        let target: Buffer;
        try {
          target = fs.readlinkSync(hostPath, { encoding: 'buffer' });
        } catch (e) {
          throw ioError(e, hostPath, 'readlink');
        }
        targets.set(i, decodeName(target, hostPath));
      }
    }
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]);
  }
  return {
    top, count: names.length, names, parent: Int32Array.from(parents), kind: Uint8Array.from(kinds),
    nums: Float64Array.from(nums), sparse: Uint8Array.from(sparse), linkOf: Int32Array.from(linkOf), targets,
  };
}

const NODE_KINDS = ['dir', 'file', 'symlink', 'char', 'block', 'fifo', 'socket'] as const;

/**
 * Put a walked directory into `tree` under `to` ("/" for the root). The
 * directory's own mode, owner and time go to `to`. Regular files become
 * host-file sources, read when emitted.
 */
export function treeFromListing(listing: DirListing, tree: FileTree, to = '/', opts: InputOptions = {}): FileTree {
  const { count, names, parent, kind, nums, sparse, linkOf, targets } = listing;
  const toParts = splitTreePath(to, `target ${to}`);
  const treeTop = joinTreePath(toParts);
  const hostPaths: string[] = new Array(count);
  const treePaths: string[] = new Array(count);
  const nodes: TreeNode[] = new Array(count);
  hostPaths[0] = listing.top;
  treePaths[0] = treeTop === '/' ? '' : treeTop;
  // A number read from a Float64Array stays a double; kept in an object, it
  // costs a heap number of its own (five or six per entry). Those that fit
  // in 31 bits are made small integers.
  const num = (x: number): number => (x >= 0 && x < 0x4000_0000 ? x | 0 : x);
  const attrs = (i: number): NodeAttrs => {
    const f = i * FIELDS;
    const { uid, gid } = applyOwner(num(nums[f + UID]), num(nums[f + GID]), opts.owner);
    const mtime: Timestamp = clampTime({ sec: num(nums[f + MTIME_SEC]), nsec: num(nums[f + MTIME_NSEC]) }, opts.clampMtime);
    return { mode: num(nums[f + MODE]), uid, gid, mtime, origin: `host file ${hostPaths[i]}` };
  };
  nodes[0] = tree.addDir(treeTop, attrs(0));
  for (let i = 1; i < count; i++) {
    const p = parent[i];
    const name = names[i];
    const dirPath = hostPaths[p];
    hostPaths[i] = dirPath === '/' ? `/${name}` : `${dirPath}/${name}`;
    treePaths[i] = `${treePaths[p]}/${name}`;
    const path = () => treePaths[i];
    const dir = nodes[p] as DirNode;
    if (linkOf[i] >= 0) {
      nodes[i] = tree.addChild(dir, name, nodes[linkOf[i]], path);
      continue;
    }
    const a = attrs(i);
    const f = i * FIELDS;
    let node: TreeNode;
    // The fields in FileTree's order (kind, the NodeBase fields, then the
    // kind's own), so every node of a kind has one shape for the builders.
    const k = kind[i];
    const base = { mode: a.mode!, uid: a.uid!, gid: a.gid!, mtime: a.mtime!, atime: undefined, ctime: undefined, crtime: undefined, xattrs: undefined, origin: a.origin };
    switch (k) {
      case ListedKind.Dir: node = { kind: 'dir', ...base, children: new Map() }; break;
      case ListedKind.File: node = { kind: 'file', ...base, source: hostFileSourceOf(hostPaths[i], num(nums[f + SIZE]), sparse[i] === 1) }; break;
      case ListedKind.Symlink: node = { kind: 'symlink', ...base, target: targets.get(i)! }; break;
      case ListedKind.Char: case ListedKind.Block:
        node = { kind: NODE_KINDS[k] as 'char' | 'block', ...base, major: num(nums[f + MAJOR]), minor: num(nums[f + MINOR]) };
        break;
      default: node = { kind: NODE_KINDS[k] as 'fifo' | 'socket', ...base };
    }
    nodes[i] = tree.addChild(dir, name, node, path);
  }
  return tree;
}

/**
 * Walk the host directory `dir` into `tree` under `to` ("/" for the root).
 * The directory's own mode, owner and time go to `to`. `dir` itself may be a
 * symlink to a directory (followed, as `mke2fs -d` does); nothing below it is
 * followed.
 */
export function treeFromDirectory(dir: string, tree: FileTree, to = '/', opts: InputOptions = {}): FileTree {
  return treeFromListing(listDirectory(dir), tree, to, opts);
}
