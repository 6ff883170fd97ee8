// Filesystem drivers: how the image layer plans a partition's filesystem from
// its spec and how readers recognise one on a disk. Each filesystem module
// exports one driver and adds it to `drivers` below (one line each).
import type { Disk } from '../io/disk.js';
import type { FileTree, Timestamp } from '../tree/tree.js';
import type { FilesystemPlan, FilesystemProbe, FilesystemReader } from '../fs/types.js';
import { fat32Driver } from '../fat32/driver.js';
import { ext4Driver } from '../ext4/driver.js';

export interface PlanArgs {
  /** Files to put in the filesystem (contents already resolved). */
  tree: FileTree;
  /** The partition's `filesystem` object from the spec. */
  spec: Record<string, unknown>;
  /** JSON path of that object, for errors ("partitions[1].filesystem"). */
  path: string;
  /** Partition bytes. */
  size: number;
  /** Bytes from the start of the image to the partition. */
  partitionOffset: number;
  sectorSize: number;
  /** Seed to derive volume ids / UUIDs / hash seeds from. */
  seed: string;
  /** Time for entries without one (SOURCE_DATE_EPOCH or the spec). */
  defaultTime: Timestamp;
  /** 1-based partition number (0 for a bare filesystem image). */
  partitionIndex: number;
}

export interface FilesystemDriver {
  /** Spec `type` values it handles, e.g. ['fat32', 'fat16', 'fat']. */
  types: string[];
  plan(args: PlanArgs): FilesystemPlan;
  /**
   * Optional: check the spec's options against the partition size before
   * any input is read, raising what plan() would raise about them, sooner
   * (a 300 TiB ext4 fails at once, not after its tar has been read).
   */
  check?(args: Omit<PlanArgs, 'tree'>): void;
  probe: FilesystemProbe;
}

export const drivers: FilesystemDriver[] = [
  // Filesystem drivers register here, one line each:
  // fat32Driver (src/fat32/driver.ts), ext4Driver (src/ext4/driver.ts)
  fat32Driver,
  ext4Driver,
];

export function driverFor(type: string): FilesystemDriver | undefined {
  const t = type.toLowerCase();
  return drivers.find((d) => d.types.includes(t));
}

/** The first driver whose probe recognises the disk, or null. Coded errors from a probe (a broken filesystem) propagate. */
export function probeFilesystem(disk: Disk): FilesystemReader | null {
  for (const d of drivers) {
    const r = d.probe(disk);
    if (r) return r;
  }
  return null;
}
