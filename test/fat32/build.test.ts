// Volumes we build are accepted by fsck.fat (its output, not only its exit
// code) and give back the same names and bytes through mtools.
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileTree } from '../../src/tree/tree.js';
import { bytesSource } from '../../src/io/source.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';
import { buildFile, fsckFat, MTOOLS_ENV, readHostTree, sameBytes, T0, treeContents, treeOf } from './helpers.js';
import { payloadTree } from './payload.js';
import type { FatChoice } from '../../src/fat32/geometry.js';

const tmp = tempDir('dw-fat-build-');
afterAll(() => tmp.cleanup());

function mtoolsCheck(img: string, tree: FileTree): void {
  // mdir -/ -b: every path, directories with a trailing slash.
  const r = run('mdir', ['-/', '-b', '-i', img, '::'], { env: MTOOLS_ENV });
  const want0 = treeContents(tree).size;
  if (want0 > 0) expect(r.status, r.stderr).toBe(0);
  const listed = r.stdout.split('\n').filter((l) => l.startsWith('::/')).map((l) => l.slice(3).replace(/\/$/, '')).sort();
  const want = [...treeContents(tree).keys()].sort();
  expect(listed).toEqual(want);
  // mcopy -s: the same bytes.
  const out = fs.mkdtempSync(path.join(tmp.dir, 'mcopy-'));
  if (want.length > 0) {
    const c = run('mcopy', ['-s', '-n', '-i', img, '::*', out], { env: MTOOLS_ENV });
    expect(c.status, c.stderr).toBe(0);
  }
  const got = readHostTree(out);
  const exp = treeContents(tree);
  expect([...got.keys()].sort()).toEqual([...exp.keys()].sort());
  for (const [k, v] of exp) expect(sameBytes(got.get(k), v), k).toBe(true);
  fs.rmSync(out, { recursive: true, force: true });
}

