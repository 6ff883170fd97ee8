// Planning and emitting: errors before anything is written, determinism,
// in-place rewrites, bounded memory on big volumes, the driver's spec
// checks, and geometry that matches mkfs.fat.
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileTree } from '../../src/tree/tree.js';
import { bytesSource } from '../../src/io/source.js';
import { memoryDisk } from '../../src/io/disk.js';
import { openFileDisk } from '../../src/node/file-source.js';
import type { Sink } from '../../src/io/sink.js';
import { createHash } from 'node:crypto';
import { planFat } from '../../src/fat32/build.js';
import { openFat } from '../../src/fat32/read.js';
import { checkFat } from '../../src/fat32/check.js';
import { planFatGeometry } from '../../src/fat32/geometry.js';
import { fat32Driver } from '../../src/fat32/driver.js';
import { driverFor } from '../../src/image/registry.js';
import { isDiskwrightError } from '../../src/errors.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';
import { buildBytes, buildFile, fsckFat, MTOOLS_ENV, sameBytes, T0, treeOf } from './helpers.js';
import { payloadTree } from './payload.js';

const tmp = tempDir('dw-fat-plan-');
afterAll(() => tmp.cleanup());

function codeOf(f: () => unknown): { code?: string; data?: Record<string, unknown> } {
  try { f(); } catch (e) { if (isDiskwrightError(e)) return { code: e.code, data: e.data }; throw e; }
  return {};
}

const hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('errors come before anything is written', () => {
  it('a tree that does not fit names the volume, the bytes needed and available', () => {
    const t = treeOf({ 'big.bin': new Uint8Array(30 << 20) });
    const r = codeOf(() => planFat({ tree: t, size: 20 << 20, label: 'SMALL', path: 'partitions[0].filesystem' }));
    expect(r.code).toBe('FAT_NO_SPACE');
    expect(r.data!.path).toBe('partitions[0].filesystem');
    expect(r.data!.needed).toBeGreaterThanOrEqual(30 << 20);
    expect(r.data!.available).toBeLessThan(20 << 20);
  });
  it('symlinks, devices, case-only differences and bad names are errors naming the path', () => {
    const sym = new FileTree(); sym.addSymlink('/boot/link', 'x');
    expect(codeOf(() => planFat({ tree: sym, size: 40 << 20 }))).toMatchObject({ code: 'FAT_UNSUPPORTED_TYPE', data: { path: '/boot/link' } });
    const dev = new FileTree(); dev.addDevice('/dev/null', 'char', 1, 3);
    expect(codeOf(() => planFat({ tree: dev, size: 40 << 20 }))).toMatchObject({ code: 'FAT_UNSUPPORTED_TYPE', data: { path: '/dev/null' } });
    expect(codeOf(() => planFat({ tree: treeOf({ 'a/README': '1', 'a/readme': '2' }), size: 40 << 20 }))).toMatchObject({ code: 'FAT_NAME_CASE_CONFLICT', data: { path: '/a/readme' } });
    expect(codeOf(() => planFat({ tree: treeOf({ 'a/b?.txt': '1' }), size: 40 << 20 }))).toMatchObject({ code: 'FAT_NAME_INVALID', data: { path: '/a/b?.txt' } });
    // One unit at a time, like the Windows up-case table: "straße" and "strasse" are different names, "É" and "é" are not.
    expect(planFat({ tree: treeOf({ 'straße': '1', 'strasse': '2' }), size: 40 << 20 }).files).toBe(2);
    expect(codeOf(() => planFat({ tree: treeOf({ 'café': '1', 'CAFÉ': '2' }), size: 40 << 20 }))).toMatchObject({ code: 'FAT_NAME_CASE_CONFLICT' });
    expect(codeOf(() => planFat({ tree: treeOf({ 'x': '1' }), size: 40 << 20, label: 'far too long label' }))).toMatchObject({ code: 'FAT_LABEL_INVALID' });
  });
  it('fat32 on a small volume says the minimum size', () => {
    const r = codeOf(() => planFat({ tree: treeOf({}), size: 16 << 20, fat: 'fat32' }));
    expect(r.code).toBe('FAT32_TOO_SMALL');
    expect(r.data!.minimum).toBeGreaterThan(16 << 20);
  });
});

