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
import type { FileNode, NodeAttrs, TreeNode } from '../tree/tree.js';
import { fileSource } from './file-source.js';
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
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw ioError(e, file, 'open');
  }
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
  const size = Number(st.size);
  const base = fileSource(file, 0, size);
  if (size === 0 || st.blocks * 512n >= st.size) return base;
  let cached: Array<readonly [number, number]> | undefined;
  return {
    size: base.size,
    describe: base.describe,
    read: base.read,
    readInto: base.readInto,
    dataRanges() {
      cached ??= scanDataRanges(file, size);
      return cached;
    },
  };
}

function attrsOf(st: fs.BigIntStats, hostPath: string, opts: InputOptions): NodeAttrs {
  const { uid, gid } = applyOwner(Number(st.uid), Number(st.gid), opts.owner);
  return {
    mode: Number(st.mode & 0o7777n),
    uid,
    gid,
    mtime: clampTime(timestampFromNs(st.mtimeNs), opts.clampMtime),
    origin: `host file ${hostPath}`,
  };
}

/**
 * Walk the host directory `dir` into `tree` under `to` ("/" for the root).
 * The directory's own mode, owner and time go to `to`. `dir` itself may be a
 * symlink to a directory (followed, as `mke2fs -d` does); nothing below it is
 * followed.
 */
export function treeFromDirectory(dir: string, tree: FileTree, to = '/', opts: InputOptions = {}): FileTree {
  const top = nodePath.resolve(dir);
  let st: fs.BigIntStats;
  try {
    st = fs.statSync(top, { bigint: true });
  } catch (e) {
    throw ioError(e, top, 'stat');
  }
  if (!st.isDirectory()) fail('INPUT_NOT_A_DIRECTORY', `${top} is not a directory`, { path: top });
  const toParts = splitTreePath(to, `target ${to}`);
  tree.addDir(joinTreePath(toParts), attrsOf(st, top, opts));

  // dev:ino of every directory walked (a bind mount can make the walk loop)
  // and of every multiply-linked non-directory (hard links).
  const dirsSeen = new Set<string>([`${st.dev}:${st.ino}`]);
  const links = new Map<string, TreeNode>();

  const stack: Array<[string, string[]]> = [[top, toParts]];
  while (stack.length > 0) {
    const [hostDir, treeParts] = stack.pop()!;
    let raw: Buffer[];
    try {
      raw = fs.readdirSync(hostDir, { encoding: 'buffer' });
    } catch (e) {
      throw ioError(e, hostDir, 'readdir');
    }
    raw.sort(Buffer.compare);
    const subdirs: Array<[string, string[]]> = [];
    for (const r of raw) {
      const name = decodeName(r, hostDir);
      const hostPath = nodePath.join(hostDir, name);
      const treePath = joinTreePath([...treeParts, name]);
      const cst = lstat(hostPath);
      const attrs = attrsOf(cst, hostPath, opts);
      if (cst.isDirectory()) {
        const key = `${cst.dev}:${cst.ino}`;
        if (dirsSeen.has(key)) {
          fail('INPUT_DIRECTORY_LOOP', `${hostPath}: this directory was already walked (a bind mount?)`, { path: hostPath });
        }
        dirsSeen.add(key);
        tree.addDir(treePath, attrs);
        subdirs.push([hostPath, [...treeParts, name]]);
        continue;
      }
      const linkKey = cst.nlink > 1n ? `${cst.dev}:${cst.ino}` : undefined;
      if (linkKey !== undefined) {
        const first = links.get(linkKey);
        if (first) {
          tree.add(treePath, first);
          continue;
        }
      }
      let node: TreeNode;
      if (cst.isFile()) {
        node = tree.addFile(treePath, hostFileSource(hostPath, cst), attrs) as FileNode;
      } else if (cst.isSymbolicLink()) {
        let target: Buffer;
        try {
          target = fs.readlinkSync(hostPath, { encoding: 'buffer' });
        } catch (e) {
          throw ioError(e, hostPath, 'readlink');
        }
        node = tree.addSymlink(treePath, decodeName(target, hostPath), attrs);
      } else if (cst.isCharacterDevice() || cst.isBlockDevice()) {
        const { major, minor } = splitDevice(cst.rdev);
        node = tree.addDevice(treePath, cst.isCharacterDevice() ? 'char' : 'block', major, minor, attrs);
      } else if (cst.isFIFO()) {
        node = tree.addSpecial(treePath, 'fifo', attrs);
      } else if (cst.isSocket()) {
        node = tree.addSpecial(treePath, 'socket', attrs);
      } else {
        fail('INPUT_UNSUPPORTED_TYPE', `${hostPath}: unsupported file type (mode ${cst.mode.toString(8)})`, { path: hostPath });
      }
      if (linkKey !== undefined) links.set(linkKey, node);
    }
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]);
  }
  return tree;
}
