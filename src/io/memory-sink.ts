// A sink that assembles the image in memory (tests, the browser).
import type { Extent, Sink } from './sink.js';

export class MemorySink implements Sink {
  private buf = new Uint8Array(0);
  private finished = false;
  readonly extents: Extent[] = [];
  size = 0;

  private ensure(end: number): void {
    if (end <= this.buf.length) return;
    let cap = Math.max(4096, this.buf.length);
    while (cap < end) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf);
    this.buf = next;
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    this.ensure(offset + data.length);
    this.buf.set(data, offset);
    this.size = Math.max(this.size, offset + data.length);
    this.extents.push({ offset, length: data.length, data: true });
  }

  async zero(offset: number, length: number): Promise<void> {
    this.ensure(offset + length);
    this.buf.fill(0, offset, offset + length);
    this.size = Math.max(this.size, offset + length);
    this.extents.push({ offset, length, data: false });
  }

  async finish(size: number): Promise<void> {
    this.ensure(size);
    this.size = size;
    this.finished = true;
  }

  async abort(): Promise<void> {
    this.buf = new Uint8Array(0);
    this.size = 0;
  }

  /** The image: valid after finish(). */
  bytes(): Uint8Array {
    if (!this.finished) throw new Error('MemorySink.bytes() before finish()');
    return this.buf.subarray(0, this.size);
  }
}
