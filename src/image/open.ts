// Opening an image for reading: find its partition table (GPT, probed at 512
// then 4096-byte sectors; MBR with its EBR chain) or a bare filesystem with
// no table (as mkfs makes them: partition 0), list the partitions and open
// their filesystems through the registered drivers' probes.
import { DiskwrightError, fail, isDiskwrightError } from '../errors.js';
import type { FilesystemReader, FsInfo } from '../fs/types.js';
import { subDisk, type Disk } from '../io/disk.js';
import { detectGptSectorSize, readGpt, type GptTable } from '../gpt/table.js';
import { looksLikeMbr, mbrPartitions, readMbr, type MbrTable } from '../mbr/table.js';
import { formatMbrType } from '../mbr/types.js';
import type { EditOptions, FilesystemWriter } from '../fs/writer.js';
import { openFilesystem, probeFilesystem } from './registry.js';
import { gptAttributeList } from './spec.js';

export interface ImagePartition {
  /** 1-based (logical MBR partitions from 5); 0 for a bare filesystem. */
  index: number;
  /** Bytes from the image start. */
  start: number;
  size: number;
  /** Upper-case GUID (GPT), "0x0c" (MBR), null (bare filesystem). */
  type: string | null;
  name: string | null;
  /** GPT unique GUID; MBR "1234abcd-01" (as blkid's PARTUUID). */
  uuid: string | null;
  bootable: boolean;
  attributes: (string | number)[];
  /** Extended MBR container (holds logical partitions, no filesystem). */
  container?: boolean;
}

export interface OpenedImage {
  table: 'gpt' | 'mbr' | null;
  sectorSize: number;
  diskId: string | null;
  partitions: ImagePartition[];
  warnings: string[];
  gpt?: GptTable;
  gptUsed?: 'primary' | 'backup';
  mbr?: MbrTable;
  /** The bytes of partition n (0: the whole image when it holds a bare filesystem). */
  partitionDisk(n: number): Disk;
  /**
   * The filesystem in partition n; IMAGE_NO_PARTITION / FS_UNRECOGNIZED when
   * there is none. On a writable disk it can be edited in place
   * (src/fs/writer.ts); on a read-only one every edit is IMAGE_READ_ONLY.
   */
  filesystem(n: number): FilesystemWriter;
  /** The filesystem's info, or null (a hole, or a filesystem no driver knows); problems become warnings. */
  filesystemInfo(n: number): FsInfo | null;
}

export interface OpenImageOptions {
  /** Force a sector size for GPT reading (default: probe). */
  sectorSize?: number;
  /** For in-place edits: the injected time of created and changed entries. */
  edit?: EditOptions;
}

function finish(disk: Disk, base: Omit<OpenedImage, 'partitionDisk' | 'filesystem' | 'filesystemInfo'>, edit?: EditOptions): OpenedImage {
  const readers = new Map<number, FilesystemWriter | null>();
  const img: OpenedImage = {
    ...base,
    partitionDisk(n) {
      const p = base.partitions.find((q) => q.index === n);
      if (!p) {
        fail('IMAGE_NO_PARTITION', `the image has no partition ${n}${base.partitions.length ? ` (it has ${base.partitions.map((q) => q.index).join(', ')})` : ''}`, { partition: n, expected: base.partitions.map((q) => q.index) });
      }
      if (p.start + p.size > disk.size) {
        fail('IMAGE_PARTITION_RANGE', `partition ${n} (${p.start}+${p.size}) runs past the end of the ${disk.size}-byte image`, { partition: n, offset: p.start, actual: p.start + p.size, expected: disk.size });
      }
      return p.index === 0 ? disk : subDisk(disk, p.start, p.size);
    },
    filesystem(n) {
      if (!readers.has(n)) {
        const p = base.partitions.find((q) => q.index === n);
        readers.set(n, p?.container ? null : openFilesystem(img.partitionDisk(n), edit));
      }
      const r = readers.get(n);
      if (!r) fail('FS_UNRECOGNIZED', `partition ${n} holds no filesystem diskwright can read`, { partition: n });
      return r;
    },
    filesystemInfo(n) {
      try {
        return img.filesystem(n).info();
      } catch (e) {
        if (!isDiskwrightError(e)) throw e;
        if (e.code !== 'FS_UNRECOGNIZED') base.warnings.push(`partition ${n}: ${e.code}: ${e.message}`);
        return null;
      }
    },
  };
  return img;
}

