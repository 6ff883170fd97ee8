// Editing a filesystem in place: what FAT and ext4 offer beyond reading, so
// the CLI (cp, rm, mkdir, mv, ln, chmod, chown) and the library treat both
// alike. A writer works on a writable Disk, synchronously, and changes only
// what an operation needs.
//
// Rules every writer keeps:
//  - Check first, then write: an operation that cannot complete (no space,
//    a name that exists, an unsupported feature) throws a coded error and
//    leaves the disk exactly as it was (FAT_FULL / EXT4_FULL carry `needed`
//    and `available` in bytes).
//  - Deterministic: times come from `EditOptions.now` (injected), never from
//    the clock; without it, entries get the time the caller passes or 0.
//  - What a filesystem cannot represent is a coded error, never a silent
//    loss: FAT has no owners, symlinks, hard links, devices or xattrs
//    (FS_UNSUPPORTED with `operation`).
import { fail } from '../errors.js';
import type { Source } from '../io/source.js';
import type { FileTree, Timestamp, Xattr } from '../tree/tree.js';
import type { FilesystemReader } from './types.js';

export interface EditOptions {
  /** The time given to created and changed entries (and directories whose contents change). Default: the epoch. */
  now?: () => Timestamp;
}

export interface EntryAttrs {
  /** Permission bits (0o7777); default 0o644 for files, 0o755 for directories, 0o777 for symlinks. */
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Timestamp;
  atime?: Timestamp;
  ctime?: Timestamp;
  xattrs?: Xattr[];
}

export type SpecialKind = 'char' | 'block' | 'fifo' | 'socket';

export interface FilesystemWriter extends FilesystemReader {
  /** Create or replace a regular file (a replaced file's blocks or clusters are freed first, in the space check too). */
  writeFile(path: string, data: Uint8Array | Source, attrs?: EntryAttrs): void;
  /** Create a directory; with `parents`, missing parents too and no error when it exists. */
  mkdir(path: string, options?: EntryAttrs & { parents?: boolean }): void;
  symlink(target: string, path: string, attrs?: EntryAttrs): void;
  /** A hard link to an existing non-directory. */
  link(existing: string, path: string): void;
  mknod(path: string, kind: SpecialKind, attrs?: EntryAttrs & { major?: number; minor?: number }): void;
  /** Remove a file, link or empty directory; `recursive` removes a directory's contents too. */
  remove(path: string, options?: { recursive?: boolean }): void;
  /** Move or rename; an existing non-directory target is replaced, as rename(2) does. */
  rename(from: string, to: string): void;
  chmod(path: string, mode: number): void;
  chown(path: string, uid: number, gid: number): void;
  utimes(path: string, atime: Timestamp, mtime: Timestamp): void;
  setXattr(path: string, name: string, value: Uint8Array): void;
  removeXattr(path: string, name: string): void;
  /** Copy a whole tree (from a host directory, tar or code) under `to`, which must be a directory; existing files are replaced. */
  copyIn(tree: FileTree, to: string): void;
  /** Write every pending change (counts, FSInfo, superblock, clean state). */
  flush(): void;
}

const MUTATIONS = ['writeFile', 'mkdir', 'symlink', 'link', 'mknod', 'remove', 'rename', 'chmod', 'chown', 'utimes', 'setXattr', 'removeXattr', 'copyIn'] as const;

/**
 * A reader seen through the writer interface: every mutation throws `code`
 * (IMAGE_READ_ONLY for a disk opened read-only, FS_UNSUPPORTED for a
 * filesystem with no writer). flush() has nothing to do.
 */
export function readOnlyWriter(reader: FilesystemReader, code: 'IMAGE_READ_ONLY' | 'FS_UNSUPPORTED', type: string): FilesystemWriter {
  const refuse = (operation: string) => (): never =>
    fail(code, code === 'IMAGE_READ_ONLY'
      ? `${operation}: the image was opened read-only (open it with { writable: true })`
      : `${operation}: diskwright cannot edit ${type} filesystems`, { operation, type });
  const w = Object.create(reader) as FilesystemWriter;
  for (const m of MUTATIONS) (w as unknown as Record<string, unknown>)[m] = refuse(m);
  w.flush = () => {};
  return w;
}
