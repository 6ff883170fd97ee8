// Images that qemu-img makes, in each format with varied options, read by our
// readers with the same content as the raw image they were made from; and
// what we refuse, by code: backing files, encryption, broken tables.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { buildImageFile } from '../../src/node/build-file.js';
import { openImageDisk } from '../../src/node/vdisk.js';
import { openImageFile } from '../../src/node/open-image-file.js';
import { isDiskwrightError } from '../../src/errors.js';
import { memoryDisk } from '../../src/io/disk.js';
import { openVirtualDisk } from '../../src/vdisk/open.js';
import { nodeDeflate } from '../../src/node/vdisk.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';

const have = haveTools('qemu-img');
const SAMPLE = path.resolve('fixtures/sample');
const hash = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe.skipIf(!have)('reading what qemu-img writes', () => {
  let t: { dir: string; cleanup: () => void };
  let raw: string;
  let rawHash: string;
  beforeAll(async () => {
    t = tempDir();
    const spec = path.join(t.dir, 's.json');
    fs.writeFileSync(spec, JSON.stringify({
      table: 'mbr', size: '48MiB', seed: 'vdisk-read', partitions: [
        { type: 'fat32', size: '36MiB', filesystem: { type: 'fat32', label: 'BOOT', contents: [{ from: SAMPLE, to: '/' }] } },
        { type: 'linux', size: 'rest', filesystem: { type: 'ext4', label: 'data', contents: [{ from: SAMPLE, to: '/' }] } },
      ],
    }));
    raw = path.join(t.dir, 'raw.img');
    await buildImageFile(spec, raw);
    rawHash = hash(fs.readFileSync(raw));
  });
  afterAll(() => t.cleanup());

  const variants: Array<[string, string, string[]]> = [
    ['qcow2 v3, 64 KiB clusters', 'qcow2', ['-O', 'qcow2']],
    ['qcow2 v2 (compat=0.10)', 'qcow2', ['-O', 'qcow2', '-o', 'compat=0.10']],
    ['qcow2, 512-byte clusters', 'qcow2', ['-O', 'qcow2', '-o', 'cluster_size=512']],
    ['qcow2, 2 MiB clusters', 'qcow2', ['-O', 'qcow2', '-o', 'cluster_size=2M']],
    ['qcow2, compressed', 'qcow2', ['-O', 'qcow2', '-c']],
    ['qcow2 v2, compressed, 4 KiB clusters', 'qcow2', ['-O', 'qcow2', '-c', '-o', 'compat=0.10,cluster_size=4096']],
    ['qcow2, preallocation=metadata', 'qcow2', ['-O', 'qcow2', '-o', 'preallocation=metadata']],
    ['qcow2, refcount_bits=64, lazy refcounts', 'qcow2', ['-O', 'qcow2', '-o', 'refcount_bits=64,lazy_refcounts=on']],
    ['VHD fixed (force_size)', 'vhd', ['-O', 'vpc', '-o', 'subformat=fixed,force_size=on']],
    ['VHD dynamic (force_size)', 'vhd-dynamic', ['-O', 'vpc', '-o', 'subformat=dynamic,force_size=on']],
    ['VMDK monolithicSparse', 'vmdk', ['-O', 'vmdk']],
    ['VMDK streamOptimized', 'vmdk', ['-O', 'vmdk', '-o', 'subformat=streamOptimized']],
    ['VMDK monolithicSparse, version 6 (zeroed grains)', 'vmdk', ['-O', 'vmdk', '-o', 'hwversion=6,zeroed_grain=on']],
  ];
  for (const [name, format, args] of variants) {
    it(name, () => {
      const out = path.join(t.dir, `${name.replace(/\W+/g, '_')}.img`);
      const r = run('qemu-img', ['convert', '-f', 'raw', ...args, raw, out]);
      expect(r.status, r.stderr).toBe(0);
      const d = openImageDisk(out);
      try {
        expect(d.format).toBe(format);
        expect(d.size).toBe(fs.statSync(raw).size);
        expect(hash(d.read(0, d.size))).toBe(rawHash);
      } finally {
        d.close();
      }
      const img = openImageFile(out);
      try {
        expect(img.table).toBe('mbr');
        expect(img.filesystem(2).readFile('/README.md')).toEqual(new Uint8Array(fs.readFileSync(path.join(SAMPLE, 'README.md'))));
      } finally {
        img.close();
      }
    });
  }

  it('edits in place where clusters are allocated (qemu-img check stays clean), refuses where they are not', () => {
    const out = path.join(t.dir, 'edit.qcow2');
    expect(run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, out]).status).toBe(0);
    const img = openImageFile(out, { writable: true });
    try {
      const fsw = img.filesystem(1);
      fsw.rewriteFile('/README.md', new Uint8Array(fsw.stat('/README.md').size).fill(0x41));
    } finally {
      img.close();
    }
    expect(run('qemu-img', ['check', out]).stdout).toMatch(/No errors were found/);
    const again = openImageFile(out);
    try {
      expect(again.filesystem(1).readFile('/README.md').every((b) => b === 0x41)).toBe(true);
    } finally {
      again.close();
    }
    const d = openImageDisk(out, true);
    try {
      // The last MiB of a mostly empty image is unallocated.
      const before = fs.readFileSync(out);
      expect(() => d.write!(d.size - 4096, new Uint8Array(512).fill(1))).toThrow(expect.objectContaining({ code: 'QCOW2_WRITE_UNALLOCATED' }));
      expect(Buffer.compare(fs.readFileSync(out), before)).toBe(0);
    } finally {
      d.close();
    }
  });

  it('refuses backing files and encryption by code', () => {
    const base = path.join(t.dir, 'base.qcow2');
    const over = path.join(t.dir, 'over.qcow2');
    expect(run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, base]).status).toBe(0);
    expect(run('qemu-img', ['create', '-f', 'qcow2', '-b', base, '-F', 'qcow2', over]).status).toBe(0);
    expect(() => openImageDisk(over)).toThrow(expect.objectContaining({ code: 'QCOW2_BACKING_FILE' }));
    const enc = path.join(t.dir, 'enc.qcow2');
    const r = run('qemu-img', ['create', '--object', 'secret,id=s0,data=secret', '-f', 'qcow2', '-o', 'encrypt.format=luks,encrypt.key-secret=s0', enc, '16M']);
    expect(r.status, r.stderr).toBe(0);
    expect(() => openImageDisk(enc)).toThrow(expect.objectContaining({ code: 'QCOW2_ENCRYPTED' }));
  });

  it('hostile qcow2 and VHD: any byte flipped in the headers and tables gives the raw content or a coded error', () => {
    const files: Record<string, Uint8Array> = {};
    for (const [name, args] of [['q', ['-O', 'qcow2', '-o', 'cluster_size=4096']], ['c', ['-O', 'qcow2', '-c', '-o', 'cluster_size=4096']], ['v', ['-O', 'vpc', '-o', 'subformat=dynamic,force_size=on']], ['k', ['-O', 'vmdk', '-o', 'subformat=streamOptimized']], ['m', ['-O', 'vmdk']]] as const) {
      const out = path.join(t.dir, `hostile-${name}`);
      expect(run('qemu-img', ['convert', '-f', 'raw', ...args, raw, out]).status).toBe(0);
      files[name] = new Uint8Array(fs.readFileSync(out));
    }
    fc.assert(fc.property(
      fc.constantFrom('q', 'c', 'v', 'k', 'm'), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean(),
      (name, pos, xor, inTables) => {
        const b = files[name]!.slice();
        // Flip within the first 64 KiB (headers, L1, refcounts, BAT) or the last 2 KiB (VHD footer, qcow2 tables).
        const at = inTables ? pos % Math.min(b.length, 65536) : b.length - 1 - (pos % 2048);
        b[at] ^= xor;
        try {
          const { disk } = openVirtualDisk(memoryDisk(b, false), nodeDeflate);
          // Reading the whole disk must work or fail with a code, within the bounds of the file.
          if (disk.size <= 256 << 20) disk.read(0, disk.size);
        } catch (e) {
          if (!isDiskwrightError(e)) throw e;
        }
      },
    ), { numRuns: 500 });
  });
});