describe('what gets written', () => {
  it('is deterministic: same tree, spec and seed give the same bytes; another seed only changes the volume id', async () => {
    const a = await buildBytes({ tree: payloadTree(0.1), size: 64 << 20, label: 'KSOLO', seed: 'one' });
    const b = await buildBytes({ tree: payloadTree(0.1), size: 64 << 20, label: 'KSOLO', seed: 'one' });
    const c = await buildBytes({ tree: payloadTree(0.1), size: 64 << 20, label: 'KSOLO', seed: 'two' });
    expect(hex(a.bytes)).toBe(hex(b.bytes));
    expect(hex(a.bytes)).not.toBe(hex(c.bytes));
    expect(a.plan.uuid).not.toBe(c.plan.uuid);
    const diff: number[] = [];
    for (let i = 0; i < a.bytes.length; i++) if (a.bytes[i] !== c.bytes[i]) diff.push(i);
    // Only BS_VolID (offset 67, 4 bytes) in the boot sector and its backup at sector 6.
    expect(diff.every((o) => (o >= 67 && o < 71) || (o >= 6 * 512 + 67 && o < 6 * 512 + 71))).toBe(true);
  });

  it('zero regions are holes, FATs and directories are written in full, offsets only increase', async () => {
    const { sink, plan } = await buildBytes({ tree: payloadTree(0.1), size: 64 << 20, seed: 's' });
    let last = -1;
    for (const e of sink.extents) { expect(e.offset).toBeGreaterThanOrEqual(last); last = e.offset + e.length; }
    const g = plan.geometry;
    const fatEnd = (g.reservedSectors + 2 * g.fatSectors) * 512;
    // Every byte of the reserved area and the FATs is covered by a write or a zero range.
    const covered = new Uint8Array(fatEnd);
    for (const e of sink.extents) covered.fill(1, Math.min(e.offset, fatEnd), Math.min(e.offset + e.length, fatEnd));
    expect(covered.every((x) => x === 1)).toBe(true);
    // The unused part of each FAT is a zero range, not written zeros.
    const fatZeros = sink.extents.filter((e) => !e.data && e.offset >= g.reservedSectors * 512 && e.offset < fatEnd).reduce((s, e) => s + e.length, 0);
    const usedFat = Math.ceil(((plan.usedClusters + 2) * 4) / 512) * 512;
    expect(fatZeros).toBe(2 * (g.fatSectors * 512 - usedFat));
  });

  it('a 64 GiB volume is planned and emitted with bounded writes (FAT in windows, the rest holes)', async () => {
    let biggest = 0;
    let written = 0;
    let zeroed = 0;
    const sink: Sink = {
      async write(_o, d) { biggest = Math.max(biggest, d.length); written += d.length; },
      async zero(_o, n) { zeroed += n; },
      async finish() {},
      async abort() {},
    };
    const plan = planFat({ tree: payloadTree(0.1), size: 64 * 2 ** 30, seed: 'big' });
    expect(plan.geometry.clusterSize).toBe(32768);
    await plan.emit(sink, 0);
    expect(biggest).toBeLessThanOrEqual(4 << 20);
    expect(written).toBeLessThan(plan.dataBytes + (4 << 20));
    expect(zeroed).toBeGreaterThan(2 * plan.geometry.fatSectors * 512 - (1 << 20));
  });

  it('hard links are stored twice, the grubenv is one run, empty files get cluster 0', async () => {
    const t = treeOf({ 'a.txt': 'linked data', 'empty': '' });
    t.addHardlink('/b.txt', '/a.txt');
    t.addFile('/EFI/BOOT/grubenv', bytesSource(new Uint8Array(1024).fill(0x23)), { contiguous: true, mtime: T0 });
    const { bytes } = await buildBytes({ tree: t, size: 34 << 20, seed: 's', clusterSize: 512 });
    const r = openFat(memoryDisk(bytes, false));
    expect(new TextDecoder().decode(r.readFile('/b.txt'))).toBe('linked data');
    expect(r.stat('/a.txt').id).not.toBe(r.stat('/b.txt').id);
    expect(r.stat('/empty').id).toBe(0);
    expect(r.fileExtents('/EFI/BOOT/grubenv')).toHaveLength(1);
    expect(r.fileExtents('/EFI/BOOT/grubenv')[0].length).toBe(1024);
  });

  it('holes of a sparse source are zero ranges inside the file, data ranges are written', async () => {
    const data = new Uint8Array(64 * 1024);
    data.fill(5, 0, 4096);
    data.fill(6, 40960, 45056);
    const src = { ...bytesSource(data), dataRanges: () => [[0, 4096], [40960, 45056]] as Array<readonly [number, number]> };
    const t = new FileTree({ defaultTime: T0 });
    t.addFile('/sparse.bin', src, { mtime: T0 });
    const { bytes, sink } = await buildBytes({ tree: t, size: 34 << 20, seed: 's', clusterSize: 4096 });
    const r = openFat(memoryDisk(bytes, false));
    expect(sameBytes(r.readFile('/sparse.bin'), data)).toBe(true);
    const [ext] = r.fileExtents('/sparse.bin');
    const inFile = sink.extents.filter((e) => e.offset >= ext.offset && e.offset < ext.offset + ext.length);
    expect(inFile.map((e) => [e.offset - ext.offset, e.length, e.data])).toEqual([
      [0, 4096, true], [4096, 36864, false], [40960, 4096, true], [45056, 65536 - 45056, false],
    ]);
  });

  it('8.3 names in one case have no long name (config.txt), others do; "." and ".." have none; the label is the first root entry', async () => {
    const { bytes, plan } = await buildBytes({ tree: treeOf({ 'config.txt': 'a', 'Config2.txt': 'b', 'sub/README': 'c' }), size: 34 << 20, seed: 's', label: 'LBL' });
    const r = openFat(memoryDisk(bytes, false));
    const root = r.readDirRecords(0, '/');
    expect(root.label).toBe('LBL');
    const byName = new Map(root.records.map((x) => [x.name, x]));
    expect(byName.get('config.txt')!.longName).toBeNull();
    expect(byName.get('config.txt')!.ntRes).toBe(0x18);
    expect(byName.get('Config2.txt')!.longName).toBe('Config2.txt');
    expect(byName.get('Config2.txt')!.shortName).toBe('CONFIG2.TXT');
    const dataStart = plan.geometry.firstDataSector * 512;
    // Raw root directory: the label entry first; no 0x0F (long name) entry right before config.txt's, one before Config2.txt's.
    expect(bytes[dataStart + 11]).toBe(0x08);
    expect(bytes[byName.get('config.txt')!.offset - 32 + 11]).not.toBe(0x0f);
    expect(bytes[byName.get('Config2.txt')!.offset - 32 + 11]).toBe(0x0f);
    const sub = r.readDirRecords(r.stat('/sub').id, '/sub').records;
    expect(sub.slice(0, 2).map((x) => [String.fromCharCode(...x.raw).trim(), x.longName])).toEqual([['.', null], ['..', null]]);
    expect(sub[1].firstCluster).toBe(0);
    const subStart = r.clusterOffset(r.stat('/sub').id);
    expect([bytes[subStart + 11], bytes[subStart + 32 + 11]]).toEqual([0x10, 0x10]);
  });

  it('timestamps come from the tree, in 2-second steps, UTC', async () => {
    const t = new FileTree({ defaultTime: T0 });
    t.addFile('/t.txt', bytesSource(new Uint8Array(1)), { mtime: { sec: 1700000001, nsec: 0 } });
    const { bytes } = await buildBytes({ tree: t, size: 34 << 20, seed: 's' });
    expect(openFat(memoryDisk(bytes, false)).stat('/t.txt').mtime).toEqual({ sec: 1700000000, nsec: 0 });
    if (haveTools('mdir')) {
      // mtools shows the same wall-clock time (2023-11-14 22:13:20 UTC).
      const img = path.join(tmp.dir, 'times.img');
      fs.writeFileSync(img, bytes);
      const m = run('mdir', ['-i', img, '::'], { env: { ...MTOOLS_ENV, TZ: 'UTC' } });
      expect(m.stdout).toMatch(/^t\s+txt\s+1 2023-11-14\s+22:13/m);
    }
  });

  it.skipIf(!haveTools('mdir', 'fsck.fat'))('names outside the BMP are stored as UTF-16 surrogate pairs and read back', async () => {
    const name = 'snow-\u2603-\u{1F600}.txt';
    const { bytes } = await buildBytes({ tree: treeOf({ [name]: 'smile', ['x'.repeat(255)]: 'long' }), size: 34 << 20, seed: 's' });
    const r = openFat(memoryDisk(bytes, false));
    expect(r.list('/').map((e) => e.name).sort()).toEqual([name, 'x'.repeat(255)].sort());
    expect(new TextDecoder().decode(r.readFile('/' + name))).toBe('smile');
    const img = path.join(tmp.dir, 'utf16.img');
    fs.writeFileSync(img, bytes);
    expect(fsckFat(img).problems).toEqual([]);
    const m = run('mdir', ['-b', '-i', img, '::'], { env: MTOOLS_ENV });
    expect(m.stdout).toContain('x'.repeat(255));
  });
});

