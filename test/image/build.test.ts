// Spec → image: validation errors with JSON paths, emission order and zero
// ranges, determinism, abort, and the result read back through openImage.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SequentialSink } from '../../src/io/sequential-sink.js';
import { parseSize } from '../../src/codec/units.js';
import { MemorySink } from '../../src/io/memory-sink.js';
import { memoryDisk } from '../../src/io/disk.js';
import { buildImage, planImage } from '../../src/image/build.js';
import { parseSpecJson, validateSpec } from '../../src/image/spec.js';
import { openImage } from '../../src/image/open.js';
import { readGpt } from '../../src/gpt/table.js';
import { readMbr } from '../../src/mbr/table.js';
import { FileTree } from '../../src/tree/tree.js';
import { textSource } from '../../src/io/source.js';
import { OutputSink } from '../../src/node/output.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';

const MiB = 1024 * 1024;
const tmp = tempDir('dw-build-');
afterAll(() => tmp.cleanup());

const gptSpec = () => ({
  table: 'gpt', size: '96MiB', seed: 'test',
  partitions: [
    { name: 'EFI System', type: 'esp', size: '40MiB', filesystem: { type: 'fat32', label: 'EFI' } },
    { name: 'System A', type: 'linux', size: '8MiB', attributes: ['required', 60] },
    { name: 'Data', type: 'linux', size: 'rest', filesystem: { type: 'ext4', label: 'data' } },
  ],
});

async function build(spec: unknown, opts = {}) {
  const sink = new MemorySink();
  const report = await buildImage(spec, sink, opts);
  return { sink, report, bytes: sink.bytes() };
}

describe('spec validation', () => {
  const err = (spec: unknown) => {
    try { validateSpec(spec); } catch (e) { return e as { code: string; data: Record<string, unknown> }; }
    throw new Error('expected a validation error');
  };
  it('an unknown key is an error naming its path, with a suggestion', () => {
    const s = gptSpec() as any;
    s.partitions[1].sise = '1MiB';
    expect(err(s)).toMatchObject({ code: 'SPEC_UNKNOWN_KEY', data: { path: 'partitions[1].sise', suggestion: 'size' } });
    expect(err({ ...gptSpec(), tabel: 'gpt' })).toMatchObject({ code: 'SPEC_UNKNOWN_KEY', data: { path: 'tabel' } });
  });
  it('JSON syntax errors carry line and column', () => {
    try {
      parseSpecJson('{\n  "table": "gpt",\n  "size": 12,,\n}', 'x.json');
      expect.unreachable();
    } catch (e: any) {
      expect(e.code).toBe('SPEC_JSON');
      expect(e.data).toMatchObject({ line: 3, column: 14 });
    }
  });
  it('bad type, long name, bad size, wrong table for a key', () => {
    const s = gptSpec() as any;
    s.partitions[2].type = 'fat32';
    expect(err(s)).toMatchObject({ code: 'SPEC_TYPE', data: { path: 'partitions[2].type' } });
    const n = gptSpec() as any;
    n.partitions[0].name = 'n'.repeat(37);
    expect(err(n)).toMatchObject({ code: 'GPT_NAME_TOO_LONG', data: { path: 'partitions[0].name' } });
    const z = gptSpec() as any;
    z.partitions[0].size = '12 parsecs';
    expect(err(z)).toMatchObject({ code: 'SPEC_SIZE', data: { path: 'partitions[0].size' } });
    expect(err({ table: 'mbr', size: '8MiB', partitions: [{ type: 'linux', size: '1MiB', uuid: '00000000-0000-0000-0000-000000000001' }] })).toMatchObject({ code: 'SPEC_NOT_FOR_TABLE', data: { path: 'partitions[0].uuid' } });
    const f = gptSpec() as any;
    f.partitions[0].filesystem.type = 'zfs';
    expect(err(f)).toMatchObject({ code: 'SPEC_FS_TYPE', data: { path: 'partitions[0].filesystem.type' } });
  });
  it('layout errors come back with the spec path', async () => {
    const s = gptSpec() as any;
    s.partitions[1].size = '90MiB';
    await expect(planImage(s)).rejects.toMatchObject({ code: 'LAYOUT_NO_SPACE', data: { path: 'partitions[1].size' } });
    await expect(planImage({ table: 'mbr', size: '16MiB', partitions: Array.from({ length: 5 }, () => ({ type: 'linux', size: '1MiB' })) })).rejects.toMatchObject({ code: 'LAYOUT_TOO_MANY' });
  });
});

