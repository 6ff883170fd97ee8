// ext4 superblock: struct ext2_super_block of e2fsprogs lib/ext2fs/ext2_fs.h
// (Linux Documentation/filesystems/ext4/super.rst, "The Super Block").
// 1024 bytes at byte 1024 of the filesystem.
import { defineStruct, u8, u16le, u32le, u64le, bytes, reserved, type StructValue } from '../codec/struct.js';
import { COMPAT, INCOMPAT, RO_COMPAT, GOOD_OLD_FIRST_INO, GOOD_OLD_INODE_SIZE, GOOD_OLD_REV } from './features.js';

export const SUPERBLOCK_OFFSET = 1024;
export const SUPERBLOCK_SIZE = 1024;
export const EXT4_SUPER_MAGIC = 0xef53;

export const Ext4SuperBlock = defineStruct('ext2_super_block', 1024, {
  s_inodes_count: u32le(0x00),
  s_blocks_count_lo: u32le(0x04),
  s_r_blocks_count_lo: u32le(0x08),
  s_free_blocks_count_lo: u32le(0x0c),
  s_free_inodes_count: u32le(0x10),
  s_first_data_block: u32le(0x14),
  s_log_block_size: u32le(0x18),
  s_log_cluster_size: u32le(0x1c),
  s_blocks_per_group: u32le(0x20),
  s_clusters_per_group: u32le(0x24),
  s_inodes_per_group: u32le(0x28),
  s_mtime: u32le(0x2c),
  s_wtime: u32le(0x30),
  s_mnt_count: u16le(0x34),
  s_max_mnt_count: u16le(0x36),
  s_magic: u16le(0x38),
  s_state: u16le(0x3a),
  s_errors: u16le(0x3c),
  s_minor_rev_level: u16le(0x3e),
  s_lastcheck: u32le(0x40),
  s_checkinterval: u32le(0x44),
  s_creator_os: u32le(0x48),
  s_rev_level: u32le(0x4c),
  s_def_resuid: u16le(0x50),
  s_def_resgid: u16le(0x52),
  s_first_ino: u32le(0x54),
  s_inode_size: u16le(0x58),
  s_block_group_nr: u16le(0x5a),
  s_feature_compat: u32le(0x5c),
  s_feature_incompat: u32le(0x60),
  s_feature_ro_compat: u32le(0x64),
  s_uuid: bytes(0x68, 16),
  s_volume_name: bytes(0x78, 16),
  s_last_mounted: bytes(0x88, 64),
  s_algorithm_usage_bitmap: u32le(0xc8),
  s_prealloc_blocks: u8(0xcc),
  s_prealloc_dir_blocks: u8(0xcd),
  s_reserved_gdt_blocks: u16le(0xce),
  s_journal_uuid: bytes(0xd0, 16),
  s_journal_inum: u32le(0xe0),
  s_journal_dev: u32le(0xe4),
  s_last_orphan: u32le(0xe8),
  /** __u32 s_hash_seed[4]: the directory hash seed (a UUID's 16 bytes). */
  s_hash_seed: bytes(0xec, 16),
  s_def_hash_version: u8(0xfc),
  s_jnl_backup_type: u8(0xfd),
  s_desc_size: u16le(0xfe),
  s_default_mount_opts: u32le(0x100),
  s_first_meta_bg: u32le(0x104),
  s_mkfs_time: u32le(0x108),
  /** __u32 s_jnl_blocks[17]: i_block[15], i_size_high, i_size of the journal inode. */
  s_jnl_blocks: bytes(0x10c, 68),
  s_blocks_count_hi: u32le(0x150),
  s_r_blocks_count_hi: u32le(0x154),
  s_free_blocks_hi: u32le(0x158),
  s_min_extra_isize: u16le(0x15c),
  s_want_extra_isize: u16le(0x15e),
  s_flags: u32le(0x160),
  s_raid_stride: u16le(0x164),
  s_mmp_update_interval: u16le(0x166),
  s_mmp_block: u64le(0x168),
  s_raid_stripe_width: u32le(0x170),
  s_log_groups_per_flex: u8(0x174),
  s_checksum_type: u8(0x175),
  s_encryption_level: u8(0x176),
  s_reserved_pad: u8(0x177),
  s_kbytes_written: u64le(0x178),
  s_snapshot_inum: u32le(0x180),
  s_snapshot_id: u32le(0x184),
  s_snapshot_r_blocks_count: u64le(0x188),
  s_snapshot_list: u32le(0x190),
  s_error_count: u32le(0x194),
  s_first_error_time: u32le(0x198),
  s_first_error_ino: u32le(0x19c),
  s_first_error_block: u64le(0x1a0),
  s_first_error_func: bytes(0x1a8, 32),
  s_first_error_line: u32le(0x1c8),
  s_last_error_time: u32le(0x1cc),
  s_last_error_ino: u32le(0x1d0),
  s_last_error_line: u32le(0x1d4),
  s_last_error_block: u64le(0x1d8),
  s_last_error_func: bytes(0x1e0, 32),
  s_mount_opts: bytes(0x200, 64),
  s_usr_quota_inum: u32le(0x240),
  s_grp_quota_inum: u32le(0x244),
  s_overhead_clusters: u32le(0x248),
  /** __u32 s_backup_bgs[2] (sparse_super2). */
  s_backup_bgs: bytes(0x24c, 8),
  s_encrypt_algos: bytes(0x254, 4),
  s_encrypt_pw_salt: bytes(0x258, 16),
  s_lpf_ino: u32le(0x268),
  s_prj_quota_inum: u32le(0x26c),
  s_checksum_seed: u32le(0x270),
  s_wtime_hi: u8(0x274),
  s_mtime_hi: u8(0x275),
  s_mkfs_time_hi: u8(0x276),
  s_lastcheck_hi: u8(0x277),
  s_first_error_time_hi: u8(0x278),
  s_last_error_time_hi: u8(0x279),
  s_first_error_errcode: u8(0x27a),
  s_last_error_errcode: u8(0x27b),
  s_encoding: u16le(0x27c),
  s_encoding_flags: u16le(0x27e),
  s_orphan_file_inum: u32le(0x280),
  s_reserved: reserved(0x284, 94 * 4),
  s_checksum: u32le(0x3fc),
});