describe('in-place rewrite', () => {
  it('changes only the file\'s clusters, on our volume and on one mkfs.fat made', async () => {
    const t = payloadTree(0.05);
    const { bytes } = await buildBytes({ tree: t, size: 40 << 20, seed: 's' });
    const copy = bytes.slice();
    const r = openFat(memoryDisk(copy));
    const extents = r.fileExtents('/efi/grub/grubenv');
    const env = r.readFile('/efi/grub/grubenv');
    const next = env.slice();
    next.set(new TextEncoder().encode('boot_default=B'), 24);
    r.rewriteFile('/efi/grub/grubenv', next);
    expect(sameBytes(r.readFile('/efi/grub/grubenv'), next)).toBe(true);
    const inside = (o: number) => extents.some((e) => o >= e.offset && o < e.offset + e.length);
    let changed = 0;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] !== copy[i]) { expect(inside(i)).toBe(true); changed++; }
    }
    expect(changed).toBeGreaterThan(0);
    expect(codeOf(() => r.rewriteFile('/efi/grub/grubenv', new Uint8Array(10)))).toMatchObject({ code: 'FAT_REWRITE_SIZE' });
    expect(codeOf(() => openFat(memoryDisk(copy, false)).rewriteFile('/efi/grub/grubenv', next))).toMatchObject({ code: 'FAT_READ_ONLY' });
    expect(checkFat(r)).toEqual([]);
  });

  it.skipIf(!haveTools('mkfs.fat', 'mcopy', 'mdel', 'mtype', 'fsck.fat'))('a fragmented file on an mkfs.fat volume is rewritten across its extents; fsck stays clean', () => {
    const img = path.join(tmp.dir, 'frag.img');
    fs.rmSync(img, { force: true });
    expect(run('mkfs.fat', ['-F', '32', '-s', '1', '-C', img, String(40 * 1024)]).status).toBe(0);
    const a = path.join(tmp.dir, 'a.bin'); const b = path.join(tmp.dir, 'b.bin');
    fs.writeFileSync(a, new Uint8Array(2048).fill(1)); fs.writeFileSync(b, new Uint8Array(2048).fill(2));
    // a, b, delete a, then a bigger c fills a's hole and continues after b: fragmented.
    expect(run('mcopy', ['-i', img, a, b, '::'], { env: MTOOLS_ENV }).status).toBe(0);
    expect(run('mdel', ['-i', img, '::a.bin'], { env: MTOOLS_ENV }).status).toBe(0);
    // Forget the next-free hint so that mtools fills a's hole first.
    const fd = fs.openSync(img, 'r+');
    fs.writeSync(fd, Uint8Array.of(0xff, 0xff, 0xff, 0xff), 0, 4, 512 + 492);
    fs.closeSync(fd);
    const c = path.join(tmp.dir, 'c.bin');
    fs.writeFileSync(c, new Uint8Array(4096).fill(3));
    expect(run('mcopy', ['-i', img, c, '::'], { env: MTOOLS_ENV }).status).toBe(0);
    const before = new Uint8Array(fs.readFileSync(img));
    const d = openFileDisk(img, true);
    let extents;
    try {
      const r = openFat(d);
      extents = r.fileExtents('/c.bin');
      expect(extents.length).toBeGreaterThan(1);
      r.rewriteFile('/c.bin', new Uint8Array(4096).fill(9));
    } finally { d.close(); }
    const after = new Uint8Array(fs.readFileSync(img));
    for (let i = 0; i < before.length; i++) {
      if (before[i] !== after[i]) expect(extents.some((e) => i >= e.offset && i < e.offset + e.length)).toBe(true);
    }
    expect(run('mtype', ['-i', img, '::c.bin'], { env: { ...MTOOLS_ENV, LC_ALL: 'C' } }).stdout).toBe('\t'.repeat(4096));
    expect(fsckFat(img).problems).toEqual([]);
  });
});

