// Directory blocks for the ext4 builder: linear blocks (ext2_dir_entry_2
// records, the last one stretched to the checksum tail) and hashed
// directories (dx_root / dx_node over hash-ordered leaves), as the kernel's
// fs/ext4/namei.c reads them and e2fsck pass 2 (check_dir_block,
// parse_int_node) checks them.
import { fail } from '../errors.js';
import { dirRecLen, DIR_TAIL_SIZE } from './dirent.js';
import { FT_DIR_CSUM } from './features.js';
import { dirHash } from './htree.js';
import { setDirBlockCsum, setDxCsum } from './csum.js';

export interface DirEntryIn {
  name: Uint8Array;
  inode: number;
  fileType: number;
}

export interface DirCsum {
  seed: number;
  ino: number;
  generation: number;
}

export interface DirLayout {
  blocks: Uint8Array[];
  indexed: boolean;
}

function putEntry(block: Uint8Array, dv: DataView, off: number, e: DirEntryIn, recLen: number): void {
  dv.setUint32(off, e.inode, true);
  dv.setUint16(off + 4, recLen, true);
  block[off + 6] = e.name.length;
  block[off + 7] = e.fileType;
  block.set(e.name, off + 8);
}

/** Pack entries into linear leaf blocks; `groups` are never split across blocks. */
function packLeaves(groups: DirEntryIn[][], blockSize: number, csum: boolean): DirEntryIn[][] {
  const cap = blockSize - (csum ? DIR_TAIL_SIZE : 0);
  const out: DirEntryIn[][] = [];
  let cur: DirEntryIn[] = [];
  let used = 0;
  for (const g of groups) {
    const need = g.reduce((s, e) => s + dirRecLen(e.name.length), 0);
    if (need > cap) fail('EXT4_DIR_TOO_LARGE', 'entries with one hash do not fit in a directory block', { structure: 'dir', actual: need });
    if (used + need > cap && cur.length > 0) {
      out.push(cur);
      cur = [];
      used = 0;
    }
    cur.push(...g);
    used += need;
  }
  if (cur.length > 0 || out.length === 0) out.push(cur);
  return out;
}

function leafBlock(entries: DirEntryIn[], blockSize: number, c: DirCsum | null): Uint8Array {
  const block = new Uint8Array(blockSize);
  const dv = new DataView(block.buffer);
  const end = blockSize - (c ? DIR_TAIL_SIZE : 0);
  let off = 0;
  if (entries.length === 0) {
    dv.setUint16(4, end, true);
  }
  entries.forEach((e, i) => {
    const rl = i === entries.length - 1 ? end - off : dirRecLen(e.name.length);
    putEntry(block, dv, off, e, rl);
    off += rl;
  });
  if (c) {
    dv.setUint16(end + 4, DIR_TAIL_SIZE, true);
    block[end + 7] = FT_DIR_CSUM;
    setDirBlockCsum(c.seed, c.ino, c.generation, block);
  }
  return block;
}

/**
 * The blocks of a directory. `dot` and `dotdot` are the "." and ".."
 * entries; `children` in any order. `minBlocks` pads with empty blocks
 * (lost+found). Hashed when the entries outgrow one block and `index` is
 * set; `hashVersion` includes the +3 of unsigned hashing.
 */
