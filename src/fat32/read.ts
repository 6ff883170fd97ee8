// Read FAT12, FAT16 and FAT32 volumes (ours, mkfs.fat's, Windows', mtools'):
// list, stat and read files following VFAT long names, and rewrite a file's
// bytes in place. Every size and offset from the disk is checked before use,
// every loop is bounded, and nothing is allocated from a header's claim
// before it is checked against the disk's real size.
import { DiskwrightError, fail } from '../errors.js';
import type { Disk } from '../io/disk.js';
import type { FileExtent, FilesystemReader, FsEntry, FsInfo, FsStat } from '../fs/types.js';
import type { Timestamp } from '../tree/tree.js';
import { BOOT_SIGNATURE, Fat16BootSector, Fat32BootSector } from './boot-sector.js';
import {
  ATTR_DIRECTORY, ATTR_LONG_NAME, ATTR_LONG_NAME_MASK, ATTR_READ_ONLY, ATTR_VOLUME_ID, DIR_ENTRY_SIZE, DIR_FREE, DIR_KANJI_E5,
  DirEntry, NTRES_LOWER_BASE, NTRES_LOWER_EXT, decodeFatTime,
} from './dir-entry.js';
import { badClusterMark, endOfChainMin, fatBytesFor, getFatEntry, type FatBits } from './fat.js';
import { FAT16_MIN_CLUSTERS, FAT32_MAX_CLUSTERS } from './geometry.js';
import { LAST_LONG_ENTRY, LfnEntry, lfnChecksum, lfnUnits } from './lfn.js';
import { fatUpperCase } from './short-name.js';

export interface FatVolume {
  bits: FatBits;
  sectorSize: number;
  sectorsPerCluster: number;
  clusterSize: number;
  reservedSectors: number;
  numFats: number;
  /** The FAT copy in use (FAT32 BPB_ExtFlags with mirroring off; else 0). */
  activeFat: number;
  fatSectors: number;
  rootEntries: number;
  rootDirSectors: number;
  firstDataSector: number;
  totalSectors: number;
  clusterCount: number;
  /** FAT32 BPB_RootClus; 0 for FAT12/16. */
  rootCluster: number;
  media: number;
  hiddenSectors: number;
  volumeId: number | null;
  /** BS_VolLab, trailing spaces removed; null when absent or "NO NAME". */
  bpbLabel: string | null;
  oemName: string;
}

export interface OpenFatOptions {
  /** Accept a volume whose BPB claims more sectors than the disk has (reads past the end still fail). */
  allowTruncated?: boolean;
}

/** A directory entry as stored (after joining its long name). */
export interface FatDirRecord {
  /** The long name when a valid one precedes the entry, else the short name shown with the NT case flags. */
  name: string;
  shortName: string;
  longName: string | null;
  raw: Uint8Array;
  attr: number;
  ntRes: number;
  firstCluster: number;
  size: number;
  mtime: Timestamp;
  /** Byte offset of the short entry inside the volume. */
  offset: number;
}

const VALID_SECTOR_SIZES = [512, 1024, 2048, 4096];
const MAX_DIR_BYTES = 65536 * DIR_ENTRY_SIZE;
const FAT_WINDOW = 64 * 1024;
const FAT_CACHE_WINDOWS = 64;
const ascii = (b: Uint8Array) => String.fromCharCode(...b);

function badBpb(field: string, actual: unknown, expected: string): never {
  fail('FAT_BAD_BPB', `FAT boot sector: ${field} is ${String(actual)}, expected ${expected}`, { structure: 'FatBootSector', field, actual, expected });
}

/**
 * Does this first sector look like a FAT boot sector? (A jump instruction,
 * a sane BPB, and not exFAT or BitLocker, which keep a FAT-like BPB.)
 */
