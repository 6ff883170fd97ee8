// File and Blob objects as byte sources and disks. Reads are synchronous
// (the emitter and the readers pull bytes synchronously), so they use
// FileReaderSync, which browsers expose in Web Workers only: build and open
// images in a worker. Nothing is read until the emitter asks for it, so a
// multi-GiB input never sits in memory whole.
import { fail } from '../errors.js';
import type { Disk } from '../io/disk.js';
import { checkRange, type Source } from '../io/source.js';

interface FileReaderSyncLike {
  readAsArrayBuffer(blob: Blob): ArrayBuffer;
}

function createReader(): FileReaderSyncLike {
  const Ctor = (globalThis as { FileReaderSync?: new () => FileReaderSyncLike }).FileReaderSync;
  if (!Ctor) fail('BROWSER_WORKER_ONLY', 'reading a File or Blob synchronously needs FileReaderSync: run the build in a Web Worker', {});
  return new Ctor();
}

/** The bytes [offset, offset+length) of a blob (worker only). */
export function readBlobRange(blob: Blob, offset: number, length: number): Uint8Array {
  checkRange(blob.size, offset, length, 'blob');
  const buf = createReader().readAsArrayBuffer(blob.slice(offset, offset + length));
  if (buf.byteLength !== length) {
    fail('IO_SOURCE_CHANGED', `blob: read ${buf.byteLength} of ${length} bytes at ${offset}`, { offset, length, actual: buf.byteLength });
  }
  return new Uint8Array(buf);
}

/** A Source over a File or Blob (read in a Web Worker). */
export function blobSource(blob: Blob, describe = 'blob'): Source {
  return {
    size: blob.size,
    describe,
    read: (offset, length) => readBlobRange(blob, offset, length),
  };
}

/**
 * A disk over a File or Blob. Writes, when `writable`, go to an overlay of
 * patches kept in memory (a bootenv edit touches a few sectors); patchedBlob()
 * gives the edited image as a Blob made of the original's slices and the
 * patches, without copying the image.
 */
export interface BlobDisk extends Disk {
  patchedBlob(): Blob;
}

export function blobDisk(blob: Blob, writable = false): BlobDisk {
  // Non-overlapping patches, sorted by offset.
  const patches: { offset: number; data: Uint8Array }[] = [];
  const disk: BlobDisk = {
    size: blob.size,
    read(offset, length) {
      const out = readBlobRange(blob, offset, length);
      for (const p of patches) {
        const a = Math.max(offset, p.offset);
        const b = Math.min(offset + length, p.offset + p.data.length);
        if (a < b) out.set(p.data.subarray(a - p.offset, b - p.offset), a - offset);
      }
      return out;
    },
    patchedBlob() {
      const parts: (Blob | Uint8Array)[] = [];
      let pos = 0;
      for (const p of patches) {
        parts.push(blob.slice(pos, p.offset), p.data);
        pos = p.offset + p.data.length;
      }
      parts.push(blob.slice(pos));
      return new Blob(parts as never);
    },
  };
  if (writable) {
    disk.write = (offset, data) => {
      checkRange(blob.size, offset, data.length, 'image');
      // Merge with every patch it touches into one patch over the union.
      const end = offset + data.length;
      const touching = patches.filter((p) => p.offset <= end && p.offset + p.data.length >= offset);
      const start = Math.min(offset, ...touching.map((p) => p.offset));
      const stop = Math.max(end, ...touching.map((p) => p.offset + p.data.length));
      const merged = new Uint8Array(stop - start);
      for (const p of touching) merged.set(p.data, p.offset - start);
      merged.set(data, offset - start);
      const rest = patches.filter((p) => !touching.includes(p));
      rest.push({ offset: start, data: merged });
      rest.sort((x, y) => x.offset - y.offset);
      patches.splice(0, patches.length, ...rest);
    };
  }
  return disk;
}