export type SuperBlock = { -readonly [K in keyof StructValue<typeof Ext4SuperBlock>]: StructValue<typeof Ext4SuperBlock>[K] };

export function decodeSuperBlock(buf: Uint8Array, offset = 0): SuperBlock {
  return Ext4SuperBlock.decode(buf, offset);
}

export function encodeSuperBlock(sb: SuperBlock, buf?: Uint8Array, offset = 0): Uint8Array {
  return Ext4SuperBlock.encode(sb, buf, offset);
}

// ---- feature tests ---------------------------------------------------------

export function hasCompat(sb: SuperBlock, flag: number): boolean {
  return (sb.s_feature_compat & flag) !== 0;
}
export function hasIncompat(sb: SuperBlock, flag: number): boolean {
  return (sb.s_feature_incompat & flag) !== 0;
}
export function hasRoCompat(sb: SuperBlock, flag: number): boolean {
  return (sb.s_feature_ro_compat & flag) !== 0;
}
export function is64bit(sb: SuperBlock): boolean {
  return hasIncompat(sb, INCOMPAT['64bit']);
}
export function hasMetadataCsum(sb: SuperBlock): boolean {
  return hasRoCompat(sb, RO_COMPAT.metadata_csum);
}
/** Group descriptors carry a crc16 (uninit_bg without metadata_csum) — ext2fs_has_group_desc_csum(). */
export function hasGroupDescCsum(sb: SuperBlock): boolean {
  return hasRoCompat(sb, RO_COMPAT.metadata_csum) || hasRoCompat(sb, RO_COMPAT.uninit_bg);
}

// ---- accessors combining _lo/_hi, as the kernel's ext4_blocks_count() ----

function hiLo(hi: number, lo: number): number {
  return hi * 0x1_0000_0000 + lo;
}

