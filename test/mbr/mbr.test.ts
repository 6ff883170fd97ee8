// MBR encode/decode, CHS, the EBR chain and its bounds (UEFI 2.10 §5.2.1).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { memoryDisk } from '../../src/io/disk.js';
import { decodeChs, encodeChs } from '../../src/mbr/chs.js';
import { decodeMbr, encodeMbr, encodeProtectiveMbr, looksLikeMbr, readMbr, type MbrPartition } from '../../src/mbr/table.js';
import { resolveMbrType, formatMbrType } from '../../src/mbr/types.js';
import { MbrPartitionRecord } from '../../src/mbr/partition-record.js';

describe('CHS', () => {
  it('computes 255/63 geometry and clamps to FE FF FF past cylinder 1023', () => {
    expect([...encodeChs(0)]).toEqual([0, 1, 0]);
    expect([...encodeChs(2048)]).toEqual([32, 33, 0]);
    expect(decodeChs(encodeChs(1023 * 255 * 63 + 254 * 63 + 62))).toEqual({ cylinder: 1023, head: 254, sector: 63 });
    expect([...encodeChs(1024 * 255 * 63)]).toEqual([0xfe, 0xff, 0xff]);
  });
  it('round-trips every LBA inside the CHS range', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1024 * 255 * 63 - 1 }), (lba) => {
      const { cylinder, head, sector } = decodeChs(encodeChs(lba));
      expect((cylinder * 255 + head) * 63 + sector - 1).toBe(lba);
    }));
  });
});

describe('MBR records', () => {
  const arbPart = (i: number) => fc.record({
    type: fc.integer({ min: 1, max: 255 }).filter((t) => ![0x05, 0x0f, 0x85].includes(t)),
    bootable: fc.boolean(),
    startLba: fc.integer({ min: 1, max: 0xffffffff }),
    sizeLba: fc.integer({ min: 1, max: 0xffffffff }),
  }).map((p): MbrPartition => ({ index: i + 1, ...p }));
  it('decode(encode(t)) gives back the primaries, signature and boot code', () => {
    fc.assert(fc.property(fc.tuple(fc.option(arbPart(0)), fc.option(arbPart(1)), fc.option(arbPart(2)), fc.option(arbPart(3))), fc.integer({ min: 0, max: 0xffffffff }), fc.uint8Array({ minLength: 440, maxLength: 440 }), (ps, sig, code) => {
      const sector = encodeMbr({ diskSignature: sig, bootCode: code, primaries: ps, logicals: [] });
      expect(sector.length).toBe(512);
      expect([sector[510], sector[511]]).toEqual([0x55, 0xaa]);
      const d = decodeMbr(sector);
      expect(d.diskSignature).toBe(sig);
      expect(Buffer.from(d.bootCode!).equals(Buffer.from(code))).toBe(true);
      expect(d.primaries.map((p) => p && { index: p.index, type: p.type, bootable: p.bootable, startLba: p.startLba, sizeLba: p.sizeLba })).toEqual(ps.map((p) => p && { index: p.index, type: p.type, bootable: p.bootable, startLba: p.startLba, sizeLba: p.sizeLba }));
      // Re-encoding the decoded table gives the same sector (raw CHS and boot indicator kept).
      expect(Buffer.from(encodeMbr(d)).equals(Buffer.from(sector))).toBe(true);
    }));
  });
  it('resolves type aliases and bytes; rejects the rest with SPEC_TYPE', () => {
    expect(resolveMbrType('fat32')).toBe(0x0c);
    expect(resolveMbrType('0x83')).toBe(0x83);
    expect(resolveMbrType('ef')).toBe(0xef);
    expect(formatMbrType(0x0c)).toBe('0x0c');
    expect(() => resolveMbrType('0x100')).toThrow(expect.objectContaining({ code: 'SPEC_TYPE' }));
    expect(() => resolveMbrType('esp-ish')).toThrow(expect.objectContaining({ code: 'SPEC_TYPE' }));
  });
  it('the protective MBR covers the disk with one 0xEE record', () => {
    const s = encodeProtectiveMbr(131072);
    const r = MbrPartitionRecord.decode(s, 446);
    expect(r).toMatchObject({ OSType: 0xee, StartingLBA: 1, SizeInLBA: 131071, BootIndicator: 0 });
    expect([...r.StartingCHS]).toEqual([0, 2, 0]);
    expect(MbrPartitionRecord.decode(encodeProtectiveMbr(2 ** 33), 446).SizeInLBA).toBe(0xffffffff);
  });
  it('looksLikeMbr refuses FAT / exFAT boot sectors and bad boot indicators', () => {
    const s = encodeMbr({ diskSignature: 1, primaries: [{ index: 1, type: 0x83, bootable: false, startLba: 2048, sizeLba: 100 }, null, null, null], logicals: [] });
    expect(looksLikeMbr(s)).toBe(true);
    const x = s.slice(); x[446] = 0x12;
    expect(looksLikeMbr(x)).toBe(false);
    const e = s.slice(); e.set(new TextEncoder().encode('EXFAT   '), 3);
    expect(looksLikeMbr(e)).toBe(false);
    const n = s.slice(); n[510] = 0;
    expect(looksLikeMbr(n)).toBe(false);
  });
});

