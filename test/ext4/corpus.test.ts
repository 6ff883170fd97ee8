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
    expect(Date.now() - t0).toBeLessThan(60_000);
  });
});