export function looksLikeFat(sector: Uint8Array): boolean {
  if (sector.length < 512) return false;
  const b = Fat16BootSector.decode(sector);
  const j = b.BS_jmpBoot;
  if (!(j[0] === 0xeb && j[2] === 0x90) && j[0] !== 0xe9) return false;
  const oem = ascii(b.BS_OEMName);
  if (oem === 'EXFAT   ' || oem === '-FVE-FS-' || oem === 'NTFS    ') return false;
  if (!VALID_SECTOR_SIZES.includes(b.BPB_BytsPerSec)) return false;
  const spc = b.BPB_SecPerClus;
  if (spc === 0 || (spc & (spc - 1)) !== 0) return false;
  if (b.BPB_RsvdSecCnt === 0 || b.BPB_NumFATs === 0) return false;
  if (b.BPB_Media !== 0xf0 && b.BPB_Media < 0xf8) return false;
  if ((b.BPB_TotSec16 || b.BPB_TotSec32) === 0) return false;
  const fz = b.BPB_FATSz16 || Fat32BootSector.decode(sector).BPB_FATSz32;
  return fz !== 0;
}

/** Decode and check the BPB of a volume of `diskSize` bytes. */
export function decodeFatVolume(sector: Uint8Array, diskSize: number, options: OpenFatOptions = {}): FatVolume {
  const b16 = Fat16BootSector.decode(sector);
  const b32 = Fat32BootSector.decode(sector);
  const ss = b16.BPB_BytsPerSec;
  if (!VALID_SECTOR_SIZES.includes(ss)) badBpb('BPB_BytsPerSec', ss, '512, 1024, 2048 or 4096');
  const spc = b16.BPB_SecPerClus;
  if (spc === 0 || (spc & (spc - 1)) !== 0) badBpb('BPB_SecPerClus', spc, 'a power of two from 1 to 128');
  if (b16.BPB_RsvdSecCnt === 0) badBpb('BPB_RsvdSecCnt', 0, 'at least 1');
  if (b16.BPB_NumFATs === 0) badBpb('BPB_NumFATs', 0, 'at least 1');
  const totalSectors = b16.BPB_TotSec16 || b16.BPB_TotSec32;
  if (totalSectors === 0) badBpb('BPB_TotSec32', 0, 'non-zero');
  // The kernel's fat_fill_super(): BPB_FATSz16 = 0 means FAT32, whatever the cluster count.
  const isFat32 = b16.BPB_FATSz16 === 0;
  const fatSectors = isFat32 ? b32.BPB_FATSz32 : b16.BPB_FATSz16;
  if (fatSectors === 0) badBpb('BPB_FATSz32', 0, 'non-zero');
  const rootEntries = isFat32 ? 0 : b16.BPB_RootEntCnt;
  if (!isFat32 && rootEntries === 0) badBpb('BPB_RootEntCnt', 0, 'non-zero on FAT12/16');
  const rootDirSectors = Math.ceil((rootEntries * DIR_ENTRY_SIZE) / ss);
  const firstDataSector = b16.BPB_RsvdSecCnt + b16.BPB_NumFATs * fatSectors + rootDirSectors;
  if (firstDataSector >= totalSectors) {
    badBpb('BPB_TotSec32', totalSectors, `more than the ${firstDataSector} sectors of reserved area, FATs and root directory`);
  }
  let clusterCount = Math.floor((totalSectors - firstDataSector) / spc);
  const bits: FatBits = isFat32 ? 32 : clusterCount < FAT16_MIN_CLUSTERS ? 12 : 16;
  // Clusters the FAT cannot describe are not there (the kernel's max_cluster clamp).
  const fatEntries = bits === 12 ? Math.floor((fatSectors * ss * 2) / 3) : (fatSectors * ss) / (bits / 8);
  clusterCount = Math.min(clusterCount, fatEntries - 2, bits === 32 ? FAT32_MAX_CLUSTERS : bits === 16 ? 0xfff5 - 2 : 0xff5 - 2);
  if (clusterCount < 1) badBpb('BPB_FATSz', fatSectors, 'room for at least one cluster');
  const metaEnd = firstDataSector * ss;
  if (metaEnd > diskSize) {
    fail('FAT_VOLUME_TRUNCATED', `FAT: the reserved area, FATs and root directory need ${metaEnd} bytes, the disk has ${diskSize}`,
      { structure: 'FatBootSector', expected: metaEnd, actual: diskSize });
  }
  if (!options.allowTruncated && totalSectors * ss > diskSize) {
    fail('FAT_VOLUME_TRUNCATED', `FAT: the boot sector claims ${totalSectors * ss} bytes, the disk has ${diskSize}`,
      { structure: 'FatBootSector', field: 'BPB_TotSec32', expected: totalSectors * ss, actual: diskSize });
  }
  let rootCluster = 0;
  let activeFat = 0;
  if (isFat32) {
    rootCluster = b32.BPB_RootClus;
    if (rootCluster < 2 || rootCluster > clusterCount + 1) badBpb('BPB_RootClus', rootCluster, `a cluster from 2 to ${clusterCount + 1}`);
    if (b32.BPB_ExtFlags & 0x80) activeFat = b32.BPB_ExtFlags & 0x0f;
    if (activeFat >= b16.BPB_NumFATs) badBpb('BPB_ExtFlags', b32.BPB_ExtFlags, 'an active FAT that exists');
  }
  const bootSig = isFat32 ? b32.BS_BootSig : b16.BS_BootSig;
  const hasExt = bootSig === 0x29 || bootSig === 0x28;
  const rawLabel = isFat32 ? b32.BS_VolLab : b16.BS_VolLab;
  let bpbLabel: string | null = bootSig === 0x29 ? ascii(rawLabel).replace(/[ \0]+$/, '') : null;
  if (bpbLabel === '' || bpbLabel === 'NO NAME') bpbLabel = null;
  return {
    bits, sectorSize: ss, sectorsPerCluster: spc, clusterSize: spc * ss, reservedSectors: b16.BPB_RsvdSecCnt,
    numFats: b16.BPB_NumFATs, activeFat, fatSectors, rootEntries, rootDirSectors, firstDataSector, totalSectors, clusterCount,
    rootCluster, media: b16.BPB_Media, hiddenSectors: b16.BPB_HiddSec,
    volumeId: hasExt ? (isFat32 ? b32.BS_VolID : b16.BS_VolID) : null,
    bpbLabel, oemName: ascii(b16.BS_OEMName),
  };
}

