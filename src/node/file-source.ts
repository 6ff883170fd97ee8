// Host files as sources (file data for builders) and as disks (images to
// read and edit in place).
import * as fs from 'node:fs';
import type { Source } from '../io/source.js';
import { checkRange } from '../io/source.js';
import type { Disk } from '../io/disk.js';
import { ioError } from './file-sink.js';
import { DiskwrightError, fail } from '../errors.js';
import { blockDeviceInfo } from './block-device.js';

/** Open a host file for reading; a failure is a coded IO_* error naming it. */
export function openForRead(file: string): number {
  try {
    return fs.openSync(file, 'r');
  } catch (e) {
    throw ioError(e, file, 'open');
  }
}

/**
 * The range [offset, offset+length) of a host file, opened on each read so
 * that thousands of sources hold no descriptors. The size is fixed when the
 * source is made; a file that shrinks later is an IO_SOURCE_CHANGED error.
 */
export function fileSource(file: string, offset = 0, length?: number, describe?: string): Source {
  let size = length;
  if (size === undefined) {
    try {
      size = fs.statSync(file).size - offset;
    } catch (e) {
      throw ioError(e, file, 'stat');
    }
  }
  return new HostFileRange(file, offset, size, describe);
}

/**
 * A class, not closures: a root filesystem makes one per file, and three
 * closures and their context each cost more memory than these four fields.
 */
class HostFileRange implements Source {
  constructor(readonly file: string, readonly offset: number, readonly size: number, private readonly label: string | undefined) {}

  get describe(): string {
    return this.label ?? `host file ${this.file}`;
  }

  read(o: number, n: number): Uint8Array {
    const out = new Uint8Array(n);
    this.readInto(o, out, 0, n);
    return out;
  }

  // Into the caller's buffer: no allocation per file, which was most of the
  // garbage (and the collector's time) when emitting thousands of files.
  readInto(o: number, out: Uint8Array, to: number, n: number): void {
    const { file, offset, size } = this;
    checkRange(size, o, n, file);
    if (to < 0 || to + n > out.length) fail('IO_RANGE', `${file}: target buffer too small`, { offset: to, length: n, size: out.length, what: file });
    const fd = openForRead(file);
    try {
      let got = 0;
      while (got < n) {
        const r = fs.readSync(fd, out, to + got, n - got, offset + o + got);
        if (r === 0) {
          fail('IO_SOURCE_CHANGED', `${file}: shrank since it was planned (expected ${size} bytes from ${offset})`, { path: file, expected: offset + size, actual: offset + o + got });
        }
        got += r;
      }
    } catch (e) {
      if (e instanceof DiskwrightError) throw e;
      throw ioError(e, file, 'read');
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** A host file or block device opened as a disk. */
export interface FileDisk extends Disk {
  /** True for a block device (size from sysfs; writes widened to whole logical blocks). */
  readonly blockDevice: boolean;
  readonly logicalBlockSize: number;
  /** fsync: everything written so far is on the medium. */
  sync(): void;
  close(): void;
}

/** A host file (or block device) as a disk, read-only or writable. Call close() when done. */
export function openFileDisk(file: string, writable = false): FileDisk {
  let fd: number;
  let st: fs.Stats;
  try {
    fd = fs.openSync(file, writable ? 'r+' : 'r');
  } catch (e) {
    throw ioError(e, file, 'open');
  }
  try {
    st = fs.fstatSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    throw ioError(e, file, 'stat');
  }
  const blockDevice = st.isBlockDevice();
  const { size, logicalBlockSize } = blockDevice ? blockDeviceInfo(fd, st) : { size: st.size, logicalBlockSize: 512 };
  const readAt = (out: Uint8Array, offset: number) => {
    let got = 0;
    while (got < out.length) {
      const r = fs.readSync(fd, out, got, out.length - got, offset + got);
      if (r === 0) break;
      got += r;
    }
  };
  const writeAt = (data: Uint8Array, offset: number) => {
    let done = 0;
    while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, offset + done);
  };
  const d: FileDisk = {
    size,
    blockDevice,
    logicalBlockSize,
    read(offset, length) {
      checkRange(size, offset, length, file);
      const out = new Uint8Array(length);
      readAt(out, offset);
      return out;
    },
    sync() {
      try { fs.fsyncSync(fd); } catch (e) { throw ioError(e, file, 'fsync'); }
    },
    close() {
      try { fs.closeSync(fd); } catch { /* closed */ }
    },
  };
  if (writable) {
    d.write = (offset, data) => {
      checkRange(size, offset, data.length, file);
      const lbs = logicalBlockSize;
      if (!blockDevice || (offset % lbs === 0 && data.length % lbs === 0)) {
        writeAt(data, offset);
        return;
      }
      // A block device takes whole logical blocks: read the blocks the write
      // touches, patch them, write them back.
      const start = offset - (offset % lbs);
      const end = Math.min(size, Math.ceil((offset + data.length) / lbs) * lbs);
      const blocks = new Uint8Array(end - start);
      readAt(blocks, start);
      blocks.set(data, offset - start);
      writeAt(blocks, start);
    };
  }
  return d;
}