/** An image with an extended partition whose EBR chain we write by hand. */
function chainImage(links: number[]): Uint8Array {
  const img = new Uint8Array(200 * 512);
  img.set(encodeMbr({ diskSignature: 0xabcd, primaries: [{ index: 1, type: 0x05, bootable: false, startLba: 10, sizeLba: 180 }, null, null, null], logicals: [] }), 0);
  links.forEach((rel, i) => {
    const ebr = 10 + (i === 0 ? 0 : links[i - 1]);
    const next = links[i];
    img.set(encodeMbr({ diskSignature: 0, primaries: [
      { index: 1, type: 0x83, bootable: false, startLba: 1, sizeLba: 2 },
      next >= 0 ? { index: 2, type: 0x05, bootable: false, startLba: next, sizeLba: 3 } : null, null, null,
    ], logicals: [] }), ebr * 512);
    void rel;
  });
  return img;
}

describe('EBR chain', () => {
  it('reads logical partitions in chain order, numbered from 5', () => {
    const img = chainImage([5, 10, -1]);
    const { table, warnings } = readMbr(memoryDisk(img));
    expect(warnings).toEqual([]);
    expect(table.logicals.map((p) => [p.index, p.startLba, p.sizeLba, p.ebrLba])).toEqual([[5, 11, 2, 10], [6, 16, 2, 15], [7, 21, 2, 20]]);
  });
  it('a chain that loops gives MBR_EBR_LOOP (strict) or stops with a warning (lenient)', () => {
    const img = chainImage([5, 0]);
    expect(() => readMbr(memoryDisk(img))).toThrow(expect.objectContaining({ code: 'MBR_EBR_LOOP' }));
    const r = readMbr(memoryDisk(img), { strict: false });
    expect(r.table.logicals.length).toBe(2);
    expect(r.warnings.length).toBe(1);
  });
  it('a link outside the extended partition gives MBR_EBR_RANGE; a missing signature MBR_SIGNATURE', () => {
    expect(() => readMbr(memoryDisk(chainImage([500])))).toThrow(expect.objectContaining({ code: 'MBR_EBR_RANGE' }));
    const img = chainImage([-1]);
    img[510] = 0;
    expect(() => readMbr(memoryDisk(img))).toThrow(expect.objectContaining({ code: 'MBR_SIGNATURE', data: expect.objectContaining({ offset: 510 }) }));
  });
  it('random bytes never crash the reader: a result or a coded error', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 512, maxLength: 8192 }), fc.boolean(), (bytes, sig) => {
      if (sig) { bytes[510] = 0x55; bytes[511] = 0xaa; }
      try {
        readMbr(memoryDisk(bytes));
      } catch (e) {
        expect((e as { code?: string }).code).toMatch(/^MBR_/);
      }
    }), { numRuns: 300 });
  });
});
