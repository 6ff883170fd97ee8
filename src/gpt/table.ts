// The GUID partition table as a whole (UEFI 2.10 §5.3): protective MBR at
// LBA 0, primary header at LBA 1 and its entry array, the backup entry array
// and backup header at the end of the disk, both guarded by CRC32s.
//
// Decoded tables keep the raw header sectors, entry array and name bytes, so
// that a table written by another tool re-encodes to the same bytes (junk
// after the NUL of a name included, as gptman keeps it).
import { crc32 } from '../codec/crc.js';
import { decodeGuid, encodeGuid, isGuid } from '../codec/guid.js';
import { decodeUtf16le, encodeUtf16le } from '../codec/utf16.js';
import { DiskwrightError, fail, isDiskwrightError, type ErrorData } from '../errors.js';
import type { Disk } from '../io/disk.js';
import { encodeProtectiveMbr } from '../mbr/table.js';
import { GPT_ENTRY_SIZE, GPT_NAME_UNITS, GptEntry } from './entry.js';
import { GPT_HEADER_SIZE, GPT_REVISION, GPT_SIGNATURE, GptHeader, type GptHeaderValue } from './header.js';

export interface GptPartition {
  /** 1-based slot in the entry array. */
  index: number;
  /** Upper-case type GUID. */
  typeGuid: string;
  /** Upper-case unique partition GUID. */
  uniqueGuid: string;
  startLba: number;
  /** Inclusive. */
  endLba: number;
  attributes: bigint;
  name: string;
  /** The 72 raw name bytes as read (kept while `name` is unchanged). */
  nameBytes?: Uint8Array;
  /** The raw entry as read (SizeOfPartitionEntry bytes). */
  raw?: Uint8Array;
}

export interface GptTable {
  sectorSize: number;
  /** Sectors of the disk (the backup header sits in the last one). */
  totalSectors: number;
  diskGuid: string;
  firstUsableLba: number;
  lastUsableLba: number;
  entryCount: number;
  entrySize: number;
  primaryEntryLba: number;
  backupEntryLba: number;
  /** Non-empty entries, by slot. */
  partitions: GptPartition[];
  /** Raw sectors as read (reserved bytes, revision, HeaderSize > 92). */
  primaryHeaderRaw?: Uint8Array;
  backupHeaderRaw?: Uint8Array;
  /** The raw entry array as read (junk in empty slots survives). */
  entriesRaw?: Uint8Array;
  /** Boot code of the protective MBR as read (440 bytes). */
  pmbrBootCode?: Uint8Array;
}

export interface GptGeometry {
  totalSectors: number;
  arraySectors: number;
  primaryEntryLba: number;
  firstUsableLba: number;
  lastUsableLba: number;
  backupEntryLba: number;
  backupHeaderLba: number;
}

export const MAX_GPT_ARRAY_BYTES = 16 * 1024 * 1024;

/** Where everything goes on a disk of `diskSize` bytes, as sgdisk lays it out. */
export function gptGeometry(diskSize: number, sectorSize = 512, entryCount = 128, entrySize = GPT_ENTRY_SIZE): GptGeometry {
  if (sectorSize !== 512 && sectorSize !== 4096) fail('GPT_SECTOR_SIZE', `sector size must be 512 or 4096, got ${sectorSize}`, { structure: 'gpt', field: 'sectorSize', actual: sectorSize, expected: [512, 4096] });
  if (!Number.isInteger(entryCount) || entryCount < 1 || entryCount * entrySize > MAX_GPT_ARRAY_BYTES) {
    fail('GPT_ENTRY_COUNT', `entry count ${entryCount} is out of range`, { structure: 'gpt', field: 'NumberOfPartitionEntries', actual: entryCount });
  }
  const totalSectors = Math.floor(diskSize / sectorSize);
  const arraySectors = Math.ceil((entryCount * entrySize) / sectorSize);
  const firstUsableLba = 2 + arraySectors;
  const backupHeaderLba = totalSectors - 1;
  const backupEntryLba = backupHeaderLba - arraySectors;
  const lastUsableLba = backupEntryLba - 1;
  if (lastUsableLba < firstUsableLba) {
    fail('GPT_DISK_TOO_SMALL', `a disk of ${diskSize} bytes cannot hold a GPT with ${entryCount} entries`, { structure: 'gpt', actual: diskSize, expected: (2 * arraySectors + 4) * sectorSize });
  }
  return { totalSectors, arraySectors, primaryEntryLba: 2, firstUsableLba, lastUsableLba, backupEntryLba, backupHeaderLba };
}

