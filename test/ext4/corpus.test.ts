// The shared corpus: valid ext images read without error; every e2fsprogs
// image in the robustness set gets a coded EXT4_* error, within time and
// memory bounds.
import { describe, expect, it } from 'vitest';
import { openFileDisk } from '../../src/node/file-source.js';
import { openExt4 } from '../../src/ext4/read.js';
import { isDiskwrightError } from '../../src/errors.js';
import { INCOMPAT } from '../../src/ext4/features.js';
import { corpusRows, corpusSet, corpusImage } from '../helpers/corpus.js';
import { walkExt4 } from './read-walk.js';

const rows = corpusRows();
const valid = rows.filter((r) => /^ext[234]$/.test(r.kind) && (r.status === 'valid' || r.status === 'valid-dirty') && !r.path.endsWith('.config'));
const robust = corpusSet('robustness').filter((p) => p.startsWith('e2fsprogs/'));

// The first problem the reader meets in each image (the one e2fsck or the kernel reports too).
const EXPECTED_CODE: Record<string, string> = {
  f_crashdisk: 'EXT4_SUPERBLOCK_BLOCK_SIZE',
  f_zero_super: 'EXT4_SUPERBLOCK_MAGIC',
  f_desc_size_zero: 'EXT4_SUPERBLOCK_DESC_SIZE',
  f_zero_inode_size: 'EXT4_SUPERBLOCK_INODE_SIZE',
  f_first_meta_bg_too_big: 'EXT4_SUPERBLOCK_META_BG',
  f_boundscheck: 'EXT4_GROUP_DESC_RANGE',
  f_readonly_fsck: 'EXT4_SUPERBLOCK_COUNTS',
  f_emptydir: 'EXT4_DIR_HOLE',
  f_hugedir_blocks: 'EXT4_DIR_SIZE',
  f_toobig_extent_dir: 'EXT4_DIR_SIZE',
  f_extent_int_bad_magic: 'EXT4_EXTENT_MAGIC',
  f_extent_interior_start_lblk: 'EXT4_EXTENT_INDEX',
  f_zeroed_ext_header: 'EXT4_EXTENT_MAGIC',
  f_ext_zero_len: 'EXT4_EXTENT_LENGTH',
  f_h_badnode: 'EXT4_HTREE_BLOCK',
  f_h_badroot: 'EXT4_HTREE_ROOT',
  f_dirlink: 'EXT4_DIR_PARENT',
  f_baddotdir: 'EXT4_DIRENT_DOT',
  f_trunc_dirent_header: 'EXT4_DIRENT_RECLEN',
  f_baddir: 'EXT4_DIRENT_NAME',
  f_badsymlinks2: 'EXT4_SYMLINK_TARGET',
  f_inlinedata_repair: 'EXT4_INODE_UNUSED',
  f_ea_value_crash: 'EXT4_XATTR_RANGE',
  f_ea_inode_self_ref: 'EXT4_XATTR_INODE',
  f_illitable_flexbg: 'EXT4_CSUM_GROUP_DESC',
  f_overfsblks: 'EXT4_GROUP_DESC_OVERLAP',
  f_super_bad_csum: 'EXT4_CSUM_SUPERBLOCK',
  f_resize_inode_meta_bg: 'EXT4_SUPERBLOCK_FEATURE',
  j_corrupt_revoke_rcount: 'EXT4_JOURNAL_REVOKE',
  f_detect_xfs: 'EXT4_SUPERBLOCK_MAGIC',
  f_detect_junk: 'EXT4_SUPERBLOCK_MAGIC',
};

function openAndWalk(rel: string) {
  const disk = openFileDisk(corpusImage(rel));
  try {
    const r = openExt4(disk);
    const entries = walkExt4(r);
    return { r, entries };
  } finally {
    (disk as { close?: () => void }).close?.();
  }
}

describe.skipIf(rows.length === 0)('ext corpus', () => {
  it.each(valid.filter((r) => r.status === 'valid').map((r) => r.path))('reads %s', (rel) => {
    const { r, entries } = openAndWalk(rel);
    expect(entries.length).toBeGreaterThan(0);
    expect(r.info().type).toMatch(/^ext[234]$/);
  });

  // Dirty images open with a warning. Where the journal still holds the
  // metadata (needs_recovery) the reader, which does not replay it, may find
  // the tree inconsistent: then it must say so with a coded error.
  it.each(valid.filter((r) => r.status === 'valid-dirty').map((r) => r.path))('opens %s (valid-dirty) with a warning', (rel) => {
    const disk = openFileDisk(corpusImage(rel));
    try {
      const r = openExt4(disk);
      expect(r.warnings.length).toBeGreaterThan(0);
      const pending = (r.superblock.s_feature_incompat & INCOMPAT.needs_recovery) !== 0;
      try {
        expect(walkExt4(r).length).toBeGreaterThan(0);
      } catch (e) {
        if (!pending || !isDiskwrightError(e)) throw e;
        expect(e.code).toMatch(/^EXT4_[A-Z0-9_]+$/);
      }
    } finally {
      disk.close();
    }
  });

  it.each(robust)('rejects %s with a coded error', (rel) => {
    const t0 = Date.now();
    let err: unknown = null;
    try {
      openAndWalk(rel);
    } catch (e) {
      err = e;
    }
    expect(err, `no error for ${rel}`).not.toBeNull();
    if (!isDiskwrightError(err)) throw err;
    expect(err.code).toMatch(/^EXT4_[A-Z0-9_]+$/);
    const name = rel.split('/')[2];
    if (EXPECTED_CODE[name]) expect(err.code).toBe(EXPECTED_CODE[name]);
    expect(Date.now() - t0).toBeLessThan(60_000);
  });
});
