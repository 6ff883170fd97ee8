// What every filesystem in diskwright offers, so the image layer, the CLI
// and the boot-environment editor treat FAT and ext4 alike.
//
// Building is plan, then emit: `plan…()` computes all metadata in memory (in
// proportion to the number of files) and returns a FilesystemPlan; `emit()`
// writes metadata and file data to a sink in increasing offset order, file
// data read once from its source, zero ranges given as `sink.zero` (never as
// written zeros).
import type { Sink } from '../io/sink.js';
import type { Disk } from '../io/disk.js';
import type { Timestamp, Xattr } from '../tree/tree.js';

export type FsType = 'fat12' | 'fat16' | 'fat32' | 'ext2' | 'ext3' | 'ext4';

export interface FsInfo {
  type: FsType;
  label: string | null;
  /** ext: RFC 4122 lower case; FAT: the volume id as "ABCD-1234". */
  uuid: string | null;
  /** Bytes the filesystem spans. */
  size: number;
  /** Bytes in use (size − free). */
  used: number;
  blockSize: number;
}

export type EntryType = 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

export interface FsEntry {
  name: string;
  type: EntryType;
  /** Permission bits, including setuid/setgid/sticky (FAT: synthesised, 0o755 / 0o644). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Timestamp;
}

export interface FsStat extends FsEntry {
  /** Inode number (ext) or first cluster (FAT). */
  id: number;
  nlink: number;
  /** Symlink target. */
  target?: string;
  major?: number;
  minor?: number;
  xattrs?: Xattr[];
}

/** Where a file's bytes lie, relative to the start of the filesystem. */
export interface FileExtent {
  offset: number;
  length: number;
}

export interface FilesystemReader {
  info(): FsInfo;
  /** Entries of a directory, without "." and "..", in on-disk order. */
  list(path: string): FsEntry[];
  /** lstat: a symlink is reported as itself. */
  stat(path: string): FsStat;
  readFile(path: string): Uint8Array;
  readlink(path: string): string;
  /** The byte ranges (in order) that hold the file's data, for in-place edits. */
  fileExtents(path: string): FileExtent[];
  /**
   * Replace a file's bytes in place: same size, same blocks, nothing else in
   * the filesystem changes (the disk must be writable).
   */
  rewriteFile(path: string, data: Uint8Array): void;
}

export interface FilesystemPlan {
  type: FsType;
  /** Bytes the filesystem occupies (the partition's size). */
  size: number;
  label: string | null;
  uuid: string | null;
  files: number;
  /** Bytes of file data. */
  dataBytes: number;
  /** Write the filesystem at `baseOffset` of the sink, in increasing offset order. */
  emit(sink: Sink, baseOffset: number, onProgress?: (bytes: number, files: number) => void): Promise<void>;
}

/** A reader opener: returns null when the disk does not hold this filesystem (by magic), throws a coded error when it does but is broken. */
export type FilesystemProbe = (disk: Disk) => FilesystemReader | null;