describe('building', () => {
  it('holes only: the GPT reads back, extents come in increasing order, the arrays are zero ranges', async () => {
    const { sink, bytes, report } = await build({ table: 'gpt', size: '32MiB', seed: 's', partitions: [{ name: 'a', type: 'linux', size: '4MiB' }, { name: 'b', type: 'swap', size: 'rest', bootable: true }] });
    const r = readGpt(memoryDisk(bytes));
    expect(r.used).toBe('primary');
    expect(r.warnings).toEqual([]);
    expect(r.table.partitions.map((p) => [p.name, p.startLba, p.endLba, p.attributes])).toEqual([['a', 2048, 10239, 0n], ['b', 10240, 63487, 4n]]);
    const offsets = sink.extents.map((e) => e.offset);
    expect([...offsets].sort((a, b) => a - b)).toEqual(offsets);
    for (let i = 1; i < sink.extents.length; i++) expect(sink.extents[i].offset).toBeGreaterThanOrEqual(sink.extents[i - 1].offset + sink.extents[i - 1].length);
    // primary array: 512 bytes of entries then 15.5 KiB that must read as zero
    expect(sink.extents).toContainEqual({ offset: 1024, length: 512, data: true });
    expect(sink.extents).toContainEqual({ offset: 1536, length: 16384 - 512, data: false });
    expect(report.partitions.map((p) => p.uuid)).toEqual(r.table.partitions.map((p) => p.uniqueGuid));
    expect(report.bytes).toBe(sink.extents.filter((e) => e.data).reduce((n, e) => n + e.length, 0));
    // Empty partitions: the first and last MiB are zero ranges (stale signatures wiped on a flash).
    expect(sink.extents).toContainEqual({ offset: 2048 * 512, length: MiB, data: false });
    expect(sink.extents).toContainEqual({ offset: 10240 * 512 - MiB, length: MiB, data: false });
    expect(sink.extents).toContainEqual({ offset: 10240 * 512, length: MiB, data: false });
    expect(sink.extents).toContainEqual({ offset: 63488 * 512 - MiB, length: MiB, data: false });
  });

  it('same spec and seed give the same bytes; another seed gives other ids', async () => {
    const a = await build(gptSpec());
    const b = await build(gptSpec());
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    const c = await build({ ...gptSpec(), seed: 'other' });
    expect(c.report.diskId).not.toBe(a.report.diskId);
    expect(c.report.partitions[0].uuid).not.toBe(a.report.partitions[0].uuid);
  });

  it('the MBR track: 4 primaries, types, boot flag, disk id', async () => {
    const { bytes, report } = await build({
      table: 'mbr', size: '40MiB', diskId: '0x4b53b00c', partitions: [
        { name: 'boot', type: 'fat32', size: '8MiB', bootable: true, filesystem: { type: 'fat', label: 'BOOT' } },
        { type: '0x0c', size: '8MiB' }, { type: 'fat32', size: '8MiB' }, { type: 'linux', size: 'rest', filesystem: { type: 'ext4' } },
      ],
    });
    const { table } = readMbr(memoryDisk(bytes));
    expect(table.diskSignature).toBe(0x4b53b00c);
    expect(table.primaries.map((p) => [p!.type, p!.bootable, p!.startLba, p!.sizeLba])).toEqual([[0x0c, true, 2048, 16384], [0x0c, false, 18432, 16384], [0x0c, false, 34816, 16384], [0x83, false, 51200, 30720]]);
    const img = openImage(memoryDisk(bytes));
    expect(img.table).toBe('mbr');
    expect(img.partitions.map((p) => p.uuid)).toEqual(['4b53b00c-01', '4b53b00c-02', '4b53b00c-03', '4b53b00c-04']);
    expect(img.filesystemInfo(1)).toMatchObject({ type: 'fat16', label: 'BOOT' });
    expect(img.filesystemInfo(2)).toBeNull();
    if (haveTools('blkid')) {
      const f = path.join(tmp.dir, 'mbr.img');
      fs.writeFileSync(f, bytes);
      expect(run('blkid', ['-p', '-O', String(img.partitions[3].start), '-o', 'udev', f]).stdout).toContain('ID_FS_TYPE=ext4');
    }
    expect(report.partitions[0].filesystem).toMatchObject({ type: 'fat16' });
  });

  it('files given through loadTree land in the filesystems and read back', async () => {
    const spec = gptSpec() as any;
    spec.partitions[0].filesystem.contents = [{ from: 'x', to: '/' }];
    spec.partitions[2].filesystem.contents = [{ from: 'y', to: '/' }];
    const seen: string[] = [];
    const { bytes, report } = await build(spec, {
      sourceDateEpoch: 1700000000,
      loadTree: async (fsSpec: any, p: string, t: any) => {
        seen.push(p);
        const tree = new FileTree({ defaultTime: t });
        tree.addFile(`/hello-${fsSpec.type}.txt`, textSource(`hello ${fsSpec.type}\n`), { mtime: t });
        return tree;
      },
    });
    expect(seen).toEqual(['partitions[0].filesystem', 'partitions[2].filesystem']);
    expect(report.files).toBe(2);
    const img = openImage(memoryDisk(bytes));
    expect(new TextDecoder().decode(img.filesystem(1).readFile('/hello-fat32.txt'))).toBe('hello fat32\n');
    if (haveTools('debugfs')) {
      const f = path.join(tmp.dir, 'p3-files.img');
      fs.writeFileSync(f, bytes.subarray(img.partitions[2].start, img.partitions[2].start + img.partitions[2].size));
      expect(run('debugfs', ['-R', 'cat /hello-ext4.txt', f]).stdout).toBe('hello ext4\n');
      expect(run('debugfs', ['-R', 'stat /hello-ext4.txt', f]).stdout).toMatch(/mtime: 0x6553f100/);
    }
  });

  it('an aborted build aborts the sink and leaves nothing at OUT', async () => {
    const out = path.join(tmp.dir, 'aborted.img');
    const ac = new AbortController();
    let n = 0;
    const sink = new OutputSink(out);
    await expect(buildImage(gptSpec(), sink, { signal: ac.signal, onProgress: () => { if (++n === 3) ac.abort(); } })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(tmp.dir).filter((f) => f.includes('aborted'))).toEqual([]);
  });

  it('a failing plan (filesystem too big for its partition) leaves nothing at OUT', async () => {
    const out = path.join(tmp.dir, 'bad.img');
    const s = gptSpec() as any;
    s.partitions[1].filesystem = { type: 'ext4' };
    s.partitions[1].size = '64KiB';
    s.alignment = '4KiB';
    await expect(buildImage(s, new OutputSink(out))).rejects.toHaveProperty('code');
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('inputs read while earlier partitions are written', () => {
  const withContents = () => {
    const spec = gptSpec() as any;
    spec.partitions[0].filesystem.contents = [{ from: 'x', to: '/' }];
    spec.partitions[2].filesystem.contents = [{ from: 'y', to: '/' }];
    return spec;
  };
  const treeWith = (t: any, name: string, text: string) => {
    const tree = new FileTree({ defaultTime: t });
    tree.addFile(name, textSource(text), { mtime: t });
    return tree;
  };

  it('every tree is requested before the first partition is written, and the totals are final only once all are planned', async () => {
    const events: string[] = [];
    let releaseData!: () => void;
    const dataReady = new Promise<void>((r) => { releaseData = r; });
    const sink = new MemorySink();
    const progress: { planned: boolean; totalFiles: number; partition: number }[] = [];
    const spy = {
      write: async (o: number, d: Uint8Array) => { if (o >= 1 * MiB && events.at(-1) !== 'write') events.push('write'); await sink.write(o, d); },
      zero: (o: number, l: number) => sink.zero(o, l),
      finish: (n: number) => sink.finish(n),
      abort: () => sink.abort(),
    };
    await buildImage(withContents(), spy, {
      loadTree: async (fsSpec: any, p: string, t: any) => {
        events.push(`load ${p}`);
        if (fsSpec.type === 'ext4') {
          // The data tree arrives only after the ESP has been written.
          await dataReady;
          events.push('data tree ready');
        }
        return treeWith(t, `/f-${fsSpec.type}.txt`, fsSpec.type);
      },
      onProgress: (p) => {
        progress.push({ planned: p.planned, totalFiles: p.totalFiles, partition: p.partition });
        if (p.partition === 1) releaseData();
      },
    });
    expect(events.slice(0, 2)).toEqual(['load partitions[0].filesystem', 'load partitions[2].filesystem']);
    expect(events.indexOf('write')).toBeLessThan(events.indexOf('data tree ready'));
    expect(progress.filter((p) => p.partition === 1).every((p) => !p.planned && p.totalFiles === 1)).toBe(true);
    expect(progress.at(-1)).toMatchObject({ planned: true, totalFiles: 2 });
    const img = openImage(memoryDisk(sink.bytes()));
    expect(new TextDecoder().decode(img.filesystem(3).readFile('/f-ext4.txt'))).toBe('ext4');
  });

  it('options and sizes a filesystem cannot take fail before any input is read', async () => {
    const loads: string[] = [];
    const loadTree = async (_f: any, p: string) => { loads.push(p); return new FileTree(); };
    const huge = { table: 'gpt', size: '300TiB', partitions: [{ type: 'linux', size: 'rest', filesystem: { type: 'ext4', contents: [{ from: 'x', to: '/' }] } }] };
    await expect(buildImage(huge, new MemorySink(), { loadTree })).rejects.toMatchObject({ code: 'EXT4_TOO_BIG', data: { path: 'partitions[0].filesystem' } });
    const small = gptSpec() as any;
    small.partitions[0].size = '16MiB';
    small.partitions[0].filesystem = { type: 'fat32', fat: 'fat32', label: 'EFI', contents: [{ from: 'x', to: '/' }] };
    await expect(buildImage(small, new MemorySink(), { loadTree })).rejects.toMatchObject({ code: 'FAT32_TOO_SMALL' });
    const badOption = withContents();
    badOption.partitions[2].filesystem.options = { blockSize: 3000 };
    await expect(buildImage(badOption, new MemorySink(), { loadTree })).rejects.toHaveProperty('code');
    expect(loads).toEqual([]);
  });

  it('errors come in partition order, whichever input fails first', async () => {
    const spec = withContents();
    const e = await buildImage(spec, new MemorySink(), {
      loadTree: async (fsSpec: any, p: string) => {
        if (fsSpec.type === 'ext4') throw Object.assign(new Error('late'), { code: 'SECOND' });
        await new Promise((r) => setTimeout(r, 20));
        throw Object.assign(new Error('early'), { code: 'FIRST', path: p });
      },
    }).catch((x) => x);
    expect(e.code).toBe('FIRST');
  });

  it('a filesystem that fails to plan after earlier partitions were written aborts the output: nothing at OUT', async () => {
    const out = path.join(tmp.dir, 'late-fail.img');
    const spec = withContents();
    spec.partitions[2].filesystem.options = { inodes: 16 };
    let aborted = 0;
    let written = 0;
    const inner = new OutputSink(out);
    const sink = {
      write: async (o: number, d: Uint8Array) => { if (o >= 1 * MiB && o < 41 * MiB) written += d.length; await inner.write(o, d); },
      zero: (o: number, l: number) => inner.zero(o, l),
      finish: (n: number) => inner.finish(n),
      abort: async (r?: unknown) => { aborted++; await inner.abort(r); },
    };
    const e = await buildImage(spec, sink, {
      loadTree: async (fsSpec: any, _p: string, t: any) => {
        const tree = treeWith(t, '/a.txt', 'a');
        if (fsSpec.type === 'ext4') for (let i = 0; i < 40; i++) tree.addFile(`/many/${i}`, textSource('x'), { mtime: t });
        return tree;
      },
    }).catch((x) => x);
    expect(e.code).toBe('EXT4_TOO_MANY_FILES');
    expect(written).toBeGreaterThan(0); // the ESP (1–41 MiB) went out first
    expect(aborted).toBe(1);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(tmp.dir).filter((f) => f.includes('late-fail'))).toEqual([]);
  });
});

describe.skipIf(!haveTools('sgdisk', 'sfdisk', 'blkid', 'fsck.fat', 'e2fsck'))('built images checked by the reference tools', () => {
  it('sgdisk -v, blkid and the filesystem checkers accept a GPT image with FAT32 and ext4', async () => {
    const out = path.join(tmp.dir, 'gpt.img');
    const sink = new OutputSink(out);
    const report = await buildImage(gptSpec(), sink);
    const v = run('sgdisk', ['-v', out]);
    expect(v.stdout).toContain('No problems found');
    const b = run('blkid', ['-p', '-o', 'udev', out]);
    expect(b.stdout).toContain(`ID_PART_TABLE_UUID=${report.diskId.toLowerCase()}`);
    const pt = JSON.parse(run('sfdisk', ['--json', out]).stdout).partitiontable;
    expect(pt.partitions.map((p: any) => [p.start * 512, p.size * 512, p.name, p.uuid])).toEqual(report.partitions.map((p) => [p.start, p.size, p.name, p.uuid]));
    const whole = fs.readFileSync(out);
    const p1 = path.join(tmp.dir, 'p1.img');
    fs.writeFileSync(p1, whole.subarray(report.partitions[0].start, report.partitions[0].start + report.partitions[0].size));
    const fat = run('fsck.fat', ['-n', p1]);
    expect(fat.status, fat.stdout + fat.stderr).toBe(0);
    expect(fat.stdout + fat.stderr).not.toMatch(/differ|invalid|Free cluster summary wrong|Dirty bit/i);
    const part = path.join(tmp.dir, 'p3.img');
    fs.writeFileSync(part, whole.subarray(report.partitions[2].start, report.partitions[2].start + report.partitions[2].size));
    const e2 = run('e2fsck', ['-fn', part]);
    expect(e2.status, e2.stdout + e2.stderr).toBe(0);
  });
});

describe('building, properties', () => {
  const arbSpec = fc.record({
    table: fc.constantFrom('gpt', 'mbr'),
    ss: fc.constantFrom(512, 4096),
    sizes: fc.array(fc.oneof(fc.integer({ min: 1, max: 8 }).map((n) => `${n}MiB`), fc.integer({ min: 1, max: 64 }).map((n) => n * 64 * 1024), fc.constant('rest')), { minLength: 1, maxLength: 4 }),
    align: fc.constantFrom('1MiB', '64KiB', '4KiB'),
    seed: fc.string({ maxLength: 6 }),
  }).map((r) => {
    let rest = false;
    const sizes = r.sizes.map((s) => (s === 'rest' ? (rest ? '1MiB' : ((rest = true), 'rest')) : s));
    return {
      table: r.table, size: '40MiB', sectorSize: r.table === 'mbr' ? 512 : r.ss, alignment: r.align, seed: r.seed,
      partitions: sizes.map((size, i) => ({ name: `p${i}`, type: 'linux', size })),
    };
  });
  it('arbitrary valid specs: the table read back matches the report, partitions aligned, in order, inside the disk', async () => {
    await fc.assert(fc.asyncProperty(arbSpec, async (spec) => {
      const { bytes, report } = await build(spec);
      const img = openImage(memoryDisk(bytes));
      expect(img.table).toBe(spec.table);
      expect(img.warnings).toEqual([]);
      expect(img.sectorSize).toBe(spec.sectorSize);
      expect(img.partitions.map((p) => [p.index, p.start, p.size, p.type, p.uuid])).toEqual(report.partitions.map((p) => [p.index, p.start, p.size, p.type, p.uuid]));
      const align = parseSize(spec.alignment);
      report.partitions.forEach((p, i) => {
        expect(p.start % align).toBe(0);
        if (i > 0) expect(p.start).toBeGreaterThanOrEqual(report.partitions[i - 1].start + report.partitions[i - 1].size);
        expect(p.start + p.size).toBeLessThanOrEqual(40 * MiB);
      });
    }), { numRuns: 40 });
  });

  it('emission is in offset order: a sequential (streaming) sink gets the same image as a random-access one', async () => {
    const mem = await build(gptSpec());
    const hash = createHash('sha256');
    let total = 0;
    const seq = new SequentialSink({
      push: async (c) => { hash.update(c); total += c.length; },
      end: async () => {},
      destroy: async () => {},
    });
    await buildImage(gptSpec(), seq);
    expect(total).toBe(mem.bytes.length);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(mem.bytes).digest('hex'));
  });

  it('a damaged primary GPT is reported by openImage and the backup used', async () => {
    const { bytes } = await build(gptSpec());
    bytes[512 + 8] ^= 0x55;
    const img = openImage(memoryDisk(bytes));
    expect(img.gptUsed).toBe('backup');
    expect(img.warnings).toContain('primary GPT corrupt (GPT_HEADER_CRC), backup used');
    expect(img.partitions.length).toBe(3);
  });
});
