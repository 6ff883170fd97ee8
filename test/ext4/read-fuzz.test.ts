// Robustness: random bytes written over the metadata of a small mke2fs
// image (checksums off, so the damage reaches the parsers) never crash the
// reader with anything but a DiskwrightError, never hang, and never make it
// allocate beyond the image.
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryDisk } from '../../src/io/disk.js';
import { openExt4 } from '../../src/ext4/read.js';
import { isDiskwrightError } from '../../src/errors.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';
import { walkExt4 } from './read-walk.js';

describe.skipIf(!haveTools('mke2fs'))('ext4 reader fuzz', () => {
  let tmp: { dir: string; cleanup: () => void };
  const images: Record<string, Uint8Array> = {};
  beforeAll(() => {
    tmp = tempDir('dw-ext4-fuzz-');
    const src = path.join(tmp.dir, 'src');
    fs.mkdirSync(path.join(src, 'd/e'), { recursive: true });
    for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(src, 'd', `f${i}`), 'x'.repeat(i * 97));
    fs.writeFileSync(path.join(src, 'd/e/big'), new Uint8Array(40_000).fill(7));
    fs.symlinkSync('d/e/big', path.join(src, 'ln'));
    for (const [name, args] of [['ext4', ['-t', 'ext4', '-O', 'inline_data']], ['ext2', ['-t', 'ext2']]] as const) {
      const file = path.join(tmp.dir, `${name}.img`);
      fs.writeFileSync(file, '');
      fs.truncateSync(file, 2 * 1024 * 1024);
      expect(run('mke2fs', ['-q', '-F', '-b', '1024', '-N', '64', ...args, '-d', src, file]).status).toBe(0);
      images[name] = new Uint8Array(fs.readFileSync(file));
    }
  });
  afterAll(() => tmp?.cleanup());

  for (const name of ['ext4', 'ext2']) {
    it(`${name}: corrupted metadata gives coded errors or a bounded read`, () => {
      // metadata lives in the first ~64 KiB of these images (superblock, descriptors, bitmaps, inode table, directories)
      const hit = fc.record({ offset: fc.integer({ min: 1024, max: 64 * 1024 - 1 }), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) });
      fc.assert(fc.property(fc.array(hit, { minLength: 1, maxLength: 6 }), (hits) => {
        const b = images[name].slice();
        for (const h of hits) b.set(h.bytes.subarray(0, b.length - h.offset), h.offset);
        const t0 = Date.now();
        try {
          const r = openExt4(memoryDisk(b, false), { verifyChecksums: false, maxFileSize: 4 * 1024 * 1024 });
          walkExt4(r, { maxEntries: 10_000 });
        } catch (e) {
          if (!isDiskwrightError(e)) throw e;
          expect(e.code).toMatch(/^(EXT4|IO)_[A-Z0-9_]+$/);
        }
        expect(Date.now() - t0).toBeLessThan(5000);
      }), { numRuns: 300, seed: 4242 });
    });
  }
});