function splitPath(path: string): string[] {
  if (typeof path !== 'string') fail('FAT_PATH_INVALID', 'path must be a string', { path });
  return path.split('/').filter((p) => p !== '' && p !== '.');
}

function shortDisplay(raw: Uint8Array, nt: number): string {
  const bytes = Uint8Array.from(raw);
  if (bytes[0] === DIR_KANJI_E5) bytes[0] = DIR_FREE;
  const dec = (b: Uint8Array) => String.fromCharCode(...b).replace(/ +$/, '');
  let base = dec(bytes.subarray(0, 8));
  let ext = dec(bytes.subarray(8, 11));
  if (nt & NTRES_LOWER_BASE) base = base.toLowerCase();
  if (nt & NTRES_LOWER_EXT) ext = ext.toLowerCase();
  return ext ? `${base}.${ext}` : base;
}

export class FatReader implements FilesystemReader {
  readonly volume: FatVolume;
  private readonly fatCache = new Map<number, Uint8Array>();
  private fat12: Uint8Array | null = null;
  private rootLabel: string | null | undefined;

  constructor(readonly disk: Disk, options: OpenFatOptions = {}) {
    if (disk.size < 512) fail('FAT_NOT_FAT', `FAT: the disk has only ${disk.size} bytes`, { actual: disk.size });
    const first = disk.read(0, 512);
    if (!looksLikeFat(first)) fail('FAT_NOT_FAT', 'FAT: sector 0 is not a FAT boot sector', { structure: 'FatBootSector', offset: 0 });
    const ss = first[11] | (first[12] << 8);
    const sector = ss > 512 && disk.size >= ss ? disk.read(0, ss) : first;
    const sig = sector[510] | (sector[511] << 8);
    if (sig !== BOOT_SIGNATURE) {
      fail('FAT_BAD_BPB', 'FAT boot sector: no 0x55AA signature', { structure: 'FatBootSector', field: 'Signature_word', expected: BOOT_SIGNATURE, actual: sig, offset: 510 });
    }
    this.volume = decodeFatVolume(sector, disk.size, options);
  }

