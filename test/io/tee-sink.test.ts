import { describe, expect, it } from 'vitest';
import { TeeSink } from '../../src/io/tee-sink.js';
import { MemorySink } from '../../src/io/memory-sink.js';
import type { Sink } from '../../src/io/sink.js';
import { DiskwrightError, isDiskwrightError } from '../../src/errors.js';

/** Records the calls it gets; fails the n-th call when asked. */
function recorder(failAt = Infinity): Sink & { calls: string[] } {
  const calls: string[] = [];
  const step = (s: string) => {
    calls.push(s);
    if (calls.length === failAt) throw new DiskwrightError('IO_ERROR', 'simulated', {});
  };
  return {
    calls,
    write: async (o, d) => step(`write ${o}+${d.length}`),
    zero: async (o, n) => step(`zero ${o}+${n}`),
    finish: async (n) => step(`finish ${n}`),
    abort: async () => void calls.push('abort'),
  };
}

describe('TeeSink', () => {
  it('gives every sink the same emission', async () => {
    const a = new MemorySink(), b = new MemorySink();
    const t = new TeeSink([a, b]);
    await t.write(3, Uint8Array.of(1, 2));
    await t.zero(100, 50);
    await t.write(200, Uint8Array.of(9));
    await t.finish(4096);
    expect([...a.bytes()]).toEqual([...b.bytes()]);
    expect(a.extents).toEqual(b.extents);
    expect(a.bytes()[200]).toBe(9);
  });

  it('aborts every sink when one fails, and throws that error', async () => {
    const ok = recorder(), bad = recorder(2);
    const t = new TeeSink([ok, bad]);
    await t.write(0, new Uint8Array(4));
    await expect(t.zero(10, 10)).rejects.toSatisfy((e) => isDiskwrightError(e, 'IO_ERROR'));
    expect(ok.calls).toEqual(['write 0+4', 'zero 10+10', 'abort']);
    expect(bad.calls).toEqual(['write 0+4', 'zero 10+10', 'abort']);
  });

  it('finishes in order and aborts the sinks after one whose finish fails', async () => {
    const first = recorder(), failing = recorder(1), last = recorder();
    const t = new TeeSink([first, failing, last]);
    await expect(t.finish(512)).rejects.toSatisfy((e) => isDiskwrightError(e, 'IO_ERROR'));
    expect(first.calls).toEqual(['finish 512']);
    expect(last.calls).toEqual(['abort']);
  });
});