export interface NewGptPartition {
  index?: number;
  typeGuid: string;
  uniqueGuid: string;
  startLba: number;
  endLba: number;
  attributes?: bigint;
  name?: string;
}

/** A fresh table for a disk of `diskSize` bytes. */
export function createGptTable(o: { diskSize: number; sectorSize?: number; entryCount?: number; diskGuid: string; partitions: NewGptPartition[] }): GptTable {
  const sectorSize = o.sectorSize ?? 512;
  const g = gptGeometry(o.diskSize, sectorSize, o.entryCount ?? 128);
  const t: GptTable = {
    sectorSize,
    totalSectors: g.totalSectors,
    diskGuid: o.diskGuid.toUpperCase(),
    firstUsableLba: g.firstUsableLba,
    lastUsableLba: g.lastUsableLba,
    entryCount: o.entryCount ?? 128,
    entrySize: GPT_ENTRY_SIZE,
    primaryEntryLba: g.primaryEntryLba,
    backupEntryLba: g.backupEntryLba,
    partitions: o.partitions.map((p, i) => ({
      index: p.index ?? i + 1,
      typeGuid: p.typeGuid.toUpperCase(),
      uniqueGuid: p.uniqueGuid.toUpperCase(),
      startLba: p.startLba,
      endLba: p.endLba,
      attributes: p.attributes ?? 0n,
      name: p.name ?? '',
    })),
  };
  validateGptTable(t);
  return t;
}

/** The 72-byte name field; a name over 36 UTF-16 code units is an error. */
export function encodeGptName(name: string, path = 'name'): Uint8Array {
  if (name.length > GPT_NAME_UNITS) {
    fail('GPT_NAME_TOO_LONG', `${path}: a GPT name holds at most ${GPT_NAME_UNITS} UTF-16 code units, ${JSON.stringify(name)} has ${name.length}`, { structure: 'gpt', field: 'PartitionName', path, expected: GPT_NAME_UNITS, actual: name.length });
  }
  if (name.includes('\u0000')) {
    fail('GPT_NAME_INVALID', `${path}: a GPT name cannot contain NUL (it ends the name)`, { structure: 'gpt', field: 'PartitionName', path, actual: name });
  }
  const out = new Uint8Array(72);
  encodeUtf16le(name, out, 0);
  return out;
}

export function decodeGptName(field: Uint8Array): string {
  return decodeUtf16le(field, 0, 72, true);
}

/** The entry array (entryCount × entrySize bytes). */
export function encodeGptEntries(t: GptTable): Uint8Array {
  const size = t.entryCount * t.entrySize;
  const out = new Uint8Array(size);
  if (t.entriesRaw && t.entriesRaw.length === size) out.set(t.entriesRaw);
  const used = new Set<number>();
  for (const p of t.partitions) {
    if (!Number.isInteger(p.index) || p.index < 1 || p.index > t.entryCount) {
      fail('GPT_ENTRY_INDEX', `partition slot ${p.index} is outside 1..${t.entryCount}`, { structure: 'gpt', field: 'index', actual: p.index, expected: [1, t.entryCount] });
    }
    if (used.has(p.index)) fail('GPT_ENTRY_INDEX', `two partitions use slot ${p.index}`, { structure: 'gpt', field: 'index', actual: p.index });
    used.add(p.index);
  }
  // Slots no partition uses: keep raw bytes only where they read as empty.
  for (let i = 1; i <= t.entryCount; i++) {
    if (used.has(i)) continue;
    const o = (i - 1) * t.entrySize;
    if (out.subarray(o, o + 16).some((b) => b !== 0)) out.fill(0, o, o + t.entrySize);
  }
  for (const p of t.partitions) {
    const o = (p.index - 1) * t.entrySize;
    if (p.raw && p.raw.length === t.entrySize) out.set(p.raw, o);
    else out.fill(0, o, o + t.entrySize);
    const nameBytes = p.nameBytes && p.nameBytes.length === 72 && decodeGptName(p.nameBytes) === p.name ? p.nameBytes : encodeGptName(p.name);
    GptEntry.encode({
      PartitionTypeGUID: encodeGuid(p.typeGuid),
      UniquePartitionGUID: encodeGuid(p.uniqueGuid),
      StartingLBA: BigInt(p.startLba),
      EndingLBA: BigInt(p.endLba),
      Attributes: p.attributes,
      PartitionName: nameBytes,
    }, out, o);
  }
  return out;
}

