// Grow an image to fill its disk, as `sgdisk -e` + `growpart` + `resize2fs`
// do: the GPT backup array and header move to the new end (or the MBR
// record of the last partition is enlarged), the last (or named) partition
// ends at the end of the disk, and its ext4 filesystem grows to fill it.
//
// Order of writes: the partition table first (GPT: backup array, backup
// header, then primary array and header and the protective MBR), so a crash
// leaves the old filesystem in a partition at least as large; then the
// filesystem's plan (src/ext4/resize.ts), superblock last.
import { fail, isDiskwrightError } from '../errors.js';
import { subDisk, type Disk } from '../io/disk.js';
import { encodeGpt, gptGeometry, type GptTable } from '../gpt/table.js';
import { encodeMbr } from '../mbr/table.js';
import { encodeChs } from '../mbr/chs.js';
import { applyGrowWrites, planExt4Grow, type GrowWrite } from '../ext4/resize.js';
import { openImage } from './open.js';

export interface GrowOptions {
  /** The partition to grow (default: the last one on the disk). */
  partition?: number;
}

export interface GrowResult {
  table: 'gpt' | 'mbr';
  partition: number;
  /** Partition size in bytes, before and after. */
  oldSize: number;
  newSize: number;
  /** Filesystem size in bytes, before and after (equal when nothing was to do). */
  oldFsSize: number;
  newFsSize: number;
  oldGroups: number;
  newGroups: number;
  /** False when the disk was already filled: nothing was written. */
  changed: boolean;
  /** The byte ranges written, in order: [offset, length, what]. */
  writes: Array<[number, number, string]>;
}

