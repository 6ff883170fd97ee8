// ext4 directory records: struct ext2_dir_entry_2, ext2_dir_entry_tail and the
// htree records (dx_root, dx_root_info, dx_node, dx_countlimit, dx_entry,
// dx_tail) of e2fsprogs lib/ext2fs/ext2_fs.h and the kernel's fs/ext4/namei.c
// (Linux Documentation/filesystems/ext4/directory.rst).
import { defineStruct, u8, u16le, u32le, bytes, type StructValue } from '../codec/struct.js';

/** The fixed 8-byte head of a directory entry; `name_len` bytes of name follow. */
export const Ext4DirEntry2 = defineStruct('ext2_dir_entry_2', 8, {
  inode: u32le(0x0),
  rec_len: u16le(0x4),
  name_len: u8(0x6),
  file_type: u8(0x7),
});

/** The fake entry at the end of a leaf block holding its checksum (metadata_csum). */
export const Ext4DirEntryTail = defineStruct('ext2_dir_entry_tail', 12, {
  det_reserved_zero1: u32le(0x0),
  det_rec_len: u16le(0x4),
  det_reserved_name_len: u8(0x6),
  det_reserved_ft: u8(0x7),
  det_checksum: u32le(0x8),
});

/** struct dx_root_info, at byte 0x18 of the root block. */
export const DxRootInfo = defineStruct('dx_root_info', 8, {
  reserved_zero: u32le(0x0),
  hash_version: u8(0x4),
  info_length: u8(0x5),
  indirect_levels: u8(0x6),
  unused_flags: u8(0x7),
});

/**
 * struct dx_root up to the entries: "." and ".." as fake dirents, then
 * dx_root_info; the dx_countlimit and dx_entry array start at 0x20
 * (0x18 + info_length).
 */
export const DxRoot = defineStruct('dx_root', 0x20, {
  dot_inode: u32le(0x00),
  dot_rec_len: u16le(0x04),
  dot_name_len: u8(0x06),
  dot_file_type: u8(0x07),
  dot_name: bytes(0x08, 4),
  dotdot_inode: u32le(0x0c),
  dotdot_rec_len: u16le(0x10),
  dotdot_name_len: u8(0x12),
  dotdot_file_type: u8(0x13),
  dotdot_name: bytes(0x14, 4),
  info_reserved_zero: u32le(0x18),
  info_hash_version: u8(0x1c),
  info_info_length: u8(0x1d),
  info_indirect_levels: u8(0x1e),
  info_unused_flags: u8(0x1f),
});

/** struct dx_node: an empty fake dirent spanning the block, then the entries at 8. */
export const DxNode = defineStruct('dx_node', 8, {
  fake_inode: u32le(0x0),
  fake_rec_len: u16le(0x4),
  fake_name_len: u8(0x6),
  fake_file_type: u8(0x7),
});

/** struct dx_countlimit: overlays the first dx_entry's hash. */
export const DxCountLimit = defineStruct('dx_countlimit', 4, {
  limit: u16le(0x0),
  count: u16le(0x2),
});

export const DxEntry = defineStruct('dx_entry', 8, {
  hash: u32le(0x0),
  block: u32le(0x4),
});

/** struct dx_tail: after `limit` entries of an htree block (metadata_csum). */
export const DxTail = defineStruct('dx_tail', 8, {
  dt_reserved: u32le(0x0),
  dt_checksum: u32le(0x4),
});

export type DirEntryHead = { -readonly [K in keyof StructValue<typeof Ext4DirEntry2>]: StructValue<typeof Ext4DirEntry2>[K] };
export type DirEntryTail = { -readonly [K in keyof StructValue<typeof Ext4DirEntryTail>]: StructValue<typeof Ext4DirEntryTail>[K] };
export type DxRootValue = { -readonly [K in keyof StructValue<typeof DxRoot>]: StructValue<typeof DxRoot>[K] };

/** EXT2_DIR_REC_LEN(name_len): 8 + name rounded up to 4. */
export function dirRecLen(nameLen: number): number {
  return (8 + nameLen + 3) & ~3;
}

/**
 * ext2fs_get_rec_len(): rec_len 0 or 65535 means a whole 64 KiB block; with
 * blocks ≥ 64 KiB the low two bits carry bits 16–17.
 */
export function decodeRecLen(raw: number, blockSize: number): number {
  if (blockSize < 65536) return raw;
  if (raw === 65535 || raw === 0) return blockSize;
  return (raw & 65532) | ((raw & 3) << 16);
}
export function encodeRecLen(len: number, blockSize: number): number {
  if (blockSize < 65536) return len;
  if (len === blockSize) return blockSize === 65536 ? 65535 : 0;
  return (len & 65532) | ((len >> 16) & 3);
}

export const DIR_TAIL_SIZE = 12;
/** Where the htree's count/limit sits in the root block (0x18 + info_length). */
export function dxRootCountOffset(info_length: number): number {
  return 0x18 + info_length;
}
