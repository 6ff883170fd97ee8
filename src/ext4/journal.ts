// jbd2 journal superblock: journal_superblock_t of e2fsprogs
// lib/ext2fs/kernel-jbd.h and the kernel's include/linux/jbd2.h (Linux
// Documentation/filesystems/ext4/journal.rst, "Super Block"). Big-endian,
// 1024 bytes, in the first block of the journal.
import { defineStruct, u8, u32be, bytes, reserved, type StructValue } from '../codec/struct.js';

export const JBD2_MAGIC_NUMBER = 0xc03b3998;

// h_blocktype
export const JBD2_DESCRIPTOR_BLOCK = 1;
export const JBD2_COMMIT_BLOCK = 2;
export const JBD2_SUPERBLOCK_V1 = 3;
export const JBD2_SUPERBLOCK_V2 = 4;
export const JBD2_REVOKE_BLOCK = 5;
export const JBD2_FC_BLOCK = 6;

// s_feature_compat / incompat
export const JBD2_FEATURE_COMPAT_CHECKSUM = 0x1;
export const JBD2_FEATURE_INCOMPAT_REVOKE = 0x1;
export const JBD2_FEATURE_INCOMPAT_64BIT = 0x2;
export const JBD2_FEATURE_INCOMPAT_ASYNC_COMMIT = 0x4;
export const JBD2_FEATURE_INCOMPAT_CSUM_V2 = 0x8;
export const JBD2_FEATURE_INCOMPAT_CSUM_V3 = 0x10;
export const JBD2_FEATURE_INCOMPAT_FAST_COMMIT = 0x20;

// s_checksum_type
export const JBD2_CRC32_CHKSUM = 1;
export const JBD2_MD5_CHKSUM = 2;
export const JBD2_SHA1_CHKSUM = 3;
export const JBD2_CRC32C_CHKSUM = 4;

/** JBD2_MIN_JOURNAL_BLOCKS */
export const JBD2_MIN_JOURNAL_BLOCKS = 1024;

export const JournalSuperBlock = defineStruct('journal_superblock_t', 1024, {
  // journal_header_t s_header
  h_magic: u32be(0x00),
  h_blocktype: u32be(0x04),
  h_sequence: u32be(0x08),
  s_blocksize: u32be(0x0c),
  s_maxlen: u32be(0x10),
  s_first: u32be(0x14),
  s_sequence: u32be(0x18),
  s_start: u32be(0x1c),
  s_errno: u32be(0x20),
  s_feature_compat: u32be(0x24),
  s_feature_incompat: u32be(0x28),
  s_feature_ro_compat: u32be(0x2c),
  s_uuid: bytes(0x30, 16),
  s_nr_users: u32be(0x40),
  s_dynsuper: u32be(0x44),
  s_max_transaction: u32be(0x48),
  s_max_trans_data: u32be(0x4c),
  s_checksum_type: u8(0x50),
  s_padding2: reserved(0x51, 3),
  s_num_fc_blks: u32be(0x54),
  s_head: u32be(0x58),
  s_padding: reserved(0x5c, 40 * 4),
  s_checksum: u32be(0xfc),
  /** __u8 s_users[16*48]: UUIDs of filesystems sharing the journal. */
  s_users: bytes(0x100, 16 * 48),
});

export type JournalSuper = { -readonly [K in keyof StructValue<typeof JournalSuperBlock>]: StructValue<typeof JournalSuperBlock>[K] };

/** A journal_header_t at the start of every journal metadata block. */
export const JournalHeader = defineStruct('journal_header_t', 12, {
  h_magic: u32be(0x0),
  h_blocktype: u32be(0x4),
  h_sequence: u32be(0x8),
});

export function decodeJournalSuperBlock(buf: Uint8Array, offset = 0): JournalSuper {
  return JournalSuperBlock.decode(buf, offset);
}
export function encodeJournalSuperBlock(js: JournalSuper, buf?: Uint8Array, offset = 0): Uint8Array {
  return JournalSuperBlock.encode(js, buf, offset);
}
