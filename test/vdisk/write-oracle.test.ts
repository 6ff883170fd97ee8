// qcow2, VHD and VMDK written by `build -o`, checked by qemu-img both ways: its
// check is clean, its info shows the format and virtual size, its compare
// says the content equals the raw build, its convert -O raw gives the raw
// build byte for byte; and our own readers give the same bytes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { buildImageFile } from '../../src/node/build-file.js';
import { openImageDisk } from '../../src/node/vdisk.js';
import { openImageFile } from '../../src/node/open-image-file.js';
import { MemorySink } from '../../src/io/memory-sink.js';
import { Qcow2Sink } from '../../src/vdisk/qcow2-sink.js';
import { VhdDynamicSink, VhdFixedSink } from '../../src/vdisk/vhd-sink.js';
import { VmdkStreamSink } from '../../src/vdisk/vmdk-sink.js';
import { nodeDeflate } from '../../src/node/vdisk.js';
import { FileSink } from '../../src/node/file-sink.js';
import type { Sink } from '../../src/io/sink.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';

const have = haveTools('qemu-img');
const SAMPLE = path.resolve('fixtures/sample');
const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

/** qemu-img's name for each of our formats. */
const QEMU_FORMAT = { qcow2: 'qcow2', vhd: 'vpc', 'vhd-dynamic': 'vpc', vmdk: 'vmdk' } as const;

