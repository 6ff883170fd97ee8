// The host-file sink, written with O_DIRECT (gathered into aligned windows)
// and through the page cache: both must give the bytes the extents say,
// zeros in the gaps, holes where nothing comes near, and refuse extents out
// of order.
import { afterAll, describe, expect, it, vi } from 'vitest';
import * as fs from 'node:fs';
import fsDefault from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import * as path from 'node:path';
import fc from 'fast-check';
import { FileSink } from '../../src/node/file-sink.js';
import { DIRECT_BLOCK } from '../../src/node/direct-writer.js';
import { tempDir } from '../helpers/oracle.js';

const tmp = tempDir('dw-filesink-');
afterAll(() => tmp.cleanup());
const MiB = 1 << 20;

/** Extents in increasing order, with gaps, as [gapBefore, length, fillByte]. */
const extents = fc.array(fc.tuple(fc.integer({ min: 0, max: 9000 }), fc.integer({ min: 1, max: 12000 }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 40 });

async function writeAll(sink: FileSink, list: [number, number, number][], big: boolean): Promise<{ want: Uint8Array; size: number }> {
  let at = 0;
  const parts: [number, Uint8Array][] = [];
  for (const [gap, len, byte] of list) {
    at += gap + (big && gap > 8000 ? 5 * MiB : 0); // now and then past a whole window
    const data = new Uint8Array(len).map((_, i) => (byte + i) & 0xff || 1);
    parts.push([at, data]);
    await sink.write(at, data);
    at += len;
  }
  const size = at + 777;
  await sink.finish(size);
  const want = new Uint8Array(size);
  for (const [o, d] of parts) want.set(d, o);
  return { want, size };
}

describe('FileSink', () => {
  it('writes with O_DIRECT on this file system, and gives the same bytes as through the cache', async () => {
    let n = 0;
    await fc.assert(fc.asyncProperty(extents, fc.boolean(), async (list, big) => {
      const a = path.join(tmp.dir, `direct-${n}.img`);
      const b = path.join(tmp.dir, `cached-${n++}.img`);
      const direct = new FileSink(a);
      const cached = new FileSink(b, { direct: false });
      expect(direct.direct).toBe(true); // the test directory is on a disk file system (ext4 here)
      expect(cached.direct).toBe(false);
      const { want, size } = await writeAll(direct, list, big);
      await writeAll(cached, list, big);
      const got = fs.readFileSync(a);
      expect(got.length).toBe(size);
      expect(Buffer.compare(got, Buffer.from(want))).toBe(0);
      expect(Buffer.compare(fs.readFileSync(b), got)).toBe(0);
      fs.rmSync(a);
      fs.rmSync(b);
    }), { numRuns: 40 });
  });

  it('keeps a hole where no extent comes near, and ends at the size given', async () => {
    const f = path.join(tmp.dir, 'holes.img');
    const sink = new FileSink(f);
    expect(sink.direct).toBe(true);
    await sink.write(512, new Uint8Array(512).fill(1));
    await sink.zero(4096, 1 << 30);
    await sink.write((1 << 30) + 8192 + 100, new Uint8Array(50).fill(2));
    await sink.finish((1 << 30) + 8192 + 1000);
    const st = fs.statSync(f);
    expect(st.size).toBe((1 << 30) + 8192 + 1000);
    expect(st.blocks * 512).toBeLessThanOrEqual(3 * DIRECT_BLOCK + 64 * 1024); // two blocks of data, not a GiB
    const fd = fs.openSync(f, 'r');
    const b = Buffer.alloc(200);
    fs.readSync(fd, b, 0, 200, (1 << 30) + 8192);
    fs.closeSync(fd);
    expect([...b.subarray(99, 151)]).toEqual([0, ...new Array(50).fill(2), 0]);
  });

  it('an extent before the end of the previous one is SINK_ORDER, and nothing is left', async () => {
    const f = path.join(tmp.dir, 'order.img');
    const sink = new FileSink(f);
    await sink.write(8192, new Uint8Array(100));
    await expect(sink.write(4096, new Uint8Array(10))).rejects.toMatchObject({ code: 'SINK_ORDER' });
    expect(fs.readdirSync(tmp.dir).filter((x) => x.includes('order'))).toEqual([]);
  });

  // tmpfs refuses O_DIRECT before Linux 6.6 and takes it since: either way
  // the bytes must be right.
  it.skipIf(!fs.existsSync('/dev/shm'))('on tmpfs, direct or not, the bytes are right', async () => {
    const dir = fs.mkdtempSync('/dev/shm/dw-filesink-');
    try {
      const sink = new FileSink(path.join(dir, 'x.img'));
      const { want } = await writeAll(sink, [[10, 5000, 3], [7000, 100, 9]], false);
      expect(Buffer.compare(fs.readFileSync(path.join(dir, 'x.img')), Buffer.from(want))).toBe(0);
      expect(fs.readdirSync(dir)).toEqual(['x.img']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sync: true fsyncs before the rename, sync: false does not and writes through the cache; the bytes are the same', async () => {
    // The sink's `import * as fs` sees a spy on the default export once the builtin's ESM exports are re-synced.
    const calls: string[] = [];
    const real = { fsyncSync: fsDefault.fsyncSync, fdatasync: fsDefault.fdatasync, renameSync: fsDefault.renameSync };
    const spies = [
      vi.spyOn(fsDefault, 'fsyncSync').mockImplementation((fd) => { calls.push('fsync'); real.fsyncSync(fd); }),
      vi.spyOn(fsDefault, 'fdatasync').mockImplementation(((fd: number, cb: (e: NodeJS.ErrnoException | null) => void) => { calls.push('fdatasync'); real.fdatasync(fd, cb); }) as typeof fs.fdatasync),
      vi.spyOn(fsDefault, 'renameSync').mockImplementation((a, b) => { calls.push('rename'); real.renameSync(a, b); }),
    ];
    syncBuiltinESMExports();
    try {
      await fc.assert(fc.asyncProperty(extents, fc.boolean(), async (list, sync) => {
        calls.length = 0;
        const out = path.join(tmp.dir, `sync-${sync}.img`);
        const sink = new FileSink(out, { sync });
        if (!sync) expect(sink.direct).toBe(false);
        const { want } = await writeAll(sink, list as [number, number, number][], true);
        expect(Buffer.compare(fs.readFileSync(out), Buffer.from(want))).toBe(0);
        if (sync) expect(calls.slice(-2)).toEqual(['fsync', 'rename']);
        else expect(calls).toEqual(['rename']);
        fs.rmSync(out);
      }), { numRuns: 12 });
    } finally {
      for (const s of spies) s.mockRestore();
      syncBuiltinESMExports();
    }
  });
});
