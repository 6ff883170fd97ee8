// Unit tests for the FAT records: FAT windows, times, short names, long names, geometry.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeFatWindow, getFatEntry, setFatEntry, fatBytesFor, type FatBits } from '../../src/fat32/fat.js';
import { decodeFatTime, encodeFatTime } from '../../src/fat32/dir-entry.js';
import { exactShortName, ShortNameAllocator, checkFatName, shortKey } from '../../src/fat32/short-name.js';
import { encodeLfnEntries, lfnChecksum, LfnEntry, lfnUnits } from '../../src/fat32/lfn.js';
import { planFatGeometry, FAT32_MIN_CLUSTERS } from '../../src/fat32/geometry.js';
import { isDiskwrightError } from '../../src/errors.js';

function code(f: () => unknown): string | undefined {
  try { f(); } catch (e) { if (isDiskwrightError(e)) return e.code; throw e; }
  return undefined;
}

describe('FAT table', () => {
  for (const bits of [12, 16, 32] as FatBits[]) {
    it(`FAT${bits}: set/get round trip and window encoding agree with entry-by-entry setting`, () => {
      fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 30 }), fc.integer({ min: 0, max: 5 }), (counts, skip) => {
        const runs: { start: number; count: number }[] = [];
        let next = 2 + skip;
        for (const c of counts) { runs.push({ start: next, count: c }); next += c + (c % 3 === 0 ? 1 : 0); }
        const n = next + 7 + (next % 2);
        const max = bits === 32 ? 0x0fffffff : bits === 16 ? 0xffff : 0xfff;
        const ref = new Uint8Array(fatBytesFor(n, bits));
        setFatEntry(ref, 0, (max & ~0xff) | 0xf8, bits);
        setFatEntry(ref, 1, max, bits);
        for (const r of runs) for (let c = r.start; c < r.start + r.count; c++) setFatEntry(ref, c, c === r.start + r.count - 1 ? max : c + 1, bits);
        // Windows of 2 entries, stitched together, give the same table.
        const state = { i: 0 };
        const parts: Uint8Array[] = [];
        for (let first = 0; first < n; first += 2) parts.push(encodeFatWindow(runs, first, Math.min(2, n - first), bits, 0xf8, state));
        const joined = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
        let o = 0;
        for (const p of parts) { joined.set(p, o); o += p.length; }
        expect(joined.subarray(0, ref.length)).toEqual(ref);
        for (const r of runs) expect(getFatEntry(ref, r.start, bits)).toBe(r.count === 1 ? max : r.start + 1);
      }), { numRuns: 50 });
    });
  }
  it('FAT12 packs two entries into three bytes, low nibble first', () => {
    const b = new Uint8Array(3);
    setFatEntry(b, 0, 0xabc, 12);
    setFatEntry(b, 1, 0x123, 12);
    expect([...b]).toEqual([0xbc, 0x3a, 0x12]);
  });
});

describe('FAT times', () => {
  it('encodes 2-second steps in UTC and keeps the odd second in the creation tenths', () => {
    // 2023-11-14 22:13:21 UTC
    const t = encodeFatTime({ sec: 1700000001, nsec: 500_000_000 });
    expect(t.date).toBe(((2023 - 1980) << 9) | (11 << 5) | 14);
    expect(t.time).toBe((22 << 11) | (13 << 5) | (21 >> 1));
    expect(t.centis).toBe(150);
    expect(decodeFatTime(t.date, t.time)).toEqual({ sec: 1700000000, nsec: 0 });
    expect(decodeFatTime(t.date, t.time, t.centis)).toEqual({ sec: 1700000001, nsec: 500_000_000 });
  });
  it('clamps times outside 1980…2107', () => {
    expect(encodeFatTime({ sec: 0, nsec: 0 })).toEqual({ date: (1 << 5) | 1, time: 0, centis: 0 });
    const late = encodeFatTime({ sec: 5_000_000_000, nsec: 0 });
    expect(late.date >> 9).toBe(127);
  });
  it('round-trips every even second in range', () => {
    fc.assert(fc.property(fc.integer({ min: 315532800, max: 4354819198 }), (s) => {
      const even = s - (s % 2);
      const t = encodeFatTime({ sec: even, nsec: 0 });
      expect(decodeFatTime(t.date, t.time).sec).toBe(even);
    }));
  });
});

