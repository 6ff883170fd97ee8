// Clusters compressed in flight: up to `depth` at once through the codec's
// deflateAsync (node:zlib's thread pool, so on the other cores), their
// results handed to `write` strictly in the order they were queued: the file
// is still written in one pass, in order. Without deflateAsync, each cluster
// is compressed on the spot.
import type { DeflateCodec } from './deflate.js';

interface InFlight<T> {
  tag: T;
  plain: Uint8Array;
  compressed: Promise<Uint8Array>;
}

export class CompressQueue<T> {
  private readonly pending: InFlight<T>[] = [];

  constructor(
    private readonly codec: DeflateCodec,
    private readonly format: 'raw-4k' | 'zlib',
    private readonly write: (tag: T, plain: Uint8Array, compressed: Uint8Array) => Promise<void>,
    private readonly depth = 8,
  ) {}

  /** Queue a copy of `plain` (the caller may reuse its buffer at once). */
  async push(tag: T, plain: Uint8Array): Promise<void> {
    const copy = plain.slice();
    if (!this.codec.deflateAsync) {
      await this.write(tag, copy, this.codec.deflate(copy, this.format));
      return;
    }
    const compressed = this.codec.deflateAsync(copy, this.format);
    compressed.catch(() => {}); // awaited in order in shift(); no unhandled rejection meanwhile
    this.pending.push({ tag, plain: copy, compressed });
    while (this.pending.length >= this.depth) await this.shift();
  }

  private async shift(): Promise<void> {
    const head = this.pending.shift()!;
    await this.write(head.tag, head.plain, await head.compressed);
  }

  /** Write everything still in flight. */
  async drain(): Promise<void> {
    while (this.pending.length) await this.shift();
  }
}