  // ---- FAT -------------------------------------------------------------

  private fatOffset(): number {
    const v = this.volume;
    return (v.reservedSectors + v.activeFat * v.fatSectors) * v.sectorSize;
  }

  /** The raw FAT entry of cluster `n` (0 … clusterCount+1). */
  fatEntry(n: number): number {
    const v = this.volume;
    if (n < 0 || n > v.clusterCount + 1) fail('FAT_CLUSTER_OUT_OF_RANGE', `FAT: cluster ${n} is outside 2…${v.clusterCount + 1}`, { actual: n, expected: v.clusterCount + 1 });
    if (v.bits === 12) {
      // A FAT12 table is at most 6 KiB (4084 entries): read it whole, so no entry straddles a window.
      if (!this.fat12) {
        const buf = new Uint8Array(fatBytesFor(v.clusterCount + 2, 12) + 1);
        buf.set(this.disk.read(this.fatOffset(), Math.min(buf.length, v.fatSectors * v.sectorSize)));
        this.fat12 = buf;
      }
      return getFatEntry(this.fat12, n, 12);
    }
    const eb = v.bits / 8;
    const byte = n * eb;
    const w = Math.floor(byte / FAT_WINDOW);
    let buf = this.fatCache.get(w);
    if (!buf) {
      const len = Math.min(FAT_WINDOW, v.fatSectors * v.sectorSize - w * FAT_WINDOW);
      buf = this.disk.read(this.fatOffset() + w * FAT_WINDOW, len);
      if (this.fatCache.size >= FAT_CACHE_WINDOWS) this.fatCache.delete(this.fatCache.keys().next().value!);
      this.fatCache.set(w, buf);
    }
    return getFatEntry(buf, (byte - w * FAT_WINDOW) / eb, v.bits);
  }

  /**
   * The clusters of the chain starting at `first`, as runs, for an object
   * that needs `need` clusters (null: up to `limit`, ending at end of chain).
   * Loops, free or bad clusters, clusters outside the volume and chains of
   * the wrong length are coded errors.
   */
  chain(first: number, need: number | null, path: string, limit = this.volume.clusterCount): Array<{ start: number; count: number }> {
    const v = this.volume;
    const eoc = endOfChainMin(v.bits);
    const bad = badClusterMark(v.bits);
    const runs: Array<{ start: number; count: number }> = [];
    const max = need ?? limit;
    let c = first;
    let n = 0;
    for (;;) {
      if (c < 2 || c > v.clusterCount + 1) {
        fail('FAT_CLUSTER_OUT_OF_RANGE', `${path}: its cluster chain reaches cluster ${c}, outside 2…${v.clusterCount + 1}`, { path, actual: c, expected: v.clusterCount + 1 });
      }
      if (n >= max) {
        if (this.chainLoops(first, max + 1)) fail('FAT_CHAIN_LOOP', `${path}: its cluster chain loops`, { path, cluster: first });
        if (need === null) fail('FAT_DIR_TOO_LARGE', `${path}: the directory is longer than ${max} clusters`, { path, expected: max });
        fail('FAT_CHAIN_TOO_LONG', `${path}: the cluster chain is longer than the ${need} clusters the size needs`, { path, expected: need });
      }
      const last = runs[runs.length - 1];
      if (last && last.start + last.count === c) last.count++; else runs.push({ start: c, count: 1 });
      n++;
      const next = this.fatEntry(c);
      if (next >= eoc) break;
      if (next === 0) fail('FAT_CHAIN_FREE', `${path}: its cluster chain runs into the free cluster after ${c}`, { path, cluster: c });
      if (next === bad || next === 1) fail('FAT_CHAIN_BAD', `${path}: its cluster chain runs into a bad or reserved cluster mark after ${c}`, { path, cluster: c, actual: next });
      c = next;
    }
    if (need !== null && n < need) {
      fail('FAT_CHAIN_SHORT', `${path}: the cluster chain has ${n} clusters, the size needs ${need}`, { path, expected: need, actual: n });
    }
    return runs;
  }

