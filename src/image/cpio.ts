// cpio "newc" (SVR4, magic 070701) archives, as the Linux kernel unpacks them
// for an initramfs: Documentation/driver-api/early-userspace/buffer-format.rst.
//
// Each entry is a 110-byte header of ASCII hex fields, the NUL-terminated name
// (header + name padded to 4 bytes), then the data (padded to 4 bytes). The
// archive ends with the entry "TRAILER!!!". The writer is deterministic: walk
// order is the tree's sorted walk, inode numbers are assigned in that order,
// times are the tree's own (never the clock).
import { DiskwrightError, fail } from '../errors.js';
import { bytes, defineStruct, type StructValue } from '../codec/struct.js';
import { bytesSource, type Source } from '../io/source.js';
import type { FileTree, TreeNode } from '../tree/tree.js';

/** The newc header: buffer-format.rst, "c_magic … c_chksum", eight hex digits each after the magic. */
export const CpioNewcHeader = defineStruct('CpioNewcHeader', 110, {
  c_magic: bytes(0, 6),
  c_ino: bytes(6, 8),
  c_mode: bytes(14, 8),
  c_uid: bytes(22, 8),
  c_gid: bytes(30, 8),
  c_nlink: bytes(38, 8),
  c_mtime: bytes(46, 8),
  c_filesize: bytes(54, 8),
  c_maj: bytes(62, 8),
  c_min: bytes(70, 8),
  c_rmaj: bytes(78, 8),
  c_rmin: bytes(86, 8),
  c_namesize: bytes(94, 8),
  c_chksum: bytes(102, 8),
});

type RawHeader = StructValue<typeof CpioNewcHeader>;

/** A header with its hex fields as numbers. */
export interface CpioHeader {
  magic: string;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  filesize: number;
  devmajor: number;
  devminor: number;
  rdevmajor: number;
  rdevminor: number;
  namesize: number;
  check: number;
}

const NUMERIC: ReadonlyArray<[keyof CpioHeader, keyof RawHeader]> = [
  ['ino', 'c_ino'], ['mode', 'c_mode'], ['uid', 'c_uid'], ['gid', 'c_gid'], ['nlink', 'c_nlink'],
  ['mtime', 'c_mtime'], ['filesize', 'c_filesize'], ['devmajor', 'c_maj'], ['devminor', 'c_min'],
  ['rdevmajor', 'c_rmaj'], ['rdevminor', 'c_rmin'], ['namesize', 'c_namesize'], ['check', 'c_chksum'],
];

export const CPIO_NEWC_MAGIC = '070701';
export const CPIO_TRAILER = 'TRAILER!!!';

const S_IFMT = 0o170000;
const S_IF = {
  file: 0o100000, dir: 0o040000, symlink: 0o120000, char: 0o020000, block: 0o060000, fifo: 0o010000, socket: 0o140000,
} as const;

function hex8(value: number, field: string, path: string): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0 || value > 0xffffffff) {
    fail('CPIO_FIELD_RANGE', `${path}: ${field} ${value} does not fit the newc format's 32 bits`, {
      structure: 'CpioNewcHeader', field, actual: value, expected: '0..0xffffffff', path,
    });
  }
  return new TextEncoder().encode(value.toString(16).toUpperCase().padStart(8, '0'));
}

function ascii(b: Uint8Array): string {
  let s = '';
  for (const c of b) s += String.fromCharCode(c);
  return s;
}

/** Decode the header at `offset`. Odd values are kept: a non-hex field decodes as NaN (see validateCpioHeader). */
export function decodeCpioHeader(buf: Uint8Array, offset = 0): CpioHeader {
  const raw = CpioNewcHeader.decode(buf, offset);
  const out = { magic: ascii(raw.c_magic) } as CpioHeader;
  for (const [k, f] of NUMERIC) {
    const s = ascii(raw[f]);
    (out as unknown as Record<string, number>)[k] = /^[0-9a-fA-F]{8}$/.test(s) ? parseInt(s, 16) : NaN;
  }
  return out;
}

/** Problems with a decoded header: the magic and every hex field. Empty when it is sound. */
export function validateCpioHeader(h: CpioHeader): string[] {
  const problems: string[] = [];
  if (h.magic !== CPIO_NEWC_MAGIC) problems.push(`c_magic is ${JSON.stringify(h.magic)}, not ${CPIO_NEWC_MAGIC}`);
  for (const [k, f] of NUMERIC) if (Number.isNaN(h[k])) problems.push(`${f} is not eight hex digits`);
  if (h.namesize < 1) problems.push('c_namesize is 0');
  return problems;
}

