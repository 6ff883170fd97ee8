// The MBR partition table: four primary records in sector 0 and, inside an
// extended partition, a chain of EBRs that each hold one logical partition
// and a link to the next (UEFI 2.10 §5.2.1; the chain as util-linux
// libfdisk dos.c read_extended() walks it).
import { DiskwrightError, fail } from '../errors.js';
import type { Disk } from '../io/disk.js';
import { MasterBootRecord, MBR_SIGNATURE } from './boot-record.js';
import { MbrPartitionRecord } from './partition-record.js';
import { encodeChs } from './chs.js';
import { EXTENDED_TYPES } from './types.js';

export interface MbrPartition {
  /** 1..4 for primaries, 5… for logical partitions in chain order. */
  index: number;
  /** OSType byte. */
  type: number;
  bootable: boolean;
  /** Absolute LBA of the first sector. */
  startLba: number;
  sizeLba: number;
  /** Raw BootIndicator (0x00 / 0x80; anything else is kept as read). */
  bootIndicator?: number;
  /** Raw CHS bytes as read; computed when absent. */
  startChs?: Uint8Array;
  endChs?: Uint8Array;
  /** For logical partitions: the LBA of the EBR that describes it. */
  ebrLba?: number;
}

export interface MbrTable {
  diskSignature: number;
  /** The 440 bytes of boot code, kept raw (zeros when absent). */
  bootCode?: Uint8Array;
  /** The two bytes at 444 (usually zero; 0x5A5A marks copy protection). */
  unknown?: Uint8Array;
  /** Primary slots in order; a slot may be null (empty). Length 4. */
  primaries: (MbrPartition | null)[];
  /** Logical partitions from the EBR chain (read only). */
  logicals: MbrPartition[];
}

/** Encode one record; CHS computed from the LBAs unless raw bytes are kept. */
function encodeRecord(p: MbrPartition | null, buf: Uint8Array, offset: number): void {
  if (!p) {
    MbrPartitionRecord.encode(MbrPartitionRecord.zero(), buf, offset);
    return;
  }
  const last = p.startLba + p.sizeLba - 1;
  MbrPartitionRecord.encode({
    BootIndicator: p.bootIndicator ?? (p.bootable ? 0x80 : 0x00),
    StartingCHS: p.startChs ?? encodeChs(p.startLba),
    OSType: p.type,
    EndingCHS: p.endChs ?? encodeChs(Math.max(last, 0)),
    StartingLBA: p.startLba,
    SizeInLBA: p.sizeLba,
  }, buf, offset);
}

/** The 512-byte MBR sector of a table (primaries only). */
export function encodeMbr(t: MbrTable): Uint8Array {
  if (t.primaries.length > 4) fail('MBR_TOO_MANY', `an MBR holds 4 primary partitions, got ${t.primaries.length}`, { structure: 'mbr', actual: t.primaries.length, expected: 4 });
  const records = new Uint8Array(64);
  for (let i = 0; i < 4; i++) {
    const p = t.primaries[i] ?? null;
    if (p && (p.startLba > 0xffffffff || p.sizeLba > 0xffffffff || p.startLba < 0 || p.sizeLba < 0)) {
      fail('MBR_LBA_RANGE', `partition ${i + 1} lies beyond what a 32-bit MBR can address`, { structure: 'mbr', field: 'StartingLBA', actual: p.startLba });
    }
    encodeRecord(p, records, i * 16);
  }
  return MasterBootRecord.encode({
    BootCode: t.bootCode ?? new Uint8Array(440),
    UniqueMBRDiskSignature: t.diskSignature,
    Unknown: t.unknown ?? new Uint8Array(2),
    PartitionRecord: records,
    Signature: MBR_SIGNATURE,
  });
}

function toPartition(rec: ReturnType<typeof MbrPartitionRecord.decode>, index: number, base: number): MbrPartition {
  return {
    index,
    type: rec.OSType,
    bootable: rec.BootIndicator === 0x80,
    startLba: base + rec.StartingLBA,
    sizeLba: rec.SizeInLBA,
    bootIndicator: rec.BootIndicator,
    startChs: rec.StartingCHS,
    endChs: rec.EndingCHS,
  };
}

