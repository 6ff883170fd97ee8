// fuzz/run.mjs itself: an exception, a hang and a heap overflow in the reader
// under test are each reported as a crash, saved with the input that caused
// it, and the run goes on after it. The selftest targets of the engine hang,
// overflow or throw on inputs of odd length. Runs the compiled dist/ (built by
// `npm test` before vitest).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/oracle.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const tmp = tempDir('dw-fuzz-harness-');
afterAll(() => tmp.cleanup());

function runFuzz(target: string, runs: number) {
  const dir = path.join(tmp.dir, target);
  const r = spawnSync(process.execPath, [path.join(ROOT, 'fuzz', 'run.mjs'), '--target', target, '--runs', String(runs), '--time-limit', '300', '--heap-mb', '64', '--json', '--crash-dir', dir], { encoding: 'utf8', timeout: 120_000 });
  const out = JSON.parse(r.stdout) as { results: Array<{ execs: number; codes: Record<string, number>; crashes: Array<{ iter: number; kind: string; file: string }> }> };
  return { status: r.status, result: out.results[0], dir };
}

describe.skipIf(!fs.existsSync(path.join(ROOT, 'dist', 'index.js')))('fuzz command harness', () => {
  for (const [target, kind] of [['selftest-throw', 'exception'], ['selftest-hang', 'hang'], ['selftest-heap', 'memory']] as const) {
    it(`${target}: every odd-length input is a "${kind}" crash, saved, and the run completes`, () => {
      const { status, result, dir } = runFuzz(target, 12);
      expect(status).toBe(1);
      expect(result.execs).toBe(12);
      expect(result.crashes.length).toBeGreaterThan(0);
      for (const c of result.crashes) {
        expect(c.kind).toBe(kind);
        // the saved input is the one that crashed: odd length
        expect(fs.readFileSync(c.file).length % 2).toBe(1);
        expect(fs.readFileSync(c.file.replace(/\.bin$/, '.txt'), 'utf8')).toContain(`iteration: ${c.iter}`);
      }
      // inputs of even length completed normally (counts of a worker that was terminated may be lost, so only here)
      if (target === 'selftest-throw') expect((result.codes.SELFTEST_OK ?? 0) + result.crashes.length).toBe(12);
      expect(fs.readdirSync(dir).filter((f) => f.endsWith('.bin')).length).toBe(result.crashes.length);
    }, 180_000);
  }
});
