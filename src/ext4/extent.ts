// ext4 extent tree records: struct ext3_extent_header, ext3_extent,
// ext3_extent_idx and ext3_extent_tail of e2fsprogs lib/ext2fs/ext3_extents.h
// (Linux Documentation/filesystems/ext4/ifork.rst, "Extent Tree"); the kernel
// calls them ext4_extent_*.
import { defineStruct, u16le, u32le, type StructValue } from '../codec/struct.js';

export const EXT4_EXT_MAGIC = 0xf30a;
/** ext4_ext_check(): the kernel refuses deeper trees (EXT4_MAX_EXTENT_DEPTH). */
export const EXT4_MAX_EXTENT_DEPTH = 5;
/** ee_len above this marks an uninitialized (unwritten) extent of ee_len − 32768 blocks. */
export const EXT_INIT_MAX_LEN = 32768;
export const EXT_UNWRITTEN_MAX_LEN = EXT_INIT_MAX_LEN - 1;

export const Ext4ExtentHeader = defineStruct('ext3_extent_header', 12, {
  eh_magic: u16le(0x0),
  eh_entries: u16le(0x2),
  eh_max: u16le(0x4),
  eh_depth: u16le(0x6),
  eh_generation: u32le(0x8),
});

export const Ext4Extent = defineStruct('ext3_extent', 12, {
  ee_block: u32le(0x0),
  ee_len: u16le(0x4),
  ee_start_hi: u16le(0x6),
  ee_start_lo: u32le(0x8),
});

export const Ext4ExtentIdx = defineStruct('ext3_extent_idx', 12, {
  ei_block: u32le(0x0),
  ei_leaf_lo: u32le(0x4),
  ei_leaf_hi: u16le(0x8),
  ei_unused: u16le(0xa),
});

/** Follows eh_max entries in a tree block (not in the inode's i_block). */
export const Ext4ExtentTail = defineStruct('ext3_extent_tail', 4, {
  et_checksum: u32le(0x0),
});

export type ExtentHeader = { -readonly [K in keyof StructValue<typeof Ext4ExtentHeader>]: StructValue<typeof Ext4ExtentHeader>[K] };
export type Extent = { -readonly [K in keyof StructValue<typeof Ext4Extent>]: StructValue<typeof Ext4Extent>[K] };
export type ExtentIdx = { -readonly [K in keyof StructValue<typeof Ext4ExtentIdx>]: StructValue<typeof Ext4ExtentIdx>[K] };

/** Physical start block of an extent (ext4_ext_pblock()). */
export function extentStart(e: Extent): number {
  return e.ee_start_hi * 0x1_0000_0000 + e.ee_start_lo;
}
export function setExtentStart(e: Extent, block: number): void {
  e.ee_start_lo = block >>> 0;
  e.ee_start_hi = Math.floor(block / 0x1_0000_0000) & 0xffff;
}
/** Length in blocks (ext4_ext_get_actual_len()). */
export function extentLength(e: Extent): number {
  return e.ee_len <= EXT_INIT_MAX_LEN ? e.ee_len : e.ee_len - EXT_INIT_MAX_LEN;
}
/** ext4_ext_is_unwritten(): reads as zeros. */
export function extentUnwritten(e: Extent): boolean {
  return e.ee_len > EXT_INIT_MAX_LEN;
}
/** Leaf/index block of an index entry (ext4_idx_pblock()). */
export function indexLeaf(i: ExtentIdx): number {
  return i.ei_leaf_hi * 0x1_0000_0000 + i.ei_leaf_lo;
}
export function setIndexLeaf(i: ExtentIdx, block: number): void {
  i.ei_leaf_lo = block >>> 0;
  i.ei_leaf_hi = Math.floor(block / 0x1_0000_0000) & 0xffff;
}
/** Byte offset of the tail in a tree block: after the header and eh_max entries (EXT3_EXTENT_TAIL_OFFSET). */
export function extentTailOffset(h: ExtentHeader): number {
  return Ext4ExtentHeader.size + Ext4Extent.size * h.eh_max;
}
