// One emission to several sinks (a raw image and its .zst, a block map
// beside them). Each call goes to every sink at once; the data buffer is
// shared, so sinks must not change it. When one sink fails, the others are
// aborted and the first error is thrown.
import type { Sink } from './sink.js';

export class TeeSink implements Sink {
  private failed = false;

  constructor(private readonly sinks: readonly Sink[]) {}

  write(offset: number, data: Uint8Array): Promise<void> {
    return this.all((s) => s.write(offset, data));
  }

  zero(offset: number, length: number): Promise<void> {
    return this.all((s) => s.zero(offset, length));
  }

  /** Finishes the sinks one after another, in the order given. */
  async finish(size: number): Promise<void> {
    for (let i = 0; i < this.sinks.length; i++) {
      try {
        await this.sinks[i].finish(size);
      } catch (e) {
        await this.abortAll(e, this.sinks.slice(i + 1));
        throw e;
      }
    }
  }

  abort(reason?: unknown): Promise<void> {
    return this.abortAll(reason, this.sinks);
  }

  private async all(op: (s: Sink) => Promise<void>): Promise<void> {
    const results = await Promise.allSettled(this.sinks.map(op));
    const bad = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (bad) {
      await this.abortAll(bad.reason, this.sinks);
      throw bad.reason;
    }
  }

  private async abortAll(reason: unknown, sinks: readonly Sink[]): Promise<void> {
    if (this.failed) return;
    this.failed = true;
    await Promise.allSettled(sinks.map((s) => s.abort(reason)));
  }
}