  private chainLoops(first: number, steps: number): boolean {
    const seen = new Set<number>();
    let c = first;
    const eoc = endOfChainMin(this.volume.bits);
    for (let i = 0; i < steps; i++) {
      if (seen.has(c)) return true;
      seen.add(c);
      const next = this.fatEntry(c);
      if (next < 2 || next >= eoc || next > this.volume.clusterCount + 1) return false;
      c = next;
    }
    return false;
  }

  clusterOffset(c: number): number {
    const v = this.volume;
    return v.firstDataSector * v.sectorSize + (c - 2) * v.clusterSize;
  }

  private readRuns(runs: Array<{ start: number; count: number }>, length: number, path: string): Uint8Array {
    const out = new Uint8Array(length);
    let pos = 0;
    for (const r of runs) {
      if (pos >= length) break;
      const off = this.clusterOffset(r.start);
      const n = Math.min(r.count * this.volume.clusterSize, length - pos);
      if (off + n > this.disk.size) {
        fail('FAT_CLUSTER_OUT_OF_RANGE', `${path}: its data lies past the end of the disk (${off + n} > ${this.disk.size})`, { path, offset: off, actual: off + n, expected: this.disk.size });
      }
      out.set(this.disk.read(off, n), pos);
      pos += n;
    }
    return out;
  }

  // ---- directories -----------------------------------------------------

  /** Raw bytes of a directory: the FAT12/16 root region, or a cluster chain. */
  private dirBytes(cluster: number, path: string): { bytes: Uint8Array; offsets: (i: number) => number } {
    const v = this.volume;
    if (cluster === 0 && v.bits !== 32) {
      const off = (v.reservedSectors + v.numFats * v.fatSectors) * v.sectorSize;
      const bytes = this.disk.read(off, v.rootEntries * DIR_ENTRY_SIZE);
      return { bytes, offsets: (i) => off + i };
    }
    const first = cluster === 0 ? v.rootCluster : cluster;
    const runs = this.chain(first, null, path, Math.ceil(MAX_DIR_BYTES / v.clusterSize));
    const total = runs.reduce((s, r) => s + r.count, 0) * v.clusterSize;
    const bytes = this.readRuns(runs, total, path);
    return {
      bytes,
      offsets: (i) => {
        let ci = Math.floor(i / v.clusterSize);
        for (const r of runs) {
          if (ci < r.count) return this.clusterOffset(r.start + ci) + (i % v.clusterSize);
          ci -= r.count;
        }
        return -1;
      },
    };
  }

  /** Entries of the directory at `cluster` (0 = root), including "." and "..", not the volume label; long names joined. */
  readDirRecords(cluster: number, path: string): { records: FatDirRecord[]; label: string | null } {
    const v = this.volume;
    const { bytes, offsets } = this.dirBytes(cluster, path);
    const records: FatDirRecord[] = [];
    let label: string | null = null;
    let lfn: { units: number[][]; sum: number; expect: number; count: number } | null = null;
    for (let i = 0; i + DIR_ENTRY_SIZE <= bytes.length; i += DIR_ENTRY_SIZE) {
      const b0 = bytes[i];
      if (b0 === 0x00) break;
      if (b0 === DIR_FREE) { lfn = null; continue; }
      const attr = bytes[i + 11];
      if ((attr & ATTR_LONG_NAME_MASK) === ATTR_LONG_NAME) {
        const l = LfnEntry.decode(bytes, i);
        const ord = l.LDIR_Ord & 0x3f;
        if (l.LDIR_Ord & LAST_LONG_ENTRY) {
          lfn = ord >= 1 && ord <= 20 ? { units: [], sum: l.LDIR_Chksum, expect: ord, count: ord } : null;
        }
        if (lfn && ord === lfn.expect && l.LDIR_Chksum === lfn.sum) {
          lfn.units[ord - 1] = lfnUnits(l);
          lfn.expect--;
        } else lfn = null;
        continue;
      }
      const d = DirEntry.decode(bytes, i);
      if (attr & ATTR_VOLUME_ID) {
        if (!(attr & ATTR_DIRECTORY) && label === null) label = ascii(d.DIR_Name).replace(/[ \0]+$/, '');
        lfn = null;
        continue;
      }
      let longName: string | null = null;
      if (lfn && lfn.expect === 0 && lfnChecksum(d.DIR_Name) === lfn.sum) {
        const units = lfn.units.flat();
        const end = units.indexOf(0);
        longName = String.fromCharCode(...(end < 0 ? units : units.slice(0, end)));
      }
      lfn = null;
      const shortName = shortDisplay(d.DIR_Name, d.DIR_NTRes);
      const fc = (v.bits === 32 ? d.DIR_FstClusHI << 16 : 0) | d.DIR_FstClusLO;
      records.push({
        name: longName ?? shortName, shortName, longName, raw: d.DIR_Name, attr, ntRes: d.DIR_NTRes,
        firstCluster: fc >>> 0, size: d.DIR_FileSize, mtime: decodeFatTime(d.DIR_WrtDate, d.DIR_WrtTime), offset: offsets(i),
      });
    }
    return { records, label };
  }