/** ext4_blocks_count(): the high half counts only with the 64bit feature. */
export function blocksCount(sb: SuperBlock): number {
  return is64bit(sb) ? hiLo(sb.s_blocks_count_hi, sb.s_blocks_count_lo) : sb.s_blocks_count_lo;
}
export function rBlocksCount(sb: SuperBlock): number {
  return is64bit(sb) ? hiLo(sb.s_r_blocks_count_hi, sb.s_r_blocks_count_lo) : sb.s_r_blocks_count_lo;
}
export function freeBlocksCount(sb: SuperBlock): number {
  return is64bit(sb) ? hiLo(sb.s_free_blocks_hi, sb.s_free_blocks_count_lo) : sb.s_free_blocks_count_lo;
}
export function setBlocksCount(sb: SuperBlock, n: number): void {
  sb.s_blocks_count_lo = n >>> 0;
  sb.s_blocks_count_hi = is64bit(sb) ? Math.floor(n / 0x1_0000_0000) : 0;
}
export function setRBlocksCount(sb: SuperBlock, n: number): void {
  sb.s_r_blocks_count_lo = n >>> 0;
  sb.s_r_blocks_count_hi = is64bit(sb) ? Math.floor(n / 0x1_0000_0000) : 0;
}
export function setFreeBlocksCount(sb: SuperBlock, n: number): void {
  sb.s_free_blocks_count_lo = n >>> 0;
  sb.s_free_blocks_hi = is64bit(sb) ? Math.floor(n / 0x1_0000_0000) : 0;
}

/** 1024 << s_log_block_size (callers validate s_log_block_size first). */
export function blockSize(sb: SuperBlock): number {
  return 1024 * 2 ** sb.s_log_block_size;
}
/** EXT2_INODE_SIZE(): 128 for revision 0. */
export function inodeSize(sb: SuperBlock): number {
  return sb.s_rev_level === GOOD_OLD_REV ? GOOD_OLD_INODE_SIZE : sb.s_inode_size;
}
/** EXT2_FIRST_INO(). */
export function firstIno(sb: SuperBlock): number {
  return sb.s_rev_level === GOOD_OLD_REV ? GOOD_OLD_FIRST_INO : sb.s_first_ino;
}
/** EXT2_DESC_SIZE(): s_desc_size with 64bit, else 32. */
export function descSize(sb: SuperBlock): number {
  return is64bit(sb) ? sb.s_desc_size : 32;
}
/** Number of block groups: ceil((blocks − first_data_block) / blocks_per_group). */
export function groupCount(sb: SuperBlock): number {
  return Math.ceil((blocksCount(sb) - sb.s_first_data_block) / sb.s_blocks_per_group);
}
export function hasJournal(sb: SuperBlock): boolean {
  return hasCompat(sb, COMPAT.has_journal);
}

// ---- array fields ----------------------------------------------------------

function u32Array(b: Uint8Array): number[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 4 <= b.length; i += 4) out.push(dv.getUint32(i, true));
  return out;
}
function u32Bytes(values: readonly number[], length: number): Uint8Array {
  const b = new Uint8Array(length);
  const dv = new DataView(b.buffer);
  values.forEach((v, i) => { if (i * 4 + 4 <= length) dv.setUint32(i * 4, v >>> 0, true); });
  return b;
}
export function jnlBlocks(sb: SuperBlock): number[] {
  return u32Array(sb.s_jnl_blocks);
}
export function setJnlBlocks(sb: SuperBlock, values: readonly number[]): void {
  sb.s_jnl_blocks = u32Bytes(values, 68);
}
export function backupBgs(sb: SuperBlock): [number, number] {
  const [a, b] = u32Array(sb.s_backup_bgs);
  return [a, b];
}
export function setBackupBgs(sb: SuperBlock, values: readonly [number, number]): void {
  sb.s_backup_bgs = u32Bytes(values, 8);
}

/** Label: s_volume_name up to the first NUL, as UTF-8. */
export function volumeName(sb: SuperBlock): string {
  const b = sb.s_volume_name;
  const end = b.indexOf(0);
  return new TextDecoder().decode(end < 0 ? b : b.subarray(0, end));
}
