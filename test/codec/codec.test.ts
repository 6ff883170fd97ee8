import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { crc16, crc32, crc32c, crc32cRaw } from '../../src/codec/crc.js';
import { decodeGuid, encodeGuid, decodeUuid, encodeUuid } from '../../src/codec/guid.js';
import { decodeUtf16le, encodeUtf16le } from '../../src/codec/utf16.js';
import { sha256, toHex } from '../../src/codec/sha256.js';
import { deriveGuid, deriveUuid } from '../../src/codec/derive.js';
import { parseSize } from '../../src/codec/units.js';
import { bytes, checkStructLayout, defineStruct, u16le, u32le, u64le, u8 } from '../../src/codec/struct.js';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('crc', () => {
  it('matches the published check values for "123456789"', () => {
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283);
    // CRC-16/ARC (poly 0x8005 reflected, init 0): 0xBB3D
    expect(crc16(0, ascii('123456789'))).toBe(0xbb3d);
  });
  it('crc32cRaw is the uninverted register the kernel uses', () => {
    const d = ascii('123456789');
    expect(crc32cRaw(0xffffffff, d)).toBe(~0xe3069283 >>> 0);
    // chaining: raw over two halves equals raw over the whole
    expect(crc32cRaw(crc32cRaw(0xffffffff, d.subarray(0, 4)), d.subarray(4))).toBe(crc32cRaw(0xffffffff, d));
  });
});

describe('guid', () => {
  it('stores the first three groups little-endian (the EFI System type)', () => {
    const b = encodeGuid('C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
    expect(toHex(b)).toBe('28732ac11ff8d211ba4b00a0c93ec93b');
    expect(decodeGuid(b)).toBe('C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
  });
  it('round-trips any 16 bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
      expect(encodeGuid(decodeGuid(b))).toEqual(b);
      expect(encodeUuid(decodeUuid(b))).toEqual(b);
    }));
  });
  it('rejects malformed text with a code', () => {
    expect(() => encodeGuid('not-a-guid')).toThrow(expect.objectContaining({ code: 'GUID_INVALID' }));
  });
});

describe('utf16', () => {
  it('round-trips strings and stops at NUL', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => {
      const clean = s.replace(/\0/g, '');
      expect(decodeUtf16le(encodeUtf16le(clean))).toBe(clean);
    }));
    expect(decodeUtf16le(new Uint8Array([0x41, 0, 0, 0, 0x42, 0]))).toBe('A');
  });
});

describe('sha256 and derivation', () => {
  it('agrees with node:crypto', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      expect(toHex(sha256(b))).toBe(createHash('sha256').update(b).digest('hex'));
    }));
  });
  it('derives stable, distinct, version-4-shaped ids', () => {
    expect(deriveUuid('s', 'a')).toBe(deriveUuid('s', 'a'));
    expect(deriveUuid('s', 'a')).not.toBe(deriveUuid('s', 'b'));
    expect(deriveUuid('s', 'a')).not.toBe(deriveUuid('t', 'a'));
    expect(deriveGuid('s', 'a')).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
  });
});

describe('units', () => {
  it('reads sizes with units', () => {
    expect(parseSize('64MiB')).toBe(64 * 1024 * 1024);
    expect(parseSize('1G')).toBe(1024 ** 3);
    expect(parseSize('2 GB')).toBe(2e9);
    expect(parseSize(4096)).toBe(4096);
  });
  it.each([0, -1, '0MiB', '12 parsecs', 'abc', 1.5, null])('rejects %s', (v) => {
    expect(() => parseSize(v, 'partitions[0].size')).toThrow(expect.objectContaining({ code: 'SPEC_SIZE', data: expect.objectContaining({ path: 'partitions[0].size' }) }));
  });
});

describe('struct tables', () => {
  const Rec = defineStruct('TestRec', 16, {
    a: u8(0), pad: bytes(1, 1), b: u16le(2), c: u32le(4), d: u64le(8),
  });
  it('decode and encode through one table', () => {
    const b = Uint8Array.from({ length: 16 }, (_, i) => i * 7);
    const v = Rec.decode(b);
    expect(v.b).toBe(b[2] | (b[3] << 8));
    expect(Rec.encode(v)).toEqual(b);
  });
  it('the layout check finds gaps, overlaps and a wrong total', () => {
    const gap = defineStruct('Gap', 8, { a: u32le(0), b: u16le(6) });
    expect(checkStructLayout(gap as never).join()).toMatch(/gap 4\.\.6/);
    const overlap = defineStruct('Overlap', 6, { a: u32le(0), b: u16le(2), c: u16le(4) });
    expect(checkStructLayout(overlap as never).join()).toMatch(/overlaps/);
    const short = defineStruct('Short', 8, { a: u32le(0) });
    expect(checkStructLayout(short as never).join()).toMatch(/record size is 8/);
    expect(checkStructLayout(Rec as never)).toEqual([]);
  });
});