  private isDot(r: FatDirRecord): boolean {
    return r.raw[0] === 0x2e && (ascii(r.raw) === '.          ' || ascii(r.raw) === '..         ');
  }

  /** The record at `path`; null for the root. */
  private lookup(path: string): FatDirRecord | null {
    const parts = splitPath(path);
    let cluster = 0;
    let rec: FatDirRecord | null = null;
    let at = '';
    // Directory clusters on the way down: meeting one again is a cycle (a corrupt entry pointing at an ancestor).
    const seen = new Set<number>([this.volume.bits === 32 ? this.volume.rootCluster : 0]);
    for (const p of parts) {
      if (rec && !(rec.attr & ATTR_DIRECTORY)) fail('FAT_NOT_A_DIRECTORY', `${at} is not a directory`, { path: at });
      const { records } = this.readDirRecords(cluster, at || '/');
      const want = fatUpperCase(p);
      const found = records.find((r) => !this.isDot(r) && (fatUpperCase(r.name) === want || fatUpperCase(r.shortName) === want));
      at += '/' + p;
      if (!found) fail('FAT_NOT_FOUND', `${at}: no such file or directory`, { path: at });
      rec = found;
      cluster = found.firstCluster;
      if ((found.attr & ATTR_DIRECTORY) && cluster === 0) {
        // A ".."-style zero cluster for a real subdirectory would mean the root: refuse, it is a cycle.
        fail('FAT_DIR_CYCLE', `${at}: the directory points at cluster 0 (the root)`, { path: at });
      }
      if (found.attr & ATTR_DIRECTORY) {
        if (seen.has(cluster)) fail('FAT_DIR_CYCLE', `${at}: the directory is one of its own ancestors`, { path: at, cluster });
        seen.add(cluster);
      }
    }
    return rec;
  }

  private entryOf(r: FatDirRecord): FsEntry {
    const dir = (r.attr & ATTR_DIRECTORY) !== 0;
    return {
      name: r.name,
      type: dir ? 'dir' : 'file',
      mode: dir ? 0o755 : r.attr & ATTR_READ_ONLY ? 0o444 : 0o644,
      uid: 0, gid: 0,
      size: dir ? 0 : r.size,
      mtime: r.mtime,
    };
  }

  // ---- FilesystemReader ------------------------------------------------

  /** The label: the root directory's volume-label entry, else BS_VolLab (as blkid reads it). */
  label(): string | null {
    if (this.rootLabel === undefined) {
      let l: string | null = null;
      try { l = this.readDirRecords(0, '/').label; } catch (e) { if (!(e instanceof DiskwrightError)) throw e; }
      this.rootLabel = l || this.volume.bpbLabel;
    }
    return this.rootLabel;
  }

  /** Free clusters, counted in the FAT. */
  freeClusters(): number {
    let free = 0;
    for (let c = 2; c <= this.volume.clusterCount + 1; c++) if (this.fatEntry(c) === 0) free++;
    return free;
  }

