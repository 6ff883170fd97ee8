// ext4 extended attribute records: struct ext2_ext_attr_header,
// ext2_ext_attr_entry (e2fsprogs lib/ext2fs/ext2_ext_attr.h) and the kernel's
// ext4_xattr_ibody_header (fs/ext4/xattr.h); Linux
// Documentation/filesystems/ext4/attributes.rst, "Extended Attributes".
import { defineStruct, u8, u16le, u32le, reserved, type StructValue } from '../codec/struct.js';

export const EXT2_EXT_ATTR_MAGIC = 0xea020000;
export const EXT2_EXT_ATTR_PAD = 4;
/** Terminator of an entry list: four zero bytes (EXT2_EXT_IS_LAST_ENTRY). */
export const EXT2_EXT_ATTR_ENTRY_SIZE = 16;

/** Header of an external xattr block; entries follow at 32. */
export const Ext4XattrHeader = defineStruct('ext2_ext_attr_header', 32, {
  h_magic: u32le(0x00),
  h_refcount: u32le(0x04),
  h_blocks: u32le(0x08),
  h_hash: u32le(0x0c),
  h_checksum: u32le(0x10),
  h_reserved: reserved(0x14, 12),
});

/** Header of the in-inode xattr area at 128 + i_extra_isize; entries follow. Value offsets count from the first entry. */
export const Ext4XattrIbodyHeader = defineStruct('ext4_xattr_ibody_header', 4, {
  h_magic: u32le(0x0),
});

/** One entry's fixed 16-byte head; e_name_len bytes of name follow, padded to 4. */
export const Ext4XattrEntry = defineStruct('ext2_ext_attr_entry', 16, {
  e_name_len: u8(0x0),
  e_name_index: u8(0x1),
  e_value_offs: u16le(0x2),
  e_value_inum: u32le(0x4),
  e_value_size: u32le(0x8),
  e_hash: u32le(0xc),
});

export type XattrHeader = { -readonly [K in keyof StructValue<typeof Ext4XattrHeader>]: StructValue<typeof Ext4XattrHeader>[K] };
export type XattrEntry = { -readonly [K in keyof StructValue<typeof Ext4XattrEntry>]: StructValue<typeof Ext4XattrEntry>[K] };

/** EXT2_EXT_ATTR_LEN(name_len): entry head + name, rounded to 4. */
export function xattrEntryLen(nameLen: number): number {
  return (nameLen + EXT2_EXT_ATTR_ENTRY_SIZE + EXT2_EXT_ATTR_PAD - 1) & ~(EXT2_EXT_ATTR_PAD - 1);
}
/** EXT2_EXT_ATTR_SIZE(size): value length rounded to 4. */
export function xattrValueLen(size: number): number {
  return (size + EXT2_EXT_ATTR_PAD - 1) & ~(EXT2_EXT_ATTR_PAD - 1);
}

/**
 * e_name_index → prefix, as e2fsprogs lib/ext2fs/ext_attr.c ea_names[] and
 * the kernel's ext4_xattr_handler_map. Index 2/3 (POSIX ACLs) are full names.
 */
export const XATTR_PREFIXES: ReadonlyArray<readonly [number, string]> = [
  [3, 'system.posix_acl_default'],
  [2, 'system.posix_acl_access'],
  [8, 'system.richacl'],
  [6, 'security.'],
  [4, 'trusted.'],
  [7, 'system.'],
  [1, 'user.'],
];

export function xattrPrefix(index: number): string | null {
  for (const [i, p] of XATTR_PREFIXES) if (i === index) return p;
  return index === 0 ? '' : null;
}

/** Split a full name into (index, suffix) by the longest known prefix (find_ea_index()). */
export function splitXattrName(name: string): { index: number; suffix: string } {
  for (const [i, p] of XATTR_PREFIXES) {
    if (name.startsWith(p)) return { index: i, suffix: name.slice(p.length) };
  }
  return { index: 0, suffix: name };
}

// ext2fs_ext_attr_hash_entry(): NAME_HASH_SHIFT 5, VALUE_HASH_SHIFT 16; name bytes
// hashed as signed chars (the historical e2fsprogs/kernel behaviour).
const NAME_HASH_SHIFT = 5;
const VALUE_HASH_SHIFT = 16;
const BLOCK_HASH_SHIFT = 16;

/** e_hash of one entry (value stored in the same block/inode; 0 for ea_inode values is the caller's concern). */
export function xattrEntryHash(suffix: Uint8Array, value: Uint8Array): number {
  let hash = 0;
  for (let i = 0; i < suffix.length; i++) {
    const c = suffix[i] >= 128 ? suffix[i] - 256 : suffix[i];
    hash = ((hash << NAME_HASH_SHIFT) ^ (hash >>> (32 - NAME_HASH_SHIFT)) ^ c) >>> 0;
  }
  const padded = xattrValueLen(value.length);
  const v = new Uint8Array(padded);
  v.set(value);
  const dv = new DataView(v.buffer);
  for (let i = 0; i < padded; i += 4) {
    hash = ((hash << VALUE_HASH_SHIFT) ^ (hash >>> (32 - VALUE_HASH_SHIFT)) ^ dv.getUint32(i, true)) >>> 0;
  }
  return hash >>> 0;
}

/** h_hash of a block from its entries' hashes (ext2fs_ext_attr_block_rehash()); 0 if any entry hash is 0. */
export function xattrBlockHash(entryHashes: readonly number[]): number {
  let hash = 0;
  for (const h of entryHashes) {
    if (h === 0) return 0;
    hash = ((hash << BLOCK_HASH_SHIFT) ^ (hash >>> (32 - BLOCK_HASH_SHIFT)) ^ h) >>> 0;
  }
  return hash >>> 0;
}
