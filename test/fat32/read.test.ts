// Our reader against volumes others made: mkfs.fat (several cluster sizes,
// 4096-byte sectors, more reserved sectors, FAT16, FAT12) filled by mcopy,
// and the corpus's FAT images (valid ones read, corrupt ones get codes).
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { haveTools, run, tempDir } from '../helpers/oracle.js';
import { corpusImage, corpusRows, corpusSet } from '../helpers/corpus.js';
import { openFileDisk } from '../../src/node/file-source.js';
import { memoryDisk, subDisk } from '../../src/io/disk.js';
import { openFat, type FatReader } from '../../src/fat32/read.js';
import { checkFat } from '../../src/fat32/check.js';
import { fat32Driver } from '../../src/fat32/driver.js';
import { isDiskwrightError } from '../../src/errors.js';
import { MTOOLS_ENV, readHostTree, sameBytes } from './helpers.js';

const tmp = tempDir('dw-fat-read-');
afterAll(() => tmp.cleanup());

/** Every path under the volume: relative path → bytes (null for directories). */
function readAll(r: FatReader): Map<string, Uint8Array | null> {
  const out = new Map<string, Uint8Array | null>();
  const walk = (dir: string, rel: string, depth: number) => {
    if (depth > 64) throw new Error('too deep');
    for (const e of r.list(dir)) {
      const p = `${dir === '/' ? '' : dir}/${e.name}`;
      const q = rel ? `${rel}/${e.name}` : e.name;
      if (e.type === 'dir') { out.set(q, null); walk(p, q, depth + 1); } else {
        const data = r.readFile(p);
        expect(data.length).toBe(e.size);
        out.set(q, data);
      }
    }
  };
  walk('/', '', 0);
  return out;
}

function makeSourceDir(): string {
  const src = fs.mkdtempSync(path.join(tmp.dir, 'src-'));
  const w = (p: string, data: Uint8Array | string) => { fs.mkdirSync(path.dirname(path.join(src, p)), { recursive: true }); fs.writeFileSync(path.join(src, p), data); };
  const big = new Uint8Array(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 9)) & 0xff;
  w('config.txt', 'arm_64bit=1\n');
  w('README', 'upper case 8.3\n');
  w('Mixed Case Long Name.TXT', 'long\n');
  w('kernel.img', big);
  w('empty.bin', '');
  w('EFI/BOOT/BOOTAA64.EFI', big.subarray(0, 123_457));
  w('überlänge/ñandú-ファイル.txt', 'unicode\n');
  for (let i = 0; i < 40; i++) w(`overlays/overlay-number-${i}.dtbo`, `overlay ${i}\n`.repeat(i * 13 + 1));
  for (let d = 0, p = 'deep'; d < 6; d++, p += `/level${d}`) w(`${p}/f${d}.txt`, `depth ${d}\n`);
  return src;
}

describe.skipIf(!haveTools('mkfs.fat', 'mcopy', 'fsck.fat'))('volumes made by mkfs.fat and filled by mcopy', () => {
  const cases: Array<{ args: string[]; mb: number; bits: number; sector?: number }> = [
    { args: ['-F', '32', '-s', '1'], mb: 40, bits: 32 },
    { args: ['-F', '32', '-s', '8'], mb: 300, bits: 32 },
    { args: ['-F', '32', '-s', '16'], mb: 1100, bits: 32 },
    { args: ['-F', '32', '-S', '4096'], mb: 400, bits: 32, sector: 4096 },
    { args: ['-F', '32', '-R', '64'], mb: 64, bits: 32 },
    { args: ['-F', '16'], mb: 64, bits: 16 },
    { args: ['-F', '16', '-s', '16', '-R', '12', '-r', '1024'], mb: 100, bits: 16 },
    { args: ['-F', '12'], mb: 4, bits: 12 },
  ];
  const src = makeSourceDir();
  const want = readHostTree(src);
  for (const c of cases) {
    it(`mkfs.fat ${c.args.join(' ')} on ${c.mb} MiB`, () => {
      const img = path.join(tmp.dir, `mkfs-${c.args.join('')}.img`);
      fs.rmSync(img, { force: true });
      const m = run('mkfs.fat', [...c.args, '-n', 'OTHERS', '-i', '1234ABCD', '-C', img, String(c.mb * 1024)]);
      expect(m.status, m.stderr).toBe(0);
      const entries = fs.readdirSync(src).map((e) => path.join(src, e));
      const cp = run('mcopy', ['-s', '-i', img, ...entries, '::'], { env: MTOOLS_ENV });
      expect(cp.status, cp.stderr).toBe(0);
      const d = openFileDisk(img);
      try {
        const r = openFat(d);
        expect(r.volume.bits).toBe(c.bits);
        if (c.sector) expect(r.volume.sectorSize).toBe(c.sector);
        const info = r.info();
        expect(info.label).toBe('OTHERS');
        expect(info.uuid).toBe('1234-ABCD');
        const got = readAll(r);
        expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
        for (const [k, v] of want) expect(sameBytes(got.get(k), v), k).toBe(true);
        expect(checkFat(r).map((p) => p.code)).toEqual([]);
        // Used space agrees with what fsck.fat counts.
        const f = run('fsck.fat', ['-n', img]);
        const mm = /(\d+)\/(\d+) clusters/.exec(f.stdout);
        expect(mm).not.toBeNull();
        expect(r.volume.clusterCount).toBe(Number(mm![2]));
        expect(r.freeClusters()).toBe(Number(mm![2]) - Number(mm![1]));
        // Names resolve case-insensitively and through the short alias, like the kernel.
        expect(sameBytes(r.readFile('/CONFIG.TXT'), want.get('config.txt')!)).toBe(true);
        expect(r.stat('/mixed case long name.txt').size).toBe(5);
        expect(r.list('/').map((e) => e.name)).toContain('Mixed Case Long Name.TXT');
      } finally {
        d.close();
      }
      fs.rmSync(img);
    });
  }
});

