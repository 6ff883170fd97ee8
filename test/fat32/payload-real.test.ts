// Opt-in: the real boot/ and efi/ trees of bench/make-payload.sh (about a
// minute to generate, so not part of every run). Generate them once with
//   bash ../shared/bench/make-payload.sh /tmp/payload
// and run with DISKWRIGHT_PAYLOAD=/tmp/payload. The default suite uses the
// smaller tree of the same shape in payload.ts.
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileTree } from '../../src/tree/tree.js';
import { fileSource } from '../../src/node/file-source.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';
import { buildFile, fsckFat, MTOOLS_ENV, readHostTree, sameBytes, T0 } from './helpers.js';

const payload = process.env.DISKWRIGHT_PAYLOAD;
if (!payload && process.env.REQUIRE_PAYLOAD === '1') throw new Error('REQUIRE_PAYLOAD=1 but DISKWRIGHT_PAYLOAD is not set');
const tmp = tempDir('dw-fat-payload-');
afterAll(() => tmp.cleanup());

function hostTree(dir: string): FileTree {
  const t = new FileTree({ defaultTime: T0 });
  const walk = (d: string, rel: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const st = fs.lstatSync(p);
      const mtime = { sec: Math.floor(st.mtimeMs / 1000), nsec: 0 };
      if (st.isDirectory()) { t.addDir(`${rel}/${name}`, { mtime }); walk(p, `${rel}/${name}`); } else if (st.isFile()) t.addFile(`${rel}/${name}`, fileSource(p), { mtime });
    }
  };
  walk(dir, '');
  return t;
}

describe.skipIf(!payload || !haveTools('fsck.fat', 'mcopy'))('make-payload.sh boot/ and efi/ trees', () => {
  for (const part of ['boot', 'efi']) {
    it(`${part}/ on a 256 MiB FAT32: fsck.fat clean, mcopy gives the same bytes`, async () => {
      const src = path.join(payload!, part);
      const img = path.join(tmp.dir, `${part}.img`);
      const t0 = performance.now();
      const plan = await buildFile(img, { tree: hostTree(src), size: 256 << 20, fat: 'fat32', label: part.toUpperCase(), seed: 'payload' });
      console.log(`${part}: ${plan.files} files, ${plan.dataBytes} bytes built in ${Math.round(performance.now() - t0)} ms`);
      const f = fsckFat(img);
      expect(f.problems, f.output).toEqual([]);
      const out = fs.mkdtempSync(path.join(tmp.dir, 'out-'));
      expect(run('mcopy', ['-s', '-n', '-i', img, '::*', out], { env: MTOOLS_ENV }).status).toBe(0);
      const want = readHostTree(src);
      const got = readHostTree(out);
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
      for (const [k, v] of want) expect(sameBytes(got.get(k), v), k).toBe(true);
    });
  }
});