/** One header sector (primary or backup), CRC filled in. */
export function encodeGptHeader(t: GptTable, which: 'primary' | 'backup', arrayCrc: number): Uint8Array {
  const raw = which === 'primary' ? t.primaryHeaderRaw ?? t.backupHeaderRaw : t.backupHeaderRaw ?? t.primaryHeaderRaw;
  const sector = new Uint8Array(t.sectorSize);
  let headerSize = GPT_HEADER_SIZE;
  let revision = GPT_REVISION;
  let reserved = 0;
  if (raw && raw.length === t.sectorSize) {
    const h = GptHeader.decode(raw);
    if (h.HeaderSize >= GPT_HEADER_SIZE && h.HeaderSize <= t.sectorSize) {
      sector.set(raw);
      headerSize = h.HeaderSize;
      revision = h.Revision;
      reserved = h.Reserved;
    }
  }
  const backupHeaderLba = t.totalSectors - 1;
  const myLba = which === 'primary' ? 1 : backupHeaderLba;
  GptHeader.encode({
    Signature: new TextEncoder().encode(GPT_SIGNATURE),
    Revision: revision,
    HeaderSize: headerSize,
    HeaderCRC32: 0,
    Reserved: reserved,
    MyLBA: BigInt(myLba),
    AlternateLBA: BigInt(which === 'primary' ? backupHeaderLba : 1),
    FirstUsableLBA: BigInt(t.firstUsableLba),
    LastUsableLBA: BigInt(t.lastUsableLba),
    DiskGUID: encodeGuid(t.diskGuid),
    PartitionEntryLBA: BigInt(which === 'primary' ? t.primaryEntryLba : t.backupEntryLba),
    NumberOfPartitionEntries: t.entryCount,
    SizeOfPartitionEntry: t.entrySize,
    PartitionEntryArrayCRC32: arrayCrc,
  }, sector, 0);
  new DataView(sector.buffer).setUint32(16, crc32(sector.subarray(0, headerSize)), true);
  return sector;
}

export interface EncodedGpt {
  protectiveMbr: Uint8Array;
  primaryHeader: Uint8Array;
  entries: Uint8Array;
  backupHeader: Uint8Array;
  arrayCrc: number;
  /** Byte offsets. */
  primaryHeaderOffset: number;
  primaryEntriesOffset: number;
  backupEntriesOffset: number;
  backupHeaderOffset: number;
}

export function encodeGpt(t: GptTable): EncodedGpt {
  validateGptTable(t);
  const entries = encodeGptEntries(t);
  const arrayCrc = crc32(entries);
  return {
    protectiveMbr: encodeProtectiveMbr(t.totalSectors, t.pmbrBootCode),
    primaryHeader: encodeGptHeader(t, 'primary', arrayCrc),
    entries,
    backupHeader: encodeGptHeader(t, 'backup', arrayCrc),
    arrayCrc,
    primaryHeaderOffset: t.sectorSize,
    primaryEntriesOffset: t.primaryEntryLba * t.sectorSize,
    backupEntriesOffset: t.backupEntryLba * t.sectorSize,
    backupHeaderOffset: (t.totalSectors - 1) * t.sectorSize,
  };
}

