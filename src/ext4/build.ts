// The ext4 builder: a FileTree → a FilesystemPlan, with no mke2fs. Plans the
// whole filesystem in memory (inodes, directories, extents, bitmaps counts:
// in proportion to the number of files), then emits it in increasing offset
// order, reading each file's data once. Follows what mke2fs -t ext4 -d
// (e2fsprogs 1.47) makes; e2fsck -fn is the judge.
import { DiskwrightError, fail } from '../errors.js';
import type { Sink } from '../io/sink.js';
import type { Source } from '../io/source.js';
import { StagedWriter } from '../io/stage.js';
import type { FilesystemPlan } from '../fs/types.js';
import { sortedChildren, type DirNode, type FileTree, type Timestamp, type TreeNode, type Xattr } from '../tree/tree.js';
import { deriveBytes, deriveUuid } from '../codec/derive.js';
import { decodeUuid, encodeUuid } from '../codec/guid.js';
import { crc32cRaw } from '../codec/crc.js';
import { computeGeometry, groupBlocks, groupFirst, groupHasSuper, groupPlacer, type Ext4Geometry, type GroupPlacer } from './geometry.js';
import { BlockAllocator, metadataRuns, type Run } from './alloc.js';
import { buildDirectory, cmpBytes, type DirEntryIn } from './build-dir.js';
import { buildJournalSuperBlock } from './journal-build.js';
import {
  COMPAT, INCOMPAT, RO_COMPAT, STATE_VALID, FLAGS_UNSIGNED_HASH, HASH_HALF_MD4, CHECKSUM_TYPE_CRC32C, DYNAMIC_REV,
  BG_INODE_UNINIT, BG_BLOCK_UNINIT, BG_INODE_ZEROED, ROOT_INO, JOURNAL_INO, RESIZE_INO, EXTENTS_FL, INDEX_FL,
  S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK,
  FT_REG_FILE, FT_DIR, FT_CHRDEV, FT_BLKDEV, FT_FIFO, FT_SOCK, FT_SYMLINK,
} from './features.js';
import { Ext4SuperBlock, EXT4_SUPER_MAGIC, setBlocksCount, setRBlocksCount, setFreeBlocksCount, setJnlBlocks, type SuperBlock } from './superblock.js';
import {
  Ext4GroupDesc, encodeGroupDesc, setBlockBitmap, setInodeBitmap, setInodeTable, setFreeBlocksCountGd, setFreeInodesCountGd,
  setUsedDirsCount, setItableUnused, BG_BLOCK_BITMAP_CSUM_HI_END, BG_INODE_BITMAP_CSUM_HI_END, type GroupDesc,
} from './group-desc.js';
import { Ext4Inode, type Inode, encodeTime, encodeDevice, setInodeFileSize, setInodeUid, setInodeGid, setFileAcl, setInodeBlocks } from './inode.js';
import { EXT4_EXT_MAGIC, EXT_INIT_MAX_LEN } from './extent.js';
import { EXT2_EXT_ATTR_MAGIC, splitXattrName, xattrEntryLen, xattrValueLen, xattrEntryHash, xattrBlockHash } from './xattr.js';
import {
  csumSeed as sbCsumSeed, setSuperBlockCsum, setGroupDescCsum, setExtentBlockCsum, setXattrBlockCsum, computeBitmapCsum,
} from './csum.js';

export interface Ext4Features {
  has_journal?: boolean;
  metadata_csum?: boolean;
  '64bit'?: boolean;
  flex_bg?: boolean;
  dir_index?: boolean;
  huge_file?: boolean;
  dir_nlink?: boolean;
  extra_isize?: boolean;
  ext_attr?: boolean;
  uninit_bg?: boolean;
  resize_inode?: boolean;
}

export interface Ext4Options {
  /** Bytes the filesystem spans. */
  size: number;
  label?: string;
  /** RFC 4122 UUID; derived from the seed when absent. */
  uuid?: string;
  /** Directory hash seed (a UUID); derived from the seed when absent. */
  hashSeed?: string;
  /** Seed for the derived identifiers. */
  seed?: string;
  /** Extra derivation labels (the partition number), so two filesystems of one image differ. */
  seedLabels?: ReadonlyArray<string | number>;
  blockSize?: 1024 | 2048 | 4096;
  inodeSize?: number;
  inodeRatio?: number;
  inodes?: number;
  reservedPercent?: number;
  /** false: no journal; a number: journal size in blocks. */
  journal?: boolean | number;
  features?: Ext4Features;
  /** Filesystem creation time (s_mkfs_time, lost+found); default the tree's default time. */
  time?: Timestamp;
  /** 'root': every inode owned by 0:0. */
  owner?: 'keep' | 'root';
  /** Zero (and flag ITABLE_ZEROED) the inode tables of unused groups too. Default false (the kernel's lazy init does it). */
  zeroInodeTables?: boolean;
}

const FIRST_INO = 11;
const LPF_INO = 11;
const EXTRA_ISIZE = 32;
const ZERO4 = new Uint8Array(4);
const enc = new TextEncoder();

/**
 * Small byte arrays carved out of shared 64 KiB blocks. A root filesystem
 * needs tens of thousands of them (each inode's i_block, each encoded name),
 * and a Uint8Array of its own costs an ArrayBuffer and a backing store
 * besides its bytes: about 300 bytes for 60.
 */
class ByteSlab {
  private block = new Uint8Array(0);
  private used = 0;
  /** `n` zero bytes. */
  take(n: number): Uint8Array {
    if (this.used + n > this.block.length) {
      this.block = new Uint8Array(Math.max(n, 64 * 1024));
      this.used = 0;
    }
    this.used += n;
    return this.block.subarray(this.used - n, this.used);
  }
  /** `text` as UTF-8. */
  encode(text: string): Uint8Array {
    // A UTF-16 unit becomes at most 3 UTF-8 bytes.
    const room = this.take(text.length * 3);
    const { written } = enc.encodeInto(text, room);
    this.used -= room.length - written;
    return room.subarray(0, written);
  }
}

interface XattrItem { index: number; name: Uint8Array; value: Uint8Array; hash: number }

interface InodeInfo {
  ino: number;
  node: TreeNode | null;
  mode: number;
  uid: number;
  gid: number;
  links: number;
  size: number;
  flags: number;
  times: { a: Timestamp; c: Timestamp; m: Timestamp; cr: Timestamp };
  /** i_block contents (extent root, fast symlink or device). */
  iblock: Uint8Array;
  /** Blocks counted in i_blocks. */
  blockCount: number;
  path: string;
  xattrIbody: XattrItem[];
  xattrBlock: number;
  isDir: boolean;
  /** For files: the logical block runs holding data (between the space check and allocation). */
  runs?: Array<[number, number]>;
}

type Piece =
  | { off: number; len: number; kind: 'bytes'; data: Uint8Array }
  | { off: number; len: number; kind: 'zero' }
  | { off: number; len: number; kind: 'gen'; gen: () => Uint8Array }
  | { off: number; len: number; kind: 'file'; src: Source; srcOff: number; dataLen: number; files: number };