/** Grow the partition table and the ext4 filesystem of `disk` to its end. */
export function growImage(disk: Disk, options: GrowOptions = {}): GrowResult {
  if (!disk.write) fail('IMAGE_READ_ONLY', 'growing needs a writable disk', {});
  let img;
  try {
    img = openImage(disk);
  } catch (e) {
    // A GPT whose usable area passes the end: the disk shrank under the table.
    if (isDiskwrightError(e, 'GPT_USABLE_RANGE')) {
      fail('GROW_DISK_TOO_SMALL', `the ${disk.size}-byte disk is smaller than its partition table says: ${e.message}`, { ...e.data, actual: disk.size });
    }
    throw e;
  }
  if (img.table === null) fail('GROW_NO_TABLE', 'the image has no partition table (a bare filesystem is not grown)', {});
  const parts = img.partitions.filter((p) => !p.container);
  if (parts.length === 0) fail('GROW_NO_PARTITION', 'the image has no partition to grow', {});
  const last = parts.reduce((a, b) => (b.start + b.size > a.start + a.size ? b : a));
  const target = options.partition === undefined ? last : parts.find((p) => p.index === options.partition);
  if (!target) fail('IMAGE_NO_PARTITION', `the image has no partition ${options.partition}`, { partition: options.partition, expected: parts.map((p) => p.index) });
  if (img.partitions.some((p) => p !== target && p.start >= target.start + target.size)) {
    fail('GROW_NOT_LAST', `partition ${target.index} is not the last on the disk: another lies after it`, { partition: target.index, expected: last.index });
  }
  const ss = img.sectorSize;
  const tableWrites: GrowWrite[] = [];
  let newEndByte: number;
  if (img.table === 'gpt') {
    const t = img.gpt!;
    const arraySectors = Math.ceil((t.entryCount * t.entrySize) / ss);
    // The disk must still hold the table where it stands and the partitions.
    if (disk.size < (target.start + target.size) + (arraySectors + 1) * ss) {
      fail('GROW_DISK_TOO_SMALL', `the ${disk.size}-byte disk is smaller than its partition table says (partition ${target.index} ends at byte ${target.start + target.size})`, { actual: disk.size, expected: target.start + target.size + (arraySectors + 1) * ss });
    }
    const g = gptGeometry(disk.size, ss, t.entryCount, t.entrySize);
    const p = t.partitions.find((q) => q.index === target.index)!;
    const grown: GptTable = {
      ...t, totalSectors: g.totalSectors, lastUsableLba: g.lastUsableLba, backupEntryLba: g.backupEntryLba,
      partitions: t.partitions.map((q) => (q === p ? { ...q, endLba: Math.max(q.endLba, g.lastUsableLba) } : q)),
    };
    const same = g.totalSectors === t.totalSectors && t.lastUsableLba === g.lastUsableLba && p.endLba === g.lastUsableLba && img.gptUsed === 'primary';
    newEndByte = (grown.partitions.find((q) => q.index === p.index)!.endLba + 1) * ss;
    if (!same) {
      const e = encodeGpt(grown);
      // Sector 0: only the 0xEE record's size and end changes (a boot code,
      // disk signature or hybrid record there stays as it was).
      const mbr = disk.read(0, 512);
      for (let i = 0; i < 4; i++) {
        const o = 446 + i * 16;
        if (mbr[o + 4] !== 0xee) continue;
        const dv = new DataView(mbr.buffer, mbr.byteOffset + o, 16);
        if (dv.getUint32(8, true) === 1) {
          dv.setUint32(12, Math.min(g.totalSectors - 1, 0xffffffff), true);
          mbr.set(encodeChs(g.totalSectors - 1), o + 5);
        }
      }
      tableWrites.push(
        { offset: e.backupEntriesOffset, data: e.entries, length: e.entries.length, what: 'GPT backup array' },
        { offset: e.backupHeaderOffset, data: e.backupHeader, length: e.backupHeader.length, what: 'GPT backup header' },
        { offset: e.primaryEntriesOffset, data: e.entries, length: e.entries.length, what: 'GPT primary array' },
        { offset: e.primaryHeaderOffset, data: e.primaryHeader, length: e.primaryHeader.length, what: 'GPT primary header' },
        { offset: 0, data: mbr, length: 512, what: 'protective MBR' },
      );
    }
  } else {
    const t = img.mbr!;
    const slot = t.primaries.findIndex((q) => q?.index === target.index);
    if (slot < 0) fail('GROW_UNSUPPORTED', `partition ${target.index} is a logical partition; only primary MBR partitions are grown`, { partition: target.index });
    const p = t.primaries[slot]!;
    const total = Math.floor(disk.size / 512);
    if (total < p.startLba + p.sizeLba) {
      fail('GROW_DISK_TOO_SMALL', `the ${disk.size}-byte disk is smaller than its partition table says (partition ${p.index} ends at byte ${(p.startLba + p.sizeLba) * 512})`, { actual: disk.size, expected: (p.startLba + p.sizeLba) * 512 });
    }
    const size = Math.max(p.sizeLba, Math.min(total, 0xffffffff) - p.startLba);
    newEndByte = (p.startLba + size) * 512;
    if (size !== p.sizeLba) {
      const sector = disk.read(0, 512);
      const next = { ...t, primaries: t.primaries.map((q, i) => (i === slot ? { ...q!, sizeLba: size, endChs: undefined } : q)) };
      const enc = encodeMbr(next);
      // Only the record changes: bytes 446..510 of the new sector.
      sector.set(enc.subarray(446 + slot * 16, 446 + slot * 16 + 16), 446 + slot * 16);
      tableWrites.push({ offset: 0, data: sector, length: 512, what: 'MBR' });
    }
  }
  const newSize = newEndByte - target.start;
  const part = subDisk(disk, target.start, newSize);
  const plan = planExt4Grow(part, newSize);
  applyGrowWrites(disk, tableWrites);
  applyGrowWrites(part, plan.writes);
  return {
    table: img.table, partition: target.index, oldSize: target.size, newSize,
    oldFsSize: plan.oldBlocks * plan.blockSize, newFsSize: plan.newBlocks * plan.blockSize, oldGroups: plan.oldGroups, newGroups: plan.newGroups,
    changed: tableWrites.length > 0 || plan.writes.length > 0,
    writes: [...tableWrites.map((w) => [w.offset, w.length, w.what] as [number, number, string]),
      ...plan.writes.map((w) => [target.start + w.offset, w.length, w.what] as [number, number, string])],
  };
}