export interface CpioOptions {
  /** "root" gives every entry uid 0 / gid 0 (as `cpio -R 0:0`); "keep" (default) keeps the tree's owners. */
  owner?: 'keep' | 'root';
  /** Also write the tree's root directory as ".". Default false: the kernel unpacks over its rootfs, which exists. */
  includeRoot?: boolean;
}

interface PlannedEntry {
  name: Uint8Array;
  path: string;
  node: TreeNode;
  ino: number;
  nlink: number;
  /** false for the earlier names of a hard-linked file: their data goes with the last name. */
  carriesData: boolean;
  dataSize: number;
}

const pad4 = (n: number) => (n + 3) & ~3;

function planEntries(tree: FileTree, options: CpioOptions): PlannedEntry[] {
  const enc = new TextEncoder();
  const inos = new Map<TreeNode, number>();
  const paths = new Map<TreeNode, number>();
  const walked: Array<[string, TreeNode]> = [];
  for (const [path, node] of tree.walk()) {
    if (path === '/' && !options.includeRoot) continue;
    walked.push([path, node]);
    paths.set(node, (paths.get(node) ?? 0) + 1);
  }
  const seen = new Map<TreeNode, number>();
  const out: PlannedEntry[] = [];
  for (const [path, node] of walked) {
    if (!inos.has(node)) inos.set(node, inos.size + 1);
    const count = (seen.get(node) ?? 0) + 1;
    seen.set(node, count);
    const names = paths.get(node)!;
    let nlink = names;
    if (node.kind === 'dir') {
      nlink = 2;
      for (const c of node.children.values()) if (c.kind === 'dir') nlink++;
    }
    // GNU cpio (copyout.c, writeout_final_defers) and the kernel
    // (init/initramfs.c, maybe_link) agree on hard links in newc: every name
    // shares the inode number and only the last one carries the data.
    const carriesData = node.kind !== 'file' || count === names;
    let dataSize = 0;
    if (carriesData) {
      if (node.kind === 'file') dataSize = node.source.size;
      else if (node.kind === 'symlink') dataSize = enc.encode(node.target).length;
    }
    const name = path === '/' ? '.' : path.slice(1);
    out.push({ name: enc.encode(name), path, node, ino: inos.get(node)!, nlink, carriesData, dataSize });
  }
  return out;
}

function encodeHeader(e: { path: string; ino: number; mode: number; uid: number; gid: number; nlink: number; mtime: number; filesize: number; rmaj: number; rmin: number; namesize: number }, buf: Uint8Array, offset: number): void {
  const p = e.path;
  CpioNewcHeader.encode({
    c_magic: new TextEncoder().encode(CPIO_NEWC_MAGIC),
    c_ino: hex8(e.ino, 'c_ino', p),
    c_mode: hex8(e.mode, 'c_mode', p),
    c_uid: hex8(e.uid, 'c_uid', p),
    c_gid: hex8(e.gid, 'c_gid', p),
    c_nlink: hex8(e.nlink, 'c_nlink', p),
    c_mtime: hex8(e.mtime, 'c_mtime', p),
    c_filesize: hex8(e.filesize, 'c_filesize', p),
    c_maj: hex8(0, 'c_maj', p),
    c_min: hex8(0, 'c_min', p),
    c_rmaj: hex8(e.rmaj, 'c_rmaj', p),
    c_rmin: hex8(e.rmin, 'c_rmin', p),
    c_namesize: hex8(e.namesize, 'c_namesize', p),
    c_chksum: hex8(0, 'c_chksum', p),
  }, buf, offset);
}

/** The whole archive's size for `tree`. */
export function cpioSize(tree: FileTree, options: CpioOptions = {}): number {
  let size = 0;
  for (const e of planEntries(tree, options)) size += pad4(110 + e.name.length + 1) + pad4(e.dataSize);
  return size + pad4(110 + CPIO_TRAILER.length + 1);
}

const READ_CHUNK = 1 << 20;

/**
 * Write `tree` as a newc cpio archive (an initramfs when gzip/zstd is not
 * wanted: the kernel takes an uncompressed archive as it is).
 */
