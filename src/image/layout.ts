// The layout planner: where each partition of a spec goes. Pure arithmetic
// on byte offsets, no I/O. Starts are aligned (1 MiB by default, as sgdisk,
// sfdisk and parted align), sizes are taken as given, "rest" takes what the
// others leave, and every problem names the spec path it comes from.
import { fail } from '../errors.js';

export interface LayoutPartition {
  /** Bytes, or "rest" (at most one partition). */
  size: number | 'rest';
  /** Explicit start in bytes. */
  start?: number;
}

export interface LayoutRequest {
  table: 'gpt' | 'mbr';
  sectorSize: number;
  alignment: number;
  /** First byte partitions may use (GPT: FirstUsableLBA × sector size; MBR: one sector). */
  usableStart: number;
  /** One past the last byte partitions may use. */
  usableEnd: number;
  /** 4 for MBR, the entry count for GPT. */
  maxPartitions: number;
  partitions: LayoutPartition[];
  /** JSON path of the partitions array, for errors (default "partitions"). */
  path?: string;
}

export interface PlacedPartition {
  start: number;
  size: number;
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;
const alignDown = (n: number, a: number) => Math.floor(n / a) * a;

export function planLayout(req: LayoutRequest): PlacedPartition[] {
  const base = req.path ?? 'partitions';
  const { sectorSize, alignment } = req;
  const at = (i: number, field?: string) => `${base}[${i}]${field ? `.${field}` : ''}`;
  if (!Number.isSafeInteger(alignment) || alignment <= 0 || alignment % sectorSize !== 0) {
    fail('LAYOUT_ALIGNMENT', `alignment: ${alignment} is not a positive multiple of the ${sectorSize}-byte sector`, { path: 'alignment', actual: alignment, expected: sectorSize });
  }
  if (req.partitions.length > req.maxPartitions) {
    fail('LAYOUT_TOO_MANY', `${base}: ${req.partitions.length} partitions, a ${req.table.toUpperCase()} table holds at most ${req.maxPartitions}`, { path: base, actual: req.partitions.length, expected: req.maxPartitions });
  }
  let restIndex = -1;
  req.partitions.forEach((p, i) => {
    if (p.size === 'rest') {
      if (restIndex >= 0) fail('LAYOUT_REST', `${at(i, 'size')}: only one partition may take the "rest" (${at(restIndex, 'size')} already does)`, { path: at(i, 'size'), other: at(restIndex, 'size') });
      restIndex = i;
    } else if (p.size % sectorSize !== 0) {
      fail('LAYOUT_SIZE_UNALIGNED', `${at(i, 'size')}: ${p.size} bytes is not a whole number of ${sectorSize}-byte sectors`, { path: at(i, 'size'), actual: p.size, expected: sectorSize });
    }
    if (p.start !== undefined && p.start % sectorSize !== 0) {
      fail('LAYOUT_START_UNALIGNED', `${at(i, 'start')}: ${p.start} is not on a ${sectorSize}-byte sector boundary`, { path: at(i, 'start'), actual: p.start, expected: sectorSize });
    }
  });

  const placed: (PlacedPartition & { i: number })[] = [];
  let cursor = req.usableStart;
  for (let i = 0; i < req.partitions.length; i++) {
    const p = req.partitions[i];
    const start = p.start ?? alignUp(cursor, alignment);
    if (start < req.usableStart || start >= req.usableEnd) {
      fail('LAYOUT_OUTSIDE', `${at(i, p.start !== undefined ? 'start' : 'size')}: start ${start} lies outside the usable area ${req.usableStart}..${req.usableEnd}`, {
        path: at(i, p.start !== undefined ? 'start' : 'size'), actual: start, expected: [req.usableStart, req.usableEnd], missing: Math.max(0, start + sectorSize - req.usableEnd),
      });
    }
    let size: number;
    if (p.size === 'rest') {
      // What the partitions after this one need, up to the next explicit start.
      let limit = req.usableEnd;
      let later = 0;
      let laterCount = 0;
      for (let j = i + 1; j < req.partitions.length; j++) {
        const q = req.partitions[j];
        if (q.start !== undefined) {
          if (q.start > start) limit = Math.min(limit, q.start);
          break;
        }
        later += alignUp(q.size as number, alignment);
        laterCount++;
      }
      let end = limit - later;
      // The end is aligned too, as sgdisk expects ("doesn't end on a 2048-sector
      // boundary" otherwise); only when that leaves nothing is it sector-aligned.
      end = alignDown(end, alignment) > start ? alignDown(end, alignment) : alignDown(end, sectorSize);
      size = end - start;
      if (size < sectorSize) {
        const missing = start + sectorSize - end;
        fail('LAYOUT_NO_SPACE', `${at(i, 'size')}: no room left for "rest" (${missing} bytes missing)`, { path: at(i, 'size'), missing, actual: size });
      }
    } else {
      size = p.size;
    }
    const end = start + size;
    if (end > req.usableEnd) {
      const missing = end - req.usableEnd;
      fail('LAYOUT_NO_SPACE', `${at(i, 'size')}: partition ends ${missing} bytes past the usable area (ends at ${end}, usable up to ${req.usableEnd})`, { path: at(i, 'size'), missing, actual: end, expected: req.usableEnd });
    }
    for (const q of placed) {
      if (start < q.start + q.size && q.start < end) {
        const field = p.start !== undefined ? 'start' : 'size';
        fail('LAYOUT_OVERLAP', `${at(i, field)}: partition ${start}..${end} overlaps ${at(q.i)} (${q.start}..${q.start + q.size})`, { path: at(i, field), other: at(q.i), actual: [start, end], expected: [q.start, q.start + q.size] });
      }
    }
    if (req.table === 'mbr' && (end / sectorSize > 0x100000000 || start / sectorSize > 0xffffffff)) {
      fail('LAYOUT_MBR_LIMIT', `${at(i, 'size')}: an MBR addresses at most 2^32 sectors; this partition ends at sector ${end / sectorSize}`, { path: at(i, 'size'), actual: end / sectorSize, expected: 0x100000000 });
    }
    placed.push({ i, start, size });
    cursor = Math.max(cursor, end);
  }
  return placed.map(({ start, size }) => ({ start, size }));
}
