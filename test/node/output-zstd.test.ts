import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ZstdSink } from '../../src/node/zstd-sink.js';
import { MemorySink } from '../../src/io/memory-sink.js';
import { TeeSink } from '../../src/io/tee-sink.js';
import type { Sink } from '../../src/io/sink.js';
import { isDiskwrightError } from '../../src/errors.js';
import { haveTools, tempDir } from '../helpers/oracle.js';
import { spawnSync } from 'node:child_process';

const MiB = 1 << 20;

/** A deterministic pseudo-random generator (xorshift32) for test data. */
function bytes(n: number, seed: number, text = false): Uint8Array {
  const d = new Uint8Array(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    d[i] = text ? 97 + ((x >>> 8) % 20) : x & 0xff;
  }
  return d;
}

/** An image-like emission: metadata, file data of several kinds, zero ranges, long free gaps, partial frames. */
async function emitSample(sink: Sink, split: number): Promise<number> {
  const parts: Array<[number, Uint8Array | number]> = [
    [0, bytes(512, 1)],
    [512, 16 * 1024],
    [MiB, bytes(3 * MiB + 123, 2, true)],
    [4 * MiB + 200, bytes(5 * MiB, 3)],
    [9 * MiB + 200, 2 * MiB], // zero range crossing a frame boundary
    [17 * MiB, bytes(100, 4)],
    [40 * MiB - 7, bytes(14, 5)], // straddles a frame boundary
    [61 * MiB, bytes(2 * MiB + 5, 6, true)],
  ];
  for (const [off, x] of parts) {
    if (typeof x === 'number') await sink.zero(off, x);
    else for (let i = 0; i < x.length; i += split) await sink.write(off + i, x.subarray(i, i + split));
  }
  const size = 70 * MiB + 4096;
  await sink.finish(size);
  return size;
}

function zstdDecompress(file: string): Buffer {
  const r = spawnSync('zstd', ['-d', '-c', '-q', file], { maxBuffer: 512 * MiB });
  expect(r.status, r.stderr?.toString()).toBe(0);
  return r.stdout;
}

describe.skipIf(!haveTools('zstd'))('ZstdSink', () => {
  it('writes a .zst that `zstd -d` turns back into the identical raw image, and the same bytes on every run', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const mem = new MemorySink();
      const a = path.join(dir, 'a.img.zst');
      const za = new ZstdSink(a, { frameSize: 4 * MiB });
      const size = await emitSample(new TeeSink([mem, za]), 1 << 30);
      const raw = zstdDecompress(a);
      expect(raw.length).toBe(size);
      expect(Buffer.compare(raw, Buffer.from(mem.bytes()))).toBe(0);
      // `zstd -l` sees one frame per 4 MiB of image.
      const list = spawnSync('zstd', ['-lv', a], { encoding: 'utf8' });
      expect(list.stdout + list.stderr).toMatch(new RegExp(`# Zstandard Frames: ${Math.ceil(size / (4 * MiB))}\\b`));

      // Different write sizes, one worker, a short queue: the same file.
      const b = path.join(dir, 'b.img.zst');
      await emitSample(new ZstdSink(b, { frameSize: 4 * MiB, workers: 1, maxInFlight: 1 }), 65537);
      const c = path.join(dir, 'c.img.zst');
      await emitSample(new ZstdSink(c, { frameSize: 4 * MiB, workers: 2, maxInFlight: 7 }), 4096);
      const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
      expect(sha(b)).toBe(sha(a));
      expect(sha(c)).toBe(sha(a));
      expect(fs.readdirSync(dir).sort()).toEqual(['a.img.zst', 'b.img.zst', 'c.img.zst']);
    } finally {
      cleanup();
    }
  });

  it('handles odd frame sizes and levels, including an image smaller than one frame', async () => {
    const { dir, cleanup } = tempDir();
    try {
      for (const [frameSize, level, size] of [[1 * MiB + 4096, 1, 70 * MiB + 4096], [64 * MiB, 9, 70 * MiB + 4096]] as const) {
        const f = path.join(dir, `x-${frameSize}-${level}.zst`);
        const mem = new MemorySink();
        expect(await emitSample(new TeeSink([mem, new ZstdSink(f, { frameSize, level })]), 3 * MiB)).toBe(size);
        expect(Buffer.compare(zstdDecompress(f), Buffer.from(mem.bytes()))).toBe(0);
      }
      const tiny = path.join(dir, 'tiny.zst');
      const s = new ZstdSink(tiny);
      await s.write(10, Uint8Array.of(1, 2, 3));
      await s.finish(4096);
      const raw = zstdDecompress(tiny);
      expect(raw.length).toBe(4096);
      expect([...raw.subarray(8, 14)]).toEqual([0, 0, 1, 2, 3, 0]);
    } finally {
      cleanup();
    }
  });

  it('abort removes the temporary file, leaves an existing target alone, and refuses further writes', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const f = path.join(dir, 'keep.img.zst');
      fs.writeFileSync(f, 'old');
      const s = new ZstdSink(f);
      await s.write(0, bytes(9 * MiB, 7));
      await s.abort(new Error('stop'));
      expect(fs.readdirSync(dir)).toEqual(['keep.img.zst']);
      expect(fs.readFileSync(f, 'utf8')).toBe('old');
      await expect(s.write(10 * MiB, new Uint8Array(1))).rejects.toSatisfy((e) => isDiskwrightError(e, 'SINK_CLOSED'));
    } finally {
      cleanup();
    }
  });

  it('rejects extents out of order with SINK_ORDER', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const s = new ZstdSink(path.join(dir, 'o.zst'));
      await s.write(MiB, new Uint8Array(10));
      await expect(s.write(0, new Uint8Array(1))).rejects.toSatisfy((e) => isDiskwrightError(e, 'SINK_ORDER'));
      await s.abort();
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      cleanup();
    }
  });
});
