// Feature flags of the ext2/3/4 superblock, as e2fsprogs lib/ext2fs/ext2_fs.h
// declares them (EXT2_FEATURE_COMPAT_*, EXT4_FEATURE_INCOMPAT_*, …); the
// keys are the names mke2fs -O and dumpe2fs use.

export const COMPAT = {
  dir_prealloc: 0x0001,
  imagic_inodes: 0x0002,
  has_journal: 0x0004,
  ext_attr: 0x0008,
  resize_inode: 0x0010,
  dir_index: 0x0020,
  lazy_bg: 0x0040,
  exclude_bitmap: 0x0100,
  sparse_super2: 0x0200,
  fast_commit: 0x0400,
  stable_inodes: 0x0800,
  orphan_file: 0x1000,
} as const;

export const RO_COMPAT = {
  sparse_super: 0x0001,
  large_file: 0x0002,
  huge_file: 0x0008,
  uninit_bg: 0x0010,
  dir_nlink: 0x0020,
  extra_isize: 0x0040,
  snapshot: 0x0080,
  quota: 0x0100,
  bigalloc: 0x0200,
  metadata_csum: 0x0400,
  replica: 0x0800,
  read_only: 0x1000,
  project: 0x2000,
  shared_blocks: 0x4000,
  verity: 0x8000,
  orphan_present: 0x10000,
} as const;

export const INCOMPAT = {
  compression: 0x0001,
  filetype: 0x0002,
  needs_recovery: 0x0004,
  journal_dev: 0x0008,
  meta_bg: 0x0010,
  extent: 0x0040,
  '64bit': 0x0080,
  mmp: 0x0100,
  flex_bg: 0x0200,
  ea_inode: 0x0400,
  dirdata: 0x1000,
  metadata_csum_seed: 0x2000,
  large_dir: 0x4000,
  inline_data: 0x8000,
  encrypt: 0x10000,
  casefold: 0x20000,
} as const;

export type CompatFeature = keyof typeof COMPAT;
export type RoCompatFeature = keyof typeof RO_COMPAT;
export type IncompatFeature = keyof typeof INCOMPAT;

/** Incompat features this library's reader understands (others: refuse to open). */
export const READER_INCOMPAT_SUPPORTED =
  INCOMPAT.filetype | INCOMPAT.needs_recovery | INCOMPAT.meta_bg | INCOMPAT.extent | INCOMPAT['64bit'] |
  INCOMPAT.mmp | INCOMPAT.flex_bg | INCOMPAT.metadata_csum_seed | INCOMPAT.large_dir | INCOMPAT.inline_data |
  INCOMPAT.dirdata;

/** Feature names set in the three words, in dumpe2fs order (compat, incompat, ro_compat). */
export function featureNames(compat: number, incompat: number, roCompat: number): string[] {
  const out: string[] = [];
  const add = (table: Record<string, number>, word: number) => {
    for (const [name, bit] of Object.entries(table)) if ((word & bit) !== 0) out.push(name);
  };
  add(COMPAT, compat);
  add(INCOMPAT, incompat);
  add(RO_COMPAT, roCompat);
  return out;
}

// s_state (EXT2_VALID_FS, EXT2_ERROR_FS, EXT3_ORPHAN_FS)
export const STATE_VALID = 0x0001;
export const STATE_ERROR = 0x0002;
export const STATE_ORPHAN = 0x0004;

// s_flags
export const FLAGS_SIGNED_HASH = 0x0001;
export const FLAGS_UNSIGNED_HASH = 0x0002;
export const FLAGS_TEST_FILESYS = 0x0004;

// s_def_hash_version / dx_root_info.hash_version
export const HASH_LEGACY = 0;
export const HASH_HALF_MD4 = 1;
export const HASH_TEA = 2;
export const HASH_LEGACY_UNSIGNED = 3;
export const HASH_HALF_MD4_UNSIGNED = 4;
export const HASH_TEA_UNSIGNED = 5;
export const HASH_SIPHASH = 6;

// s_checksum_type
export const CHECKSUM_TYPE_CRC32C = 1;

// s_creator_os
export const OS_LINUX = 0;

// s_rev_level
export const GOOD_OLD_REV = 0;
export const DYNAMIC_REV = 1;
export const GOOD_OLD_INODE_SIZE = 128;
export const GOOD_OLD_FIRST_INO = 11;

// bg_flags (EXT2_BG_INODE_UNINIT, EXT2_BG_BLOCK_UNINIT, EXT2_BG_INODE_ZEROED)
export const BG_INODE_UNINIT = 0x0001;
export const BG_BLOCK_UNINIT = 0x0002;
export const BG_INODE_ZEROED = 0x0004;

// Reserved inode numbers (EXT2_BAD_INO … EXT2_GOOD_OLD_FIRST_INO)
export const BAD_INO = 1;
export const ROOT_INO = 2;
export const USR_QUOTA_INO = 3;
export const GRP_QUOTA_INO = 4;
export const BOOT_LOADER_INO = 5;
export const UNDEL_DIR_INO = 6;
export const RESIZE_INO = 7;
export const JOURNAL_INO = 8;
export const EXCLUDE_INO = 9;
export const REPLICA_INO = 10;

// i_flags (EXT2_*_FL / EXT4_*_FL)
export const SECRM_FL = 0x00000001;
export const UNRM_FL = 0x00000002;
export const COMPR_FL = 0x00000004;
export const SYNC_FL = 0x00000008;
export const IMMUTABLE_FL = 0x00000010;
export const APPEND_FL = 0x00000020;
export const NODUMP_FL = 0x00000040;
export const NOATIME_FL = 0x00000080;
export const ENCRYPT_FL = 0x00000800;
export const INDEX_FL = 0x00001000;
export const IMAGIC_FL = 0x00002000;
export const JOURNAL_DATA_FL = 0x00004000;
export const NOTAIL_FL = 0x00008000;
export const DIRSYNC_FL = 0x00010000;
export const TOPDIR_FL = 0x00020000;
export const HUGE_FILE_FL = 0x00040000;
export const EXTENTS_FL = 0x00080000;
export const VERITY_FL = 0x00100000;
export const EA_INODE_FL = 0x00200000;
export const INLINE_DATA_FL = 0x10000000;
export const PROJINHERIT_FL = 0x20000000;
export const CASEFOLD_FL = 0x40000000;

// i_mode file types (S_IF*)
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

// ext4_dir_entry_2.file_type (EXT2_FT_*)
export const FT_UNKNOWN = 0;
export const FT_REG_FILE = 1;
export const FT_DIR = 2;
export const FT_CHRDEV = 3;
export const FT_BLKDEV = 4;
export const FT_FIFO = 5;
export const FT_SOCK = 6;
export const FT_SYMLINK = 7;
/** file_type of the checksum tail's fake dirent (EXT2_DIR_NAME_LEN_CSUM = 0xDE00). */
export const FT_DIR_CSUM = 0xde;