export function buildCpio(tree: FileTree, options: CpioOptions = {}): Uint8Array {
  const entries = planEntries(tree, options);
  let total = 0;
  for (const e of entries) total += pad4(110 + e.name.length + 1) + pad4(e.dataSize);
  total += pad4(110 + CPIO_TRAILER.length + 1);
  const out = new Uint8Array(total);
  const enc = new TextEncoder();
  let pos = 0;
  for (const e of entries) {
    const n = e.node;
    const uid = options.owner === 'root' ? 0 : n.uid;
    const gid = options.owner === 'root' ? 0 : n.gid;
    if (n.mtime.sec < 0 || n.mtime.sec > 0xffffffff) {
      fail('CPIO_FIELD_RANGE', `${e.path}: mtime ${n.mtime.sec} is outside the newc format's unsigned 32 bits`, {
        structure: 'CpioNewcHeader', field: 'c_mtime', actual: n.mtime.sec, path: e.path,
      });
    }
    const dev = n.kind === 'char' || n.kind === 'block' ? n : null;
    encodeHeader({
      path: e.path, ino: e.ino, mode: S_IF[n.kind] | (n.mode & ~S_IFMT & 0o7777), uid, gid, nlink: e.nlink,
      mtime: n.mtime.sec, filesize: e.dataSize, rmaj: dev?.major ?? 0, rmin: dev?.minor ?? 0, namesize: e.name.length + 1,
    }, out, pos);
    out.set(e.name, pos + 110);
    pos += pad4(110 + e.name.length + 1);
    if (e.dataSize > 0) {
      if (n.kind === 'file') {
        for (let o = 0; o < e.dataSize; o += READ_CHUNK) {
          const len = Math.min(READ_CHUNK, e.dataSize - o);
          const chunk = n.source.read(o, len);
          if (chunk.length !== len) {
            throw new DiskwrightError('IO_SHORT_READ', `${e.path}: its source gave ${chunk.length} bytes where ${len} were asked`, {
              path: e.path, offset: o, expected: len, actual: chunk.length,
            });
          }
          out.set(chunk, pos + o);
        }
      } else if (n.kind === 'symlink') {
        out.set(enc.encode(n.target), pos);
      }
      pos += pad4(e.dataSize);
    }
  }
  encodeHeader({ path: CPIO_TRAILER, ino: 0, mode: 0, uid: 0, gid: 0, nlink: 1, mtime: 0, filesize: 0, rmaj: 0, rmin: 0, namesize: CPIO_TRAILER.length + 1 }, out, pos);
  out.set(enc.encode(CPIO_TRAILER), pos + 110);
  return out;
}

/** buildCpio as a Source, to place an initramfs into a filesystem tree. */
export function cpioSource(tree: FileTree, options: CpioOptions = {}): Source {
  return bytesSource(buildCpio(tree, options), 'cpio archive');
}

export interface CpioEntry {
  name: string;
  header: CpioHeader;
  /** The entry's data (file bytes, or a symlink's target) as a view into the archive. */
  data: Uint8Array;
}

/**
 * The entries of a newc archive, up to the trailer. Every size is checked
 * against the archive before use, and the loop is bounded by the archive size.
 */
export function readCpio(archive: Uint8Array, options: { maxEntries?: number } = {}): CpioEntry[] {
  const out: CpioEntry[] = [];
  const max = options.maxEntries ?? Math.floor(archive.length / 112) + 1;
  let pos = 0;
  const dec = new TextDecoder();
  for (let i = 0; i <= max; i++) {
    if (pos + 110 > archive.length) {
      fail('CPIO_TRUNCATED', `cpio: header at ${pos} runs past the end (${archive.length} bytes)`, { structure: 'CpioNewcHeader', offset: pos, actual: archive.length });
    }
    const h = decodeCpioHeader(archive, pos);
    const problems = validateCpioHeader(h);
    if (problems.length) fail('CPIO_BAD_HEADER', `cpio: header at ${pos}: ${problems.join('; ')}`, { structure: 'CpioNewcHeader', offset: pos, problems });
    const nameEnd = pos + 110 + h.namesize;
    const dataStart = pos + pad4(110 + h.namesize);
    const dataEnd = dataStart + h.filesize;
    if (nameEnd > archive.length || dataEnd > archive.length) {
      fail('CPIO_TRUNCATED', `cpio: entry at ${pos} runs past the end`, { structure: 'CpioNewcHeader', offset: pos, field: 'c_filesize', actual: h.filesize });
    }
    const name = dec.decode(archive.subarray(pos + 110, nameEnd - 1));
    if (name === CPIO_TRAILER) return out;
    out.push({ name, header: h, data: archive.subarray(dataStart, dataEnd) });
    pos = dataStart + pad4(h.filesize);
  }
  return fail('CPIO_TOO_MANY_ENTRIES', `cpio: more than ${max} entries before the trailer`, { expected: max });
}