describe('short names', () => {
  it('8.3 names in one case per part need no long name and carry the NT flags', () => {
    expect(shortKey(exactShortName('config.txt')!.raw)).toBe('CONFIG  TXT');
    expect(exactShortName('config.txt')!.ntFlags).toBe(0x18);
    expect(exactShortName('BOOTX64.EFI')!.ntFlags).toBe(0);
    expect(exactShortName('kernel8.IMG')!.ntFlags).toBe(0x08);
    expect(exactShortName('README')!.ntFlags).toBe(0);
    expect(exactShortName('Config.txt')).toBeNull();
    expect(exactShortName('initramfs.img')).toBeNull();
    expect(exactShortName('a.b.c')).toBeNull();
    expect(exactShortName('.hidden')).toBeNull();
    expect(exactShortName('a+b')).toBeNull();
    expect(exactShortName('x.json')).toBeNull();
  });
  it('aliases never collide, also among 200 similar names', () => {
    const a = new ShortNameAllocator();
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const k = shortKey(a.alias(`vc4-kms-overlay-${i}.dtbo`, `/overlays/${i}`));
      expect(seen.has(k)).toBe(false);
      expect(k).toMatch(/^[A-Z0-9~_-]{1,8} *DTB$/);
      seen.add(k);
    }
    expect(seen.has('VC4-KM~1DTB')).toBe(true);
  });
  it('aliases skip short names already taken by exact 8.3 names', () => {
    const a = new ShortNameAllocator();
    a.reserve(exactShortName('LONGNA~1.TXT')!.raw);
    expect(shortKey(a.alias('Long name.txt', '/x'))).toBe('LONGNA~2TXT');
  });
  it('property: any set of distinct names gets distinct 11-byte short names', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.stringMatching(/^[a-zA-Z0-9 ._+\u00e9-]{1,20}$/), { maxLength: 60, selector: (s) => s.toUpperCase() }), (names) => {
      const a = new ShortNameAllocator();
      const out = new Set<string>();
      for (const n of names) {
        const ex = exactShortName(n);
        const k = ex && a.reserve(ex.raw) ? shortKey(ex.raw) : shortKey(a.alias(n, n));
        expect(out.has(k)).toBe(false);
        out.add(k);
      }
    }));
  });
  it('invalid names are errors naming the path', () => {
    for (const n of ['a/b', 'a\0', 'a\\b', 'a:b', 'a*', 'a?', 'a"', 'a<', 'a>', 'a|', 'trail.', 'trail ', 'ctl\x01']) {
      let err: unknown;
      try { checkFatName(n, `/dir/${n}`); } catch (e) { err = e; }
      expect(isDiskwrightError(err, 'FAT_NAME_INVALID'), n).toBe(true);
      expect((err as { data: { path: string } }).data.path).toBe(`/dir/${n}`);
    }
    expect(code(() => checkFatName('x'.repeat(256), '/x'))).toBe('FAT_NAME_TOO_LONG');
    expect(code(() => checkFatName('x'.repeat(255), '/x'))).toBeUndefined();
  });
});

describe('long names', () => {
  it('entries hold the name in UTF-16, last piece first, NUL then 0xFFFF padding', () => {
    const raw = new TextEncoder().encode('LONGFI~1TXT');
    const es = encodeLfnEntries('Long File Name.txt', raw).map((b) => LfnEntry.decode(b));
    expect(es.map((e) => e.LDIR_Ord)).toEqual([0x42, 0x01]);
    expect(es.every((e) => e.LDIR_Chksum === lfnChecksum(raw) && e.LDIR_Attr === 0x0f)).toBe(true);
    const units = [...lfnUnits(es[1]), ...lfnUnits(es[0])];
    expect(String.fromCharCode(...units.slice(0, 18))).toBe('Long File Name.txt');
    expect(units.slice(18)).toEqual([0, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff]);
    // Exactly 13 characters: no terminator.
    const e13 = encodeLfnEntries('abcdefghijklm', raw).map((b) => LfnEntry.decode(b));
    expect(e13).toHaveLength(1);
    expect(lfnUnits(e13[0])).not.toContain(0);
  });
});

describe('geometry', () => {
  it('auto picks FAT16 below the FAT32 minimum and FAT32 above', () => {
    expect(planFatGeometry({ size: 20 << 20, sectorSize: 512 }).bits).toBe(16);
    expect(planFatGeometry({ size: 33 << 20, sectorSize: 512 }).bits).toBe(32);
    expect(planFatGeometry({ size: 600 << 20, sectorSize: 512 }).clusterSize).toBe(4096);
  });
  it('fat32 on a volume too small for 65,525 clusters is an error that says the minimum size', () => {
    let err: any;
    try { planFatGeometry({ size: 16 << 20, sectorSize: 512, fat: 'fat32' }); } catch (e) { err = e; }
    expect(err.code).toBe('FAT32_TOO_SMALL');
    const min = err.data.minimum as number;
    expect(planFatGeometry({ size: min, sectorSize: 512, fat: 'fat32' }).clusterCount).toBeGreaterThanOrEqual(FAT32_MIN_CLUSTERS);
    expect(code(() => planFatGeometry({ size: min - 512, sectorSize: 512, fat: 'fat32' }))).toBe('FAT32_TOO_SMALL');
  });
  it('property: the FATs always cover every cluster and the data area ends inside the volume', () => {
    fc.assert(fc.property(fc.integer({ min: 3 << 20, max: 40 * 2 ** 30 }), fc.constantFrom(512, 4096), fc.constantFrom('auto', 'fat16') as fc.Arbitrary<'auto' | 'fat16'>, (size, ss, fat) => {
      let g;
      try { g = planFatGeometry({ size, sectorSize: ss, fat }); } catch (e) { if (isDiskwrightError(e)) return; throw e; }
      expect(fatBytesFor(g.clusterCount + 2, g.bits)).toBeLessThanOrEqual(g.fatSectors * ss);
      expect(g.firstDataSector + g.clusterCount * g.sectorsPerCluster).toBeLessThanOrEqual(g.totalSectors);
      expect(g.firstDataSector % g.sectorsPerCluster).toBe(0);
      if (g.bits === 16) expect(g.clusterCount).toBeLessThanOrEqual(65524);
      else expect(g.clusterCount).toBeGreaterThanOrEqual(65525);
    }), { numRuns: 300 });
  });
});
