import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { dirHash } from '../../src/ext4/htree.js';
import { encodeUuid } from '../../src/codec/guid.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';

const ALGS: Array<[string, number]> = [
  ['legacy', 0], ['half_md4', 1], ['tea', 2], ['legacy_unsigned', 3], ['half_md4_unsigned', 4], ['tea_unsigned', 5],
];
const SEED = '6d1f3a52-90c4-4e8b-a7d2-3b5c9e01f4a6';

describe('ext4 directory hash', () => {
  it('is deterministic and clears the low bit', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 255 }), fc.integer({ min: 0, max: 5 }), (name, v) => {
      const a = dirHash(name, v, encodeUuid(SEED));
      expect(a).toEqual(dirHash(name, v, encodeUuid(SEED)));
      expect(a.hash & 1).toBe(0);
    }));
  });

  it.skipIf(!haveTools('debugfs', 'mke2fs'))('matches debugfs dx_hash for every algorithm, signed and unsigned', () => {
    const { dir, cleanup } = tempDir();
    try {
      const img = path.join(dir, 'h.img');
      fs.writeFileSync(img, new Uint8Array(0));
      fs.truncateSync(img, 4 * 1024 * 1024);
      const mk = run('mke2fs', ['-q', '-F', '-t', 'ext4', img]);
      expect(mk.status).toBe(0);
      const names = fc.sample(
        fc.oneof(
          fc.stringMatching(/^[a-zA-Z0-9._][a-zA-Z0-9._-]{0,79}$/),
          fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter((s) => !/[\s"\\'\0/]/.test(s) && !s.startsWith('-')),
        ),
        { numRuns: 40, seed: 42 },
      );
      names.push('héllo', 'ä'.repeat(60), 'x'.repeat(255), 'a', 'ab', 'abc', 'abcd');
      const cmds: string[] = [];
      const expected: Array<[string, number]> = [];
      for (const n of names) {
        for (const [alg, v] of ALGS) {
          cmds.push(`dx_hash -h ${v} -s ${SEED} "${n}"`); void alg;
          expected.push([n, v]);
        }
      }
      const cmdFile = path.join(dir, 'cmds');
      fs.writeFileSync(cmdFile, cmds.join('\n') + '\n');
      const r = run('debugfs', ['-f', cmdFile, img]);
      const lines = r.stdout.split('\n').filter((l) => l.startsWith('Hash of '));
      expect(lines.length, r.stderr).toBe(expected.length);
      const enc = new TextEncoder();
      lines.forEach((line, i) => {
        const m = /is 0x([0-9a-f]+) \(minor 0x([0-9a-f]+)\)/.exec(line);
        expect(m, line).not.toBeNull();
        const [n, v] = expected[i];
        const ours = dirHash(enc.encode(n), v, encodeUuid(SEED));
        expect({ n, v, hash: ours.hash, minor: ours.minorHash }).toEqual({ n, v, hash: parseInt(m![1], 16), minor: parseInt(m![2], 16) });
      });
    } finally {
      cleanup();
    }
  });
});
