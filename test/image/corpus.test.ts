// Third-party images ($DISKWRIGHT_CORPUS): every valid GPT and MBR image is
// read (with the values sfdisk reads and the facts its upstream states);
// non-MBR sectors with 0x55AA are not taken for an MBR; corrupt inputs get a
// coded error, never a crash, within a time and memory bound.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { corpusImage, corpusRows, corpusSet } from '../helpers/corpus.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';
import { openImage } from '../../src/image/open.js';
import { memoryDisk } from '../../src/io/disk.js';
import { openFileDisk } from '../../src/node/file-source.js';
import { readGpt, encodeGpt } from '../../src/gpt/table.js';
import { readMbr, encodeMbr } from '../../src/mbr/table.js';
import { GptEntry } from '../../src/gpt/entry.js';
import { MbrPartitionRecord } from '../../src/mbr/partition-record.js';
import { decodeGuid } from '../../src/codec/guid.js';
import { decodeGptName } from '../../src/gpt/table.js';
import { DiskwrightError } from '../../src/errors.js';

const rows = corpusRows();
const tableRows = rows.filter((r) => (r.kind === 'gpt' || r.kind === 'mbr') && r.status === 'valid');
const images = tableRows.filter((r) => !r.note.startsWith('FRAGMENT'));
const tmp = tempDir('dw-corpus-');
afterAll(() => tmp.cleanup());

const bytesOf = (rel: string) => new Uint8Array(fs.readFileSync(corpusImage(rel)));

describe.skipIf(rows.length === 0)('corpus: valid GPT and MBR images', () => {
  it('lists the images it reads', () => {
    expect(images.length).toBeGreaterThanOrEqual(9);
  });

  it.each(images.map((r) => [r.path, r.kind]))('%s is read as %s, with the starts and sizes sfdisk reads', (rel, kind) => {
    const file = corpusImage(rel);
    const disk = openFileDisk(file);
    try {
      const img = openImage(disk);
      expect(img.table).toBe(kind);
      expect(img.partitions.length).toBeGreaterThan(0);
      if (img.sectorSize === 512 && haveTools('sfdisk')) {
        const r = run('sfdisk', ['--json', file]);
        expect(r.status, r.stderr).toBe(0);
        const pt = JSON.parse(r.stdout).partitiontable;
        expect(pt.label).toBe(kind === 'gpt' ? 'gpt' : 'dos');
        expect(img.partitions.map((p) => [p.start / 512, p.size / 512])).toEqual(pt.partitions.map((p: { start: number; size: number }) => [p.start, p.size]));
        if (kind === 'gpt') {
          expect(img.diskId).toBe(pt.id);
          expect(img.partitions.map((p) => [p.type, p.uuid, p.name])).toEqual(pt.partitions.map((p: { type: string; uuid: string; name?: string }) => [p.type, p.uuid, p.name ?? '']));
        }
      }
    } finally {
      disk.close();
    }
  });

  it('gptman: attributes, 4096-byte sectors, names with junk after the NUL re-encode identically', () => {
    const d1 = readGpt(memoryDisk(bytesOf('gptman/tests/fixtures/disk1.img')));
    expect(d1.table.partitions.map((p) => [p.name, p.startLba, p.endLba - p.startLba + 1])).toEqual([['Foo', 34, 10], ['Bar', 48, 5]]);
    expect(d1.table.partitions[1].attributes).toBe(4n | (1n << 63n));
    expect(() => readGpt(memoryDisk(bytesOf('gptman/tests/fixtures/disk1.img')), { sectorSize: 4096 })).toThrow(DiskwrightError);
    const b2 = bytesOf('gptman/tests/fixtures/disk2.img');
    const d2 = readGpt(memoryDisk(b2));
    expect(d2.table.sectorSize).toBe(4096);
    expect(d2.table.partitions.map((p) => [p.startLba, p.endLba])).toEqual([[6, 15], [70, 79]]);
    expect(() => readGpt(memoryDisk(b2), { sectorSize: 512 })).toThrow(expect.objectContaining({ code: 'GPT_NOT_FOUND' }));
    for (const [f, ss] of [['disk3.img', 512], ['disk4.img', 4096]] as const) {
      const b = bytesOf(`gptman/tests/fixtures/${f}`);
      const r = readGpt(memoryDisk(b));
      expect(r.table.sectorSize).toBe(ss);
      expect(r.table.partitions[1].name).toBe('Name with garbage');
      const e = encodeGpt(r.table);
      // The 72-byte name field has bytes after the NUL terminator, and they survive.
      const field = e.entries.subarray(128 + 56, 128 + 128);
      expect(field.subarray(34).some((x) => x !== 0)).toBe(true);
      expect(Buffer.from(b.subarray(e.primaryEntriesOffset, e.primaryEntriesOffset + e.entries.length)).equals(Buffer.from(e.entries))).toBe(true);
      expect(Buffer.from(b.subarray(ss, 2 * ss)).equals(Buffer.from(e.primaryHeader))).toBe(true);
      expect(Buffer.from(b.subarray(e.backupHeaderOffset, e.backupHeaderOffset + ss)).equals(Buffer.from(e.backupHeader))).toBe(true);
    }
  });

  it('the same images with both headers damaged give GPT_HEADER_CRC carrying both', () => {
    const b = bytesOf('gptman/tests/fixtures/disk1.img');
    b[512 + 30] ^= 0xff;
    b[b.length - 512 + 30] ^= 0xff;
    try {
      readGpt(memoryDisk(b));
      expect.unreachable();
    } catch (e) {
      expect((e as DiskwrightError).code).toBe('GPT_HEADER_CRC');
      expect((e as DiskwrightError).data).toMatchObject({ primary: { code: 'GPT_HEADER_CRC' }, backup: { code: 'GPT_HEADER_CRC' } });
    }
  });

  it('mbrman: boot flags, the EBR chain of five logical partitions, upstream mutations rejected with codes', () => {
    const d1 = readMbr(memoryDisk(bytesOf('mbrman/tests/fixtures/disk1.img'))).table;
    expect(d1.primaries.map((p) => p && [p.type, p.bootable, p.startLba, p.sizeLba])).toEqual([[0x06, true, 1, 1], [0x0b, false, 3, 1], null, null]);
    const b2 = bytesOf('mbrman/tests/fixtures/disk2.img');
    const d2 = readMbr(memoryDisk(b2)).table;
    expect(d2.primaries[1]).toMatchObject({ type: 0x05, startLba: 5, sizeLba: 15 });
    expect(d2.logicals.length).toBe(5);
    expect(d2.logicals.every((p) => p.type === 0x83)).toBe(true);
    expect(Buffer.from(encodeMbr(d2)).equals(Buffer.from(b2.subarray(0, 512)))).toBe(true);
    for (const [off, code] of [[0xffe, 'MBR_EBR_SIGNATURE'], [0x21fe, 'MBR_EBR_SIGNATURE'], [0x1be, 'MBR_BOOT_INDICATOR'], [0xfbe, 'MBR_BOOT_INDICATOR'], [0xfce, 'MBR_BOOT_INDICATOR']] as const) {
      const m = b2.slice();
      m[off] = off === 0xffe || off === 0x21fe ? 0xaa : 0x81;
      expect(() => readMbr(memoryDisk(m)), `byte ${off.toString(16)}`).toThrow(expect.objectContaining({ code }));
    }
  });

  it('fragments: one sgdisk GPT entry and one sfdisk MBR record decode to the stated values', () => {
    const g = bytesOf('go-diskfs/partition/gpt/testdata/gpt_partition.dat');
    const e = GptEntry.decode(g);
    expect([decodeGuid(e.PartitionTypeGUID), decodeGptName(e.PartitionName), e.StartingLBA, e.EndingLBA]).toEqual(['C12A7328-F81F-11D2-BA4B-00A0C93EC93B', 'EFI System', 2048n, 3048n]);
    expect(Buffer.from(GptEntry.encode(e)).equals(Buffer.from(g))).toBe(true);
    const m = MbrPartitionRecord.decode(bytesOf('go-diskfs/partition/mbr/testdata/mbr_partition.dat'));
    expect([m.OSType, m.StartingLBA, m.SizeInLBA, [...m.StartingCHS]]).toEqual([0x83, 2048, 20480, [32, 33, 0]]);
  });
});