  info(): FsInfo {
    const v = this.volume;
    const size = v.totalSectors * v.sectorSize;
    const type = v.bits === 32 ? 'fat32' : v.bits === 16 ? 'fat16' : 'fat12';
    let uuid: string | null = null;
    if (v.volumeId !== null) {
      const h = v.volumeId.toString(16).toUpperCase().padStart(8, '0');
      uuid = `${h.slice(0, 4)}-${h.slice(4)}`;
    }
    return { type, label: this.label(), uuid, size, used: size - this.freeClusters() * v.clusterSize, blockSize: v.clusterSize };
  }

  list(path: string): FsEntry[] {
    const rec = this.lookup(path);
    if (rec && !(rec.attr & ATTR_DIRECTORY)) fail('FAT_NOT_A_DIRECTORY', `${path} is not a directory`, { path });
    const { records } = this.readDirRecords(rec ? rec.firstCluster : 0, path);
    return records.filter((r) => !this.isDot(r)).map((r) => this.entryOf(r));
  }

  stat(path: string): FsStat {
    const rec = this.lookup(path);
    if (!rec) {
      return { name: '/', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: decodeFatTime(0x21, 0), id: this.volume.rootCluster, nlink: 1 };
    }
    return { ...this.entryOf(rec), id: rec.firstCluster, nlink: 1 };
  }

  private fileRecord(path: string): FatDirRecord {
    const rec = this.lookup(path);
    if (!rec) fail('FAT_IS_A_DIRECTORY', `${path} is a directory`, { path });
    if (rec.attr & ATTR_DIRECTORY) fail('FAT_IS_A_DIRECTORY', `${path} is a directory`, { path });
    return rec;
  }

  private fileRuns(rec: FatDirRecord, path: string): Array<{ start: number; count: number }> {
    if (rec.size === 0) return [];
    if (rec.firstCluster === 0) fail('FAT_CHAIN_SHORT', `${path}: ${rec.size} bytes but no clusters`, { path, expected: rec.size, actual: 0 });
    return this.chain(rec.firstCluster, Math.ceil(rec.size / this.volume.clusterSize), path);
  }

  readFile(path: string): Uint8Array {
    const rec = this.fileRecord(path);
    return this.readRuns(this.fileRuns(rec, path), rec.size, path);
  }

  readlink(path: string): string {
    return fail('FAT_NOT_A_SYMLINK', `${path}: FAT has no symbolic links`, { path });
  }

  fileExtents(path: string): FileExtent[] {
    const rec = this.fileRecord(path);
    const out: FileExtent[] = [];
    let left = rec.size;
    for (const r of this.fileRuns(rec, path)) {
      const length = Math.min(left, r.count * this.volume.clusterSize);
      out.push({ offset: this.clusterOffset(r.start), length });
      left -= length;
    }
    return out;
  }

  rewriteFile(path: string, data: Uint8Array): void {
    if (!this.disk.write) fail('FAT_READ_ONLY', `${path}: the disk is open read-only`, { path });
    const rec = this.fileRecord(path);
    if (data.length !== rec.size) {
      fail('FAT_REWRITE_SIZE', `${path}: an in-place rewrite keeps the size (${rec.size} bytes), got ${data.length}`, { path, expected: rec.size, actual: data.length });
    }
    const extents = this.fileExtents(path);
    for (const e of extents) {
      if (e.offset + e.length > this.disk.size) fail('FAT_CLUSTER_OUT_OF_RANGE', `${path}: its data lies past the end of the disk`, { path, offset: e.offset });
    }
    let pos = 0;
    for (const e of extents) {
      this.disk.write(e.offset, data.subarray(pos, pos + e.length));
      pos += e.length;
    }
  }
}

/** Open a FAT12/16/32 volume; FAT_NOT_FAT when it is none, other FAT_* codes when it is broken. */
export function openFat(disk: Disk, options: OpenFatOptions = {}): FatReader {
  return new FatReader(disk, options);
}
