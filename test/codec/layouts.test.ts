// Every on-disk record table in the library has no gaps, no overlaps, and
// adds up to its size (as e2fsprogs' tst_super_size.c checks the superblock).
import { describe, expect, it } from 'vitest';
import * as lib from '../../src/index.js';
import { allStructs, checkStructLayout } from '../../src/codec/struct.js';
// ext4 records are not re-exported from the package root; load them here.
import '../../src/ext4/superblock.js';
import '../../src/ext4/group-desc.js';
import '../../src/ext4/inode.js';
import '../../src/ext4/extent.js';
import '../../src/ext4/dirent.js';
import '../../src/ext4/xattr.js';
import '../../src/ext4/journal.js';

describe('record layouts', () => {
  it('the library exports load', () => {
    expect(typeof lib.defineStruct).toBe('function');
  });
  const own = () => allStructs().filter((s) => !['TestRec', 'Gap', 'Overlap', 'Short'].includes(s.name));
  it('every declared record is sound', () => {
    for (const s of own()) expect({ name: s.name, problems: checkStructLayout(s) }).toEqual({ name: s.name, problems: [] });
  });
});
