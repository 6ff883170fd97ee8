// Byte sources: where file data comes from. A source is read at the moment
// its bytes are emitted, so metadata planning never holds file data.
import { fail } from '../errors.js';

export interface Source {
  readonly size: number;
  /** Exactly `length` bytes at `offset`; the range must lie within `size`. */
  read(offset: number, length: number): Uint8Array;
  /**
   * Optional: the same bytes as read(), placed into target[targetOffset, +length)
   * instead of a new buffer. Emitters read file data straight into their
   * staging buffers this way (no allocation and no copy per file); use
   * readSourceInto(), which falls back to read().
   */
  readInto?(offset: number, target: Uint8Array, targetOffset: number, length: number): void;
  /**
   * Optional: the byte ranges [start, end) that hold data, in order; the rest
   * reads as zeros (a sparse host file, say). Builders keep those as holes.
   */
  dataRanges?(): Array<readonly [number, number]>;
  /** A short description for errors ("host file /x/y", "tar entry a/b"). */
  readonly describe?: string;
}

export function checkRange(size: number, offset: number, length: number, what: string): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    fail('IO_RANGE', `${what}: read of ${length} bytes at ${offset} is outside its ${size} bytes`, { offset, length, size, what });
  }
}

/** Read src[offset, +length) into target at targetOffset: readInto() when the source has it, else read() and a copy. */
export function readSourceInto(src: Source, offset: number, target: Uint8Array, targetOffset: number, length: number): void {
  if (src.readInto) {
    src.readInto(offset, target, targetOffset, length);
    return;
  }
  const data = src.read(offset, length);
  if (data.length !== length) fail('IO_SHORT_READ', `${src.describe ?? 'source'}: short read`, { expected: length, actual: data.length });
  target.set(data, targetOffset);
}

/** A source over bytes in memory. */
export function bytesSource(data: Uint8Array, describe = 'bytes'): Source {
  return {
    size: data.length,
    describe,
    read(offset, length) {
      checkRange(data.length, offset, length, describe);
      return data.subarray(offset, offset + length);
    },
    readInto(offset, target, targetOffset, length) {
      checkRange(data.length, offset, length, describe);
      target.set(data.subarray(offset, offset + length), targetOffset);
    },
  };
}

/** A source of UTF-8 text. */
export function textSource(text: string): Source {
  return bytesSource(new TextEncoder().encode(text), 'text');
}

/** A window [offset, offset+length) of another source. */
export function sliceSource(src: Source, offset: number, length: number): Source {
  checkRange(src.size, offset, length, src.describe ?? 'source');
  return {
    size: length,
    describe: src.describe,
    read(o, n) {
      checkRange(length, o, n, src.describe ?? 'source');
      return src.read(offset + o, n);
    },
    readInto(o, target, to, n) {
      checkRange(length, o, n, src.describe ?? 'source');
      readSourceInto(src, offset + o, target, to, n);
    },
  };
}