/** Decode sector 0 (primaries only; no validation beyond what decoding needs). */
export function decodeMbr(sector: Uint8Array): MbrTable & { signature: number } {
  const r = MasterBootRecord.decode(sector);
  const primaries: (MbrPartition | null)[] = [];
  for (let i = 0; i < 4; i++) {
    const rec = MbrPartitionRecord.decode(r.PartitionRecord, i * 16);
    primaries.push(rec.OSType === 0 ? null : toPartition(rec, i + 1, 0));
  }
  return { diskSignature: r.UniqueMBRDiskSignature, bootCode: r.BootCode, unknown: r.Unknown, primaries, logicals: [], signature: r.Signature };
}

/**
 * Whether sector 0 looks like a DOS partition table, with the checks
 * util-linux libblkid partitions/dos.c makes: the 0x55AA signature, every
 * boot indicator 0x00 or 0x80, and no exFAT / NTFS / FAT boot sector posing
 * as one (a FAT boot sector carries 0x55AA too).
 */
export function looksLikeMbr(sector: Uint8Array): boolean {
  if (sector.length < 512 || sector[510] !== 0x55 || sector[511] !== 0xaa) return false;
  const oem = String.fromCharCode(...sector.subarray(3, 11));
  if (oem === 'EXFAT   ' || oem === 'NTFS    ' || oem === '-FVE-FS-') return false;
  let used = 0;
  for (let i = 0; i < 4; i++) {
    const o = 446 + i * 16;
    if (sector[o] !== 0x00 && sector[o] !== 0x80) return false;
    if (sector[o + 4] !== 0) used++;
  }
  if (used === 0) return false;
  // A FAT boot sector: jump instruction and a FAT BPB ("FAT" type string).
  const fatStr = String.fromCharCode(...sector.subarray(54, 57)) === 'FAT' || String.fromCharCode(...sector.subarray(82, 85)) === 'FAT';
  if ((sector[0] === 0xeb || sector[0] === 0xe9) && fatStr) return false;
  return true;
}

export interface ReadMbrOptions {
  /** Logical sector size (default 512). */
  sectorSize?: number;
  /** Throw on EBR chain problems (default); false records them as warnings. */
  strict?: boolean;
  /** Upper bound on logical partitions (default 256). */
  maxLogical?: number;
}

export interface ReadMbrResult {
  table: MbrTable;
  warnings: string[];
}

