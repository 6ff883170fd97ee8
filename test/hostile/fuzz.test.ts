// CI's short fixed-seed fuzz pass: the engine of `npm run fuzz` (fuzz/engine.mjs)
// run in process over the TypeScript sources, a few hundred mutated inputs per
// target. Every input must give success or a DiskwrightError with a stable
// code; no other exception, no allocation above the bound, no slow run.
import { describe, expect, it } from 'vitest';
import * as lib from '../../src/index.js';
// @ts-expect-error plain ESM without types
import { TARGETS, execute, inputBytes, inputFor, loadSeeds } from '../../fuzz/engine.mjs';
import { fuzzLib } from '../helpers/fuzz-lib.js';

const RUNS: Record<string, number> = { gpt: 300, mbr: 300, fat: 300, ext4: 300, grubenv: 1000, autoboot: 1000, tar: 600, spec: 1000, vdisk: 300 };
const SEED = 'ci';
/** Far above a normal run (a few ms to 300 ms), low enough to catch a loop that is not bounded. */
const SLOW_MS = 15_000;

const libP = fuzzLib();

describe('the engine tells crashes from coded errors', () => {
  const input = { bytes: new Uint8Array(4096) };
  const fake = (openFat: () => unknown) => ({ ...lib, openFat, openImage: () => { throw new lib.DiskwrightError('IMAGE_UNRECOGNIZED', 'x'); } });
  it('a coded error is an outcome', async () => {
    const r = await execute(fake(() => { throw new lib.DiskwrightError('FAT_BAD_BPB', 'bad'); }), 'fat', input);
    expect(r.codes.sort()).toEqual(['FAT_BAD_BPB', 'IMAGE_UNRECOGNIZED']);
  });
  it('any other exception is a crash', async () => {
    await expect(execute(fake(() => { throw new TypeError('x is undefined'); }), 'fat', input)).rejects.toBeInstanceOf(TypeError);
    await expect(execute(fake(() => { throw new lib.DiskwrightError('not a code', 'x'); }), 'fat', input)).rejects.toBeInstanceOf(lib.DiskwrightError);
  });
  it('an allocation sized by a header (above the bound) is a crash, even when it would succeed', async () => {
    await expect(execute(fake(() => new Uint8Array(200 * 1024 * 1024)), 'fat', input)).rejects.toMatchObject({ name: 'FuzzBoundError' });
    await expect(execute(fake(() => new ArrayBuffer(2 ** 31)), 'fat', input)).rejects.toMatchObject({ name: 'FuzzBoundError' });
    // and the guard is gone afterwards
    expect(new Uint8Array(200 * 1024 * 1024).length).toBe(200 * 1024 * 1024);
  });
});

describe('fuzz pass (fixed seed)', () => {
  it('covers every target of the fuzz command', () => {
    expect(Object.keys(RUNS).sort()).toEqual([...TARGETS].sort());
  });

  for (const target of TARGETS as string[]) {
    it(`${target}: ${RUNS[target]} mutated inputs, no crash`, async () => {
      const l = await libP;
      // a fixed choice of corpus files, at most 160 MiB of them in memory
      const seeds = await loadSeeds(l, target, { corpusLimit: 400, corpusBudget: 160 * 1024 * 1024 });
      expect(seeds.all.length).toBeGreaterThan(0);
      // our own builds must be among the seeds (they cover what we write)
      expect(seeds.own.length).toBeGreaterThan(0);
      const crashes: string[] = [];
      const codes = new Set<string>();
      // process warnings during the pass count as crashes, as in the fuzz command
      const onWarning = (w: Error) => { if (w.name !== 'ExperimentalWarning' && w.name !== 'DeprecationWarning') crashes.push(`warning: ${w.name}: ${w.message}`); };
      process.on('warning', onWarning);
      let slowest = 0;
      for (let iter = 0; iter < RUNS[target]; iter++) {
        const input = inputFor(seeds, target, SEED, iter);
        try {
          const r = await execute(l, target, input);
          r.codes.forEach((c: string) => codes.add(c));
          slowest = Math.max(slowest, r.ms);
          if (r.ms > SLOW_MS) crashes.push(`iteration ${iter} (${input.seed}): ${Math.round(r.ms)} ms`);
        } catch (e) {
          const err = e as Error;
          crashes.push(`iteration ${iter} (${input.seed}, ${inputBytes(input).length} bytes): ${err?.name}: ${err?.message}\n${err?.stack?.split('\n').slice(1, 4).join('\n')}`);
        }
      }
      await new Promise((r) => setImmediate(r));
      process.off('warning', onWarning);
      expect(crashes).toEqual([]);
      // the mutations reach the readers' checks, not only "not found"
      expect(codes.size).toBeGreaterThan(3);
    }, 600_000);
  }
});
