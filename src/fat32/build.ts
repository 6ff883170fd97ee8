// Build a FAT32 or FAT16 volume from a FileTree: plan, then emit.
//
// planFat() checks every name, gives every entry its short name, lays the
// volume out (mkfs.fat's geometry) and gives every directory and file one
// contiguous run of clusters, in the tree's walk order. Nothing is written
// until the whole tree is known to fit. emit() writes in offset order: the
// reserved sectors, both FATs (built one window at a time; the unused tail
// is a zero range), the FAT16 root directory, then directories and file data.
// Memory is proportional to the number of entries, never to the volume.
import { fail } from '../errors.js';
import { deriveU32 } from '../codec/derive.js';
import type { Sink } from '../io/sink.js';
import { StagedWriter } from '../io/stage.js';
import type { FilesystemPlan } from '../fs/types.js';
import type { DirNode, FileNode, FileTree, Timestamp, TreeNode } from '../tree/tree.js';
import {
  BOOT_SIGNATURE, EXTENDED_BOOT_SIGNATURE, Fat16BootSector, Fat32BootSector, NON_BOOTABLE_CODE,
} from './boot-sector.js';
import {
  ATTR_ARCHIVE, ATTR_DIRECTORY, ATTR_READ_ONLY, ATTR_VOLUME_ID, DIR_ENTRY_SIZE, DirEntry, encodeFatTime,
} from './dir-entry.js';
import { encodeFatWindow, type ClusterRun } from './fat.js';
import { encodeFsInfo, FSI_UNKNOWN } from './fsinfo.js';
import { planFatGeometry, type FatChoice, type FatGeometry } from './geometry.js';
import { encodeLfnEntries, LFN_CHARS_PER_ENTRY } from './lfn.js';
import { checkFatName, exactShortName, fatUpperCase, ShortNameAllocator } from './short-name.js';

export interface FatBuildOptions {
  tree: FileTree;
  /** Volume bytes (the partition's size). */
  size: number;
  sectorSize?: number;
  fat?: FatChoice;
  clusterSize?: number;
  /** Up to 11 characters; null or absent for none. */
  label?: string | null;
  /** BS_VolID; derived from `seed` when absent. */
  volumeId?: number;
  seed?: string;
  /** Extra labels for deriving the volume id (the partition number, say). */
  seedLabels?: (string | number)[];
  /** Bytes from the start of the disk to the volume (BPB_HiddSec = this / sector size). */
  partitionOffset?: number;
  /** FAT16 root directory entries (at least; grown to fit). */
  rootEntries?: number;
  /** JSON path (or other name) of the volume, for errors. */
  path?: string;
}

export interface FatPlan extends FilesystemPlan {
  geometry: FatGeometry;
  volumeId: number;
  /** Clusters in use after the build. */
  usedClusters: number;
}

interface EntryPlan {
  name: string;
  path: string;
  node: FileNode | DirNode;
  raw: Uint8Array;
  ntFlags: number;
  lfn: boolean;
  firstCluster: number;
  clusterCount: number;
  dir?: DirPlan;
}

interface DirPlan {
  node: DirNode;
  path: string;
  parent: DirPlan | null;
  entries: EntryPlan[];
  upper: Map<string, string>;
  slots: number;
  firstCluster: number;
  clusterCount: number;
}

type Item = { dir: DirPlan } | { file: EntryPlan };

const MAX_DIR_SLOTS = 65536; // fatgen103 §6: a directory holds at most 65,536 entries.
const MAX_FILE_SIZE = 0xffffffff;
const FAT_WINDOW_BYTES = 256 << 10;

