// Building 8 images at once in one process (Promise.all over buildImage into
// MemorySinks) gives the same bytes as building them one by one: no state is
// shared between builds (caches, counters, ids), and interleaved emission does
// not mix extents.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildImage } from '../../src/image/build.js';
import { MemorySink } from '../../src/io/memory-sink.js';
import { bytesSource, textSource } from '../../src/io/source.js';
import { FileTree } from '../../src/tree/tree.js';

function treeFor(n: number): FileTree {
  const t = new FileTree({ defaultTime: { sec: 1700000000 + n, nsec: 0 } });
  t.addDir('/boot');
  t.addFile('/boot/cmdline.txt', textSource(`console=ttyS0 root=LABEL=data image=${n}\n`));
  t.addFile('/data.bin', bytesSource(new Uint8Array(50000 + n * 4096).map((_, i) => (i * (n + 3)) & 0xff)));
  for (let i = 0; i < 20 + n; i++) t.addFile(`/many/f${i}.txt`, textSource(`${n}:${i}\n`.repeat(i + 1)));
  return t;
}

function specFor(n: number): unknown {
  const fat = { type: 'fat', label: `B${n}`, contents: [{ from: 'x', to: '/' }] };
  const ext4 = { type: 'ext4', label: `data${n}`, contents: [{ from: 'x', to: '/' }] };
  return n % 2 === 0
    ? { table: 'gpt', size: '16MiB', seed: `conc-${n}`, alignment: '64KiB', partitions: [
        { name: 'EFI', type: 'esp', size: '4MiB', filesystem: fat },
        { name: 'A', type: 'linux', size: '1MiB' },
        { name: 'data', type: 'linux', size: 'rest', filesystem: ext4 },
      ] }
    : { table: 'mbr', size: '16MiB', seed: `conc-${n}`, alignment: '64KiB', partitions: [
        { type: 'fat32', size: '4MiB', bootable: true, filesystem: fat },
        { type: 'fat32', size: '4MiB', filesystem: { ...fat, label: `A${n}` } },
        { type: 'linux', size: 'rest', filesystem: ext4 },
      ] };
}

/** `yieldEvery`: let the event loop run before every write, so that parallel builds interleave at each extent. */
async function build(n: number, yieldEvery = false): Promise<string> {
  const sink = new MemorySink();
  if (yieldEvery) {
    const write = sink.write.bind(sink);
    sink.write = async (o, d) => { await new Promise((r) => setImmediate(r)); return write(o, d); };
  }
  await buildImage(specFor(n), sink, { loadTree: async () => treeFor(n) });
  return createHash('sha256').update(sink.bytes()).digest('hex');
}

describe('concurrent builds', () => {
  it('8 images built at once equal the same 8 built one by one', async () => {
    const ids = [0, 1, 2, 3, 4, 5, 6, 7];
    const sequential: string[] = [];
    for (const n of ids) sequential.push(await build(n));
    // every image differs from the others (else the comparison proves little)
    expect(new Set(sequential).size).toBe(8);
    const parallel = await Promise.all(ids.map((n) => build(n)));
    expect(parallel).toEqual(sequential);
    // in reverse start order, each build yielding to the others before every write
    const reversed = await Promise.all([...ids].reverse().map((n) => build(n, true)));
    expect(reversed.reverse()).toEqual(sequential);
  }, 300_000);
});
