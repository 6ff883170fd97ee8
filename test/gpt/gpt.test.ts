// GPT encode/decode: structure, round trips, corruption (UEFI 2.10 §5.3).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { memoryDisk } from '../../src/io/disk.js';
import { crc32 } from '../../src/codec/crc.js';
import { deriveGuid } from '../../src/codec/derive.js';
import { isDiskwrightError } from '../../src/errors.js';
import {
  createGptTable, encodeGpt, gptGeometry, readGpt, writeGptToBytes, encodeGptName, type GptTable,
} from '../../src/gpt/table.js';
import { GPT_TYPES, resolveGptType } from '../../src/gpt/types.js';

/** A table for fast-check: n partitions packed with random gaps inside the usable area. */
const arbTable = fc.record({
  sectorSize: fc.constantFrom(512, 4096),
  entryCount: fc.constantFrom(4, 16, 128, 129, 256),
  seed: fc.string({ maxLength: 8 }),
  sizes: fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 200 })), { maxLength: 4 }),
  names: fc.array(fc.string({ maxLength: 36, unit: 'binary' }).map((x) => x.replace(/\u0000/g, '_')), { minLength: 4, maxLength: 4 }),
  attrs: fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: 4, maxLength: 4 }),
  extra: fc.integer({ min: 0, max: 400 }),
}).map((r) => {
  const arraySectors = Math.ceil((r.entryCount * 128) / r.sectorSize);
  let lba = 2 + arraySectors;
  const parts = r.sizes.map(([gap, len], i) => {
    const start = lba + gap;
    lba = start + len;
    return { typeGuid: Object.values(GPT_TYPES)[i * 3], uniqueGuid: deriveGuid(r.seed, 'p', i), startLba: start, endLba: start + len - 1, attributes: r.attrs[i], name: r.names[i] };
  });
  const totalSectors = lba + r.extra + 2 + arraySectors;
  return createGptTable({ diskSize: totalSectors * r.sectorSize, sectorSize: r.sectorSize, entryCount: r.entryCount, diskGuid: deriveGuid(r.seed, 'disk'), partitions: parts.slice(0, r.entryCount) });
});

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

function image(t: GptTable): Uint8Array {
  const img = new Uint8Array(t.totalSectors * t.sectorSize);
  writeGptToBytes(t, img);
  return img;
}

function strip(t: GptTable) {
  return {
    sectorSize: t.sectorSize, totalSectors: t.totalSectors, diskGuid: t.diskGuid, firstUsableLba: t.firstUsableLba, lastUsableLba: t.lastUsableLba,
    entryCount: t.entryCount, entrySize: t.entrySize, primaryEntryLba: t.primaryEntryLba, backupEntryLba: t.backupEntryLba,
    partitions: t.partitions.map(({ index, typeGuid, uniqueGuid, startLba, endLba, attributes, name }) => ({ index, typeGuid, uniqueGuid, startLba, endLba, attributes, name })),
  };
}

