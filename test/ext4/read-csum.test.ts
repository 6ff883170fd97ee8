// Any single byte flipped inside a checksummed range of an mke2fs image gives
// that structure's EXT4_CSUM_* code (property-based), and the checksum
// helpers agree with what mke2fs wrote.
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryDisk } from '../../src/io/disk.js';
import { openExt4 } from '../../src/ext4/read.js';
import { decodeSuperBlock } from '../../src/ext4/superblock.js';
import {
  csumSeed, verifySuperBlockCsum, setSuperBlockCsum, verifyInodeCsum, setInodeCsum, verifyGroupDescCsum, setGroupDescCsum,
  verifyBlockBitmapCsum, verifyInodeBitmapCsum, setBlockBitmapCsum, setInodeBitmapCsum,
} from '../../src/ext4/csum.js';
import { decodeGroupDesc, blockBitmap, inodeBitmap } from '../../src/ext4/group-desc.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';
import { codeOf } from '../helpers/codes.js';


describe.skipIf(!haveTools('mke2fs', 'debugfs'))('ext4 checksums', () => {
  let tmp: { dir: string; cleanup: () => void };
  let img: Uint8Array;
  let inodeOff = 0;
  let ino = 0;
  beforeAll(() => {
    tmp = tempDir('dw-ext4-csum-');
    const src = path.join(tmp.dir, 'src');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'f'), 'data');
    const file = path.join(tmp.dir, 'a.img');
    fs.writeFileSync(file, '');
    fs.truncateSync(file, 8 * 1024 * 1024);
    expect(run('mke2fs', ['-q', '-F', '-t', 'ext4', '-b', '1024', '-d', src, file]).status).toBe(0);
    img = new Uint8Array(fs.readFileSync(file));
    ino = openExt4(memoryDisk(img.slice(), false)).lookup('/f');
    const m = /located at block (\d+), offset 0x([0-9a-f]+)/.exec(run('debugfs', ['-R', `imap <${ino}>`, file]).stdout);
    inodeOff = Number(m![1]) * 1024 + parseInt(m![2], 16);
  });
  afterAll(() => tmp?.cleanup());

  it('verify accepts what mke2fs wrote, and set reproduces it', () => {
    const sbRaw = img.slice(1024, 2048);
    expect(verifySuperBlockCsum(sbRaw)).toBe(true);
    const copy = sbRaw.slice();
    copy.fill(0, 0x3fc, 0x400);
    setSuperBlockCsum(copy);
    expect(copy).toEqual(sbRaw);
    const sb = decodeSuperBlock(sbRaw);
    const seed = csumSeed(sb);
    const gd = img.slice(2048, 2048 + sb.s_desc_size);
    expect(verifyGroupDescCsum(sb, seed, 0, gd)).toBe(true);
    const gd2 = gd.slice();
    gd2[0x1e] = gd2[0x1f] = 0;
    setGroupDescCsum(sb, seed, 0, gd2);
    expect(gd2).toEqual(gd);
    const raw = img.slice(inodeOff, inodeOff + sb.s_inode_size);
    expect(verifyInodeCsum(seed, ino, raw, sb.s_inode_size)).toBe(true);
    const raw2 = raw.slice();
    raw2[0x7c] = raw2[0x7d] = raw2[0x82] = raw2[0x83] = 0;
    setInodeCsum(seed, ino, raw2, sb.s_inode_size);
    expect(raw2).toEqual(raw);
    // the wrong inode number does not verify
    expect(verifyInodeCsum(seed, ino + 1, raw, sb.s_inode_size)).toBe(false);
    // bitmaps of group 0 (block bitmap: clusters_per_group/8 bytes, inode bitmap: inodes_per_group/8)
    const g = decodeGroupDesc(img, 2048, sb.s_desc_size);
    const bb = img.slice(blockBitmap(g, sb.s_desc_size) * 1024, blockBitmap(g, sb.s_desc_size) * 1024 + sb.s_clusters_per_group / 8);
    const ib = img.slice(inodeBitmap(g, sb.s_desc_size) * 1024, inodeBitmap(g, sb.s_desc_size) * 1024 + sb.s_inodes_per_group / 8);
    expect(verifyBlockBitmapCsum(seed, g, sb.s_desc_size, bb)).toBe(true);
    expect(verifyInodeBitmapCsum(seed, g, sb.s_desc_size, ib)).toBe(true);
    const g2 = { ...g, bg_block_bitmap_csum_lo: 0, bg_block_bitmap_csum_hi: 0, bg_inode_bitmap_csum_lo: 0, bg_inode_bitmap_csum_hi: 0 };
    setBlockBitmapCsum(seed, g2, sb.s_desc_size, bb);
    setInodeBitmapCsum(seed, g2, sb.s_desc_size, ib);
    expect(g2).toEqual(g);
    ib[0] ^= 0x80;
    expect(verifyInodeBitmapCsum(seed, g, sb.s_desc_size, ib)).toBe(false);
  });

  // Two flips are told apart before the checksum: s_checksum_type (0x175) has
  // its own code, and clearing metadata_csum (bit 0x04 of the ro_compat byte
  // at 0x65) leaves no checksum to check.
  it('any other flipped superblock byte (but the magic) gives EXT4_CSUM_SUPERBLOCK', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1023 }).filter((o) => o !== 0x38 && o !== 0x39), fc.integer({ min: 1, max: 255 }), (o, x) => {
      fc.pre(o !== 0x175 && !(o === 0x65 && (x & 0x04)));
      const b = img.slice();
      b[1024 + o] ^= x;
      expect(codeOf(() => openExt4(memoryDisk(b, false)))).toBe('EXT4_CSUM_SUPERBLOCK');
    }), { numRuns: 60 });
  });

  it('a flipped s_checksum_type is EXT4_SUPERBLOCK_CSUM_TYPE', () => {
    const b = img.slice();
    b[1024 + 0x175] ^= 0x02;
    expect(codeOf(() => openExt4(memoryDisk(b, false)))).toBe('EXT4_SUPERBLOCK_CSUM_TYPE');
  });

  it('any flipped byte of group 0\'s descriptor gives EXT4_CSUM_GROUP_DESC', () => {
    const ds = decodeSuperBlock(img, 1024).s_desc_size;
    fc.assert(fc.property(fc.integer({ min: 0, max: ds - 1 }), fc.integer({ min: 1, max: 255 }), (o, x) => {
      const b = img.slice();
      b[2048 + o] ^= x;
      expect(codeOf(() => openExt4(memoryDisk(b, false)))).toBe('EXT4_CSUM_GROUP_DESC');
    }), { numRuns: 60 });
  });

  it('any flipped byte of a file\'s inode gives EXT4_CSUM_INODE', () => {
    const isz = decodeSuperBlock(img, 1024).s_inode_size;
    fc.assert(fc.property(fc.integer({ min: 0, max: isz - 1 }), fc.integer({ min: 1, max: 255 }), (o, x) => {
      const b = img.slice();
      b[inodeOff + o] ^= x;
      expect(codeOf(() => openExt4(memoryDisk(b, false)).stat('/f'))).toBe('EXT4_CSUM_INODE');
    }), { numRuns: 60 });
  });
});