describe.skipIf(!have)('virtual disk formats written by build, checked by qemu-img', () => {
  let t: { dir: string; cleanup: () => void };
  let spec: string;
  let raw: string;
  beforeAll(async () => {
    t = tempDir();
    spec = path.join(t.dir, 's.json');
    fs.writeFileSync(spec, JSON.stringify({
      table: 'gpt', size: '72MiB', seed: 'vdisk-test', partitions: [
        { name: 'EFI', type: 'esp', size: '40MiB', filesystem: { type: 'fat32', label: 'EFI', contents: [{ from: SAMPLE, to: '/' }] } },
        { name: 'DATA', type: 'linux', size: 'rest', filesystem: { type: 'ext4', label: 'data', contents: [{ from: SAMPLE, to: '/' }] } },
      ],
    }));
    raw = path.join(t.dir, 'raw.img');
    await buildImageFile(spec, raw);
  });
  afterAll(() => t.cleanup());

  const cases: Array<{ name: string; file: string; format: 'qcow2' | 'vhd' | 'vhd-dynamic' | 'vmdk'; clusterSize?: number; compress?: boolean }> = [
    { name: 'qcow2, 64 KiB clusters', file: 'a.qcow2', format: 'qcow2' },
    { name: 'qcow2, 4 KiB clusters', file: 'b.qcow2', format: 'qcow2', clusterSize: 4096 },
    { name: 'qcow2, 2 MiB clusters', file: 'c.qcow2', format: 'qcow2', clusterSize: 2 << 20 },
    { name: 'qcow2, compressed', file: 'd.qcow2', format: 'qcow2', compress: true },
    { name: 'qcow2, compressed, 4 KiB clusters', file: 'e.qcow2', format: 'qcow2', compress: true, clusterSize: 4096 },
    { name: 'VHD fixed', file: 'f.vhd', format: 'vhd' },
    { name: 'VHD dynamic', file: 'g.vhd', format: 'vhd-dynamic' },
    { name: 'VHD dynamic, 512 KiB blocks', file: 'h.vhd', format: 'vhd-dynamic', clusterSize: 512 << 10 },
    { name: 'VMDK streamOptimized', file: 'i.vmdk', format: 'vmdk' },
    { name: 'VMDK streamOptimized, 4 KiB grains', file: 'j.vmdk', format: 'vmdk', clusterSize: 4096 },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const out = path.join(t.dir, c.file);
      await buildImageFile(spec, out, { format: c.format, clusterSize: c.clusterSize, compress: c.compress });
      const qf = QEMU_FORMAT[c.format];
      if (qf === 'qcow2' || qf === 'vmdk') {
        const check = run('qemu-img', ['check', '-f', qf, out]);
        expect(check.stdout + check.stderr).toMatch(/No errors were found on the image/);
        expect(check.stdout + check.stderr).not.toMatch(/Leaked|ERROR|corrupt/);
        expect(check.status).toBe(0);
      }
      const info = JSON.parse(run('qemu-img', ['info', '--output=json', '-f', qf, out]).stdout);
      expect(info.format).toBe(qf);
      expect(info['virtual-size']).toBe(fs.statSync(raw).size);
      if (c.format === 'qcow2') {
        expect(info['cluster-size']).toBe(c.clusterSize ?? 65536);
        expect(info['format-specific'].data.compat).toBe('1.1');
      }
      if (c.format === 'vmdk') {
        expect(info['format-specific'].data['create-type']).toBe('streamOptimized');
        expect(info['format-specific'].data.extents[0].compressed).toBe(true);
        expect(info['cluster-size']).toBe(c.clusterSize ?? 65536);
      }
      const cmp = run('qemu-img', ['compare', '-f', 'raw', '-F', qf, raw, out]);
      expect(cmp.stdout).toMatch(/Images are identical/);
      expect(cmp.status).toBe(0);
      const back = path.join(t.dir, `${c.file}.raw`);
      expect(run('qemu-img', ['convert', '-f', qf, '-O', 'raw', out, back]).status).toBe(0);
      expect(sha(back)).toBe(sha(raw));
      // Our reader, by magic, gives the same virtual disk.
      const d = openImageDisk(out);
      try {
        expect(d.format).toBe(c.format);
        expect(d.size).toBe(fs.statSync(raw).size);
        expect(createHash('sha256').update(d.read(0, d.size)).digest('hex')).toBe(sha(raw));
      } finally {
        d.close();
      }
      // Deterministic: the same spec gives the same file.
      const again = path.join(t.dir, `again-${c.file}`);
      await buildImageFile(spec, again, { format: c.format, clusterSize: c.clusterSize, compress: c.compress });
      expect(sha(again)).toBe(sha(out));
      fs.rmSync(back);
    });
  }

  it('the format comes from the extension; --zstd with qcow2 is a usage error; files are listed through the container', async () => {
    const out = path.join(t.dir, 'ext.qcow2');
    await buildImageFile(spec, out);
    expect(fs.readFileSync(out).subarray(0, 4).toString('latin1')).toBe('QFI\u00fb');
    await expect(buildImageFile(spec, path.join(t.dir, 'x.qcow2'), { zstd: true })).rejects.toMatchObject({ code: 'USAGE' });
    expect(fs.existsSync(path.join(t.dir, 'x.qcow2'))).toBe(false);
    const img = openImageFile(out);
    try {
      expect(img.table).toBe('gpt');
      expect(img.filesystem(2).readFile('/README.md')).toEqual(new Uint8Array(fs.readFileSync(path.join(SAMPLE, 'README.md'))));
    } finally {
      img.close();
    }
  });

  it('property: any offset-ordered extents give a qcow2 / VHD whose content qemu-img finds equal to the raw bytes', async () => {
    let n = 0;
    await fc.assert(fc.asyncProperty(
      fc.record({
        clusterBits: fc.integer({ min: 9, max: 17 }),
        compress: fc.boolean(),
        format: fc.constantFrom('qcow2', 'vhd', 'vhd-dynamic', 'vmdk'),
        sectors: fc.integer({ min: 1, max: 4096 }),
        extents: fc.array(fc.record({ gap: fc.integer({ min: 0, max: 300_000 }), len: fc.integer({ min: 1, max: 200_000 }), byte: fc.integer({ min: 0, max: 255 }), zero: fc.boolean() }), { maxLength: 12 }),
      }),
      async (p) => {
        const size = p.sectors * 512 + p.extents.reduce((a, e) => a + e.gap + e.len, 0) + 512 - ((p.extents.reduce((a, e) => a + e.gap + e.len, 0)) % 512);
        const mem = new MemorySink();
        const out = path.join(t.dir, `prop-${n++}`);
        const file = new FileSink(out, { direct: false });
        const sink: Sink = p.format === 'qcow2'
          ? new Qcow2Sink(file, { clusterSize: 2 ** p.clusterBits, compress: p.compress, codec: nodeDeflate })
          : p.format === 'vhd' ? new VhdFixedSink(file)
            : p.format === 'vmdk' ? new VmdkStreamSink(file, { codec: nodeDeflate, grainSize: 2 ** Math.max(12, p.clusterBits + 3) })
              : new VhdDynamicSink(file, { blockSize: 2 ** (p.clusterBits + 4) });
        let off = 0;
        for (const e of p.extents) {
          off += e.gap;
          if (e.zero) {
            await sink.zero(off, e.len);
            await mem.zero(off, e.len);
          } else {
            const b = new Uint8Array(e.len).fill(e.byte);
            await sink.write(off, b);
            await mem.write(off, b);
          }
          off += e.len;
        }
        await sink.finish(size);
        await mem.finish(size);
        const rawFile = `${out}.raw`;
        const bytes = mem.bytes();
        // VHD virtual sizes are whole MiB: the raw side is padded with zeros to match.
        const padded = new Uint8Array(p.format === 'qcow2' || p.format === 'vmdk' ? size : Math.ceil(size / (1 << 20)) * (1 << 20));
        padded.set(bytes);
        fs.writeFileSync(rawFile, padded);
        const qf = QEMU_FORMAT[p.format as keyof typeof QEMU_FORMAT];
        if (qf === 'qcow2' || qf === 'vmdk') expect(run('qemu-img', ['check', '-f', qf, out]).stdout).toMatch(/No errors were found/);
        expect(run('qemu-img', ['compare', '-f', 'raw', '-F', qf, rawFile, out]).stdout).toMatch(/Images are identical/);
        const d = openImageDisk(out);
        try {
          expect(Buffer.compare(d.read(0, d.size), padded)).toBe(0);
        } finally {
          d.close();
        }
        fs.rmSync(out);
        fs.rmSync(rawFile);
      },
    ), { numRuns: 25 });
  });
});