/** Read the MBR and the EBR chains of its extended partitions. */
export function readMbr(disk: Disk, options: ReadMbrOptions = {}): ReadMbrResult {
  const sectorSize = options.sectorSize ?? 512;
  const strict = options.strict ?? true;
  const maxLogical = options.maxLogical ?? 256;
  const warnings: string[] = [];
  if (disk.size < 512) fail('MBR_TOO_SMALL', `image of ${disk.size} bytes is smaller than one MBR sector`, { structure: 'mbr', actual: disk.size, expected: 512 });
  const sector = disk.read(0, 512);
  const t = decodeMbr(sector);
  if (t.signature !== MBR_SIGNATURE) {
    fail('MBR_SIGNATURE', `no MBR signature 0x55AA at offset 510`, { structure: 'mbr', offset: 510, field: 'Signature', expected: MBR_SIGNATURE, actual: t.signature });
  }
  const totalSectors = Math.floor(disk.size / sectorSize);
  const problem = (code: string, message: string, data: Record<string, unknown>) => {
    if (strict) throw new DiskwrightError(code, message, { structure: 'ebr', ...data });
    warnings.push(message);
  };
  const { signature: _s, ...table } = t;
  // util-linux libfdisk dos.c and mbrman accept only 0x00 and 0x80 as boot indicators.
  for (let i = 0; i < 4; i++) {
    const bi = sector[446 + i * 16];
    if (bi !== 0x00 && bi !== 0x80) {
      fail('MBR_BOOT_INDICATOR', `partition ${i + 1}: boot indicator 0x${bi.toString(16)} is neither 0x00 nor 0x80`, { structure: 'mbr', offset: 446 + i * 16, field: 'BootIndicator', expected: [0, 0x80], actual: bi });
    }
  }
  for (const ext of t.primaries) {
    if (!ext || !EXTENDED_TYPES.has(ext.type)) continue;
    const extStart = ext.startLba;
    const extEnd = ext.startLba + ext.sizeLba; // exclusive
    const seen = new Set<number>();
    let ebr = extStart;
    let index = 5 + table.logicals.length;
    for (let n = 0; ; n++) {
      if (n >= maxLogical) {
        problem('MBR_EBR_LIMIT', `more than ${maxLogical} logical partitions in the EBR chain`, { expected: maxLogical });
        break;
      }
      if (seen.has(ebr)) {
        problem('MBR_EBR_LOOP', `EBR chain loops back to LBA ${ebr}`, { offset: ebr * sectorSize, actual: ebr });
        break;
      }
      seen.add(ebr);
      if (ebr < extStart || ebr >= extEnd || ebr >= totalSectors) {
        problem('MBR_EBR_RANGE', `EBR at LBA ${ebr} lies outside the extended partition or the image`, { offset: ebr * sectorSize, actual: ebr, expected: [extStart, Math.min(extEnd, totalSectors)] });
        break;
      }
      const s = disk.read(ebr * sectorSize, 512);
      const e = MasterBootRecord.decode(s);
      if (e.Signature !== MBR_SIGNATURE) {
        problem('MBR_EBR_SIGNATURE', `no 0x55AA signature in the EBR at LBA ${ebr}`, { offset: ebr * sectorSize + 510, field: 'Signature', expected: MBR_SIGNATURE, actual: e.Signature });
        break;
      }
      const first = MbrPartitionRecord.decode(e.PartitionRecord, 0);
      const link = MbrPartitionRecord.decode(e.PartitionRecord, 16);
      const badFlag = [first, link].findIndex((r) => r.BootIndicator !== 0x00 && r.BootIndicator !== 0x80);
      if (badFlag >= 0) {
        const bi = [first, link][badFlag].BootIndicator;
        problem('MBR_BOOT_INDICATOR', `EBR at LBA ${ebr}, entry ${badFlag + 1}: boot indicator 0x${bi.toString(16)} is neither 0x00 nor 0x80`, { offset: ebr * sectorSize + 446 + badFlag * 16, field: 'BootIndicator', expected: [0, 0x80], actual: bi });
        break;
      }
      if (first.OSType !== 0 && first.SizeInLBA !== 0) {
        const p = toPartition(first, index++, ebr);
        p.ebrLba = ebr;
        table.logicals.push(p);
      }
      if (link.OSType === 0 || link.SizeInLBA === 0 || !EXTENDED_TYPES.has(link.OSType)) break;
      // The link's StartingLBA is relative to the start of the outermost extended partition.
      ebr = extStart + link.StartingLBA;
    }
  }
  return { table, warnings };
}

/** Every non-empty partition, primaries first then logicals. */
export function mbrPartitions(t: MbrTable): MbrPartition[] {
  return [...t.primaries.filter((p): p is MbrPartition => p !== null), ...t.logicals];
}

/**
 * The protective MBR that guards a GPT disk (UEFI 2.10 §5.2.3): one 0xEE
 * record from LBA 1 to the end of the disk (or 0xFFFFFFFF when the disk is
 * larger), StartingCHS 0x000200, as sgdisk's ProtectiveMBR::MakeProtectiveMBR().
 */
export function encodeProtectiveMbr(totalSectors: number, bootCode?: Uint8Array): Uint8Array {
  const size = Math.min(totalSectors - 1, 0xffffffff);
  return encodeMbr({
    diskSignature: 0,
    bootCode,
    primaries: [{ index: 1, type: 0xee, bootable: false, startLba: 1, sizeLba: size, startChs: Uint8Array.of(0x00, 0x02, 0x00), endChs: encodeChs(totalSectors - 1) }, null, null, null],
    logicals: [],
  });
}