describe('the corpus', () => {
  const rows = corpusRows().filter((r) => /^fat(12|16|32)$/.test(r.kind));
  const robust = new Set(corpusSet('robustness'));

  it.skipIf(rows.length === 0)('valid FAT images are read: every directory listed, every file read, no problems found', () => {
    const valid = rows.filter((r) => r.status === 'valid');
    expect(valid.length).toBeGreaterThan(20);
    for (const row of valid) {
      const d = openFileDisk(corpusImage(row.path));
      try {
        const r = openFat(d);
        expect(`${row.path} fat${r.volume.bits}`).toBe(`${row.path} ${row.kind}`);
        readAll(r);
        expect({ path: row.path, problems: checkFat(r).map((p) => p.code) }).toEqual({ path: row.path, problems: [] });
      } finally {
        d.close();
      }
    }
  });

  it.skipIf(rows.length === 0)('rust-fatfs images (written by the Linux kernel) read with their long names', () => {
    for (const [name, bits, clusters, free] of [['fat12', 12, 1955, 1920], ['fat16', 16, 4927, 4892]] as const) {
      const d = openFileDisk(corpusImage(`rust-fatfs/resources/${name}.img`));
      try {
        const r = openFat(d);
        expect(r.volume.bits).toBe(bits);
        expect(r.volume.clusterCount).toBe(clusters);
        expect(r.freeClusters()).toBe(free);
        expect(r.info().uuid).toBe('1234-5678');
        expect(r.info().label).toBe('Test!');
        const text = new TextDecoder().decode(r.readFile('/long.txt'));
        expect(text).toBe('Rust is cool!\n'.repeat(1000));
        expect(new TextDecoder().decode(r.readFile('/very-long-dir-name/very-long-file-name.txt'))).toBe('Rust is cool!\n');
        expect(new TextDecoder().decode(r.readFile('/VERY-L~1/VERY-L~1.TXT'))).toBe('Rust is cool!\n');
        expect(new TextDecoder().decode(r.readFile('/very/long/path/test.txt'))).toBe('Rust is cool!\n');
        expect(r.list('/').map((e) => e.name).sort()).toEqual(['long.txt', 'short.txt', 'very', 'very-long-dir-name']);
      } finally {
        d.close();
      }
    }
  });

  // What each corrupt image of the robustness set must be reported as.
  const expected: Record<string, string> = {
    'dosfstools/tests/check-huge.fsck': 'FAT_VOLUME_TRUNCATED',
    'dosfstools/tests/check-circular_chain.fsck': 'FAT_CHAIN_LOOP',
    'dosfstools/tests/check-chain_to_other_file.fsck': 'FAT_CROSS_LINKED',
    'dosfstools/tests/check-chain_too_long.fsck': 'FAT_CHAIN_TOO_LONG',
    'dosfstools/tests/check-chain_to_free_cluster.fsck': 'FAT_CHAIN_TOO_LONG',
    'dosfstools/tests/check-fat32_first_cluster.fsck': 'FAT_BAD_FAT_ID',
    'dosfstools/tests/check-fat12_first_cluster.fsck': 'FAT_BAD_FAT_ID',
    'dosfstools/tests/check-dot_entries.fsck': 'FAT_BAD_DOT_ENTRY',
    'dosfstools/tests/check-bad_names.fsck': 'FAT_BAD_SHORT_NAME',
    'dosfstools/tests/check-duplicate_names.fsck': 'FAT_DUPLICATE_NAME',
    'dosfstools/tests/check-encryption_with_invalid_83.fsck': 'FAT_BAD_SHORT_NAME',
    'util-linux/tests/ts/blkid/images-fs/fat16_noheads.img.xz': 'FAT_VOLUME_TRUNCATED',
    'util-linux/tests/ts/blkid/images-fs/bitlocker-win7.img.xz': 'FAT_NOT_FAT',
    'util-linux/tests/ts/blkid/images-fs/exfat.img.xz': 'FAT_NOT_FAT',
  };
  it.skipIf(rows.length === 0)('the robustness set\'s FAT images get error codes (open, read or check)', () => {
    const fatRobust = [...robust].filter((p) => rows.some((r) => r.path === p) || p in expected);
    expect(fatRobust.length).toBeGreaterThanOrEqual(14);
    for (const p of fatRobust) {
      const codes = new Set<string>();
      const d = openFileDisk(corpusImage(p));
      try {
        const r = openFat(d);
        try { readAll(r); } catch (e) { if (!isDiskwrightError(e)) throw e; codes.add(e.code); }
        for (const prob of checkFat(r)) codes.add(prob.code);
      } catch (e) {
        if (!isDiskwrightError(e)) throw e;
        codes.add(e.code);
      } finally {
        d.close();
      }
      expect({ p, codes: [...codes].includes(expected[p]) }).toEqual({ p, codes: true });
    }
  });

  it.skipIf(rows.length === 0)('the probe says "not FAT" for non-FAT images and opens FAT ones', () => {
    for (const row of corpusRows().filter((r) => r.status === 'valid' && /\.(img|xz|gz|xxd)$/.test(r.path)).slice(0, 400)) {
      const file = corpusImage(row.path);
      const d = openFileDisk(file);
      try {
        let res: unknown;
        try { res = fat32Driver.probe(d); } catch (e) { if (!isDiskwrightError(e)) throw e; res = e.code; }
        if (/^fat/.test(row.kind)) expect({ p: row.path, r: res !== null && typeof res === 'object' }).toEqual({ p: row.path, r: true });
        else if (row.kind !== 'other' || /exfat|bitlocker|ntfs|hpfs/.test(row.path)) expect({ p: row.path, r: res }).toEqual({ p: row.path, r: null });
      } finally {
        d.close();
      }
    }
  });
});