/** Length of the array prefix that holds non-zero bytes (the rest is a zero range). */
export function usedArrayLength(entries: Uint8Array, sectorSize: number): number {
  let end = entries.length;
  while (end > 0 && entries[end - 1] === 0) end--;
  return Math.min(entries.length, Math.ceil(end / sectorSize) * sectorSize);
}

/** Write a whole table into an image held in memory (tests, small images). */
export function writeGptToBytes(t: GptTable, image: Uint8Array): void {
  const e = encodeGpt(t);
  image.set(e.protectiveMbr, 0);
  image.set(e.primaryHeader, e.primaryHeaderOffset);
  image.set(e.entries, e.primaryEntriesOffset);
  image.set(e.entries, e.backupEntriesOffset);
  image.set(e.backupHeader, e.backupHeaderOffset);
}

function gptError(code: string, message: string, data: ErrorData): DiskwrightError {
  return new DiskwrightError(code, message, { structure: 'gpt', ...data });
}

/** Range and overlap checks on the entries of a table (UEFI 2.10 §5.3.3). */
export function validateGptTable(t: GptTable): void {
  if (t.firstUsableLba > t.lastUsableLba + 1 || t.lastUsableLba >= t.totalSectors) {
    throw gptError('GPT_USABLE_RANGE', `usable area ${t.firstUsableLba}..${t.lastUsableLba} does not fit a disk of ${t.totalSectors} sectors`, { field: 'LastUsableLBA', actual: t.lastUsableLba, expected: t.totalSectors - 1 });
  }
  const sorted = [...t.partitions].sort((a, b) => a.startLba - b.startLba);
  for (const p of sorted) {
    if (!isGuid(p.typeGuid) || !isGuid(p.uniqueGuid)) {
      throw gptError('GPT_ENTRY_GUID', `partition ${p.index}: malformed GUID`, { field: 'PartitionTypeGUID', actual: p.typeGuid });
    }
    if (p.startLba > p.endLba || p.startLba < t.firstUsableLba || p.endLba > t.lastUsableLba) {
      throw gptError('GPT_ENTRY_RANGE', `partition ${p.index} (LBA ${p.startLba}..${p.endLba}) lies outside the usable area ${t.firstUsableLba}..${t.lastUsableLba}`, {
        field: 'StartingLBA', index: p.index, actual: [p.startLba, p.endLba], expected: [t.firstUsableLba, t.lastUsableLba],
      });
    }
  }
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].startLba <= sorted[i - 1].endLba) {
      throw gptError('GPT_ENTRY_OVERLAP', `partitions ${sorted[i - 1].index} and ${sorted[i].index} overlap`, { field: 'StartingLBA', index: sorted[i].index, actual: sorted[i].startLba, expected: sorted[i - 1].endLba + 1 });
    }
  }
}

export function decodeGptHeader(sector: Uint8Array): GptHeaderValue {
  return GptHeader.decode(sector);
}

interface HeaderCheck {
  header: GptHeaderValue;
  raw: Uint8Array;
  entries: Uint8Array;
}

/**
 * Read and check one header and its array (UEFI 2.10 §5.3.2 "GPT header
 * validation", in the order the kernel's is_gpt_valid() makes the checks).
 */