describe.skipIf(rows.length === 0)('corpus: sectors that carry 0x55AA but are no MBR', () => {
  const negatives = rows.filter((r) => r.kind === 'other' && /NEGATIVE for (FAT\/)?MBR/.test(r.note));
  it.each(negatives.map((r) => [r.path]))('%s is not read as an MBR', (rel) => {
    const disk = openFileDisk(corpusImage(rel));
    try {
      let table: string | null = 'error';
      try { table = openImage(disk).table; } catch (e) { expect(e).toBeInstanceOf(DiskwrightError); }
      expect(table).not.toBe('mbr');
    } finally {
      disk.close();
    }
  });
});

describe.skipIf(rows.length === 0)('corpus: corrupt and hostile images', () => {
  const hostile = [...new Set([...rows.filter((r) => r.status === 'corrupt' && !r.path.endsWith('.tar.bz2')).map((r) => r.path), ...corpusSet('robustness')])]
    .filter((p) => !p.endsWith('.config') && !p.endsWith('.tar.bz2'));
  it('every one is opened or refused with a code, in bounded time and memory', () => {
    const slow: string[] = [];
    const crashed: string[] = [];
    let coded = 0;
    for (const rel of hostile) {
      let file: string;
      try { file = corpusImage(rel); } catch { continue; }
      const heap = process.memoryUsage().heapUsed;
      const t0 = performance.now();
      const disk = openFileDisk(file);
      try {
        const img = openImage(disk);
        for (const p of img.partitions) if (!p.container) img.filesystemInfo(p.index);
      } catch (e) {
        if (e instanceof DiskwrightError && /^[A-Z0-9_]+$/.test(e.code)) coded++;
        else crashed.push(`${rel}: ${(e as Error)?.stack ?? e}`);
      } finally {
        disk.close();
      }
      const ms = performance.now() - t0;
      const grew = process.memoryUsage().heapUsed - heap;
      if (ms > 5000 || grew > 256 * 1024 * 1024) slow.push(`${rel}: ${Math.round(ms)} ms, +${Math.round(grew / 1048576)} MiB`);
    }
    expect(crashed).toEqual([]);
    expect(slow).toEqual([]);
    expect(coded).toBeGreaterThan(0);
  });
});


