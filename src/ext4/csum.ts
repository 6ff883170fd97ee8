// metadata_csum and uninit_bg checksums, as e2fsprogs lib/ext2fs/csum.c and
// the kernel's fs/ext4 (ext4_chksum = raw crc32c, no final inversion). Three
// functions per structure: compute, verify, set. Each covers the bytes up to
// the checksum field (and, where the kernel does, the rest with the checksum
// field taken as zero).
import { crc16, crc32cRaw } from '../codec/crc.js';
import { Ext4SuperBlock, hasIncompat, hasMetadataCsum, hasRoCompat, descSize, type SuperBlock } from './superblock.js';
import { INCOMPAT, RO_COMPAT } from './features.js';
import { Ext4GroupDesc, BG_BLOCK_BITMAP_CSUM_HI_END, BG_INODE_BITMAP_CSUM_HI_END, type GroupDesc } from './group-desc.js';
import { Ext4Inode, INODE_CSUM_HI_EXTRA_END } from './inode.js';
import { Ext4ExtentHeader, Ext4Extent } from './extent.js';
import { DIR_TAIL_SIZE } from './dirent.js';
import { JournalSuperBlock } from './journal.js';

const le32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
};
const le64 = (n: number): Uint8Array => {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, n >>> 0, true);
  dv.setUint32(4, Math.floor(n / 0x1_0000_0000) >>> 0, true);
  return b;
};
const rd32 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(o, true);
const wr32 = (b: Uint8Array, o: number, v: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(o, v >>> 0, true);
const rd16 = (b: Uint8Array, o: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint16(o, true);
const wr16 = (b: Uint8Array, o: number, v: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).setUint16(o, v & 0xffff, true);

/** ext2fs_init_csum_seed(): s_checksum_seed with metadata_csum_seed, else crc32c(~0, s_uuid). */
export function csumSeed(sb: SuperBlock): number {
  if (hasIncompat(sb, INCOMPAT.metadata_csum_seed)) return sb.s_checksum_seed >>> 0;
  return crc32cRaw(0xffffffff, sb.s_uuid);
}

// ---- superblock (ext2fs_superblock_csum) ----------------------------------

const SB_CSUM_OFF = Ext4SuperBlock.offsetOf('s_checksum');

/** Checksum of a raw 1024-byte superblock. */
export function computeSuperBlockCsum(raw: Uint8Array): number {
  return crc32cRaw(0xffffffff, raw.subarray(0, SB_CSUM_OFF));
}
export function verifySuperBlockCsum(raw: Uint8Array): boolean {
  return rd32(raw, SB_CSUM_OFF) === computeSuperBlockCsum(raw);
}
export function setSuperBlockCsum(raw: Uint8Array): void {
  wr32(raw, SB_CSUM_OFF, computeSuperBlockCsum(raw));
}

// ---- group descriptors (ext2fs_group_desc_csum) ---------------------------

const BG_CSUM_OFF = Ext4GroupDesc.offsetOf('bg_checksum');

/**
 * bg_checksum of the raw descriptor `raw` (descSize(sb) bytes) of `group`:
 * crc32c & 0xffff with metadata_csum, crc16 with uninit_bg (gdt_csum).
 */
export function computeGroupDescCsum(sb: SuperBlock, csum_seed: number, group: number, raw: Uint8Array): number {
  const size = descSize(sb);
  if (hasMetadataCsum(sb)) {
    let c = crc32cRaw(csum_seed, le32(group));
    c = crc32cRaw(c, raw.subarray(0, BG_CSUM_OFF));
    c = crc32cRaw(c, new Uint8Array(2));
    if (size > BG_CSUM_OFF + 2) c = crc32cRaw(c, raw.subarray(BG_CSUM_OFF + 2, size));
    return c & 0xffff;
  }
  // uninit_bg: crc16 over uuid, group, the descriptor without its checksum field
  let c = crc16(0xffff, sb.s_uuid);
  c = crc16(c, le32(group));
  c = crc16(c, raw.subarray(0, BG_CSUM_OFF));
  if (size > BG_CSUM_OFF + 2) c = crc16(c, raw.subarray(BG_CSUM_OFF + 2, size));
  return c;
}
export function verifyGroupDescCsum(sb: SuperBlock, csum_seed: number, group: number, raw: Uint8Array): boolean {
  if (!hasMetadataCsum(sb) && !hasRoCompat(sb, RO_COMPAT.uninit_bg)) return true;
  return rd16(raw, BG_CSUM_OFF) === computeGroupDescCsum(sb, csum_seed, group, raw);
}
export function setGroupDescCsum(sb: SuperBlock, csum_seed: number, group: number, raw: Uint8Array): void {
  if (!hasMetadataCsum(sb) && !hasRoCompat(sb, RO_COMPAT.uninit_bg)) return;
  wr16(raw, BG_CSUM_OFF, computeGroupDescCsum(sb, csum_seed, group, raw));
}

// ---- inodes (ext2fs_inode_csum) -------------------------------------------

const I_CSUM_LO = Ext4Inode.offsetOf('l_i_checksum_lo');
const I_CSUM_HI = Ext4Inode.offsetOf('i_checksum_hi');
const I_GEN = Ext4Inode.offsetOf('i_generation');
const I_EXTRA = Ext4Inode.offsetOf('i_extra_isize');

function inodeHasHi(raw: Uint8Array, inodeSize: number): boolean {
  return inodeSize > 128 && rd16(raw, I_EXTRA) >= INODE_CSUM_HI_EXTRA_END;
}

/** Checksum of a raw inode record (`inodeSize` bytes): 32 bits, or 16 when i_checksum_hi does not fit. */
export function computeInodeCsum(csum_seed: number, ino: number, raw: Uint8Array, inodeSize: number): number {
  const hasHi = inodeHasHi(raw, inodeSize);
  const r = raw.slice(0, inodeSize);
  wr16(r, I_CSUM_LO, 0);
  if (hasHi) wr16(r, I_CSUM_HI, 0);
  let c = crc32cRaw(csum_seed, le32(ino));
  c = crc32cRaw(c, le32(rd32(raw, I_GEN)));
  c = crc32cRaw(c, r);
  return hasHi ? c >>> 0 : c & 0xffff;
}
export function verifyInodeCsum(csum_seed: number, ino: number, raw: Uint8Array, inodeSize: number): boolean {
  const hasHi = inodeHasHi(raw, inodeSize);
  const stored = rd16(raw, I_CSUM_LO) + (hasHi ? rd16(raw, I_CSUM_HI) * 0x10000 : 0);
  return stored === computeInodeCsum(csum_seed, ino, raw, inodeSize);
}
export function setInodeCsum(csum_seed: number, ino: number, raw: Uint8Array, inodeSize: number): void {
  const c = computeInodeCsum(csum_seed, ino, raw, inodeSize);
  wr16(raw, I_CSUM_LO, c & 0xffff);
  if (inodeHasHi(raw, inodeSize)) wr16(raw, I_CSUM_HI, c >>> 16);
}

// ---- extent tree blocks (ext2fs_extent_block_csum) ------------------------

/** The tail's offset in `block` (after eh_max entries), or -1 if it does not fit. */
export function extentTailPos(block: Uint8Array): number {
  const eh_max = rd16(block, Ext4ExtentHeader.offsetOf('eh_max'));
  const pos = Ext4ExtentHeader.size + Ext4Extent.size * eh_max;
  return pos + 4 <= block.length ? pos : -1;
}
/** inum and generation are the owning inode's. */
export function computeExtentBlockCsum(csum_seed: number, ino: number, generation: number, block: Uint8Array): number {
  const pos = extentTailPos(block);
  let c = crc32cRaw(csum_seed, le32(ino));
  c = crc32cRaw(c, le32(generation));
  return crc32cRaw(c, block.subarray(0, pos < 0 ? block.length : pos));
}
export function verifyExtentBlockCsum(csum_seed: number, ino: number, generation: number, block: Uint8Array): boolean {
  const pos = extentTailPos(block);
  return pos >= 0 && rd32(block, pos) === computeExtentBlockCsum(csum_seed, ino, generation, block);
}
export function setExtentBlockCsum(csum_seed: number, ino: number, generation: number, block: Uint8Array): void {
  const pos = extentTailPos(block);
  if (pos < 0) throw new RangeError('extent block: eh_max leaves no room for the tail');
  wr32(block, pos, computeExtentBlockCsum(csum_seed, ino, generation, block));
}

// ---- directory leaf blocks (ext2fs_dirent_csum) ---------------------------

/** A leaf block's checksum covers everything before the 12-byte tail at the block's end. */
export function computeDirBlockCsum(csum_seed: number, ino: number, generation: number, block: Uint8Array): number {
  let c = crc32cRaw(csum_seed, le32(ino));
  c = crc32cRaw(c, le32(generation));
  return crc32cRaw(c, block.subarray(0, block.length - DIR_TAIL_SIZE));
}
/** Whether the block ends in a checksum tail (inode 0, rec_len 12, name_len 0, file_type 0xDE). */
export function hasDirTail(block: Uint8Array): boolean {
  const t = block.length - DIR_TAIL_SIZE;
  return t >= 0 && rd32(block, t) === 0 && rd16(block, t + 4) === DIR_TAIL_SIZE && block[t + 6] === 0 && block[t + 7] === 0xde;
}
export function verifyDirBlockCsum(csum_seed: number, ino: number, generation: number, block: Uint8Array): boolean {
  return hasDirTail(block) && rd32(block, block.length - 4) === computeDirBlockCsum(csum_seed, ino, generation, block);
}
/** Writes the tail's checksum (the tail itself must already be in place). */
export function setDirBlockCsum(csum_seed: number, ino: number, generation: number, block: Uint8Array): void {
  wr32(block, block.length - 4, computeDirBlockCsum(csum_seed, ino, generation, block));
}

// ---- htree blocks (ext2fs_dx_csum) ----------------------------------------

/**
 * `countOffset` is where dx_countlimit sits (0x20 in a root with info_length 8,
 * 8 in a dx_node). Covers the block up to the last used dx_entry, then the
 * dx_tail (after `limit` entries) with dt_checksum taken as zero.
 * Returns -1 if the tail would not fit in the block.
 */
export function computeDxCsum(csum_seed: number, ino: number, generation: number, block: Uint8Array, countOffset: number): number {
  if (countOffset + 4 > block.length) return -1;
  const limit = rd16(block, countOffset);
  const count = rd16(block, countOffset + 2);
  const tail = countOffset + limit * 8;
  if (tail + 8 > block.length || count > limit) return -1;
  let c = crc32cRaw(csum_seed, le32(ino));
  c = crc32cRaw(c, le32(generation));
  c = crc32cRaw(c, block.subarray(0, countOffset + count * 8));
  c = crc32cRaw(c, block.subarray(tail, tail + 4));
  return crc32cRaw(c, new Uint8Array(4));
}
export function verifyDxCsum(csum_seed: number, ino: number, generation: number, block: Uint8Array, countOffset: number): boolean {
  const c = computeDxCsum(csum_seed, ino, generation, block, countOffset);
  if (c < 0) return false;
  const tail = countOffset + rd16(block, countOffset) * 8;
  return rd32(block, tail + 4) === c;
}
export function setDxCsum(csum_seed: number, ino: number, generation: number, block: Uint8Array, countOffset: number): void {
  const c = computeDxCsum(csum_seed, ino, generation, block, countOffset);
  if (c < 0) throw new RangeError('htree block: limit leaves no room for dx_tail');
  const tail = countOffset + rd16(block, countOffset) * 8;
  wr32(block, tail + 4, c);
}

// ---- xattr blocks (ext2fs_ext_attr_block_csum) ----------------------------

const XH_CSUM = 0x10;

/** Covers the block number (64-bit LE) and the whole block with h_checksum zeroed. */
export function computeXattrBlockCsum(csum_seed: number, blockNr: number, block: Uint8Array): number {
  const b = block.slice();
  wr32(b, XH_CSUM, 0);
  return crc32cRaw(crc32cRaw(csum_seed, le64(blockNr)), b);
}
export function verifyXattrBlockCsum(csum_seed: number, blockNr: number, block: Uint8Array): boolean {
  return rd32(block, XH_CSUM) === computeXattrBlockCsum(csum_seed, blockNr, block);
}
export function setXattrBlockCsum(csum_seed: number, blockNr: number, block: Uint8Array): void {
  wr32(block, XH_CSUM, computeXattrBlockCsum(csum_seed, blockNr, block));
}

// ---- bitmaps (ext2fs_block_bitmap_csum / ext2fs_inode_bitmap_csum) --------

/** `bitmap` is the group's bitmap: clusters_per_group/8 bytes (block) or inodes_per_group/8 (inode). */
export function computeBitmapCsum(csum_seed: number, bitmap: Uint8Array): number {
  return crc32cRaw(csum_seed, bitmap);
}
export function verifyBlockBitmapCsum(csum_seed: number, gd: GroupDesc, descSz: number, bitmap: Uint8Array): boolean {
  const c = computeBitmapCsum(csum_seed, bitmap);
  const hi = descSz >= BG_BLOCK_BITMAP_CSUM_HI_END;
  const stored = gd.bg_block_bitmap_csum_lo + (hi ? gd.bg_block_bitmap_csum_hi * 0x10000 : 0);
  return stored === (hi ? c : c & 0xffff);
}
export function setBlockBitmapCsum(csum_seed: number, gd: GroupDesc, descSz: number, bitmap: Uint8Array): void {
  const c = computeBitmapCsum(csum_seed, bitmap);
  gd.bg_block_bitmap_csum_lo = c & 0xffff;
  gd.bg_block_bitmap_csum_hi = descSz >= BG_BLOCK_BITMAP_CSUM_HI_END ? c >>> 16 : 0;
}
export function verifyInodeBitmapCsum(csum_seed: number, gd: GroupDesc, descSz: number, bitmap: Uint8Array): boolean {
  const c = computeBitmapCsum(csum_seed, bitmap);
  const hi = descSz >= BG_INODE_BITMAP_CSUM_HI_END;
  const stored = gd.bg_inode_bitmap_csum_lo + (hi ? gd.bg_inode_bitmap_csum_hi * 0x10000 : 0);
  return stored === (hi ? c : c & 0xffff);
}
export function setInodeBitmapCsum(csum_seed: number, gd: GroupDesc, descSz: number, bitmap: Uint8Array): void {
  const c = computeBitmapCsum(csum_seed, bitmap);
  gd.bg_inode_bitmap_csum_lo = c & 0xffff;
  gd.bg_inode_bitmap_csum_hi = descSz >= BG_INODE_BITMAP_CSUM_HI_END ? c >>> 16 : 0;
}

// ---- jbd2 superblock (jbd2_superblock_csum) --------------------------------

const JSB_CSUM = JournalSuperBlock.offsetOf('s_checksum');

/** crc32c(~0) over the 1024-byte journal superblock with s_checksum zeroed (csum v2/v3); stored big-endian. */
export function computeJournalSuperBlockCsum(raw: Uint8Array): number {
  const b = raw.slice(0, 1024);
  b.fill(0, JSB_CSUM, JSB_CSUM + 4);
  return crc32cRaw(0xffffffff, b);
}
export function verifyJournalSuperBlockCsum(raw: Uint8Array): boolean {
  return new DataView(raw.buffer, raw.byteOffset, raw.byteLength).getUint32(JSB_CSUM, false) === computeJournalSuperBlockCsum(raw);
}
export function setJournalSuperBlockCsum(raw: Uint8Array): void {
  new DataView(raw.buffer, raw.byteOffset, raw.byteLength).setUint32(JSB_CSUM, computeJournalSuperBlockCsum(raw), false);
}