function checkHeaderAt(disk: Disk, lba: number, sectorSize: number, which: 'primary' | 'backup'): HeaderCheck {
  const totalSectors = Math.floor(disk.size / sectorSize);
  const offset = lba * sectorSize;
  if (lba < 1 || lba >= totalSectors) {
    throw gptError('GPT_NOT_FOUND', `no ${which} GPT header: LBA ${lba} lies outside the ${totalSectors}-sector disk`, { which, offset, actual: lba });
  }
  const raw = disk.read(offset, sectorSize);
  const h = GptHeader.decode(raw);
  const sig = new TextDecoder('latin1').decode(h.Signature);
  if (sig !== GPT_SIGNATURE) {
    throw gptError('GPT_SIGNATURE', `${which} GPT header at LBA ${lba} has no "EFI PART" signature`, { which, offset, field: 'Signature', expected: GPT_SIGNATURE, actual: sig });
  }
  if (h.HeaderSize < GPT_HEADER_SIZE || h.HeaderSize > sectorSize) {
    throw gptError('GPT_HEADER_SIZE', `${which} GPT HeaderSize ${h.HeaderSize} is outside ${GPT_HEADER_SIZE}..${sectorSize}`, { which, offset: offset + 12, field: 'HeaderSize', expected: GPT_HEADER_SIZE, actual: h.HeaderSize });
  }
  const copy = raw.slice(0, h.HeaderSize);
  copy.fill(0, 16, 20);
  const crc = crc32(copy);
  if (crc !== h.HeaderCRC32) {
    throw gptError('GPT_HEADER_CRC', `${which} GPT header CRC32 mismatch`, { which, offset: offset + 16, field: 'HeaderCRC32', expected: crc, actual: h.HeaderCRC32 });
  }
  if (h.MyLBA !== BigInt(lba)) {
    throw gptError('GPT_MY_LBA', `${which} GPT header says it is at LBA ${h.MyLBA}, found at ${lba}`, { which, offset: offset + 24, field: 'MyLBA', expected: lba, actual: Number(h.MyLBA) });
  }
  if (h.SizeOfPartitionEntry < GPT_ENTRY_SIZE || h.SizeOfPartitionEntry % GPT_ENTRY_SIZE !== 0 || (h.SizeOfPartitionEntry & (h.SizeOfPartitionEntry - 1)) !== 0) {
    throw gptError('GPT_ENTRY_SIZE', `${which} GPT SizeOfPartitionEntry ${h.SizeOfPartitionEntry} is not 128 × 2^n`, { which, offset: offset + 84, field: 'SizeOfPartitionEntry', expected: GPT_ENTRY_SIZE, actual: h.SizeOfPartitionEntry });
  }
  const arrayBytes = h.NumberOfPartitionEntries * h.SizeOfPartitionEntry;
  if (h.NumberOfPartitionEntries === 0 || arrayBytes > MAX_GPT_ARRAY_BYTES) {
    throw gptError('GPT_ENTRY_COUNT', `${which} GPT NumberOfPartitionEntries ${h.NumberOfPartitionEntries} is out of range`, { which, offset: offset + 80, field: 'NumberOfPartitionEntries', expected: [1, MAX_GPT_ARRAY_BYTES / h.SizeOfPartitionEntry], actual: h.NumberOfPartitionEntries });
  }
  const arrayLba = h.PartitionEntryLBA;
  const arraySectors = Math.ceil(arrayBytes / sectorSize);
  const first = h.FirstUsableLBA;
  const last = h.LastUsableLBA;
  if (arrayLba < 1n || arrayLba + BigInt(arraySectors) > BigInt(totalSectors) || (arrayLba <= last && arrayLba + BigInt(arraySectors) > first && first <= last) || arrayLba === BigInt(lba)) {
    throw gptError('GPT_ARRAY_RANGE', `${which} GPT entry array at LBA ${arrayLba} (${arraySectors} sectors) lies outside the disk or inside the usable area`, { which, offset: offset + 72, field: 'PartitionEntryLBA', actual: Number(arrayLba) });
  }
  const entries = disk.read(Number(arrayLba) * sectorSize, arrayBytes);
  const acrc = crc32(entries);
  if (acrc !== h.PartitionEntryArrayCRC32) {
    throw gptError('GPT_ARRAY_CRC', `${which} GPT entry array CRC32 mismatch`, { which, offset: Number(arrayLba) * sectorSize, field: 'PartitionEntryArrayCRC32', expected: acrc, actual: h.PartitionEntryArrayCRC32 });
  }
  if (first > last + 1n || last >= BigInt(totalSectors) || first < 1n) {
    throw gptError('GPT_USABLE_RANGE', `${which} GPT usable area ${first}..${last} does not fit the ${totalSectors}-sector disk`, { which, offset: offset + 48, field: 'LastUsableLBA', expected: totalSectors - 1, actual: Number(last) });
  }
  return { header: h, raw, entries };
}

