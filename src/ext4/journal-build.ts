// The journal superblock mke2fs writes into a new internal journal
// (e2fsprogs lib/ext2fs/mkjournal.c ext2fs_create_journal_superblock2):
// jbd2 v2, s_first 1, sequence 1, one user, the filesystem's UUID; with
// metadata_csum the v3 checksum feature and crc32c, as the kernel sets it
// on mount (fs/ext4/super.c set_journal_csum_feature_set).
import { encodeJournalSuperBlock, JournalSuperBlock, type JournalSuper, JBD2_MAGIC_NUMBER, JBD2_SUPERBLOCK_V2, JBD2_FEATURE_INCOMPAT_CSUM_V3, JBD2_CRC32C_CHKSUM } from './journal.js';
import { setJournalSuperBlockCsum } from './csum.js';

export function buildJournalSuperBlock(blockSize: number, blocks: number, uuid: Uint8Array, csumV3: boolean): Uint8Array {
  const js: JournalSuper = JournalSuperBlock.zero();
  js.h_magic = JBD2_MAGIC_NUMBER;
  js.h_blocktype = JBD2_SUPERBLOCK_V2;
  js.s_blocksize = blockSize;
  js.s_maxlen = blocks;
  js.s_first = 1;
  js.s_sequence = 1;
  js.s_uuid = uuid.slice(0, 16);
  js.s_nr_users = 1;
  if (csumV3) {
    js.s_feature_incompat = JBD2_FEATURE_INCOMPAT_CSUM_V3;
    js.s_checksum_type = JBD2_CRC32C_CHKSUM;
  }
  const block = new Uint8Array(blockSize);
  encodeJournalSuperBlock(js, block, 0);
  if (csumV3) setJournalSuperBlockCsum(block);
  return block;
}
