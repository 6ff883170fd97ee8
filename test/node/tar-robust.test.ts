// Damaged archives: whatever the bytes, treeFromTar either reads a tree or
// throws a DiskwrightError with a code — never another exception, never a hang.
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { FileTree, isDiskwrightError } from '../../src/index.js';
import { treeFromTar } from '../../src/node/tar.js';
import { tempDir } from '../helpers/oracle.js';

const DIR = path.join(import.meta.dirname, '..', '..', 'fixtures', 'tar');
const SEEDS = ['pax-xattrs.tar', 'gnu-longnames.tar', 'symlink-loop.tar'].map((f) => fs.readFileSync(path.join(DIR, f)));

function fixChecksum(buf: Buffer, h: number): void {
  buf.fill(0x20, h + 148, h + 156);
  let sum = 0;
  for (let i = h; i < h + 512; i++) sum += buf[i];
  buf.write(sum.toString(8).padStart(6, '0') + '\0 ', h + 148, 'latin1');
}

describe('treeFromTar on damaged archives', () => {
  const tmp = tempDir('dw-tar-fuzz-');
  afterAll(() => tmp.cleanup());

  it('mutated archives read or fail with a code', async () => {
    let n = 0;
    const codes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.nat(SEEDS.length - 1),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.option(fc.nat(), { nil: undefined }),
        fc.boolean(),
        async (seed, flips, cut, fix) => {
          const buf = Buffer.from(SEEDS[seed]);
          // bias the writes toward headers: most of each seed is zero padding
          for (const [at, v] of flips) buf[(at % 4) === 0 ? at % buf.length : (Math.floor(at / 4) * 512 + (at % 512)) % buf.length] = v;
          // re-sum every header block, so that the damage gets past the checksum into the fields
          if (fix) for (let h = 0; h + 512 <= buf.length; h += 512) if (buf.subarray(h + 257, h + 262).toString('latin1') === 'ustar') fixChecksum(buf, h);
          const bytes = cut === undefined ? buf : buf.subarray(0, cut % (buf.length + 1));
          const f = path.join(tmp.dir, `m${n++}.tar`);
          fs.writeFileSync(f, bytes);
          try {
            const t = await treeFromTar(f, new FileTree(), '/');
            for (const [, node] of t.walk()) if (node.kind === 'file') node.source.read(0, node.source.size);
            codes.set('ok', (codes.get('ok') ?? 0) + 1);
          } catch (e) {
            if (!isDiskwrightError(e)) throw e;
            expect(e.code).toMatch(/^[A-Z][A-Z0-9_]+$/);
            codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
          } finally {
            fs.rmSync(f, { force: true });
          }
        },
      ),
      { numRuns: Number(process.env.TAR_FUZZ_RUNS ?? 300), seed: Number(process.env.TAR_FUZZ_SEED ?? 20240601), timeout: 5000 },
    );
    if (process.env.TAR_FUZZ_RUNS) console.log(JSON.stringify([...codes]));
    // the mutations did reach the error paths
    expect([...codes.keys()].filter((k) => k !== 'ok').length).toBeGreaterThan(1);
  });
});
