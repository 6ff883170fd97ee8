// A Sink over a fixed range of a writable Disk that writes every byte of the
// range, in order: data as given, zero ranges and the gaps between extents
// as zeros, up to the range's end at finish(). The SHA-256 of the range's
// bytes is computed on the way, so a read-back can be compared with it.
// (A partition rewritten in place must not keep the old filesystem's bytes
// in its free space: they would make its content, and its hash, depend on
// what was there before.)
import { fail } from '../errors.js';
import { createSha256, toHex, type Sha256Hasher } from '../codec/sha256.js';
import type { Disk } from './disk.js';
import type { Sink } from './sink.js';

const ZEROS = new Uint8Array(1 << 20);

export class RangeWriter implements Sink {
  private pos: number;
  private readonly hash: Sha256Hasher;
  /** Bytes written to the disk. */
  written = 0;
  sha256: string | null = null;

  constructor(private readonly disk: Disk, private readonly start: number, private readonly length: number, hasher: Sha256Hasher = createSha256()) {
    if (!disk.write) fail('IMAGE_READ_ONLY', 'the target was opened read-only', {});
    this.pos = start;
    this.hash = hasher;
  }

  private put(offset: number, data: Uint8Array): void {
    this.disk.write!(offset, data);
    this.hash.update(data);
    this.written += data.length;
  }

  private fillTo(offset: number): void {
    if (offset < this.pos) fail('BUILD_EMIT_RANGE', `extent at ${offset} comes before ${this.pos}: a rewrite goes in offset order`, { offset, expected: this.pos });
    if (offset > this.start + this.length) fail('BUILD_EMIT_RANGE', `extent at ${offset} lies past the end of the range (${this.start}+${this.length})`, { offset });
    while (this.pos < offset) {
      const n = Math.min(ZEROS.length, offset - this.pos);
      this.put(this.pos, ZEROS.subarray(0, n));
      this.pos += n;
    }
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    this.fillTo(offset);
    if (offset + data.length > this.start + this.length) fail('BUILD_EMIT_RANGE', `extent ${offset}+${data.length} runs past the end of the range`, { offset, length: data.length });
    this.put(offset, data);
    this.pos = offset + data.length;
  }

  async zero(offset: number, length: number): Promise<void> {
    this.fillTo(offset + length);
  }

  /** Zero-fill to the end of the range; `size` is ignored (the range is fixed). */
  async finish(): Promise<void> {
    this.fillTo(this.start + this.length);
    this.sha256 = toHex(this.hash.digest());
  }

  async abort(): Promise<void> {}
}

/** The SHA-256 of a disk range, read back in 1 MiB pieces. */
export function hashRange(disk: Disk, start: number, length: number, hasher: Sha256Hasher = createSha256()): string {
  for (let o = 0; o < length; o += 1 << 20) hasher.update(disk.read(start + o, Math.min(1 << 20, length - o)));
  return toHex(hasher.digest());
}