describe.skipIf(!haveTools('fsck.fat', 'mdir', 'mcopy', 'blkid'))('built volumes pass fsck.fat and mtools', () => {
  const cases: Array<{ mb: number; fat: FatChoice; part: 'boot' | 'efi' | 'both'; ss?: number; clusterSize?: number }> = [
    { mb: 33, fat: 'fat32', part: 'efi' },
    { mb: 48, fat: 'fat16', part: 'boot' },
    { mb: 20, fat: 'auto', part: 'efi' },
    { mb: 128, fat: 'fat32', part: 'both' },
    { mb: 300, fat: 'fat32', part: 'boot' },
    { mb: 300, fat: 'fat32', part: 'both', ss: 4096 },
    { mb: 64, fat: 'fat16', part: 'efi', ss: 4096 },
    { mb: 256, fat: 'fat32', part: 'both', clusterSize: 2048 },
    { mb: 2048, fat: 'auto', part: 'both' },
  ];
  for (const c of cases) {
    it(`${c.mb} MiB ${c.fat}${c.ss ? ` ${c.ss}-byte sectors` : ''}${c.clusterSize ? ` ${c.clusterSize}-byte clusters` : ''} with the ${c.part} tree`, async () => {
      const full = payloadTree();
      const tree = new FileTree({ defaultTime: T0 });
      for (const [p, n] of full.walk()) {
        if (n.kind !== 'file') continue;
        const top = p.split('/')[1];
        if (c.part === 'both' || top === c.part) tree.addFile(c.part === 'both' ? p : p.slice(top.length + 1), n.source, { mtime: n.mtime, contiguous: n.contiguous });
      }
      const img = path.join(tmp.dir, `v${c.mb}-${c.fat}-${c.part}-${c.ss ?? 512}.img`);
      const plan = await buildFile(img, { tree, size: c.mb * 2 ** 20, fat: c.fat, label: 'KSOLO', seed: 'test', sectorSize: c.ss, clusterSize: c.clusterSize, partitionOffset: 1 << 20 });
      if (c.fat !== 'auto') expect(plan.type).toBe(c.fat);
      if (c.ss) expect(plan.geometry.sectorSize).toBe(c.ss);
      const f = fsckFat(img);
      expect(f.problems, f.output).toEqual([]);
      expect(f.clean, f.output).toBe(true);
      // fsck's own count of clusters in use matches ours.
      expect(f.output).toMatch(new RegExp(`: \\d+ files, ${plan.usedClusters}/${plan.geometry.clusterCount} clusters`));
      mtoolsCheck(img, tree);
      const blk = run('blkid', ['-p', '-o', 'export', img]);
      expect(blk.stdout).toContain('LABEL=KSOLO');
      expect(blk.stdout).toContain(`UUID=${plan.uuid}`);
      fs.rmSync(img);
    });
  }

  for (const fat of ['fat32', 'fat16'] as const) {
    it(`${fat}: directories of any size (1500 long names in one directory, 600 in the root)`, async () => {
      const files: Record<string, string> = {};
      for (let i = 0; i < 1500; i++) files[`many/A file with a long name number ${i}.txt`] = `${i}`;
      for (let i = 0; i < 600; i++) files[`root entry ${i}.dat`] = '';
      const tree = treeOf(files);
      const img = path.join(tmp.dir, `bigdir-${fat}.img`);
      const plan = await buildFile(img, { tree, size: fat === 'fat32' ? 40 << 20 : 30 << 20, fat, seed: 'd', label: 'BIGDIR' });
      expect(plan.type).toBe(fat);
      // 1500 × (3 long entries + 1 short) × 32 bytes span many clusters.
      expect(plan.geometry.clusterSize).toBeLessThan(1500 * 4 * 32);
      const f = fsckFat(img);
      expect(f.problems, f.output).toEqual([]);
      expect(f.clean).toBe(true);
      mtoolsCheck(img, tree);
      fs.rmSync(img);
    });
  }

  it('the fsck.fat check can fail: a bad long-name checksum and a wrong FSInfo free count are reported', async () => {
    const tree = treeOf({ 'Long File Name.txt': 'x' });
    const img = path.join(tmp.dir, 'negative.img');
    const plan = await buildFile(img, { tree, size: 40 << 20, fat: 'fat32', seed: 'n' });
    expect(fsckFat(img).clean).toBe(true);
    const b = fs.readFileSync(img);
    b.writeUInt32LE(b.readUInt32LE(512 + 488) - 1, 512 + 488);
    const dataStart = plan.geometry.firstDataSector * 512;
    expect(b[dataStart + 11]).toBe(0x0f);
    b[dataStart + 13] ^= 0x55;
    fs.writeFileSync(img, b);
    const f = fsckFat(img);
    expect(f.clean).toBe(false);
    expect(f.output).toMatch(/Free cluster summary wrong/);
    expect(f.output).toMatch(/Wrong checksum for long file name/);
    fs.rmSync(img);
  });

  it('property: generated trees (names, sizes, depth) are clean and read back by mtools', async () => {
    const nameChar = fc.constantFrom(...'abcXYZ019 _-.+~!(){}[]=;,\u00e9\u00df\u4e2d'.split(/(?:)/u));
    const name = fc.array(nameChar, { minLength: 1, maxLength: 40 }).map((a) => a.join(''))
      .filter((n) => !n.endsWith('.') && !n.endsWith(' ') && n !== '.' && n !== '..' && n.length <= 255);
    const entry = fc.record({
      dirs: fc.array(name, { minLength: 0, maxLength: 4 }),
      name,
      size: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 600 }), fc.integer({ min: 500, max: 70_000 })),
    });
    let runNo = 0;
    await fc.assert(fc.asyncProperty(fc.array(entry, { minLength: 0, maxLength: 40 }), fc.constantFrom<FatChoice>('fat32', 'fat16'), async (entries, fat) => {
      const tree = new FileTree({ defaultTime: T0 });
      const upper = new Set<string>();
      let k = 0;
      for (const e of entries) {
        const p = '/' + [...e.dirs, e.name].join('/');
        // Skip paths that clash (case-insensitively) with what is there already.
        const prefixes = [...e.dirs, e.name].map((_, i, a) => '/' + a.slice(0, i + 1).join('/').toUpperCase());
        if (upper.has(prefixes[prefixes.length - 1]) || prefixes.slice(0, -1).some((q) => upper.has(q + '\0file'))) continue;
        const data = new Uint8Array(e.size);
        for (let i = 0; i < data.length; i++) data[i] = (i * 31 + k) & 0xff;
        k++;
        const realDirs = e.dirs.map((_, i) => '/' + e.dirs.slice(0, i + 1).join('/'));
        if (realDirs.some((d) => { const n = tree.get(d); return n && n.kind !== 'dir'; })) continue;
        // Distinct names that differ only in case are an error by design; the generator avoids them.
        let clash = false;
        for (let i = 0; i < prefixes.length; i++) {
          const exact = '/' + [...e.dirs, e.name].slice(0, i + 1).join('/');
          if (!tree.get(exact) && upper.has(prefixes[i])) clash = true;
        }
        if (clash) continue;
        tree.addFile(p, bytesSource(data), { mtime: { sec: T0.sec + k * 7, nsec: 0 } });
        prefixes.forEach((q) => upper.add(q));
        upper.add(prefixes[prefixes.length - 1] + '\0file');
      }
      const img = path.join(tmp.dir, `prop-${runNo++}.img`);
      await buildFile(img, { tree, size: fat === 'fat32' ? 34 << 20 : 16 << 20, fat, label: 'PROP', seed: String(runNo) });
      const f = fsckFat(img);
      expect(f.problems, f.output).toEqual([]);
      expect(f.clean).toBe(true);
      mtoolsCheck(img, tree);
      fs.rmSync(img);
    }), { numRuns: 25 });
  });
});