function fileTypeOf(node: TreeNode): number {
  switch (node.kind) {
    case 'file': return FT_REG_FILE;
    case 'dir': return FT_DIR;
    case 'symlink': return FT_SYMLINK;
    case 'char': return FT_CHRDEV;
    case 'block': return FT_BLKDEV;
    case 'fifo': return FT_FIFO;
    case 'socket': return FT_SOCK;
  }
}

function modeTypeOf(node: TreeNode): number {
  switch (node.kind) {
    case 'file': return S_IFREG;
    case 'dir': return S_IFDIR;
    case 'symlink': return S_IFLNK;
    case 'char': return S_IFCHR;
    case 'block': return S_IFBLK;
    case 'fifo': return S_IFIFO;
    case 'socket': return S_IFSOCK;
  }
}

/** Logical block runs [start, len] holding data (dataRanges → whole blocks; holes stay unallocated). */
export function dataBlockRuns(src: Source, blockSize: number): Array<[number, number]> {
  const nBlocks = Math.ceil(src.size / blockSize);
  if (nBlocks === 0) return [];
  if (!src.dataRanges) return [[0, nBlocks]];
  const out: Array<[number, number]> = [];
  for (const [s, e] of src.dataRanges()) {
    if (!(e > s)) continue;
    const b0 = Math.floor(Math.max(0, s) / blockSize);
    const b1 = Math.min(nBlocks, Math.ceil(Math.min(e, src.size) / blockSize));
    if (b1 <= b0) continue;
    const last = out[out.length - 1];
    if (last && b0 <= last[0] + last[1]) last[1] = Math.max(last[1], b1 - last[0]);
    else out.push([b0, b1 - b0]);
  }
  return out;
}

function u32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
  buf[off + 2] = (v >>> 16) & 0xff;
  buf[off + 3] = (v >>> 24) & 0xff;
}
function u16(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
}

function prepareXattrs(xs: Xattr[] | undefined, path: string): XattrItem[] {
  if (!xs || xs.length === 0) return [];
  const items = xs.map((x) => {
    if (x.name.startsWith('system.posix_acl_') || x.name.startsWith('system.richacl')) {
      fail('EXT4_XATTR_UNSUPPORTED', `${path}: extended attribute ${x.name} is not supported`, { path, field: x.name });
    }
    const { index, suffix } = splitXattrName(x.name);
    if (index === 0) fail('EXT4_XATTR_UNSUPPORTED', `${path}: extended attribute ${x.name} has no known namespace`, { path, field: x.name });
    const name = enc.encode(suffix);
    if (name.length > 255) fail('EXT4_XATTR_TOO_LARGE', `${path}: extended attribute name ${x.name} is too long`, { path, field: x.name });
    return { index, name, value: x.value, hash: xattrEntryHash(name, x.value) };
  });
  // ext4_xattr_find_entry's sort order for blocks: index, name length, name.
  items.sort((a, b) => a.index - b.index || a.name.length - b.name.length || cmpBytes(a.name, b.name));
  for (let i = 1; i < items.length; i++) {
    if (items[i].index === items[i - 1].index && cmpBytes(items[i].name, items[i - 1].name) === 0) {
      fail('EXT4_XATTR_DUPLICATE', `${path}: extended attribute ${xs[i].name} is given twice`, { path });
    }
  }
  return items;
}

function xattrsSize(items: XattrItem[]): number {
  return items.reduce((s, x) => s + xattrEntryLen(x.name.length) + xattrValueLen(x.value.length), 0) + 4;
}

/** Entries from `start` (relative to `base`), values packed down from `end`; value offsets relative to `base`. */
function writeXattrEntries(buf: Uint8Array, base: number, start: number, end: number, items: XattrItem[]): void {
  let e = start;
  let v = end;
  for (const x of items) {
    const vl = xattrValueLen(x.value.length);
    v -= vl;
    buf[e] = x.name.length;
    buf[e + 1] = x.index;
    u16(buf, e + 2, x.value.length === 0 ? 0 : v - base);
    u32(buf, e + 4, 0);
    u32(buf, e + 8, x.value.length);
    u32(buf, e + 12, x.hash);
    buf.set(x.name, e + 16);
    buf.set(x.value, v);
    e += xattrEntryLen(x.name.length);
  }
  if (e + 4 > v) throw new RangeError('xattrs overflow');
}

function leafExtents(map: Array<[number, number, number]>): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  for (const [l, p, n] of map) {
    for (let k = 0; k < n; k += EXT_INIT_MAX_LEN) out.push([l + k, p + k, Math.min(EXT_INIT_MAX_LEN, n - k)]);
  }
  return out;
}

function extentHeader(buf: Uint8Array, off: number, entries: number, max: number, depth: number): void {
  u16(buf, off, EXT4_EXT_MAGIC);
  u16(buf, off + 2, entries);
  u16(buf, off + 4, max);
  u16(buf, off + 6, depth);
  u32(buf, off + 8, 0);
}
function putExtent(buf: Uint8Array, off: number, l: number, p: number, n: number): void {
  u32(buf, off, l);
  u16(buf, off + 4, n);
  u16(buf, off + 6, Math.floor(p / 0x1_0000_0000));
  u32(buf, off + 8, p >>> 0);
}
function putIndex(buf: Uint8Array, off: number, l: number, p: number): void {
  u32(buf, off, l);
  u32(buf, off + 4, p >>> 0);
  u16(buf, off + 8, Math.floor(p / 0x1_0000_0000));
  u16(buf, off + 10, 0);
}

/** Index blocks an extent tree of `n` leaf extents needs. */
function extentTreeBlocks(n: number, perBlock: number): number {
  let total = 0;
  let level = n;
  while (level > 4) {
    level = Math.ceil(level / perBlock);
    total += level;
  }
  return total;
}

/** The geometry planExt4 lays out for these options (no per-file work: cheap at any size). */
export function ext4GeometryOf(options: Ext4Options): Ext4Geometry {
  const f = options.features ?? {};
  const journalOn = options.journal !== false && f.has_journal !== false;
  return computeGeometry({
    size: options.size,
    blockSize: options.blockSize,
    inodeSize: options.inodeSize,
    inodeRatio: options.inodeRatio,
    inodes: options.inodes,
    reservedPercent: options.reservedPercent,
    is64bit: f['64bit'] !== false,
    flexBg: f.flex_bg !== false,
    journalBlocks: !journalOn ? 0 : typeof options.journal === 'number' ? options.journal : undefined,
    resizeInode: f.resize_inode !== false,
  });
}