function tableFrom(c: HeaderCheck, sectorSize: number, totalSectors: number): GptTable {
  const h = c.header;
  const partitions: GptPartition[] = [];
  for (let i = 0; i < h.NumberOfPartitionEntries; i++) {
    const o = i * h.SizeOfPartitionEntry;
    const e = GptEntry.decode(c.entries, o);
    if (e.PartitionTypeGUID.every((b) => b === 0)) continue;
    partitions.push({
      index: i + 1,
      typeGuid: decodeGuid(e.PartitionTypeGUID),
      uniqueGuid: decodeGuid(e.UniquePartitionGUID),
      startLba: Number(e.StartingLBA),
      endLba: Number(e.EndingLBA),
      attributes: e.Attributes,
      name: decodeGptName(e.PartitionName),
      nameBytes: e.PartitionName,
      raw: c.entries.slice(o, o + h.SizeOfPartitionEntry),
    });
  }
  return {
    sectorSize,
    totalSectors,
    diskGuid: decodeGuid(h.DiskGUID),
    firstUsableLba: Number(h.FirstUsableLBA),
    lastUsableLba: Number(h.LastUsableLBA),
    entryCount: h.NumberOfPartitionEntries,
    entrySize: h.SizeOfPartitionEntry,
    primaryEntryLba: Number(h.PartitionEntryLBA),
    backupEntryLba: Number(h.PartitionEntryLBA),
    partitions,
    entriesRaw: c.entries,
  };
}

export interface ReadGptOptions {
  /** 512 or 4096; probed (512, then 4096) when absent. */
  sectorSize?: number;
  /** Entry range / overlap problems throw (default); false turns them into warnings. */
  strict?: boolean;
}

export interface ReadGptResult {
  table: GptTable;
  /** Which header the table was read from. */
  used: 'primary' | 'backup';
  warnings: string[];
}

function sameTable(a: HeaderCheck, b: HeaderCheck): boolean {
  const x = a.header;
  const y = b.header;
  return x.PartitionEntryArrayCRC32 === y.PartitionEntryArrayCRC32 && x.FirstUsableLBA === y.FirstUsableLBA && x.LastUsableLBA === y.LastUsableLBA
    && x.NumberOfPartitionEntries === y.NumberOfPartitionEntries && x.SizeOfPartitionEntry === y.SizeOfPartitionEntry
    && x.DiskGUID.every((v, i) => v === y.DiskGUID[i]);
}

function readGptWith(disk: Disk, sectorSize: number, strict: boolean): ReadGptResult {
  const totalSectors = Math.floor(disk.size / sectorSize);
  const warnings: string[] = [];
  let primary: HeaderCheck | null = null;
  let primaryError: DiskwrightError | null = null;
  try {
    primary = checkHeaderAt(disk, 1, sectorSize, 'primary');
  } catch (e) {
    if (!isDiskwrightError(e)) throw e;
    primaryError = e;
  }
  const backupLba = primary && primary.header.AlternateLBA < BigInt(totalSectors) && primary.header.AlternateLBA > 1n ? Number(primary.header.AlternateLBA) : totalSectors - 1;
  let backup: HeaderCheck | null = null;
  let backupError: DiskwrightError | null = null;
  try {
    backup = checkHeaderAt(disk, backupLba, sectorSize, 'backup');
  } catch (e) {
    if (!isDiskwrightError(e)) throw e;
    backupError = e;
  }
  if (!primary && !backup) {
    const p = primaryError!;
    const b = backupError!;
    const code = p.code === 'GPT_SIGNATURE' && (b.code === 'GPT_SIGNATURE' || b.code === 'GPT_NOT_FOUND') ? 'GPT_NOT_FOUND' : p.code === 'GPT_SIGNATURE' ? b.code : p.code;
    throw new DiskwrightError(code, `no valid GPT (${sectorSize}-byte sectors): primary: ${p.message}; backup: ${b.message}`, {
      structure: 'gpt', sectorSize, primary: { code: p.code, ...p.data }, backup: { code: b.code, ...b.data },
      ...(code === p.code ? p.data : b.data),
    });
  }
  let used: 'primary' | 'backup';
  let chosen: HeaderCheck;
  if (primary) {
    used = 'primary';
    chosen = primary;
    if (!backup) warnings.push(`backup GPT corrupt (${backupError!.code}), primary used`);
    else if (!sameTable(primary, backup)) warnings.push('backup GPT differs from the primary, primary used');
    if (primary.header.AlternateLBA !== BigInt(totalSectors - 1)) {
      warnings.push(`backup GPT header is at LBA ${primary.header.AlternateLBA}, not at the last LBA ${totalSectors - 1}`);
    }
  } else {
    used = 'backup';
    chosen = backup!;
    warnings.push(`primary GPT corrupt (${primaryError!.code}), backup used`);
  }
  const table = tableFrom(chosen, sectorSize, totalSectors);
  if (primary) {
    table.primaryHeaderRaw = primary.raw;
    table.primaryEntryLba = Number(primary.header.PartitionEntryLBA);
  } else {
    // Rebuild the primary where the backup says the usable area begins.
    const arraySectors = Math.ceil((table.entryCount * table.entrySize) / sectorSize);
    table.primaryEntryLba = Math.max(2, table.firstUsableLba - arraySectors);
  }
  if (backup) {
    table.backupHeaderRaw = backup.raw;
    table.backupEntryLba = Number(backup.header.PartitionEntryLBA);
  } else {
    table.backupEntryLba = table.lastUsableLba + 1;
  }
  const pmbr = disk.read(0, 512);
  table.pmbrBootCode = pmbr.slice(0, 440);
  if (pmbr[510] !== 0x55 || pmbr[511] !== 0xaa) warnings.push('no protective MBR');
  else if (![0, 1, 2, 3].some((i) => pmbr[446 + i * 16 + 4] === 0xee)) warnings.push('sector 0 holds no 0xEE protective partition');
  try {
    validateGptTable(table);
  } catch (e) {
    if (strict || !isDiskwrightError(e)) throw e;
    warnings.push(e.message);
  }
  return { table, used, warnings };
}

