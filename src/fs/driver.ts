// Filesystem drivers: how the image layer plans a partition's filesystem from
// its spec, how readers recognise one on a disk, and how an existing one is
// opened for editing. The interface lives below the image layer so that the
// drivers (src/fat32, src/ext4) and the registry (src/image/registry.ts) do
// not import each other.
import type { Disk } from '../io/disk.js';
import type { FileTree, Timestamp } from '../tree/tree.js';
import type { FilesystemPlan, FilesystemProbe } from './types.js';
import type { EditOptions, FilesystemWriter } from './writer.js';

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
  /**
   * Optional: open the filesystem on a writable disk for in-place edits
   * (src/fs/writer.ts); null when the disk does not hold this filesystem.
   */
  openWriter?(disk: Disk, options?: EditOptions): FilesystemWriter | null;
}