describe('GPT layout', () => {
  it('puts the header at LBA 1, the array at LBA 2 and the backup at the end (sgdisk geometry)', () => {
    const g = gptGeometry(64 * 1024 * 1024, 512, 128);
    expect(g).toEqual({ totalSectors: 131072, arraySectors: 32, primaryEntryLba: 2, firstUsableLba: 34, lastUsableLba: 131038, backupEntryLba: 131039, backupHeaderLba: 131071 });
    const g4 = gptGeometry(64 * 1024 * 1024, 4096, 128);
    expect(g4.firstUsableLba).toBe(6);
    expect(g4.lastUsableLba).toBe(16384 - 6);
  });

  it('rejects a name longer than 36 UTF-16 units with GPT_NAME_TOO_LONG', () => {
    expect(encodeGptName('x'.repeat(36)).length).toBe(72);
    expect(() => encodeGptName('x'.repeat(37), 'partitions[0].name')).toThrow(expect.objectContaining({ code: 'GPT_NAME_TOO_LONG', data: expect.objectContaining({ path: 'partitions[0].name', actual: 37 }) }));
  });

  it('resolves aliases and raw GUIDs, and rejects others with SPEC_TYPE', () => {
    expect(resolveGptType('esp')).toBe('C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
    expect(resolveGptType('0fc63daf-8483-4772-8e79-3d69d8477de4')).toBe(GPT_TYPES.linux);
    expect(() => resolveGptType('fat32')).toThrow(expect.objectContaining({ code: 'SPEC_TYPE' }));
  });

  it('writes the same bytes for the same seed', () => {
    const mk = () => image(createGptTable({ diskSize: 1 << 20, diskGuid: deriveGuid('s', 'disk'), partitions: [{ typeGuid: GPT_TYPES.esp, uniqueGuid: deriveGuid('s', 1), startLba: 34, endLba: 100, name: 'ESP' }] }));
    expect(same(mk(), mk())).toBe(true);
  });
});

describe('GPT properties', () => {
  it('entries lie inside the usable area, do not overlap, and the backup mirrors the primary with valid CRCs', () => {
    fc.assert(fc.property(arbTable, (t) => {
      const img = image(t);
      const ss = t.sectorSize;
      const e = encodeGpt(t);
      const dv = new DataView(img.buffer);
      const hdr = (lba: number) => img.subarray(lba * ss, lba * ss + 92);
      const p = hdr(1);
      const b = hdr(t.totalSectors - 1);
      for (const h of [p, b]) {
        const c = h.slice();
        c.fill(0, 16, 20);
        expect(crc32(c)).toBe(new DataView(h.buffer, h.byteOffset).getUint32(16, true));
      }
      // Backup mirrors: same fields except MyLBA, AlternateLBA, PartitionEntryLBA, CRC.
      for (const [o, n] of [[0, 16], [40, 32], [80, 12]] as const) expect(same(b.subarray(o, o + n), p.subarray(o, o + n))).toBe(true);
      expect(dv.getBigUint64(ss + 24, true)).toBe(1n);
      expect(dv.getBigUint64(ss + 32, true)).toBe(BigInt(t.totalSectors - 1));
      const arr = t.entryCount * 128;
      expect(same(img.subarray(2 * ss, 2 * ss + arr), img.subarray(t.backupEntryLba * ss, t.backupEntryLba * ss + arr))).toBe(true);
      expect(crc32(e.entries)).toBe(dv.getUint32(ss + 88, true));
      const sorted = [...t.partitions].sort((x, y) => x.startLba - y.startLba);
      sorted.forEach((q, i) => {
        expect(q.startLba).toBeGreaterThanOrEqual(t.firstUsableLba);
        expect(q.endLba).toBeLessThanOrEqual(t.lastUsableLba);
        if (i > 0) expect(q.startLba).toBeGreaterThan(sorted[i - 1].endLba);
      });
      expect(img[510]).toBe(0x55);
      expect(img[450]).toBe(0xee);
    }), { numRuns: 60 });
  });

  it('decode(encode(t)) equals t, and re-encoding what was read gives the same bytes', () => {
    fc.assert(fc.property(arbTable, (t) => {
      const img = image(t);
      const r = readGpt(memoryDisk(img));
      expect(r.used).toBe('primary');
      expect(r.warnings).toEqual([]);
      expect(strip(r.table)).toEqual(strip(t));
      const again = new Uint8Array(img.length);
      writeGptToBytes(r.table, again);
      expect(same(again, img)).toBe(true);
    }), { numRuns: 60 });
  });

  it('any single byte flipped in a CRC-covered range gives that structure\'s code, and the reader falls back cleanly', () => {
    fc.assert(fc.property(arbTable, fc.nat(), fc.integer({ min: 1, max: 255 }), fc.constantFrom('primary-header', 'primary-array', 'backup-header', 'backup-array'), (t, pos, xor, where) => {
      const img = image(t);
      const ss = t.sectorSize;
      const arr = t.entryCount * 128;
      const [base, len, code] = where === 'primary-header' ? [ss, 92, 'header'] : where === 'backup-header' ? [(t.totalSectors - 1) * ss, 92, 'header']
        : where === 'primary-array' ? [2 * ss, arr, 'array'] : [t.backupEntryLba * ss, arr, 'array'];
      img[base + (pos % len)] ^= xor;
      const primaryHit = where.startsWith('primary');
      let r;
      try {
        r = readGpt(memoryDisk(img), { sectorSize: ss });
      } catch (e) {
        throw new Error(`single flip must not make the table unreadable: ${(e as Error).message}`);
      }
      expect(r.used).toBe(primaryHit ? 'backup' : 'primary');
      expect(strip(r.table).partitions).toEqual(strip(t).partitions);
      const w = r.warnings.join('\n');
      if (primaryHit) {
        const m = /primary GPT corrupt \((\w+)\)/.exec(w);
        expect(m).not.toBeNull();
        expect(code === 'array' ? ['GPT_ARRAY_CRC'] : ['GPT_HEADER_CRC', 'GPT_SIGNATURE', 'GPT_HEADER_SIZE']).toContain(m![1]);
      } else {
        expect(w).toMatch(/backup GPT corrupt \((GPT_HEADER_CRC|GPT_SIGNATURE|GPT_HEADER_SIZE|GPT_ARRAY_CRC)\)/);
      }
    }), { numRuns: 200 });
  });
});

describe('GPT corruption', () => {
  const t = createGptTable({ diskSize: 1 << 20, diskGuid: deriveGuid('c', 'disk'), partitions: [{ typeGuid: GPT_TYPES.linux, uniqueGuid: deriveGuid('c', 1), startLba: 40, endLba: 1000, name: 'data' }] });

  it('with both headers broken, one error carries both', () => {
    const img = image(t);
    img[512 + 16] ^= 1;
    img[img.length - 512 + 16] ^= 1;
    try {
      readGpt(memoryDisk(img));
      expect.unreachable();
    } catch (e) {
      expect(isDiskwrightError(e, 'GPT_HEADER_CRC')).toBe(true);
      const d = (e as { data: Record<string, any> }).data;
      expect(d.primary.code).toBe('GPT_HEADER_CRC');
      expect(d.backup.code).toBe('GPT_HEADER_CRC');
      expect(typeof d.primary.expected).toBe('number');
      expect(d.primary.actual).not.toBe(d.primary.expected);
      expect(d.primary.offset).toBe(512 + 16);
    }
  });

  it('a disk without GPT gives GPT_NOT_FOUND; a table read with the wrong sector size fails cleanly', () => {
    expect(() => readGpt(memoryDisk(new Uint8Array(1 << 16)))).toThrow(expect.objectContaining({ code: 'GPT_NOT_FOUND' }));
    const t4 = createGptTable({ diskSize: 1 << 20, sectorSize: 4096, diskGuid: deriveGuid('c', 'disk'), partitions: [] });
    const img = image(t4);
    expect(readGpt(memoryDisk(img)).table.sectorSize).toBe(4096);
    expect(() => readGpt(memoryDisk(img), { sectorSize: 512 })).toThrow(expect.objectContaining({ code: 'GPT_NOT_FOUND' }));
  });

  it('entries outside the usable area or overlapping give GPT_ENTRY_RANGE / GPT_ENTRY_OVERLAP', () => {
    const base = { diskSize: 1 << 20, diskGuid: deriveGuid('c', 'disk') };
    expect(() => createGptTable({ ...base, partitions: [{ typeGuid: GPT_TYPES.linux, uniqueGuid: deriveGuid('c', 1), startLba: 10, endLba: 100 }] })).toThrow(expect.objectContaining({ code: 'GPT_ENTRY_RANGE' }));
    expect(() => createGptTable({ ...base, partitions: [
      { typeGuid: GPT_TYPES.linux, uniqueGuid: deriveGuid('c', 1), startLba: 40, endLba: 100 },
      { typeGuid: GPT_TYPES.linux, uniqueGuid: deriveGuid('c', 2), startLba: 100, endLba: 200 },
    ] })).toThrow(expect.objectContaining({ code: 'GPT_ENTRY_OVERLAP' }));
  });

  it('a hostile entry count is refused before anything is allocated', () => {
    const img = image(t);
    const dv = new DataView(img.buffer);
    dv.setUint32(512 + 80, 0x7fffffff, true);
    const c = img.slice(512, 512 + 92);
    c.fill(0, 16, 20);
    dv.setUint32(512 + 16, crc32(c), true);
    const r = readGpt(memoryDisk(img));
    expect(r.used).toBe('backup');
    expect(r.warnings.join()).toContain('GPT_ENTRY_COUNT');
  });
});

describe('GPT hostile headers', () => {
  const base = createGptTable({ diskSize: 1 << 20, diskGuid: deriveGuid('h', 'disk'), partitions: [
    { typeGuid: GPT_TYPES.linux, uniqueGuid: deriveGuid('h', 1), startLba: 40, endLba: 1000, name: 'a' },
    { typeGuid: GPT_TYPES.esp, uniqueGuid: deriveGuid('h', 2), startLba: 1001, endLba: 2000, name: 'b' },
  ] });
  const fields: [number, number][] = [[8, 4], [12, 4], [24, 8], [32, 8], [40, 8], [48, 8], [72, 8], [80, 4], [84, 4]];
  it('any header field set to any value (CRC fixed up) gives a table or a coded error, never a crash', () => {
    fc.assert(fc.property(fc.constantFrom(...fields), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.boolean(), (f, v, both) => {
      const img = image(base);
      for (const at of both ? [512, img.length - 512] : [512]) {
        const dv = new DataView(img.buffer, at);
        if (f[1] === 8) dv.setBigUint64(f[0], v, true); else dv.setUint32(f[0], Number(v & 0xffffffffn), true);
        const size = Math.min(Math.max(dv.getUint32(12, true), 92), 512);
        const c = img.slice(at, at + size);
        c.fill(0, 16, 20);
        dv.setUint32(16, crc32(c), true);
      }
      try {
        const r = readGpt(memoryDisk(img), { strict: false });
        expect(r.table.partitions.length).toBeLessThanOrEqual(r.table.entryCount);
      } catch (e) {
        expect(isDiskwrightError(e)).toBe(true);
        expect((e as { code: string }).code).toMatch(/^GPT_/);
      }
    }), { numRuns: 300 });
  });
  it('arbitrary entry contents (array CRC fixed up) give a table, a coded error, or warnings when lenient', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 256, maxLength: 256 }), (entries) => {
      const t = { ...base, partitions: [] };
      const img = image(t);
      for (const at of [1024, img.length - 512 - 16384]) img.set(entries, at);
      for (const at of [512, img.length - 512]) {
        const dv = new DataView(img.buffer, at);
        dv.setUint32(88, crc32(img.subarray(at === 512 ? 1024 : img.length - 512 - 16384, (at === 512 ? 1024 : img.length - 512 - 16384) + 16384)), true);
        const c = img.slice(at, at + 92);
        c.fill(0, 16, 20);
        dv.setUint32(16, crc32(c), true);
      }
      try {
        readGpt(memoryDisk(img));
      } catch (e) {
        expect((e as { code: string }).code).toMatch(/^GPT_ENTRY_(RANGE|OVERLAP)$/);
      }
      const lenient = readGpt(memoryDisk(img), { strict: false });
      expect(lenient.used).toBe('primary');
    }), { numRuns: 200 });
  });
});