export function buildDirectory(
  self: number, parent: number, children: DirEntryIn[], blockSize: number,
  opts: { csum: DirCsum | null; index: boolean; hashVersion: number; hashSeed: Uint8Array | null; storedHashVersion: number; minBlocks?: number },
): DirLayout {
  const dot: DirEntryIn = { name: new Uint8Array([0x2e]), inode: self, fileType: 2 };
  const dotdot: DirEntryIn = { name: new Uint8Array([0x2e, 0x2e]), inode: parent, fileType: 2 };
  const all = [dot, dotdot, ...children];
  const c = opts.csum;
  const cap = blockSize - (c ? DIR_TAIL_SIZE : 0);
  const total = all.reduce((s, e) => s + dirRecLen(e.name.length), 0);
  if (!opts.index || total <= cap) {
    const leaves = packLeaves(all.map((e) => [e]), blockSize, c !== null);
    const blocks = leaves.map((l) => leafBlock(l, blockSize, c));
    while (blocks.length < (opts.minBlocks ?? 1)) blocks.push(leafBlock([], blockSize, c));
    return { blocks, indexed: false };
  }

  // Hashed: sort by (hash, minor hash), keep equal hashes in one leaf.
  const hashed = children.map((e) => ({ e, h: dirHash(e.name, opts.hashVersion, opts.hashSeed) }));
  hashed.sort((a, b) => a.h.hash - b.h.hash || a.h.minorHash - b.h.minorHash || cmpBytes(a.e.name, b.e.name));
  const groups: DirEntryIn[][] = [];
  const groupHash: number[] = [];
  for (const x of hashed) {
    if (groupHash.length > 0 && groupHash[groupHash.length - 1] === x.h.hash) groups[groups.length - 1].push(x.e);
    else { groups.push([x.e]); groupHash.push(x.h.hash); }
  }
  // Leaves, and the hash of each leaf's first entry.
  const leaves: DirEntryIn[][] = [];
  const leafHash: number[] = [];
  {
    let cur: DirEntryIn[] = [];
    let used = 0;
    groups.forEach((g, i) => {
      const need = g.reduce((s, e) => s + dirRecLen(e.name.length), 0);
      if (need > cap) fail('EXT4_DIR_TOO_LARGE', 'entries with one hash do not fit in a directory block', { structure: 'dir', actual: need });
      if (used + need > cap && cur.length > 0) { leaves.push(cur); cur = []; used = 0; }
      if (cur.length === 0) leafHash.push(groupHash[i]);
      cur.push(...g);
      used += need;
    });
    if (cur.length > 0) leaves.push(cur);
  }
  const tail = c ? 8 : 0;
  const rootLimit = Math.floor((blockSize - 0x20 - tail) / 8);
  const nodeLimit = Math.floor((blockSize - 8 - tail) / 8);
  const L = leaves.length;
  let levels = 0;
  let nodes: number[][] = []; // leaf indices per dx_node
  if (L > rootLimit) {
    levels = 1;
    const n = Math.ceil(L / nodeLimit);
    if (n > rootLimit) {
      fail('EXT4_DIR_TOO_LARGE', `a directory of ${children.length} entries needs more than two htree levels (large_dir)`, { structure: 'dir', actual: children.length });
    }
    // Spread leaves evenly over the nodes.
    const per = Math.ceil(L / n);
    nodes = [];
    for (let i = 0; i < L; i += per) nodes.push(Array.from({ length: Math.min(per, L - i) }, (_, k) => i + k));
  }
  const firstLeafBlock = 1 + nodes.length;
  const blocks: Uint8Array[] = [];

  const writeDx = (block: Uint8Array, countOff: number, limit: number, entries: Array<[number, number]>) => {
    const dv = new DataView(block.buffer);
    dv.setUint16(countOff, limit, true);
    dv.setUint16(countOff + 2, entries.length, true);
    entries.forEach(([h, blk], i) => {
      if (i > 0) dv.setUint32(countOff + i * 8, h, true);
      dv.setUint32(countOff + i * 8 + 4, blk, true);
    });
    if (c) setDxCsum(c.seed, c.ino, c.generation, block, countOff);
  };

  // dx_root
  const root = new Uint8Array(blockSize);
  {
    const dv = new DataView(root.buffer);
    putEntry(root, dv, 0, dot, 12);
    putEntry(root, dv, 12, dotdot, blockSize - 12);
    root[0x1c] = opts.storedHashVersion;
    root[0x1d] = 8;
    root[0x1e] = levels;
    const entries: Array<[number, number]> = levels === 0
      ? leaves.map((_, i) => [leafHash[i], firstLeafBlock + i])
      : nodes.map((ls, i) => [leafHash[ls[0]], 1 + i]);
    writeDx(root, 0x20, rootLimit, entries);
  }
  blocks.push(root);
  for (const ls of nodes) {
    const node = new Uint8Array(blockSize);
    new DataView(node.buffer).setUint16(4, blockSize, true);
    writeDx(node, 8, nodeLimit, ls.map((li) => [leafHash[li], firstLeafBlock + li]));
    blocks.push(node);
  }
  for (const l of leaves) blocks.push(leafBlock(l, blockSize, c));
  return { blocks, indexed: true };
}

export function cmpBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
