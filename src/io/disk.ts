// Random-access byte stores that readers parse and in-place edits write:
// a whole image in memory, a host file (src/node), or a sub-range of either
// (one partition).
import { fail } from '../errors.js';
import { checkRange } from './source.js';

export interface Disk {
  readonly size: number;
  /** Exactly `length` bytes at `offset` (a fresh copy or a view; do not keep views across writes). */
  read(offset: number, length: number): Uint8Array;
  /** Present when the store is writable. */
  write?(offset: number, data: Uint8Array): void;
}

export function memoryDisk(bytes: Uint8Array, writable = true): Disk {
  const d: Disk = {
    size: bytes.length,
    read(offset, length) {
      checkRange(bytes.length, offset, length, 'image');
      return bytes.slice(offset, offset + length);
    },
  };
  if (writable) {
    d.write = (offset, data) => {
      checkRange(bytes.length, offset, data.length, 'image');
      bytes.set(data, offset);
    };
  }
  return d;
}

/** The bytes [offset, offset+length) of `disk`, as a disk of its own. */
export function subDisk(disk: Disk, offset: number, length: number): Disk {
  if (offset < 0 || length < 0 || offset + length > disk.size) {
    fail('IO_RANGE', `region of ${length} bytes at ${offset} lies outside the ${disk.size}-byte image`, { offset, length, size: disk.size });
  }
  const d: Disk = {
    size: length,
    read(o, n) {
      checkRange(length, o, n, 'partition');
      return disk.read(offset + o, n);
    },
  };
  if (disk.write) {
    const w = disk.write.bind(disk);
    d.write = (o, data) => {
      checkRange(length, o, data.length, 'partition');
      w(offset + o, data);
    };
  }
  return d;
}
