// A write-combining stage between a filesystem emitter and its sink.
//
// Everything an emitter writes goes through two staging buffers used in turn:
//  - adjacent extents (thousands of small files, directory blocks, inode
//    tables) become a few large sink writes instead of one call each;
//  - file data is read straight into the stage (Source.readInto), so no
//    buffer is allocated per file or per chunk (that garbage cost more time
//    than the copying);
//  - while the sink writes one buffer (a file sink does so off the main
//    thread), the emitter fills the other: reading and writing overlap.
// Only one sink call is outstanding at a time, so extents reach the sink in
// offset order, and a buffer is reused only after the write that lent it
// has resolved (the Sink contract: data is borrowed until then).
import type { Sink } from './sink.js';
import { readSourceInto, type Source } from './source.js';

/**
 * The buffers of the last writer that ended, held weakly: the next
 * filesystem of the same image reuses them instead of allocating 8 MiB more
 * while the old pair still waits for the collector (peak RSS), and an idle
 * process keeps nothing.
 */
let spare: WeakRef<Uint8Array[]> | null = null;

export class StagedWriter {
  private readonly buffers: Uint8Array[];
  private which = 0;
  private stage: Uint8Array;
  private stageOff = -1;
  private stageLen = 0;
  private pending: Promise<void> | null = null;

  /** Offsets given to put/putSource/zero are added to `base` for the sink. */
  constructor(private readonly sink: Sink, private readonly base = 0, readonly stageSize = 4 << 20) {
    const reused = spare?.deref();
    spare = null;
    this.buffers = reused && reused[0].length === stageSize ? reused : [new Uint8Array(stageSize), new Uint8Array(stageSize)];
    this.stage = this.buffers[0];
  }

  /** Bytes at `off`. */
  async put(off: number, data: Uint8Array): Promise<void> {
    for (let i = 0; i < data.length; ) {
      const n = await this.room(off + i, data.length - i);
      this.stage.set(n === data.length ? data : data.subarray(i, i + n), this.stageLen);
      this.stageLen += n;
      i += n;
    }
  }

  /**
   * `len` bytes at `off`: src[srcOff, +dataLen) then zeros up to `len` (the
   * rest of a block or cluster; the buffers are reused, so it is cleared).
   */
  async putSource(off: number, src: Source, srcOff: number, dataLen: number, len: number): Promise<void> {
    for (let o = 0; o < len; ) {
      const n = await this.room(off + o, len - o);
      const dataN = Math.max(0, Math.min(n, dataLen - o));
      if (dataN > 0) readSourceInto(src, srcOff + o, this.stage, this.stageLen, dataN);
      if (dataN < n) this.stage.fill(0, this.stageLen + dataN, this.stageLen + n);
      this.stageLen += n;
      o += n;
    }
  }

  /** A zero range at `off` (passed on to the sink as one). */
  async zero(off: number, len: number): Promise<void> {
    await this.flush();
    await this.settle();
    await this.sink.zero(this.base + off, len);
  }

  /** Start a new sink extent at the next put (the staged bytes are handed to the sink now). */
  async cut(): Promise<void> {
    await this.flush();
  }

  /** Write out what is staged and wait for it. */
  async end(): Promise<void> {
    await this.flush();
    await this.settle();
    spare = new WeakRef(this.buffers);
  }

  /** After a failure: drop what is staged and let an outstanding write finish (its error is not the one to report). */
  async discard(): Promise<void> {
    this.stageLen = 0;
    const p = this.pending;
    this.pending = null;
    if (p) await p.catch(() => undefined);
  }

  /** Room for up to `want` bytes at `off` (flushing first when not adjacent or full): how many fit. */
  private async room(off: number, want: number): Promise<number> {
    if (this.stageLen > 0 && (off !== this.stageOff + this.stageLen || this.stageLen === this.stage.length)) await this.flush();
    if (this.stageLen === 0) this.stageOff = off;
    return Math.min(want, this.stage.length - this.stageLen);
  }

  private async settle(): Promise<void> {
    const p = this.pending;
    this.pending = null;
    if (p) await p;
  }

  private async flush(): Promise<void> {
    if (this.stageLen > 0) {
      await this.settle();
      const p = this.sink.write(this.base + this.stageOff, this.stage.subarray(0, this.stageLen));
      // Observed by settle(); this keeps an early failure from being reported as unhandled.
      p.catch(() => undefined);
      this.pending = p;
      this.which ^= 1;
      this.stage = this.buffers[this.which];
    }
    this.stageOff = -1;
    this.stageLen = 0;
  }
}
