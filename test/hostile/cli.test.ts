// The CLI on damaged images: `inspect`, `ls`, `cat` and `bootenv list` on
// mutated GPT and MBR images (the fuzz engine's inputs) either succeed or
// print one line `diskwright: CODE: message` and exit 1 — never INTERNAL,
// never a stack trace, never a usage error for a well-formed command line.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
// @ts-expect-error plain ESM without types
import { inputBytes, inputFor, loadSeeds } from '../../fuzz/engine.mjs';
import { fuzzLib } from '../helpers/fuzz-lib.js';
import { tempDir } from '../helpers/oracle.js';

const tmp = tempDir('dw-hostile-cli-');
afterAll(() => tmp.cleanup());

async function cli(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const status = await main(argv, { stdout: (b) => { stdout += typeof b === 'string' ? b : Buffer.from(b).toString('latin1'); }, stderr: (s) => { stderr += s; }, env: {}, cwd: tmp.dir });
  return { status, stdout, stderr };
}

describe('CLI on damaged images', () => {
  for (const target of ['gpt', 'mbr']) {
    it(`${target}: 150 mutated images through inspect, ls, cat and bootenv list`, async () => {
      const l = await fuzzLib();
      const seeds = await loadSeeds(l, target, { corpusLimit: 0 });
      expect(seeds.own.length).toBeGreaterThan(0);
      const file = path.join(tmp.dir, `${target}.img`);
      const seen = new Set<string>();
      let ok = 0;
      for (let iter = 0; iter < 150; iter++) {
        fs.writeFileSync(file, inputBytes(inputFor(seeds, target, 'cli', iter)));
        for (const argv of [['inspect', file, '--json'], ['ls', file, 'p1:/'], ['cat', file, 'p1:/autoboot.txt'], ['bootenv', file, 'list']]) {
          const r = await cli(argv);
          const what = `${argv[0]} on iteration ${iter}: ${r.stderr}`;
          expect([0, 1], what).toContain(r.status);
          if (r.status === 0) {
            ok++;
            if (argv[0] === 'inspect') expect(() => JSON.parse(r.stdout), what).not.toThrow();
          } else {
            expect(r.stderr, what).toMatch(/^diskwright: [A-Z][A-Z0-9_]*: [^\n]*\n$/);
            expect(r.stderr, what).not.toMatch(/^diskwright: (INTERNAL|USAGE):/);
            seen.add(r.stderr.split(':')[1].trim());
          }
        }
      }
      // both outcomes occur: the mutations are neither all harmless nor all fatal
      expect(ok).toBeGreaterThan(0);
      expect(seen.size).toBeGreaterThan(0);
    }, 300_000);
  }
});