function gptImage(disk: Disk, table: GptTable, used: 'primary' | 'backup', warnings: string[], edit?: EditOptions): OpenedImage {
  const ss = table.sectorSize;
  return finish(disk, {
    table: 'gpt', sectorSize: ss, diskId: table.diskGuid, warnings, gpt: table, gptUsed: used,
    partitions: [...table.partitions].sort((a, b) => a.index - b.index).map((p) => ({
      index: p.index, start: p.startLba * ss, size: (p.endLba - p.startLba + 1) * ss, type: p.typeGuid, name: p.name, uuid: p.uniqueGuid,
      bootable: (p.attributes & 4n) !== 0n, attributes: gptAttributeList(p.attributes),
    })),
  }, edit);
}

function mbrImage(disk: Disk, table: MbrTable, warnings: string[], edit?: EditOptions): OpenedImage {
  const sig = table.diskSignature.toString(16).padStart(8, '0');
  return finish(disk, {
    table: 'mbr', sectorSize: 512, diskId: `0x${sig}`, warnings, mbr: table,
    partitions: mbrPartitions(table).map((p) => ({
      index: p.index, start: p.startLba * 512, size: p.sizeLba * 512, type: formatMbrType(p.type), name: null,
      uuid: `${sig}-${String(p.index).padStart(2, '0')}`, bootable: p.bootable, attributes: [],
      ...([0x05, 0x0f, 0x85].includes(p.type) ? { container: true } : {}),
    })),
  }, edit);
}

/** Open an image: GPT, MBR, or a bare filesystem. */
export function openImage(disk: Disk, options: OpenImageOptions = {}): OpenedImage {
  if (disk.size < 512) fail('IMAGE_TOO_SMALL', `an image of ${disk.size} bytes holds neither a partition table nor a filesystem`, { actual: disk.size, expected: 512 });
  const sector0 = disk.read(0, 512);
  const protective = sector0[510] === 0x55 && sector0[511] === 0xaa && [0, 1, 2, 3].some((i) => sector0[446 + i * 16 + 4] === 0xee);
  const gptSs = options.sectorSize ?? detectGptSectorSize(disk);
  if (gptSs !== null || protective) {
    try {
      const r = readGpt(disk, { sectorSize: options.sectorSize, strict: false });
      return gptImage(disk, r.table, r.used, r.warnings, options.edit);
    } catch (e) {
      // A protective MBR or a GPT signature with no readable table: a broken GPT disk.
      if (!isDiskwrightError(e) || protective || e.code !== 'GPT_NOT_FOUND') throw e;
    }
  }
  // An MBR before a bare filesystem: a stale superblock at the start of a
  // partitioned disk must not hide its table (libblkid lets the table win too).
  if (looksLikeMbr(sector0)) {
    const r = readMbr(disk, { strict: false });
    return mbrImage(disk, r.table, r.warnings, options.edit);
  }
  let fsError: DiskwrightError | null = null;
  let bare: FilesystemReader | null = null;
  try {
    bare = probeFilesystem(disk);
  } catch (e) {
    if (!isDiskwrightError(e)) throw e;
    fsError = e;
  }
  if (bare) {
    const info = bare.info();
    return finish(disk, {
      table: null, sectorSize: 512, diskId: null, warnings: [],
      partitions: [{ index: 0, start: 0, size: disk.size, type: null, name: null, uuid: info.uuid, bootable: false, attributes: [] }],
    }, options.edit);
  }
  if (fsError) throw fsError;
  return fail('IMAGE_UNRECOGNIZED', 'no partition table (GPT, MBR) and no filesystem diskwright can read', { size: disk.size });
}

/** Parse "pN:/path" (N ≥ 0). */
export function parseImagePath(s: string): { partition: number; path: string } {
  const m = /^p(\d+):(\/.*)?$/.exec(s);
  if (!m) fail('USAGE', `expected pN:/path (e.g. p1:/boot/config.txt), got ${JSON.stringify(s)}`, { actual: s });
  return { partition: Number(m[1]), path: m[2] ?? '/' };
}