export function planExt4(tree: FileTree, options: Ext4Options): FilesystemPlan {
  const f = options.features ?? {};
  const journalOn = options.journal !== false && f.has_journal !== false;
  const metadataCsum = f.metadata_csum !== false;
  const is64 = f['64bit'] !== false;
  const flexBg = f.flex_bg !== false;
  const dirIndex = f.dir_index !== false;
  const extAttr = f.ext_attr !== false;
  const hugeFile = f.huge_file !== false;
  const dirNlink = f.dir_nlink !== false;
  const uninitBg = !metadataCsum && f.uninit_bg !== false;
  const groupCsum = metadataCsum || uninitBg;
  const seed = options.seed ?? '';
  const time = options.time ?? tree.defaultTime;
  const ownerRoot = options.owner === 'root';

  const geo: Ext4Geometry = ext4GeometryOf(options);
  const resizeInode = geo.reservedGdtBlocks > 0;
  const B = geo.blockSize;
  const sectorsPerBlock = B / 512;

  // ---- identity -------------------------------------------------------
  const label = options.label ?? '';
  const labelBytes = enc.encode(label);
  if (labelBytes.length > 16) fail('EXT4_OPTION_INVALID', `label ${JSON.stringify(label)} is longer than 16 bytes`, { field: 'label', actual: label });
  const labels = options.seedLabels ?? [];
  const uuidStr = options.uuid ?? deriveUuid(seed, 'ext4', ...labels, 'uuid');
  const uuid = encodeUuid(uuidStr);
  const hashSeed = options.hashSeed ? encodeUuid(options.hashSeed) : encodeUuid(deriveUuid(seed, 'ext4', ...labels, 'hash-seed'));
  void deriveBytes;
  const csumSeed = metadataCsum ? crc32cRaw(0xffffffff, uuid) : 0;
  const hashVersion = HASH_HALF_MD4;
  const effHashVersion = hashVersion + 3; // FLAGS_UNSIGNED_HASH

  // ---- inodes ---------------------------------------------------------
  const inodes: InodeInfo[] = [];
  const byNode = new Map<TreeNode, InodeInfo>();
  const slab = new ByteSlab();
  const tm = (n: TreeNode | null) => {
    const m = n?.mtime ?? time;
    return { a: n?.atime ?? m, c: n?.ctime ?? m, m, cr: n?.crtime ?? m };
  };
  const newInode = (ino: number, node: TreeNode | null, path: string): InodeInfo => {
    const info: InodeInfo = {
      ino, node, mode: 0, uid: ownerRoot || !node ? 0 : node.uid, gid: ownerRoot || !node ? 0 : node.gid,
      links: 0, size: 0, flags: 0, times: tm(node), iblock: slab.take(60), blockCount: 0,
      path, xattrIbody: [], xattrBlock: 0, isDir: node?.kind === 'dir',
    };
    if (node) {
      info.mode = modeTypeOf(node) | (node.mode & 0o7777);
      if (node.xattrs && node.xattrs.length > 0) {
        if (!extAttr) fail('EXT4_XATTR_UNSUPPORTED', `${path}: extended attributes need the ext_attr feature`, { path });
        info.xattrIbody = prepareXattrs(node.xattrs, path);
      }
      if (!Number.isInteger(info.uid) || info.uid < 0 || info.uid > 0xffffffff || !Number.isInteger(info.gid) || info.gid < 0 || info.gid > 0xffffffff) {
        fail('EXT4_OWNER_INVALID', `${path}: owner ${info.uid}:${info.gid} is out of range`, { path });
      }
    }
    inodes[ino] = info;
    return info;
  };

  const root = newInode(ROOT_INO, tree.root, '/');
  byNode.set(tree.root, root);
  const lpfNode = tree.root.children.get('lost+found');
  if (lpfNode && lpfNode.kind !== 'dir') {
    fail('EXT4_LOST_FOUND_NOT_DIR', '/lost+found must be a directory', { path: '/lost+found' });
  }
  const lpf = newInode(LPF_INO, lpfNode ?? null, '/lost+found');
  if (lpfNode) byNode.set(lpfNode, lpf);
  else { lpf.mode = S_IFDIR | 0o700; lpf.isDir = true; lpf.times = tm(null); }

  // One walk of the tree, in tree.walk()'s order (parents first, siblings
  // sorted by name): each directory's entries sorted and their names
  // encoded once, for the inode numbers, the space check and the directory
  // blocks alike.
  // An entry's inode number is kept on it once known: the directory blocks
  // need no lookup by node.
  interface Entry { name: string; bytes: Uint8Array; node: TreeNode; ino: number }
  const entriesOf = new Map<DirNode, Entry[]>();
  const walkOrder: Array<[string, Entry, DirNode]> = [];
  {
    const entriesFor = (dir: DirNode, prefix: string): Entry[] => {
      const entries: Entry[] = [];
      for (const [name, node] of sortedChildren(dir)) {
        const bytes = slab.encode(name);
        if (bytes.length > 255) {
          fail('EXT4_NAME_TOO_LONG', `${prefix}/${name}: name is ${bytes.length} bytes, ext4 allows 255`, { path: `${prefix}/${name}`, actual: bytes.length });
        }
        entries.push({ name, bytes, node, ino: 0 });
      }
      entriesOf.set(dir, entries);
      return entries;
    };
    // Depth first, pre-order: an entry, then everything below it, then its next sibling.
    const frames: Array<{ dir: DirNode; prefix: string; entries: Entry[]; i: number }> = [{ dir: tree.root, prefix: '', entries: entriesFor(tree.root, ''), i: 0 }];
    while (frames.length > 0) {
      const f = frames[frames.length - 1];
      if (f.i === f.entries.length) { frames.pop(); continue; }
      const e = f.entries[f.i++];
      const path = `${f.prefix}/${e.name}`;
      walkOrder.push([path, e, f.dir]);
      if (e.node.kind === 'dir') frames.push({ dir: e.node, prefix: path, entries: entriesFor(e.node, path), i: 0 });
    }
  }
  let nextIno = FIRST_INO + 1;
  const parentOf = new Map<InodeInfo, InodeInfo>();
  parentOf.set(root, root);
  parentOf.set(lpf, root);
  let fileCount = 0;
  let dataBytes = 0;
  for (const [path, e, parent] of walkOrder) {
    const node = e.node;
    let info = byNode.get(node);
    if (!info) {
      info = newInode(nextIno++, node, path);
      byNode.set(node, info);
      if (node.kind === 'file') { fileCount++; dataBytes += node.source.size; }
    }
    e.ino = info.ino;
    info.links++;
    if (node.kind === 'dir') parentOf.set(info, byNode.get(parent)!);
  }
  {
    // Every distinct node but the root and lost+found took a number from FIRST_INO + 1 on.
    const needed = nextIno - 1;
    if (needed > geo.inodesCount) {
      fail('EXT4_TOO_MANY_FILES', `the contents need ${needed} inodes, the filesystem has ${geo.inodesCount}`, {
        structure: 'ext4', needed, available: geo.inodesCount,
      });
    }
  }
  walkOrder.length = 0;
  const usedInodes = nextIno - 1;

  // Directory link counts: 2 + subdirectories (dir_nlink: 1 when over 65000).
  for (const info of inodes) {
    if (!info || !info.isDir) continue;
    info.links = 2;
  }
  for (const [child, parent] of parentOf) {
    if (child !== root) parent.links++;
  }
  for (const info of inodes) {
    if (info && info.isDir && info.links >= 65000) {
      if (!dirNlink) fail('EXT4_TOO_MANY_LINKS', 'a directory has too many subdirectories without dir_nlink', {});
      info.links = 1;
    }
    if (info && !info.isDir && info.links > 65000) fail('EXT4_TOO_MANY_LINKS', `inode ${info.ino} has ${info.links} hard links`, {});
  }

  // ---- space check before allocation --------------------------------
  const meta = metadataRuns(geo);
  const metaBlocks = meta.reduce((s, r) => s + r.len, 0);
  const freeForData = geo.blocksCount - metaBlocks;
  const perIndexBlock = Math.floor((B - 12) / 12);
  {
    let need = 1 + geo.journalBlocks + extentTreeBlocks(Math.ceil(geo.journalBlocks / EXT_INIT_MAX_LEN) + 4, perIndexBlock);
    for (const info of inodes) {
      if (!info?.node) continue;
      const n = info.node;
      if (n.kind === 'file') {
        const runs = (info.runs = dataBlockRuns(n.source, B));
        const nb = runs.reduce((s, r) => s + r[1], 0);
        need += nb + extentTreeBlocks(runs.length + Math.ceil(nb / EXT_INIT_MAX_LEN), perIndexBlock);
      } else if (n.kind === 'symlink' && enc.encode(n.target).length >= 60) need += 1;
      if (info.xattrIbody.length > 0 && xattrsSize(info.xattrIbody) > geo.inodeSize - 128 - EXTRA_ISIZE - 4) need += 1;
    }
    // Directories: their entries packed into blocks, with slack for hash
    // grouping and the htree root/node blocks; lost+found's preallocation.
    for (const info of inodes) {
      if (!info?.isDir) continue;
      let bytes = 24;
      if (info.node?.kind === 'dir') for (const e of entriesOf.get(info.node)!) bytes += (8 + e.bytes.length + 3) & ~3;
      const leaves = Math.ceil((bytes * 1.25) / (B - 12));
      need += leaves <= 1 ? 1 : leaves + 1 + Math.ceil(leaves / 500);
      need += extentTreeBlocks(8, perIndexBlock);
      if (info.ino === LPF_INO) need += Math.max(2, Math.ceil(16384 / B));
    }
    if (need > freeForData) {
      fail('EXT4_NO_SPACE', `the contents need about ${need * B} bytes but the filesystem has ${freeForData * B} free`, {
        structure: 'ext4', needed: need * B, available: freeForData * B,
      });
    }
  }

  const alloc = new BlockAllocator(meta, geo.blocksCount, freeForData);
  const pieces: Piece[] = [];
  const blockOff = (b: number) => b * B;

  // ---- per-inode checksum seeds --------------------------------------

  // Extent tree: a map of [logical, physical, len] → i_block root plus index blocks.
  const buildExtents = (info: InodeInfo, map: Array<[number, number, number]>, what: string): void => {
    info.flags |= EXTENTS_FL;
    const leaves = leafExtents(map);
    const ib = info.iblock;
    if (leaves.length <= 4) {
      extentHeader(ib, 0, leaves.length, 4, 0);
      leaves.forEach(([l, p, n], i) => putExtent(ib, 12 + i * 12, l, p, n));
      return;
    }
    // Bottom-up: level 0 holds leaves, each upper level indexes the one below.
    let level: Array<{ first: number; block: number }> = [];
    let depth = 0;
    let items: Array<[number, number, number]> = leaves;
    let isLeaf = true;
    while (true) {
      depth++;
      const nb = Math.ceil(items.length / perIndexBlock);
      const runs = alloc.alloc(nb, what);
      info.blockCount += nb;
      const blocks: number[] = [];
      for (const r of runs) for (let k = 0; k < r.len; k++) blocks.push(r.start + k);
      level = [];
      for (let bi = 0; bi < nb; bi++) {
        const chunk = items.slice(bi * perIndexBlock, (bi + 1) * perIndexBlock);
        const buf = new Uint8Array(B);
        extentHeader(buf, 0, chunk.length, perIndexBlock, depth - 1);
        chunk.forEach(([l, p, n], i) => (isLeaf ? putExtent(buf, 12 + i * 12, l, p, n) : putIndex(buf, 12 + i * 12, l, p)));
        if (metadataCsum) setExtentBlockCsum(csumSeed, info.ino, 0, buf);
        pieces.push({ off: blockOff(blocks[bi]), len: B, kind: 'bytes', data: buf });
        level.push({ first: chunk[0][0], block: blocks[bi] });
      }
      isLeaf = false;
      if (level.length <= 4) break;
      items = level.map((x) => [x.first, x.block, 0]);
    }
    extentHeader(ib, 0, level.length, 4, depth);
    level.forEach((x, i) => putIndex(ib, 12 + i * 12, x.first, x.block));
  };

  const allocMap = (logicalRuns: Array<[number, number]>, what: string): Array<[number, number, number]> => {
    const map: Array<[number, number, number]> = [];
    for (const [l0, n] of logicalRuns) {
      let l = l0;
      for (const r of alloc.alloc(n, what)) {
        map.push([l, r.start, r.len]);
        l += r.len;
      }
    }
    return map;
  };

  // ---- journal (inode 8) ---------------------------------------------
  let journalInfo: InodeInfo | null = null;
  if (geo.journalBlocks > 0) {
    const j = newInode(JOURNAL_INO, null, '(journal)');
    j.mode = S_IFREG | 0o600;
    j.links = 1;
    j.size = geo.journalBlocks * B;
    j.times = tm(null);
    const map = allocMap([[0, geo.journalBlocks]], 'the journal');
    j.blockCount = geo.journalBlocks;
    buildExtents(j, map, 'the journal');
    const jsb = buildJournalSuperBlock(B, geo.journalBlocks, uuid, metadataCsum);
    pieces.push({ off: blockOff(map[0][1]), len: B, kind: 'bytes', data: jsb });
    let first = true;
    for (const [, p, n] of map) {
      const s = first ? p + 1 : p;
      const len = first ? n - 1 : n;
      first = false;
      if (len > 0) pieces.push({ off: blockOff(s), len: len * B, kind: 'zero' });
    }
    journalInfo = j;
  }

  // ---- resize inode (7) ------------------------------------------------
  // ext2fs_create_resize_inode(): a double-indirect block listing the
  // primary reserved GDT blocks; each of those, used as an indirect block,
  // lists its copies in the backup groups. Block-mapped, not extents.
  if (resizeInode) {
    const r = newInode(RESIZE_INO, null, '(resize inode)');
    r.mode = S_IFREG | 0o600;
    r.links = 1;
    r.times = tm(null);
    const apb = B / 4;
    r.size = (apb * apb + apb + 12) * B;
    const [dind] = alloc.alloc(1, 'the resize inode');
    u32(r.iblock, 13 * 4, dind.start);
    const dindBuf = new Uint8Array(B);
    const primary0 = groupFirst(geo, 0) + 1 + geo.gdtBlocks;
    const backups = geo.superGroups.filter((g) => g > 0);
    for (let i = 0; i < geo.reservedGdtBlocks; i++) {
      const blk = primary0 + i;
      u32(dindBuf, ((geo.gdtBlocks + i) % apb) * 4, blk);
      const ind = new Uint8Array(B);
      backups.forEach((g, k) => u32(ind, k * 4, blk + g * geo.blocksPerGroup));
      pieces.push({ off: blockOff(blk), len: B, kind: 'bytes', data: ind });
    }
    pieces.push({ off: blockOff(dind.start), len: B, kind: 'bytes', data: dindBuf });
    for (const g of backups) {
      pieces.push({ off: blockOff(primary0 + g * geo.blocksPerGroup), len: geo.reservedGdtBlocks * B, kind: 'zero' });
    }
    r.blockCount = 1 + geo.reservedGdtBlocks * (1 + backups.length);
  }

  // ---- every inode's blocks, in inode order ---------------------------
  const dirCsum = (ino: number) => (metadataCsum ? { seed: csumSeed, ino, generation: 0 } : null);
  const inodeXattrRoom = geo.inodeSize - 128 - EXTRA_ISIZE - 4;
  const order = inodes.filter((x) => x && x.ino !== JOURNAL_INO && x.ino !== RESIZE_INO);
  for (const info of order) {
    const node = info.node;
    const path = info.path;
    // External xattr block first (before the data: keeps data contiguous with its neighbours).
    if (info.xattrIbody.length > 0 && xattrsSize(info.xattrIbody) > inodeXattrRoom) {
      const items = info.xattrIbody;
      if (32 + xattrsSize(items) > B) {
        fail('EXT4_XATTR_TOO_LARGE', `${path}: extended attributes need ${32 + xattrsSize(items)} bytes, a block holds ${B}`, { path, needed: 32 + xattrsSize(items), available: B });
      }
      const [r] = alloc.alloc(1, path);
      const blk = new Uint8Array(B);
      u32(blk, 0, EXT2_EXT_ATTR_MAGIC);
      u32(blk, 4, 1);
      u32(blk, 8, 1);
      u32(blk, 12, xattrBlockHash(items.map((x) => x.hash)));
      writeXattrEntries(blk, 0, 32, B, items);
      if (metadataCsum) setXattrBlockCsum(csumSeed, r.start, blk);
      pieces.push({ off: blockOff(r.start), len: B, kind: 'bytes', data: blk });
      info.xattrBlock = r.start;
      info.blockCount += 1;
      info.xattrIbody = [];
    }
    if (info.isDir) {
      const dirNode = node as DirNode | null;
      const children: DirEntryIn[] = [];
      if (dirNode || info === root) {
        let kids = dirNode ? entriesOf.get(dirNode)! : [];
        if (info === root && !lpfNode) {
          kids = [...kids, { name: 'lost+found', bytes: enc.encode('lost+found'), node: { kind: 'dir' } as TreeNode, ino: LPF_INO }];
          kids.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        }
        for (const e of kids) children.push({ name: e.bytes, inode: e.ino, fileType: fileTypeOf(e.node) });
      }
      const parent = parentOf.get(info) ?? root;
      const layout = buildDirectory(info.ino, parent.ino, children, B, {
        csum: dirCsum(info.ino), index: dirIndex, hashVersion: effHashVersion, hashSeed, storedHashVersion: hashVersion,
        minBlocks: info.ino === LPF_INO ? Math.max(2, Math.ceil(16384 / B)) : 1,
      });
      if (layout.indexed) info.flags |= INDEX_FL;
      const map = allocMap([[0, layout.blocks.length]], path);
      let i = 0;
      for (const [, p, n] of map) {
        for (let k = 0; k < n; k++) pieces.push({ off: blockOff(p + k), len: B, kind: 'bytes', data: layout.blocks[i++] });
      }
      info.size = layout.blocks.length * B;
      info.blockCount += layout.blocks.length;
      buildExtents(info, map, path);
      continue;
    }
    if (!node) continue;
    switch (node.kind) {
      case 'file': {
        info.size = node.source.size;
        const runs = info.runs ?? dataBlockRuns(node.source, B);
        info.runs = undefined;
        let map: Array<[number, number, number]>;
        if (node.contiguous && runs.length > 0) {
          // One physical run from the first to the last data block (holes inside are filled).
          const first = runs[0][0];
          const last = runs[runs.length - 1][0] + runs[runs.length - 1][1];
          const r = alloc.allocContiguous(last - first, path);
          map = [[first, r.start, r.len]];
        } else {
          map = allocMap(runs, path);
        }
        let nb = 0;
        let firstPiece = true;
        for (const [l, p, n] of map) {
          const srcOff = l * B;
          const len = Math.min(n * B, node.source.size - srcOff);
          // The piece spans whole blocks; bytes past the source's end are written as zeros.
          pieces.push({ off: blockOff(p), len: n * B, kind: 'file', src: node.source, srcOff, dataLen: len, files: firstPiece ? 1 : 0 });
          firstPiece = false;
          nb += n;
        }
        info.blockCount += nb;
        buildExtents(info, map, path);
        break;
      }
      case 'symlink': {
        const t = enc.encode(node.target);
        if (t.length === 0) fail('EXT4_SYMLINK_INVALID', `${path}: empty symlink target`, { path });
        if (t.length >= B) fail('EXT4_SYMLINK_INVALID', `${path}: symlink target of ${t.length} bytes does not fit in a block`, { path, actual: t.length });
        info.size = t.length;
        if (t.length < 60) {
          info.iblock.set(t);
        } else {
          const map = allocMap([[0, 1]], path);
          const blk = new Uint8Array(B);
          blk.set(t);
          pieces.push({ off: blockOff(map[0][1]), len: B, kind: 'bytes', data: blk });
          info.blockCount += 1;
          buildExtents(info, map, path);
        }
        break;
      }
      case 'char':
      case 'block':
        if (!(node.major >= 0 && node.major < 4096 && node.minor >= 0 && node.minor < 1048576)) {
          fail('EXT4_DEVICE_INVALID', `${path}: device ${node.major}:${node.minor} is out of range`, { path });
        }
        info.iblock = encodeDevice(node.major, node.minor);
        break;
      default:
        break;
    }
  }

  // ---- groups: counts, flags, bitmaps' checksums ----------------------
  // Per group, only what the descriptors need and cannot be recomputed
  // cheaply is kept, in typed arrays (3 bytes a group, 11 with
  // metadata_csum); where bitmaps and tables lie is recomputed one flex
  // group at a time (groupPlacer), and descriptors and bitmaps are encoded
  // at emission. A group that holds nothing costs no object and no bitmap:
  // its bitmap is one of a few shapes whose checksums are computed once.
  const used = unionRuns(meta, alloc.used);
  const ipg = geo.inodesPerGroup;
  const bpg = geo.blocksPerGroup;
  const groupCount = geo.groupCount;
  const lastGroup = groupCount - 1;
  const usedInGroup = (g: number) => Math.max(0, Math.min(ipg, usedInodes - g * ipg));
  const dirsInGroup = new Uint32Array(Math.ceil(usedInodes / ipg) + 1);
  for (const info of inodes) if (info?.isDir) dirsInGroup[Math.floor((info.ino - 1) / ipg)]++;
  const dirsOf = (g: number) => (g < dirsInGroup.length ? dirsInGroup[g] : 0);

  /**
   * The used runs intersecting group g as [start, end) pairs relative to its
   * first block, into `out`; `cur` is a moving index into `used` (groups
   * are visited in increasing order).
   */
  const groupRuns = (g: number, cur: { i: number }, out: number[]): number[] => {
    out.length = 0;
    const first = groupFirst(geo, g);
    const end = first + groupBlocks(geo, g);
    while (cur.i < used.length && used[cur.i].start + used[cur.i].len <= first) cur.i++;
    for (let i = cur.i; i < used.length && used[i].start < end; i++) {
      out.push(Math.max(first, used[i].start) - first, Math.min(end, used[i].start + used[i].len) - first);
    }
    return out;
  };
  const bitmapFromRuns = (runs: number[], blocks: number): Uint8Array => {
    const bm = new Uint8Array(B);
    for (let k = 0; k < runs.length; k += 2) setBits(bm, runs[k], runs[k + 1]);
    if (blocks < bpg) setBits(bm, blocks, bpg);
    return bm;
  };
  const blockBitmapOf = (g: number): Uint8Array =>
    bitmapFromRuns(groupRuns(g, { i: lowerBound(used, groupFirst(geo, g)) }, []), groupBlocks(geo, g));
  /**
   * Whether group g's used blocks are exactly what ext4_init_block_bitmap
   * marks for a BLOCK_UNINIT group: its superblock/GDT copy and those of
   * its own bitmaps and inode table that lie inside it. `runs` are the
   * group's merged used runs (groupRuns); compared as merged run lists.
   */
  const initRuns: number[] = [];
  const planPlace = groupPlacer(geo);
  const isInitShape = (g: number, runs: number[]): boolean => {
    const first = groupFirst(geo, g);
    const blocks = groupBlocks(geo, g);
    const own: Array<[number, number]> = [];
    if (groupHasSuper(g)) own.push([0, geo.superBlocks]);
    const add = (b: number, n: number) => { if (b >= first && b + n <= first + blocks) own.push([b - first, b - first + n]); };
    add(planPlace.blockBitmap(g), 1);
    add(planPlace.inodeBitmap(g), 1);
    add(planPlace.inodeTable(g), geo.inodeTableBlocks);
    own.sort((x, y) => x[0] - y[0]);
    initRuns.length = 0;
    for (const [s0, e0] of own) {
      if (e0 <= s0) continue;
      const n = initRuns.length;
      if (n > 0 && s0 <= initRuns[n - 1]) initRuns[n - 1] = Math.max(initRuns[n - 1], e0);
      else initRuns.push(s0, e0);
    }
    if (initRuns.length !== runs.length) return false;
    for (let k = 0; k < runs.length; k++) if (runs[k] !== initRuns[k]) return false;
    return true;
  };
  const inodeBitmapOf = (g: number): Uint8Array => {
    const bm = new Uint8Array(B);
    setBits(bm, 0, usedInGroup(g));
    setBits(bm, ipg, B * 8);
    return bm;
  };

  const groupFlags = new Uint8Array(groupCount);
  const groupFreeBlocks = new Uint16Array(groupCount); // at most blocks per group: 8 × 4096
  const bbCsums = metadataCsum ? new Uint32Array(groupCount) : null;
  const ibCsums = metadataCsum ? new Uint32Array(groupCount) : null;
  let freeBlocksTotal = 0;
  let freeInodesTotal = 0;
  {
    const cur = { i: 0 };
    const runs: number[] = [];
    // Checksums of the bitmaps shared by many groups: a full group whose
    // used blocks are one run from its start (or none), keyed by that run's
    // length; an inode bitmap with no inode in use.
    const prefixCsum = new Map<number, number>();
    let emptyInodeCsum = -1;
    for (let g = 0; g < groupCount; g++) {
      groupRuns(g, cur, runs);
      const blocks = groupBlocks(geo, g);
      let usedCount = 0;
      for (let k = 0; k < runs.length; k += 2) usedCount += runs[k + 1] - runs[k];
      const freeB = blocks - usedCount;
      const ui = usedInGroup(g);
      groupFreeBlocks[g] = freeB;
      freeBlocksTotal += freeB;
      freeInodesTotal += ipg - ui;
      let flags = 0;
      if (groupCsum) {
        if (ui === 0) flags |= BG_INODE_UNINIT;
        if (g !== lastGroup && isInitShape(g, runs)) flags |= BG_BLOCK_UNINIT;
        if (ui > 0 || options.zeroInodeTables) flags |= BG_INODE_ZEROED;
      }
      groupFlags[g] = flags;
      if (bbCsums && ibCsums) {
        const shared = blocks === bpg && (runs.length === 0 || (runs.length === 2 && runs[0] === 0));
        const key = runs.length === 0 ? 0 : runs[1];
        let c = shared ? prefixCsum.get(key) : undefined;
        if (c === undefined) {
          c = computeBitmapCsum(csumSeed, bitmapFromRuns(runs, blocks).subarray(0, bpg / 8));
          if (shared) prefixCsum.set(key, c);
        }
        bbCsums[g] = c;
        if (ui === 0 && emptyInodeCsum >= 0) ibCsums[g] = emptyInodeCsum;
        else {
          const ic = computeBitmapCsum(csumSeed, inodeBitmapOf(g).subarray(0, ipg / 8));
          if (ui === 0) emptyInodeCsum = ic;
          ibCsums[g] = ic;
        }
      }
    }
  }
  const writesInodeTable = (g: number) => !groupCsum || usedInGroup(g) > 0 || !!options.zeroInodeTables;

  // ---- superblock -----------------------------------------------------
  const sb: SuperBlock = Ext4SuperBlock.zero();
  sb.s_inodes_count = geo.inodesCount;
  sb.s_feature_incompat = INCOMPAT.filetype | INCOMPAT.extent | (is64 ? INCOMPAT['64bit'] : 0) | (flexBg ? INCOMPAT.flex_bg : 0);
  setBlocksCount(sb, geo.blocksCount);
  setRBlocksCount(sb, geo.reservedBlocks);
  setFreeBlocksCount(sb, freeBlocksTotal);
  sb.s_free_inodes_count = freeInodesTotal;
  sb.s_first_data_block = geo.firstDataBlock;
  sb.s_log_block_size = geo.logBlockSize;
  sb.s_log_cluster_size = geo.logBlockSize;
  sb.s_blocks_per_group = bpg;
  sb.s_clusters_per_group = bpg;
  sb.s_inodes_per_group = ipg;
  sb.s_wtime = time.sec >>> 0;
  sb.s_wtime_hi = Math.floor(time.sec / 0x1_0000_0000) & 0xff;
  sb.s_max_mnt_count = 0xffff;
  sb.s_magic = EXT4_SUPER_MAGIC;
  sb.s_state = STATE_VALID;
  sb.s_errors = 1;
  sb.s_lastcheck = time.sec >>> 0;
  sb.s_lastcheck_hi = sb.s_wtime_hi;
  sb.s_mkfs_time = time.sec >>> 0;
  sb.s_mkfs_time_hi = sb.s_wtime_hi;
  sb.s_rev_level = DYNAMIC_REV;
  sb.s_first_ino = FIRST_INO;
  sb.s_inode_size = geo.inodeSize;
  sb.s_feature_compat = (journalInfo ? COMPAT.has_journal : 0) | (extAttr ? COMPAT.ext_attr : 0) | (dirIndex ? COMPAT.dir_index : 0)
    | (resizeInode ? COMPAT.resize_inode : 0);
  sb.s_reserved_gdt_blocks = geo.reservedGdtBlocks;
  sb.s_feature_ro_compat = RO_COMPAT.sparse_super | RO_COMPAT.large_file | (hugeFile ? RO_COMPAT.huge_file : 0)
    | (dirNlink ? RO_COMPAT.dir_nlink : 0) | RO_COMPAT.extra_isize
    | (metadataCsum ? RO_COMPAT.metadata_csum : 0) | (uninitBg ? RO_COMPAT.uninit_bg : 0);
  sb.s_uuid = uuid;
  sb.s_volume_name = labelBytes;
  sb.s_hash_seed = hashSeed;
  sb.s_def_hash_version = hashVersion;
  sb.s_desc_size = is64 ? geo.descSize : 0;
  sb.s_default_mount_opts = 0x0004 | 0x0008; // EXT2_DEFM_XATTR_USER | EXT2_DEFM_ACL, as mke2fs.conf's default_mntopts
  sb.s_min_extra_isize = EXTRA_ISIZE;
  sb.s_want_extra_isize = EXTRA_ISIZE;
  sb.s_flags = FLAGS_UNSIGNED_HASH;
  sb.s_log_groups_per_flex = geo.logGroupsPerFlex;
  if (metadataCsum) sb.s_checksum_type = CHECKSUM_TYPE_CRC32C;
  if (journalInfo) {
    sb.s_journal_inum = JOURNAL_INO;
    sb.s_jnl_backup_type = 1; // EXT3_JNL_BACKUP_BLOCKS
    const words: number[] = [];
    const ib = journalInfo.iblock;
    const dv = new DataView(ib.buffer, ib.byteOffset, ib.byteLength);
    for (let i = 0; i < 15; i++) words.push(dv.getUint32(i * 4, true));
    words.push(Math.floor(journalInfo.size / 0x1_0000_0000), journalInfo.size >>> 0);
    setJnlBlocks(sb, words);
  }

  const encodeSb = (groupNr: number): Uint8Array => {
    const raw = Ext4SuperBlock.encode({ ...sb, s_block_group_nr: groupNr });
    if (metadataCsum) setSuperBlockCsum(raw);
    return raw;
  };
  /** The group descriptor table, encoded from the per-group arrays through one reused value. */
  const gdtBytes = (): Uint8Array => {
    const buf = new Uint8Array(geo.gdtBlocks * B);
    const gd: GroupDesc = Ext4GroupDesc.zero();
    const place = groupPlacer(geo);
    for (let g = 0; g < groupCount; g++) {
      const ui = usedInGroup(g);
      setBlockBitmap(gd, place.blockBitmap(g));
      setInodeBitmap(gd, place.inodeBitmap(g));
      setInodeTable(gd, place.inodeTable(g));
      setFreeBlocksCountGd(gd, groupFreeBlocks[g]);
      setFreeInodesCountGd(gd, ipg - ui);
      setUsedDirsCount(gd, dirsOf(g));
      if (groupCsum) setItableUnused(gd, ipg - ui);
      gd.bg_flags = groupFlags[g];
      if (bbCsums && ibCsums) {
        // As setBlockBitmapCsum / setInodeBitmapCsum (src/ext4/csum.ts).
        const bc = bbCsums[g];
        const ic = ibCsums[g];
        gd.bg_block_bitmap_csum_lo = bc & 0xffff;
        gd.bg_block_bitmap_csum_hi = geo.descSize >= BG_BLOCK_BITMAP_CSUM_HI_END ? bc >>> 16 : 0;
        gd.bg_inode_bitmap_csum_lo = ic & 0xffff;
        gd.bg_inode_bitmap_csum_hi = geo.descSize >= BG_INODE_BITMAP_CSUM_HI_END ? ic >>> 16 : 0;
      }
      const off = g * geo.descSize;
      encodeGroupDesc(gd, buf, off, geo.descSize);
      if (groupCsum) setGroupDescCsum(sb, csumSeed, g, buf.subarray(off, off + geo.descSize));
    }
    return buf;
  };
  void sbCsumSeed;

  // ---- inode records -------------------------------------------------
  const le32Scratch = new Uint8Array(4);
  // Inode records are encoded straight into the inode table buffer, through
  // one reused Inode value: a copied object and a new record per inode were
  // most of the time spent on tens of thousands of inodes. Every field the
  // `info` branch sets is set for every inode, so nothing carries over.
  const emptyInode: Inode = { ...Ext4Inode.zero(), i_extra_isize: EXTRA_ISIZE };
  const v: Inode = { ...emptyInode };
  /** Inode `ino` into out[at, at + inodeSize), which is zero. */
  const writeInodeRecord = (ino: number, out: Uint8Array, at: number): void => {
    const rec = out.subarray(at, at + geo.inodeSize);
    const info = inodes[ino];
    if (info) {
      v.i_mode = info.mode;
      setInodeUid(v, info.uid);
      setInodeGid(v, info.gid);
      setInodeFileSize(v, info.size);
      const [a, ax] = encodeTime(info.times.a.sec, info.times.a.nsec);
      const [c, cx] = encodeTime(info.times.c.sec, info.times.c.nsec);
      const [m, mx] = encodeTime(info.times.m.sec, info.times.m.nsec);
      const [cr, crx] = encodeTime(info.times.cr.sec, info.times.cr.nsec);
      v.i_atime = a; v.i_atime_extra = ax;
      v.i_ctime = c; v.i_ctime_extra = cx;
      v.i_mtime = m; v.i_mtime_extra = mx;
      v.i_crtime = cr; v.i_crtime_extra = crx;
      v.i_links_count = info.links;
      setInodeBlocks(v, info.blockCount * sectorsPerBlock);
      v.i_flags = info.flags;
      v.i_block = info.iblock;
      setFileAcl(v, info.xattrBlock || 0);
    }
    Ext4Inode.encode(info ? v : emptyInode, rec, 0); // 128 + i_extra_isize (32) = the whole ext2_inode_large table
    if (info && info.xattrIbody.length > 0) {
      const base = 128 + EXTRA_ISIZE;
      u32(rec, base, EXT2_EXT_ATTR_MAGIC);
      writeXattrEntries(rec, base + 4, base + 4, geo.inodeSize, info.xattrIbody);
    }
    if (metadataCsum) {
      // ext4_inode_csum with generation 0; the checksum fields are still zero here.
      le32Scratch[0] = ino & 0xff; le32Scratch[1] = (ino >>> 8) & 0xff; le32Scratch[2] = (ino >>> 16) & 0xff; le32Scratch[3] = ino >>> 24;
      const c = crc32cRaw(crc32cRaw(crc32cRaw(csumSeed, le32Scratch), ZERO4), rec);
      u16(rec, 0x7c, c & 0xffff);
      u16(rec, 0x82, c >>> 16);
    }
  };

  // ---- group metadata pieces ------------------------------------------
  // Made at emission, one flex group at a time, and merged in offset order
  // with the other pieces: a huge filesystem never holds a piece (or a
  // closure) per group.
  const groupPieces = (g: number, into: Piece[], gdt: () => Uint8Array, place: GroupPlacer): void => {
    const first = groupFirst(geo, g);
    if (groupHasSuper(g)) {
      if (g === 0) {
        // Boot block area and primary superblock, zeros around them.
        into.push({
          off: 0, len: (geo.firstDataBlock + 1) * B, kind: 'gen',
          gen: () => { const b = new Uint8Array((geo.firstDataBlock + 1) * B); b.set(encodeSb(0), 1024); return b; },
        });
      } else {
        into.push({ off: blockOff(first), len: B, kind: 'gen', gen: () => { const b = new Uint8Array(B); b.set(encodeSb(g)); return b; } });
      }
      into.push({ off: blockOff(first + 1), len: geo.gdtBlocks * B, kind: 'gen', gen: gdt });
    }
    // Bitmaps of BLOCK_UNINIT / INODE_UNINIT groups are never read (the
    // kernel's ext4_init_block_bitmap and e2fsprogs' read_bitmaps compute
    // them), so they are not written, as ext2fs_write_bitmaps skips them.
    if (!(groupFlags[g] & BG_BLOCK_UNINIT)) {
      into.push({ off: blockOff(place.blockBitmap(g)), len: B, kind: 'gen', gen: () => blockBitmapOf(g) });
    }
    if (!(groupFlags[g] & BG_INODE_UNINIT)) {
      into.push({ off: blockOff(place.inodeBitmap(g)), len: B, kind: 'gen', gen: () => inodeBitmapOf(g) });
    }
    const ui = usedInGroup(g);
    const firstIno = g * ipg + 1;
    const itBytes = geo.inodeTableBlocks * B;
    const usedBytes = Math.ceil((ui * geo.inodeSize) / B) * B;
    const table = blockOff(place.inodeTable(g));
    if (usedBytes > 0) {
      into.push({
        off: table, len: usedBytes, kind: 'gen',
        gen: () => {
          const b = new Uint8Array(usedBytes);
          for (let k = 0; k < ui; k++) {
            const ino = firstIno + k;
            if (inodes[ino] || ino < FIRST_INO) writeInodeRecord(ino, b, k * geo.inodeSize);
          }
          return b;
        },
      });
    }
    if (writesInodeTable(g) && itBytes > usedBytes) {
      into.push({ off: table + usedBytes, len: itBytes - usedBytes, kind: 'zero' });
    }
  };
  /** Group metadata pieces in offset order, adjacent zero ranges joined. */
  function* allGroupPieces(): Generator<Piece> {
    const window = 1 << geo.logGroupsPerFlex;
    // One GDT encoding per emission, shared by its copies (put copies it).
    let gdtCache: Uint8Array | null = null;
    const gdt = () => (gdtCache ??= gdtBytes());
    const place = groupPlacer(geo);
    let pending: Piece[] = [];
    for (let g0 = 0; g0 < groupCount; g0 += window) {
      for (let g = g0; g < Math.min(groupCount, g0 + window); g++) groupPieces(g, pending, gdt, place);
      // Everything of later windows lies at or after their first block.
      const bound = g0 + window < groupCount ? blockOff(groupFirst(geo, g0 + window)) : Infinity;
      pending.sort((x, y) => x.off - y.off);
      let k = 0;
      while (k < pending.length && pending[k].off < bound) {
        const p = pending[k++];
        // Inode tables of consecutive groups (zeroInodeTables): one zero range.
        while (p.kind === 'zero' && k < pending.length && pending[k].kind === 'zero' && pending[k].off === p.off + p.len && pending[k].off < bound) {
          p.len += pending[k++].len;
        }
        yield p;
      }
      pending = pending.slice(k);
    }
  }
  /** The planned pieces and the group metadata, merged in offset order. */
  function* allPieces(): Generator<Piece> {
    let i = 0;
    for (const gp of allGroupPieces()) {
      while (i < pieces.length && pieces[i].off < gp.off) yield pieces[i++];
      yield gp;
    }
    while (i < pieces.length) yield pieces[i++];
  }

  pieces.sort((a, b) => a.off - b.off);
  const size = geo.blocksCount * B;

  return {
    type: 'ext4',
    size: options.size,
    label: label || null,
    uuid: decodeUuid(uuid),
    files: fileCount,
    dataBytes,
    async emit(sink: Sink, baseOffset: number, onProgress?: (bytes: number, files: number) => void): Promise<void> {
      // Through a write-combining stage (src/io/stage.ts): adjacent pieces
      // become few large writes, file data is read straight into the stage,
      // and the sink writes one buffer while the next one fills.
      const out = new StagedWriter(sink, baseOffset);
      let bytes = 0;
      let files = 0;
      let prevEnd = 0;
      try {
        for (const p of allPieces()) {
          if (p.off < prevEnd) throw new DiskwrightError('EXT4_INTERNAL_OVERLAP', `ext4 plan: overlapping writes at ${p.off}`, { offset: p.off });
          prevEnd = p.off + p.len;
          switch (p.kind) {
            case 'bytes': await out.put(p.off, p.data); break;
            case 'gen': await out.put(p.off, p.gen()); break;
            case 'zero': await out.zero(p.off, p.len); break;
            case 'file': {
              await out.putSource(p.off, p.src, p.srcOff, p.dataLen, p.len);
              bytes += Math.min(p.dataLen, p.len);
              files += p.files;
              if (p.files) onProgress?.(bytes, files);
              break;
            }
          }
        }
        await out.end();
      } catch (e) {
        await out.discard();
        throw e;
      }
    },
  };
}

function setBits(bm: Uint8Array, from: number, to: number): void {
  let i = from;
  while (i < to && i % 8 !== 0) { bm[i >> 3] |= 1 << (i & 7); i++; }
  while (i + 8 <= to) { bm[i >> 3] = 0xff; i += 8; }
  while (i < to) { bm[i >> 3] |= 1 << (i & 7); i++; }
}

/**
 * Two sorted run lists as one, sorted and merged (what mergeRuns gives for
 * their concatenation), in one pass and without copying the inputs: with
 * flex_bg off there is a metadata run per group.
 */
function unionRuns(a: readonly Run[], b: readonly Run[]): Run[] {
  const out: Run[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const r = j >= b.length || (i < a.length && a[i].start <= b[j].start) ? a[i++] : b[j++];
    if (r.len <= 0) continue;
    const last = out[out.length - 1];
    if (last && r.start <= last.start + last.len) last.len = Math.max(last.len, r.start + r.len - last.start);
    else out.push({ start: r.start, len: r.len });
  }
  return out;
}

function lowerBound(runs: Run[], block: number): number {
  let lo = 0;
  let hi = runs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (runs[mid].start + runs[mid].len <= block) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
