// A sink for streams (.img.zst, stdout): offsets must only increase; gaps
// and zero ranges become zero bytes in the stream.
import { fail } from '../errors.js';
import type { Sink } from './sink.js';

export interface ByteStream {
  /** Consume a chunk; the promise resolves when more may be pushed (back-pressure). The chunk is lent until then: copy it to keep it. */
  push(chunk: Uint8Array): Promise<void>;
  end(): Promise<void>;
  destroy(reason?: unknown): Promise<void>;
}

const ZERO_CHUNK = new Uint8Array(1 << 20);

export class SequentialSink implements Sink {
  private position = 0;
  constructor(private readonly out: ByteStream) {}

  private async pad(to: number): Promise<void> {
    while (this.position < to) {
      const n = Math.min(ZERO_CHUNK.length, to - this.position);
      await this.out.push(ZERO_CHUNK.subarray(0, n));
      this.position += n;
    }
  }

  private check(offset: number): void {
    if (offset < this.position) {
      fail('SINK_ORDER', `sequential sink got offset ${offset} after ${this.position}`, { offset, position: this.position });
    }
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    this.check(offset);
    await this.pad(offset);
    await this.out.push(data);
    this.position += data.length;
  }

  async zero(offset: number, length: number): Promise<void> {
    this.check(offset);
    await this.pad(offset + length);
  }

  async finish(size: number): Promise<void> {
    this.check(size);
    await this.pad(size);
    await this.out.end();
  }

  async abort(reason?: unknown): Promise<void> {
    await this.out.destroy(reason);
  }
}
