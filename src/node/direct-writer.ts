// Direct I/O for an output file (O_DIRECT, as `dd oflag=direct` and
// bmaptool write): the image's bytes go from an aligned user buffer to the
// device, not through the page cache. A build then spends no CPU copying
// gigabytes into the cache and writing them back, an output never pushes a
// build's inputs out of the cache, and when the last write returns the data
// is on the device (finish() still fsyncs, for the file's metadata).
//
// O_DIRECT wants the memory, the file offset and the length aligned to the
// device's logical block. Offsets and lengths are kept to DIRECT_BLOCK
// (4096, a multiple of every logical block size Linux uses) by gathering the
// sink's extents, which come in increasing offset order (src/io/sink.ts),
// into a window of WINDOW bytes starting on a block boundary: gaps between
// extents and the end of a last partial block are zeros, which is what
// free space and zero ranges may hold. A window far from the next extent is
// written and a new one starts there, so holes stay holes. Node gives no
// buffer addresses, so the memory alignment is found by trying: a 4096-byte
// write from successive 16-byte offsets into one allocation until the
// kernel accepts one (EINVAL otherwise). Two windows are used in turn, so
// one is filled while the other is written.
import * as fs from 'node:fs';
import { fail } from '../errors.js';

export const DIRECT_BLOCK = 4096;
const WINDOW = 4 << 20;

/** pwrite all of `data` at `offset`, on Node's thread pool. */
export function writeAllAt(fd: number, data: Uint8Array, offset: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      if (done >= data.length) { resolve(); return; }
      fs.write(fd, data, done, data.length - done, offset + done, (err, n) => (err ? reject(err) : step(done + n)));
    };
    step(0);
  });
}

export class DirectWriter {
  private readonly windows: [Uint8Array, Uint8Array];
  private readonly pending: [Promise<void> | null, Promise<void> | null] = [null, null];
  private which = 0;
  /** File offset of the current window's first byte (a block boundary), or -1. */
  private start = -1;
  /** Bytes of the current window that hold data or gap zeros. */
  private fill = 0;
  /** The end of the last extent: the next one may not start before it. */
  private position = 0;
  private failure: unknown = null;

  private constructor(private readonly fd: number, windows: [Uint8Array, Uint8Array], private readonly what: string) {
    this.windows = windows;
  }

  /**
   * A writer for `fd`, opened with O_DIRECT; null when direct writes from
   * an aligned buffer fail there (the caller then writes through the cache).
   * The trial writes a block of zeros at offset 0.
   */
  static open(fd: number, what: string): DirectWriter | null {
    const raw = new Uint8Array(2 * WINDOW + DIRECT_BLOCK);
    for (let a = 0; a < DIRECT_BLOCK; a += 16) {
      try {
        fs.writeSync(fd, raw, a, DIRECT_BLOCK, 0);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EINVAL') continue;
        return null;
      }
      return new DirectWriter(fd, [raw.subarray(a, a + WINDOW), raw.subarray(a + WINDOW, a + 2 * WINDOW)], what);
    }
    return null;
  }

  /** Place `data` at `offset` (not before the end of the previous extent). */
  async write(offset: number, data: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    if (offset < this.position) {
      fail('SINK_ORDER', `${this.what}: extent at ${offset} after ${this.position}`, { offset, position: this.position });
    }
    this.position = offset + data.length;
    let i = 0;
    while (i < data.length) {
      const at = offset + i;
      if (this.start >= 0 && at >= this.start + WINDOW) await this.flush();
      if (this.start < 0) {
        this.start = at - (at % DIRECT_BLOCK);
        this.fill = 0;
      }
      const win = this.windows[this.which];
      const pos = at - this.start;
      if (pos > this.fill) win.fill(0, this.fill, pos);
      const n = Math.min(data.length - i, WINDOW - pos);
      win.set(n === data.length ? data : data.subarray(i, i + n), pos);
      this.fill = pos + n;
      i += n;
      if (this.fill === WINDOW) await this.flush();
    }
  }

  /** Write out the current window (its last block padded with zeros) and move to the other one. */
  async flush(): Promise<void> {
    if (this.start < 0) return;
    const win = this.windows[this.which];
    const len = Math.ceil(this.fill / DIRECT_BLOCK) * DIRECT_BLOCK;
    if (len > this.fill) win.fill(0, this.fill, len);
    const p = writeAllAt(this.fd, win.subarray(0, len), this.start);
    p.catch((e) => { this.failure ??= e; });
    this.pending[this.which] = p;
    this.start = -1;
    this.fill = 0;
    this.which ^= 1;
    // The other window may still be on its way to the device.
    const before = this.pending[this.which];
    this.pending[this.which] = null;
    if (before) await before;
  }

  /** Flush and wait for every write. */
  async end(): Promise<void> {
    await this.flush();
    for (let k = 0; k < 2; k++) {
      const p = this.pending[k];
      this.pending[k] = null;
      if (p) await p;
    }
    if (this.failure) throw this.failure;
  }

  /** Wait for the writes in flight, ignoring their errors (after a failure). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.pending.filter((p): p is Promise<void> => p !== null));
    this.pending[0] = this.pending[1] = null;
  }
}