describe('hostile input never hangs or crashes', () => {
  it('random corruption of a small volume gives coded errors or a result', async () => {
    const fc = (await import('fast-check')).default;
    const { buildBytes, treeOf } = await import('./helpers.js');
    const files: Record<string, string> = { 'a/b/c.txt': 'x'.repeat(3000), 'Long name here.txt': 'y'.repeat(700), 'e.txt': '' };
    for (let i = 0; i < 30; i++) files[`dir${i % 3}/file number ${i}.bin`] = String(i).repeat(i * 50);
    const images = [
      { bytes: (await buildBytes({ tree: treeOf(files), size: 8 << 20, fat: 'fat16', seed: 'x', label: 'HOSTILE' })).bytes, meta: 512 * 200 },
      { bytes: (await buildBytes({ tree: treeOf(files), size: 34 << 20, fat: 'fat32', seed: 'x', label: 'HOSTILE' })).bytes, meta: 512 * 1200 },
    ];
    fc.assert(fc.property(fc.integer({ min: 0, max: 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 30 }), (which, edits) => {
      const { bytes, meta } = images[which];
      // The image with the edits laid over it, without copying the whole image per run.
      const patch = new Map<number, number>();
      for (const [o, v] of edits) patch.set(o % meta, v);
      const base = memoryDisk(bytes, false);
      const disk = {
        size: base.size,
        read(offset: number, length: number) {
          const b = base.read(offset, length);
          for (const [o, v] of patch) if (o >= offset && o < offset + length) b[o - offset] = v;
          return b;
        },
      };
      try {
        const r = openFat(disk);
        try { readAll(r); } catch (e) { if (!isDiskwrightError(e)) throw e; }
        checkFat(r);
        r.info();
      } catch (e) {
        if (!isDiskwrightError(e)) throw e;
      }
    }), { numRuns: 300 });
  });

  it('a FAT32 directory chain that loops back is FAT_CHAIN_LOOP, a directory that contains its parent is FAT_DIR_CYCLE', async () => {
    const { buildBytes, treeOf } = await import('./helpers.js');
    const { bytes, plan } = await buildBytes({ tree: treeOf({ 'd/e/f.txt': 'f' }), size: 40 << 20, fat: 'fat32', seed: 'x' });
    const g = plan.geometry;
    const fat = g.reservedSectors * 512;
    // Root is cluster 2, d is 3, e is 4. Make e's chain point back to itself.
    const loop = bytes.slice();
    new DataView(loop.buffer).setUint32(fat + 4 * 4, 4, true);
    const r1 = openFat(memoryDisk(loop, false));
    expect(() => r1.list('/d/e')).toThrow(expect.objectContaining({ code: 'FAT_CHAIN_LOOP' }));
    expect(checkFat(r1).map((p) => p.code)).toContain('FAT_CHAIN_LOOP');
    // Give e an entry pointing at d (cluster 3): a cycle.
    const cyc = bytes.slice();
    const eDir = (g.firstDataSector + (4 - 2) * g.sectorsPerCluster) * 512;
    cyc.set(new TextEncoder().encode('LOOP       '), eDir + 3 * 32);
    cyc[eDir + 3 * 32 + 11] = 0x10;
    new DataView(cyc.buffer).setUint16(eDir + 3 * 32 + 26, 3, true);
    const r2 = openFat(memoryDisk(cyc, false));
    expect(checkFat(r2).map((p) => p.code)).toContain('FAT_DIR_CYCLE');
    // A chain that leaves the volume.
    const out = bytes.slice();
    new DataView(out.buffer).setUint32(fat + 4 * 4, g.clusterCount + 50, true);
    expect(() => openFat(memoryDisk(out, false)).list('/d/e')).toThrow(expect.objectContaining({ code: 'FAT_CLUSTER_OUT_OF_RANGE' }));
    // Bad BPB values.
    const bpb = (edit: (dv: DataView) => void) => { const b = bytes.slice(); edit(new DataView(b.buffer)); return () => openFat(memoryDisk(b, false)); };
    expect(bpb((dv) => dv.setUint32(44, 0x0ffffff0, true))).toThrow(expect.objectContaining({ code: 'FAT_BAD_BPB' }));
    expect(bpb((dv) => dv.setUint32(32, 100, true))).toThrow(expect.objectContaining({ code: 'FAT_BAD_BPB' }));
    expect(bpb((dv) => dv.setUint32(36, 0x7fffffff, true))).toThrow(expect.objectContaining({ code: 'FAT_BAD_BPB' }));
    expect(bpb((dv) => dv.setUint32(32, 0xfffffff0, true))).toThrow(expect.objectContaining({ code: 'FAT_VOLUME_TRUNCATED' }));
    expect(bpb((dv) => dv.setUint16(11, 300, true))).toThrow(expect.objectContaining({ code: 'FAT_NOT_FAT' }));
    expect(bpb((dv) => dv.setUint16(510, 0, true))).toThrow(expect.objectContaining({ code: 'FAT_BAD_BPB' }));
    // Following the cycle by path is an error too, so a recursive walk ends.
    expect(r2.list('/d/e').map((e) => e.name)).toContain('LOOP');
    expect(() => r2.list('/d/e/LOOP')).toThrow(expect.objectContaining({ code: 'FAT_DIR_CYCLE' }));
  });

  it('a partition-sized window of a bigger disk reads the same', async () => {
    const { buildBytes, treeOf } = await import('./helpers.js');
    const { bytes } = await buildBytes({ tree: treeOf({ 'x.txt': 'hello' }), size: 34 << 20, fat: 'fat32', seed: 'x', partitionOffset: 1 << 20 });
    const disk = new Uint8Array((1 << 20) + bytes.length + 4096);
    disk.set(bytes, 1 << 20);
    const r = openFat(subDisk(memoryDisk(disk, false), 1 << 20, bytes.length));
    expect(new TextDecoder().decode(r.readFile('/x.txt'))).toBe('hello');
    expect(r.volume.hiddenSectors).toBe(2048);
  });
});
