// Every corrupt or truncated ext image of the corpus (not only the
// robustness set) either reads within bounds or stops with a coded error:
// many corruptions (bitmaps, counts, quota, journal internals) are invisible
// to a reader, but none may crash it with anything else or make it hang.
import { describe, expect, it } from 'vitest';
import { openFileDisk } from '../../src/node/file-source.js';
import { openExt4 } from '../../src/ext4/read.js';
import { isDiskwrightError } from '../../src/errors.js';
import { corpusRows, corpusImage } from '../helpers/corpus.js';
import { walkExt4 } from './read-walk.js';

const rows = corpusRows().filter((r) => /^ext[234]$/.test(r.kind) && (r.status === 'corrupt' || r.status === 'partial'));

describe.skipIf(rows.length === 0)('ext corpus: corrupt images', () => {
  it('each reads or gives a coded error, quickly', () => {
    let coded = 0;
    for (const row of rows) {
      const disk = openFileDisk(corpusImage(row.path));
      const t0 = Date.now();
      try {
        walkExt4(openExt4(disk, { maxFileSize: 64 * 1024 * 1024 }), { maxEntries: 100_000 });
      } catch (e) {
        if (!isDiskwrightError(e)) throw new Error(`${row.path}: ${String(e)}`, { cause: e });
        expect(e.code, row.path).toMatch(/^(EXT4|IO)_[A-Z0-9_]+$/);
        coded++;
      } finally {
        disk.close();
      }
      expect(Date.now() - t0, row.path).toBeLessThan(30_000);
    }
    // most of them are caught (111 of 182 when this was written)
    expect(coded).toBeGreaterThan(rows.length / 2);
  }, 600_000);
});
