// The layout planner: arbitrary valid layouts are aligned, inside the usable
// area and free of overlaps; every failure has a code and a JSON path.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { planLayout, type LayoutRequest } from '../../src/image/layout.js';

const MiB = 1024 * 1024;

const arbRequest = fc.record({
  table: fc.constantFrom('gpt' as const, 'mbr' as const),
  sectorSize: fc.constantFrom(512, 4096),
  alignShift: fc.integer({ min: 0, max: 3 }),
  sizes: fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 4 }),
  restAt: fc.option(fc.nat(3)),
  slack: fc.integer({ min: 0, max: 64 }),
}).map((r): LayoutRequest => {
  const alignment = MiB << r.alignShift;
  const sizes: (number | 'rest')[] = r.sizes.map((s) => s * 64 * 1024);
  if (r.restAt !== null && r.restAt < sizes.length) sizes[r.restAt] = 'rest';
  const need = sizes.reduce<number>((n, s) => n + (s === 'rest' ? r.sectorSize : Math.ceil((s as number) / alignment) * alignment) + alignment, 0);
  const usableStart = r.table === 'gpt' ? (r.sectorSize === 512 ? 34 * 512 : 6 * 4096) : r.sectorSize;
  return {
    table: r.table, sectorSize: r.sectorSize, alignment, usableStart, usableEnd: usableStart + need + alignment + r.slack * 4096,
    maxPartitions: r.table === 'mbr' ? 4 : 128, partitions: sizes.map((size) => ({ size })),
  };
});

describe('layout planner', () => {
  it('arbitrary valid layouts: aligned, in order, inside the usable area, no overlap', () => {
    fc.assert(fc.property(arbRequest, (req) => {
      const placed = planLayout(req);
      expect(placed.length).toBe(req.partitions.length);
      placed.forEach((p, i) => {
        expect(p.start % req.alignment).toBe(0);
        expect(p.size % req.sectorSize).toBe(0);
        expect(p.size).toBeGreaterThan(0);
        expect(p.start).toBeGreaterThanOrEqual(req.usableStart);
        expect(p.start + p.size).toBeLessThanOrEqual(req.usableEnd);
        if (req.partitions[i].size !== 'rest') expect(p.size).toBe(req.partitions[i].size);
        if (i > 0) expect(p.start).toBeGreaterThanOrEqual(placed[i - 1].start + placed[i - 1].size);
      });
      // "rest" leaves less than one alignment unit unused before the next partition or the end.
      const r = req.partitions.findIndex((p) => p.size === 'rest');
      if (r >= 0) {
        const end = placed[r].start + placed[r].size;
        const next = r + 1 < placed.length ? placed[r + 1].start : req.usableEnd;
        expect(next - end).toBeLessThan(req.alignment);
        // Its end is aligned (as sgdisk -v expects), unless alignment would leave it empty.
        if (end - placed[r].start >= req.alignment) expect(end % req.alignment).toBe(0);
        if (r + 1 < placed.length) {
          const tailFree = req.usableEnd - (placed[placed.length - 1].start + placed[placed.length - 1].size);
          expect(tailFree).toBeLessThan(2 * req.alignment);
        }
      }
    }), { numRuns: 300 });
  });

  const base = { table: 'gpt' as const, sectorSize: 512, alignment: MiB, usableStart: 34 * 512, usableEnd: 64 * MiB - 33 * 512, maxPartitions: 128 };

  it('a partition that does not fit says how many bytes are missing', () => {
    expect(() => planLayout({ ...base, partitions: [{ size: 32 * MiB }, { size: 32 * MiB }] })).toThrow(expect.objectContaining({
      code: 'LAYOUT_NO_SPACE', data: expect.objectContaining({ path: 'partitions[1].size', missing: 1 * MiB + 33 * 512 }),
    }));
  });

  it('overlap, too many partitions, two "rest"s, unaligned starts', () => {
    expect(() => planLayout({ ...base, partitions: [{ size: 8 * MiB }, { size: MiB, start: 4 * MiB }] })).toThrow(expect.objectContaining({ code: 'LAYOUT_OVERLAP', data: expect.objectContaining({ path: 'partitions[1].start', other: 'partitions[0]' }) }));
    expect(() => planLayout({ ...base, table: 'mbr', maxPartitions: 4, partitions: Array.from({ length: 5 }, () => ({ size: MiB })) })).toThrow(expect.objectContaining({ code: 'LAYOUT_TOO_MANY', data: expect.objectContaining({ path: 'partitions', expected: 4, actual: 5 }) }));
    expect(() => planLayout({ ...base, partitions: [{ size: 'rest' }, { size: 'rest' }] })).toThrow(expect.objectContaining({ code: 'LAYOUT_REST', data: expect.objectContaining({ path: 'partitions[1].size' }) }));
    expect(() => planLayout({ ...base, partitions: [{ size: MiB, start: 2 * MiB + 3 }] })).toThrow(expect.objectContaining({ code: 'LAYOUT_START_UNALIGNED' }));
    expect(() => planLayout({ ...base, partitions: [{ size: 1000 }] })).toThrow(expect.objectContaining({ code: 'LAYOUT_SIZE_UNALIGNED', data: expect.objectContaining({ path: 'partitions[0].size' }) }));
    expect(() => planLayout({ ...base, partitions: [{ size: MiB, start: 0 }] })).toThrow(expect.objectContaining({ code: 'LAYOUT_OUTSIDE', data: expect.objectContaining({ path: 'partitions[0].start' }) }));
  });

  it('explicit starts are kept, "rest" stops before the next explicit start', () => {
    const placed = planLayout({ ...base, partitions: [{ size: MiB }, { size: 'rest' }, { size: 4 * MiB, start: 40 * MiB }, { size: 2 * MiB }] });
    expect(placed).toEqual([{ start: MiB, size: MiB }, { start: 2 * MiB, size: 38 * MiB }, { start: 40 * MiB, size: 4 * MiB }, { start: 44 * MiB, size: 2 * MiB }]);
  });

  it('the last "rest" partition ends on the last alignment boundary inside the usable area', () => {
    const placed = planLayout({ ...base, partitions: [{ size: MiB }, { size: 'rest' }] });
    const end = placed[1].start + placed[1].size;
    expect(end % base.alignment).toBe(0);
    expect(end).toBeLessThanOrEqual(base.usableEnd);
    expect(base.usableEnd - end).toBeLessThan(base.alignment);
  });
});