function hasSignature(disk: Disk, offset: number): boolean {
  if (offset < 0 || offset + 8 > disk.size) return false;
  const b = disk.read(offset, 8);
  return new TextDecoder('latin1').decode(b) === GPT_SIGNATURE;
}

/** Whether a GPT header signature sits where 512- or 4096-byte sectors put one. */
export function detectGptSectorSize(disk: Disk): number | null {
  for (const ss of [512, 4096]) {
    if (hasSignature(disk, ss)) return ss;
  }
  for (const ss of [512, 4096]) {
    if (disk.size >= 2 * ss && hasSignature(disk, (Math.floor(disk.size / ss) - 1) * ss)) return ss;
  }
  return null;
}

/**
 * Read the GPT of a disk: the primary if valid, else the backup (the result
 * says which). Sector size probed (512, then 4096) unless given.
 */
export function readGpt(disk: Disk, options: ReadGptOptions = {}): ReadGptResult {
  const strict = options.strict ?? true;
  if (disk.size < 1024) fail('GPT_NOT_FOUND', `image of ${disk.size} bytes is too small for a GPT`, { structure: 'gpt', actual: disk.size });
  if (options.sectorSize !== undefined) {
    if (options.sectorSize !== 512 && options.sectorSize !== 4096) fail('GPT_SECTOR_SIZE', `sector size must be 512 or 4096, got ${options.sectorSize}`, { structure: 'gpt', actual: options.sectorSize, expected: [512, 4096] });
    return readGptWith(disk, options.sectorSize, strict);
  }
  const candidates: number[] = [];
  for (const ss of [512, 4096]) {
    if (hasSignature(disk, ss) || (disk.size >= 2 * ss && hasSignature(disk, (Math.floor(disk.size / ss) - 1) * ss))) candidates.push(ss);
  }
  if (candidates.length === 0) fail('GPT_NOT_FOUND', 'no GPT header at LBA 1 or at the end of the disk (512- or 4096-byte sectors)', { structure: 'gpt', offset: 512, field: 'Signature', expected: GPT_SIGNATURE });
  let firstError: unknown;
  for (const ss of candidates) {
    try {
      return readGptWith(disk, ss, strict);
    } catch (e) {
      firstError ??= e;
    }
  }
  throw firstError;
}