describe('the driver', () => {
  it('is registered for the FAT types and checks spec keys with their JSON path', () => {
    for (const t of ['fat32', 'fat16', 'vfat', 'FAT']) expect(driverFor(t)).toBe(fat32Driver);
    const args = { tree: treeOf({ 'a.txt': 'a' }), path: 'partitions[1].filesystem', size: 64 << 20, partitionOffset: 1 << 20, sectorSize: 512, seed: 's', defaultTime: T0, partitionIndex: 1 };
    expect(codeOf(() => fat32Driver.plan({ ...args, spec: { type: 'fat32', lable: 'X' } }))).toMatchObject({ code: 'SPEC_UNKNOWN_KEY', data: { path: 'partitions[1].filesystem.lable' } });
    expect(codeOf(() => fat32Driver.plan({ ...args, spec: { type: 'fat32', fat: 'fat64' } }))).toMatchObject({ code: 'SPEC_INVALID', data: { path: 'partitions[1].filesystem.fat' } });
    const p = fat32Driver.plan({ ...args, spec: { type: 'fat', label: 'BOOT', fat: 'fat16', contents: [] } });
    expect(p.type).toBe('fat16');
    expect(p.label).toBe('BOOT');
    expect(fat32Driver.plan({ ...args, size: 20 << 20, spec: { type: 'fat32' } }).type).toBe('fat16');
    expect(fat32Driver.plan({ ...args, size: 40 << 20, spec: { type: 'fat32' } }).type).toBe('fat32');
    expect(codeOf(() => fat32Driver.plan({ ...args, size: 20 << 20, spec: { type: 'fat32', fat: 'fat32' } }))).toMatchObject({ code: 'FAT32_TOO_SMALL', data: { path: 'partitions[1].filesystem' } });
    const p2 = fat32Driver.plan({ ...args, spec: { type: 'fat32', volumeId: 'ABCD-1234' } });
    expect(p2.uuid).toBe('ABCD-1234');
    const p3 = fat32Driver.plan({ ...args, partitionIndex: 2, spec: { type: 'fat32' } });
    expect(p3.uuid).not.toBe(fat32Driver.plan({ ...args, spec: { type: 'fat32' } }).uuid);
  });
  it('hidden sectors are the partition start', async () => {
    const plan = fat32Driver.plan({ tree: treeOf({}), spec: { type: 'fat32' }, path: 'p', size: 64 << 20, partitionOffset: 2048 * 512, sectorSize: 512, seed: 's', defaultTime: T0, partitionIndex: 1 });
    const { MemorySink } = await import('../../src/io/memory-sink.js');
    const sink = new MemorySink();
    await plan.emit(sink, 0);
    await sink.finish(plan.size);
    const r = fat32Driver.probe(memoryDisk(sink.bytes(), false));
    expect(r).not.toBeNull();
    expect(new DataView(sink.bytes().buffer).getUint32(28, true)).toBe(2048);
    expect(r!.info()).toMatchObject({ type: 'fat32', uuid: plan.uuid });
  });
});

describe.skipIf(!haveTools('mkfs.fat'))('geometry matches mkfs.fat', () => {
  it('cluster size for FAT32 and FAT16 across volume sizes', () => {
    for (const mb of [33, 64, 100, 256, 261, 300, 1024, 2048, 8200]) {
      for (const F of ['32', '16']) {
        const img = path.join(tmp.dir, `g${mb}-${F}.img`);
        fs.rmSync(img, { force: true });
        const m = run('mkfs.fat', ['-F', F, '-C', img, String(mb * 1024)]);
        if (m.status !== 0) continue;
        const b = new Uint8Array(512);
        const fd = fs.openSync(img, 'r');
        fs.readSync(fd, b, 0, 512, 0);
        fs.closeSync(fd);
        fs.rmSync(img);
        const spc = b[13];
        const g = planFatGeometry({ size: mb * 2 ** 20, sectorSize: 512, fat: F === '32' ? 'fat32' : 'fat16' });
        expect({ mb, F, spc: g.sectorsPerCluster }).toEqual({ mb, F, spc });
      }
    }
  });
});
