// ext4 block group descriptor: struct ext4_group_desc of e2fsprogs
// lib/ext2fs/ext2_fs.h (Linux Documentation/filesystems/ext4/group_descr.rst,
// "Block Group Descriptors"). 32 bytes without the 64bit feature, else
// s_desc_size (≥ 64) bytes of which the first 64 are defined.
import { defineStruct, u16le, u32le, type StructValue } from '../codec/struct.js';

/** The 32 bytes every descriptor has; the 64-byte form adds the _hi halves. */
const GROUP_DESC_LO = {
  bg_block_bitmap_lo: u32le(0x00),
  bg_inode_bitmap_lo: u32le(0x04),
  bg_inode_table_lo: u32le(0x08),
  bg_free_blocks_count_lo: u16le(0x0c),
  bg_free_inodes_count_lo: u16le(0x0e),
  bg_used_dirs_count_lo: u16le(0x10),
  bg_flags: u16le(0x12),
  bg_exclude_bitmap_lo: u32le(0x14),
  bg_block_bitmap_csum_lo: u16le(0x18),
  bg_inode_bitmap_csum_lo: u16le(0x1a),
  bg_itable_unused_lo: u16le(0x1c),
  bg_checksum: u16le(0x1e),
} as const;

export const Ext4GroupDesc32 = defineStruct('ext2_group_desc', 32, {
  ...GROUP_DESC_LO,
});

export const Ext4GroupDesc = defineStruct('ext4_group_desc', 64, {
  ...GROUP_DESC_LO,
  bg_block_bitmap_hi: u32le(0x20),
  bg_inode_bitmap_hi: u32le(0x24),
  bg_inode_table_hi: u32le(0x28),
  bg_free_blocks_count_hi: u16le(0x2c),
  bg_free_inodes_count_hi: u16le(0x2e),
  bg_used_dirs_count_hi: u16le(0x30),
  bg_itable_unused_hi: u16le(0x32),
  bg_exclude_bitmap_hi: u32le(0x34),
  bg_block_bitmap_csum_hi: u16le(0x38),
  bg_inode_bitmap_csum_hi: u16le(0x3a),
  bg_reserved: u32le(0x3c),
});

/** A descriptor, always in the 64-byte shape (the _hi fields are 0 for 32-byte descriptors). */
export type GroupDesc = { -readonly [K in keyof StructValue<typeof Ext4GroupDesc>]: StructValue<typeof Ext4GroupDesc>[K] };

/** EXT4_BG_BLOCK_BITMAP_CSUM_HI_END / EXT4_BG_INODE_BITMAP_CSUM_HI_END: descriptor sizes that hold the bitmap checksums' high halves. */
export const BG_BLOCK_BITMAP_CSUM_HI_END = 0x3a;
export const BG_INODE_BITMAP_CSUM_HI_END = 0x3c;

/** Decode one descriptor of `descSize` bytes (32, or ≥ 64 with 64bit). */
export function decodeGroupDesc(buf: Uint8Array, offset: number, descSize: number): GroupDesc {
  if (descSize >= 64) return Ext4GroupDesc.decode(buf, offset);
  const short = Ext4GroupDesc32.decode(buf, offset);
  return { ...Ext4GroupDesc.zero(), ...short };
}

/** Encode one descriptor into `buf` at `offset`, writing `descSize` bytes' worth of fields. */
export function encodeGroupDesc(gd: GroupDesc, buf: Uint8Array, offset: number, descSize: number): Uint8Array {
  if (descSize >= 64) return Ext4GroupDesc.encode(gd, buf, offset);
  return Ext4GroupDesc32.encode(gd, buf, offset);
}

function hiLo(hi: number, lo: number, wide: boolean): number {
  return wide ? hi * 0x1_0000_0000 + lo : lo;
}

// Accessors as the kernel's ext4_block_bitmap() etc.: the _hi half only counts
// when descriptors are 64 bytes (EXT4_MIN_DESC_SIZE_64BIT).
export function blockBitmap(gd: GroupDesc, descSize: number): number {
  return hiLo(gd.bg_block_bitmap_hi, gd.bg_block_bitmap_lo, descSize >= 64);
}
export function inodeBitmap(gd: GroupDesc, descSize: number): number {
  return hiLo(gd.bg_inode_bitmap_hi, gd.bg_inode_bitmap_lo, descSize >= 64);
}
export function inodeTable(gd: GroupDesc, descSize: number): number {
  return hiLo(gd.bg_inode_table_hi, gd.bg_inode_table_lo, descSize >= 64);
}
export function freeBlocksCountGd(gd: GroupDesc, descSize: number): number {
  return descSize >= 64 ? gd.bg_free_blocks_count_hi * 0x10000 + gd.bg_free_blocks_count_lo : gd.bg_free_blocks_count_lo;
}
export function freeInodesCountGd(gd: GroupDesc, descSize: number): number {
  return descSize >= 64 ? gd.bg_free_inodes_count_hi * 0x10000 + gd.bg_free_inodes_count_lo : gd.bg_free_inodes_count_lo;
}
export function usedDirsCount(gd: GroupDesc, descSize: number): number {
  return descSize >= 64 ? gd.bg_used_dirs_count_hi * 0x10000 + gd.bg_used_dirs_count_lo : gd.bg_used_dirs_count_lo;
}
export function itableUnused(gd: GroupDesc, descSize: number): number {
  return descSize >= 64 ? gd.bg_itable_unused_hi * 0x10000 + gd.bg_itable_unused_lo : gd.bg_itable_unused_lo;
}

export function setBlockBitmap(gd: GroupDesc, block: number): void {
  gd.bg_block_bitmap_lo = block >>> 0;
  gd.bg_block_bitmap_hi = Math.floor(block / 0x1_0000_0000);
}
export function setInodeBitmap(gd: GroupDesc, block: number): void {
  gd.bg_inode_bitmap_lo = block >>> 0;
  gd.bg_inode_bitmap_hi = Math.floor(block / 0x1_0000_0000);
}
export function setInodeTable(gd: GroupDesc, block: number): void {
  gd.bg_inode_table_lo = block >>> 0;
  gd.bg_inode_table_hi = Math.floor(block / 0x1_0000_0000);
}
export function setFreeBlocksCountGd(gd: GroupDesc, n: number): void {
  gd.bg_free_blocks_count_lo = n & 0xffff;
  gd.bg_free_blocks_count_hi = Math.floor(n / 0x10000) & 0xffff;
}
export function setFreeInodesCountGd(gd: GroupDesc, n: number): void {
  gd.bg_free_inodes_count_lo = n & 0xffff;
  gd.bg_free_inodes_count_hi = Math.floor(n / 0x10000) & 0xffff;
}
export function setUsedDirsCount(gd: GroupDesc, n: number): void {
  gd.bg_used_dirs_count_lo = n & 0xffff;
  gd.bg_used_dirs_count_hi = Math.floor(n / 0x10000) & 0xffff;
}
export function setItableUnused(gd: GroupDesc, n: number): void {
  gd.bg_itable_unused_lo = n & 0xffff;
  gd.bg_itable_unused_hi = Math.floor(n / 0x10000) & 0xffff;
}