/** Check a volume label; returns the 11 bytes of BS_VolLab. */
export function encodeFatLabel(label: string, path: string): Uint8Array {
  if (label.length === 0 || label.length > 11 || !/^[\x20-\x7e]+$/.test(label) || /["*+,./:;<=>?[\\\]|]/.test(label) || label.startsWith(' ')) {
    fail('FAT_LABEL_INVALID', `${path}.label: a FAT label is 1 to 11 printable ASCII characters without "*+,./:;<=>?[\\]| and no leading space, got ${JSON.stringify(label)}`,
      { path: `${path}.label`, field: 'label', actual: label });
  }
  const out = new Uint8Array(11).fill(0x20);
  for (let i = 0; i < label.length; i++) out[i] = label.charCodeAt(i);
  return out;
}

function volumeIdString(id: number): string {
  const h = id.toString(16).toUpperCase().padStart(8, '0');
  return `${h.slice(0, 4)}-${h.slice(4)}`;
}

/** Plan a FAT volume; throws (before anything is written) when the tree cannot be stored or does not fit. */
export function planFat(o: FatBuildOptions): FatPlan {
  const vpath = o.path ?? 'filesystem';
  const ss = o.sectorSize ?? 512;
  const label = o.label ?? null;
  const labelBytes = label !== null ? encodeFatLabel(label, vpath) : null;

  // 1. Entries and names, in the tree's sorted walk order.
  const dirs = new Map<DirNode, DirPlan>();
  const items: Item[] = [];
  let root: DirPlan | null = null;
  let files = 0;
  let dataBytes = 0;
  for (const [path, node, parent] of o.tree.walk()) {
    if (parent === null) {
      root = { node: node as DirNode, path: '/', parent: null, entries: [], upper: new Map(), slots: 0, firstCluster: 0, clusterCount: 0 };
      dirs.set(node as DirNode, root);
      items.push({ dir: root });
      continue;
    }
    const pd = dirs.get(parent)!;
    const name = path.slice(path.lastIndexOf('/') + 1);
    if (node.kind !== 'file' && node.kind !== 'dir') {
      fail('FAT_UNSUPPORTED_TYPE', `${path}: a ${node.kind} cannot be stored on FAT`, { path, type: node.kind, origin: node.origin });
    }
    checkFatName(name, path);
    const up = fatUpperCase(name);
    const clash = pd.upper.get(up);
    if (clash !== undefined) {
      fail('FAT_NAME_CASE_CONFLICT', `${path}: FAT names ignore case, and ${pd.path === '/' ? '' : pd.path}/${clash} is the same name`,
        { path, other: `${pd.path === '/' ? '' : pd.path}/${clash}` });
    }
    pd.upper.set(up, name);
    const e: EntryPlan = { name, path, node, raw: new Uint8Array(11), ntFlags: 0, lfn: false, firstCluster: 0, clusterCount: 0 };
    pd.entries.push(e);
    if (node.kind === 'dir') {
      const dp: DirPlan = { node, path, parent: pd, entries: [], upper: new Map(), slots: 0, firstCluster: 0, clusterCount: 0 };
      if (dirs.has(node)) fail('FAT_UNSUPPORTED_TYPE', `${path}: a directory reached by two paths cannot be stored on FAT`, { path });
      dirs.set(node, dp);
      e.dir = dp;
      items.push({ dir: dp });
    } else {
      if (node.source.size > MAX_FILE_SIZE) {
        fail('FAT_FILE_TOO_LARGE', `${path}: ${node.source.size} bytes is more than FAT's largest file (${MAX_FILE_SIZE} bytes)`,
          { path, actual: node.source.size, expected: MAX_FILE_SIZE });
      }
      files++;
      dataBytes += node.source.size;
      items.push({ file: e });
    }
  }
  if (!root) throw new Error('tree without a root');

  for (const d of dirs.values()) {
    const alloc = new ShortNameAllocator();
    const needAlias: EntryPlan[] = [];
    for (const e of d.entries) {
      const s = exactShortName(e.name);
      if (s && alloc.reserve(s.raw)) { e.raw = s.raw; e.ntFlags = s.ntFlags; } else needAlias.push(e);
    }
    for (const e of needAlias) { e.raw = alloc.alias(e.name, e.path); e.lfn = true; }
    let slots = d.parent ? 2 : labelBytes ? 1 : 0;
    for (const e of d.entries) slots += 1 + (e.lfn ? Math.ceil(e.name.length / LFN_CHARS_PER_ENTRY) : 0);
    if (slots > MAX_DIR_SLOTS) {
      fail('FAT_DIR_TOO_LARGE', `${d.path}: ${slots} directory entries are more than FAT's ${MAX_DIR_SLOTS} per directory`,
        { path: d.path, actual: slots, expected: MAX_DIR_SLOTS });
    }
    d.slots = slots;
  }

  // 2. Geometry. A FAT16 root directory is a fixed region: make it big enough.
  const perSector = ss / DIR_ENTRY_SIZE;
  const rootEntries = Math.max(o.rootEntries ?? 512, Math.ceil(root.slots / perSector) * perSector);
  const g = planFatGeometry({ size: o.size, sectorSize: ss, fat: o.fat, clusterSize: o.clusterSize, rootEntries, path: vpath });
  if (g.bits === 16 && root.slots > 0xffff - perSector) {
    fail('FAT_DIR_TOO_LARGE', `/: ${root.slots} entries do not fit a FAT16 root directory`, { path: '/', actual: root.slots });
  }
  const cs = g.clusterSize;

  // 3. Clusters: one contiguous run per directory and per non-empty file.
  let next = 2;
  const runs: ClusterRun[] = [];
  const order: Item[] = [];
  for (const it of items) {
    let count: number;
    if ('dir' in it) {
      if (it.dir.parent === null && g.bits !== 32) continue;
      count = Math.max(1, Math.ceil((it.dir.slots * DIR_ENTRY_SIZE) / cs));
      it.dir.firstCluster = next;
      it.dir.clusterCount = count;
    } else {
      const size = (it.file.node as FileNode).source.size;
      if (size === 0) continue;
      count = Math.ceil(size / cs);
      it.file.firstCluster = next;
      it.file.clusterCount = count;
    }
    runs.push({ start: next, count });
    order.push(it);
    next += count;
  }
  for (const d of dirs.values()) {
    for (const e of d.entries) if (e.dir) { e.firstCluster = e.dir.firstCluster; e.clusterCount = e.dir.clusterCount; }
  }
  const used = next - 2;
  if (used > g.clusterCount) {
    fail('FAT_NO_SPACE', `${vpath}: the files need ${used * cs} bytes (${used} clusters of ${cs}) but the volume holds ${g.clusterCount * cs}`,
      { path: vpath, volume: label ?? vpath, needed: used * cs, available: g.clusterCount * cs, clusterSize: cs });
  }

  const volumeId = o.volumeId ?? deriveU32(o.seed ?? '', 'fat-volume-id', ...(o.seedLabels ?? []));
  const hidden = Math.floor((o.partitionOffset ?? 0) / ss);
  const type = g.bits === 32 ? 'fat32' : 'fat16';

  const bootSector = (): Uint8Array => {
    const sec = new Uint8Array(ss);
    const common = {
      BS_OEMName: new TextEncoder().encode('MSWIN4.1'),
      BPB_BytsPerSec: ss,
      BPB_SecPerClus: g.sectorsPerCluster,
      BPB_RsvdSecCnt: g.reservedSectors,
      BPB_NumFATs: g.numFats,
      BPB_RootEntCnt: g.rootEntries,
      BPB_TotSec16: g.bits === 16 && g.totalSectors < 0x10000 ? g.totalSectors : 0,
      BPB_Media: 0xf8,
      BPB_SecPerTrk: 63,
      BPB_NumHeads: 255,
      BPB_HiddSec: hidden,
      BPB_TotSec32: g.bits === 16 && g.totalSectors < 0x10000 ? 0 : g.totalSectors,
      BS_DrvNum: 0x80,
      BS_Reserved1: 0,
      BS_BootSig: EXTENDED_BOOT_SIGNATURE,
      BS_VolID: volumeId,
      BS_VolLab: labelBytes ?? new TextEncoder().encode('NO NAME    '),
      Signature_word: BOOT_SIGNATURE,
    };
    if (g.bits === 32) {
      Fat32BootSector.encode({
        ...Fat32BootSector.zero(), ...common,
        BS_jmpBoot: Uint8Array.of(0xeb, 0x58, 0x90),
        BPB_FATSz16: 0,
        BPB_FATSz32: g.fatSectors,
        BPB_ExtFlags: 0,
        BPB_FSVer: 0,
        BPB_RootClus: root!.firstCluster,
        BPB_FSInfo: 1,
        BPB_BkBootSec: 6,
        BS_FilSysType: new TextEncoder().encode('FAT32   '),
        BS_BootCode: NON_BOOTABLE_CODE,
      }, sec);
    } else {
      Fat16BootSector.encode({
        ...Fat16BootSector.zero(), ...common,
        BS_jmpBoot: Uint8Array.of(0xeb, 0x3c, 0x90),
        BPB_FATSz16: g.fatSectors,
        BS_FilSysType: new TextEncoder().encode('FAT16   '),
        BS_BootCode: NON_BOOTABLE_CODE,
      }, sec);
    }
    return sec;
  };

  const encodeDir = (d: DirPlan, bytes: number): Uint8Array => {
    const buf = new Uint8Array(bytes);
    let slot = 0;
    const put = (b: Uint8Array) => { buf.set(b, slot * DIR_ENTRY_SIZE); slot++; };
    const times = (n: TreeNode) => {
      const w = encodeFatTime(n.mtime);
      const c = encodeFatTime(n.crtime ?? n.mtime);
      const a = encodeFatTime(n.atime ?? n.mtime);
      return { DIR_CrtTimeTenth: c.centis, DIR_CrtTime: c.time, DIR_CrtDate: c.date, DIR_LstAccDate: a.date, DIR_WrtTime: w.time, DIR_WrtDate: w.date };
    };
    const short = (raw: Uint8Array, attr: number, nt: number, node: TreeNode, cluster: number, size: number) =>
      DirEntry.encode({
        DIR_Name: raw, DIR_Attr: attr, DIR_NTRes: nt, ...times(node),
        DIR_FstClusHI: g.bits === 32 ? cluster >>> 16 : 0, DIR_FstClusLO: cluster & 0xffff, DIR_FileSize: size,
      });
    const dotName = (s: string) => { const r = new Uint8Array(11).fill(0x20); for (let i = 0; i < s.length; i++) r[i] = 0x2e; return r; };
    if (d.parent === null) {
      if (labelBytes) {
        const t = encodeFatTime(d.node.mtime);
        put(DirEntry.encode({ ...DirEntry.zero(), DIR_Name: labelBytes, DIR_Attr: ATTR_VOLUME_ID, DIR_WrtTime: t.time, DIR_WrtDate: t.date }));
      }
    } else {
      put(short(dotName('.'), ATTR_DIRECTORY, 0, d.node, d.firstCluster, 0));
      // ".." of a directory in the root points to cluster 0 (fatgen103 §6.7), also on FAT32.
      const up = d.parent.parent === null ? 0 : d.parent.firstCluster;
      put(short(dotName('..'), ATTR_DIRECTORY, 0, d.parent.node, up, 0));
    }
    for (const e of d.entries) {
      if (e.lfn) for (const l of encodeLfnEntries(e.name, e.raw)) put(l);
      if (e.node.kind === 'dir') put(short(e.raw, ATTR_DIRECTORY, e.ntFlags, e.node, e.firstCluster, 0));
      else {
        const attr = ATTR_ARCHIVE | ((e.node.mode & 0o222) === 0 ? ATTR_READ_ONLY : 0);
        put(short(e.raw, attr, e.ntFlags, e.node, e.firstCluster, e.node.source.size));
      }
    }
    return buf;
  };

  const emit = async (sink: Sink, base: number, onProgress?: (bytes: number, files: number) => void): Promise<void> => {
    // Through a write-combining stage (src/io/stage.ts): file data is read
    // straight into reused buffers and the sink writes one while the next fills.
    const out = new StagedWriter(sink);
    try {
      await emitTo(out, base, onProgress);
      await out.end();
    } catch (e) {
      await out.discard();
      throw e;
    }
  };
  const emitTo = async (sink: StagedWriter, base: number, onProgress?: (bytes: number, files: number) => void): Promise<void> => {
    // Reserved sectors.
    const boot = bootSector();
    const resEnd = g.reservedSectors * ss;
    await sink.put(base, boot);
    if (g.bits === 32) {
      const info = new Uint8Array(ss);
      const free = g.clusterCount - used;
      info.set(encodeFsInfo(free, free > 0 ? next : FSI_UNKNOWN));
      await sink.put(base + ss, info);
      await sink.zero(base + 2 * ss, 4 * ss);
      await sink.put(base + 6 * ss, boot);
      await sink.put(base + 7 * ss, info);
      if (resEnd > 8 * ss) await sink.zero(base + 8 * ss, resEnd - 8 * ss);
    } else if (resEnd > ss) {
      await sink.zero(base + ss, resEnd - ss);
    }
    // FATs: the entries up to the last used cluster, then a zero range.
    const entryBytes = g.bits / 8;
    const fatBytes = g.fatSectors * ss;
    const usedFatBytes = Math.min(fatBytes, Math.ceil(((next) * entryBytes) / ss) * ss);
    const windowEntries = FAT_WINDOW_BYTES / entryBytes;
    for (let copy = 0; copy < g.numFats; copy++) {
      const fatStart = base + resEnd + copy * fatBytes;
      const state = { i: 0 };
      const entries = usedFatBytes / entryBytes;
      for (let first = 0; first < entries; first += windowEntries) {
        const n = Math.min(windowEntries, entries - first);
        await sink.put(fatStart + first * entryBytes, encodeFatWindow(runs, first, n, g.bits, 0xf8, state));
      }
      if (fatBytes > usedFatBytes) await sink.zero(fatStart + usedFatBytes, fatBytes - usedFatBytes);
    }
    // The FAT16 root directory region.
    const dataStart = base + g.firstDataSector * ss;
    if (g.bits !== 32) await sink.put(dataStart - g.rootDirSectors * ss, encodeDir(root!, g.rootDirSectors * ss));
    // Directories and files, in cluster order.
    let doneBytes = 0;
    let doneFiles = 0;
    for (const it of order) {
      if ('dir' in it) {
        const d = it.dir;
        await sink.put(dataStart + (d.firstCluster - 2) * cs, encodeDir(d, d.clusterCount * cs));
        continue;
      }
      const e = it.file;
      const src = (e.node as FileNode).source;
      const at = dataStart + (e.firstCluster - 2) * cs;
      // Each file starts its own extent (directories before it are not merged into it).
      await sink.cut();
      const ranges = src.dataRanges?.() ?? [[0, src.size] as const];
      let pos = 0;
      for (const [s0, e0] of ranges) {
        const s = Math.max(pos, Math.min(s0, src.size));
        const en = Math.min(e0, src.size);
        if (s > pos) await sink.zero(at + pos, s - pos);
        if (en > s) await sink.putSource(at + s, src, s, en - s, en - s);
        pos = Math.max(pos, en);
      }
      if (pos < src.size) await sink.zero(at + pos, src.size - pos);
      doneBytes += src.size;
      doneFiles++;
      onProgress?.(doneBytes, doneFiles);
    }
  };

  return {
    type,
    size: o.size,
    label,
    uuid: volumeIdString(volumeId),
    files,
    dataBytes,
    geometry: g,
    volumeId,
    usedClusters: used,
    emit,
  };
}
