import { describe, expect, it } from 'vitest';
import { createHash, randomFillSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { BmapSink, formatFixed1, humanSize, type RangeHasher } from '../../src/io/bmap.js';
import { MemorySink } from '../../src/io/memory-sink.js';
import { TeeSink } from '../../src/io/tee-sink.js';
import { createSha256, toHex } from '../../src/codec/sha256.js';
import { isDiskwrightError } from '../../src/errors.js';
import { findTool, haveTools, run, tempDir } from '../helpers/oracle.js';

/** The interpreter bmaptool runs under (its #! line), which has the bmaptools package. */
function bmaptoolPython(): string {
  const tool = findTool('bmaptool');
  const first = tool ? fs.readFileSync(tool, 'utf8').split('\n', 1)[0] : '';
  return first.startsWith('#!') ? first.slice(2).trim().split(/\s+/)[0] : 'python3';
}

const nodeSha256 = (): RangeHasher => {
  const h = createHash('sha256');
  return { update: (d) => void h.update(d), digestHex: () => h.digest('hex') };
};

/** An emission: extents in offset order (data bytes or zero ranges) and the image size. */
interface Emission {
  extents: Array<{ offset: number; data?: Uint8Array; zero?: number }>;
  size: number;
}

async function emit(e: Emission, sink: { write(o: number, d: Uint8Array): Promise<void>; zero(o: number, n: number): Promise<void>; finish(n: number): Promise<void> }): Promise<void> {
  for (const x of e.extents) {
    if (x.data) await sink.write(x.offset, x.data);
    else await sink.zero(x.offset, x.zero!);
  }
  await sink.finish(e.size);
}

/** The model: a block is mapped when any extent touches it; a range's checksum is over the image bytes (to the image end). */
function modelRanges(e: Emission, image: Uint8Array, bs: number): Array<{ first: number; last: number; chksum: string }> {
  const blocks = Math.ceil(e.size / bs);
  const mapped = new Uint8Array(blocks);
  for (const x of e.extents) {
    const len = x.data ? x.data.length : x.zero!;
    if (len === 0) continue;
    for (let b = Math.floor(x.offset / bs); b <= Math.floor((x.offset + len - 1) / bs); b++) mapped[b] = 1;
  }
  const out = [];
  for (let b = 0; b < blocks; ) {
    if (!mapped[b]) { b++; continue; }
    let l = b;
    while (l + 1 < blocks && mapped[l + 1]) l++;
    const bytes = image.subarray(b * bs, Math.min((l + 1) * bs, e.size));
    out.push({ first: b, last: l, chksum: createHash('sha256').update(bytes).digest('hex') });
    b = l + 1;
  }
  return out;
}

const arbEmission = (bs: number) =>
  fc
    .array(
      fc.record({
        gap: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3 * bs }), fc.integer({ min: 0, max: 40 * bs })),
        len: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 1, max: 5 * bs })),
        zero: fc.boolean(),
        seed: fc.integer({ min: 1, max: 255 }),
      }),
      { maxLength: 25 },
    )
    .chain((parts) =>
      fc.integer({ min: 0, max: 3 * bs }).map((tail) => {
        let pos = 0;
        const extents: Emission['extents'] = [];
        for (const p of parts) {
          const offset = pos + p.gap;
          if (p.zero) extents.push({ offset, zero: p.len });
          else {
            const d = new Uint8Array(p.len);
            for (let i = 0; i < d.length; i++) d[i] = (p.seed * 31 + i * 7) & 0xff || 1;
            extents.push({ offset, data: d });
          }
          pos = offset + p.len;
        }
        return { extents, size: Math.max(pos + tail, 1) } as Emission;
      }),
    );

describe('createSha256 (incremental)', () => {
  it('equals node:crypto for any split of the input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), fc.array(fc.nat(200), { maxLength: 8 }), (data, cuts) => {
        const h = createSha256();
        let i = 0;
        for (const c of cuts) { h.update(data.subarray(i, i + c)); i = Math.min(data.length, i + c); }
        h.update(data.subarray(i));
        expect(toHex(h.digest())).toBe(createHash('sha256').update(data).digest('hex'));
      }),
      { numRuns: 300 },
    );
  });
});

describe('BmapSink', () => {
  it('maps exactly the blocks touched by data or zero ranges, with checksums of the image bytes', async () => {
    for (const bs of [512, 4096]) {
      await fc.assert(
        fc.asyncProperty(arbEmission(bs), async (e) => {
          const mem = new MemorySink();
          const bmap = new BmapSink(mem, { blockSize: bs, createHasher: nodeSha256 });
          await emit(e, bmap);
          const r = bmap.bmap();
          expect(r.ranges).toEqual(modelRanges(e, mem.bytes(), bs));
          expect(r.blocksCount).toBe(Math.ceil(e.size / bs));
          expect(r.mappedBlocksCount).toBe(r.ranges.reduce((n, x) => n + x.last - x.first + 1, 0));
        }),
        { numRuns: 150 },
      );
    }
  });

  it('gives the same bmap with the pure-TypeScript hasher and with node:crypto', async () => {
    await fc.assert(
      fc.asyncProperty(arbEmission(4096), async (e) => {
        const a = new BmapSink();
        const b = new BmapSink(null, { createHasher: nodeSha256 });
        await emit(e, new TeeSink([a, b]));
        expect(Buffer.from(a.bmap().bytes).equals(Buffer.from(b.bmap().bytes))).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it('rejects out-of-order extents with SINK_ORDER', async () => {
    const s = new BmapSink();
    await s.write(8192, new Uint8Array(10));
    await expect(s.write(100, new Uint8Array(1))).rejects.toSatisfy((e) => isDiskwrightError(e, 'SINK_ORDER'));
    await expect(s.finish(8000)).rejects.toSatisfy((e) => isDiskwrightError(e, 'SINK_ORDER'));
  });

  it('has a BmapFileChecksum equal to the sha256 of the file with that field zeroed', async () => {
    const s = new BmapSink();
    await s.write(0, new Uint8Array(512).fill(7));
    await s.zero(1 << 20, 1 << 16);
    await s.finish(8 << 20);
    const text = new TextDecoder().decode(s.bmap().bytes);
    const m = /<BmapFileChecksum> ([0-9a-f]{64}) <\/BmapFileChecksum>/.exec(text)!;
    expect(m).not.toBeNull();
    const zeroed = text.replace(m[1], '0'.repeat(64));
    expect(createHash('sha256').update(zeroed).digest('hex')).toBe(m[1]);
    expect(text).toMatch(/<MappedBlocksCount> 17 +<\/MappedBlocksCount>/);
    expect(text).toMatch(/<Range chksum="[0-9a-f]{64}"> 0 <\/Range>\n +<Range chksum="[0-9a-f]{64}"> 256-271 <\/Range>/);
  });
});

describe.skipIf(!haveTools('python3'))('human sizes as bmaptool prints them (python "%.1f")', () => {
  it('matches python for ties, near-ties and ordinary values', () => {
    const values = [0, 0.05, 0.25, 0.75, 1.25, 2.5, 12.25, 12.35, 99.95, 100, 33.33333, 0.15, 1023.95, 6.25, 50.75];
    for (let i = 0; i < 40; i++) values.push((i * 100) / 16, (i * 100) / 64, (i * 37.5) / 3);
    const py = run('python3', ['-c', 'import sys\nfor v in sys.argv[1:]: print("%.1f" % float(v))', ...values.map((v) => v.toString())]);
    expect(py.status).toBe(0);
    expect(values.map(formatFixed1)).toEqual(py.stdout.trim().split('\n'));
    const sizes = [1, 2, 511, 512, 1536, 4096 * 3, 5 << 20, 1.25 * 2 ** 30, 4 * 2 ** 30, 64 * 2 ** 30, 2 ** 40 * 3];
    if (!findTool('bmaptool')) return;
    const pyHuman = run(bmaptoolPython(), ['-c', 'import sys\nfrom bmaptools.BmapHelpers import human_size\nfor v in sys.argv[1:]: print(human_size(int(v)))', ...sizes.map(String)]);
    expect(pyHuman.status, pyHuman.stderr).toBe(0);
    expect(sizes.map(humanSize)).toEqual(pyHuman.stdout.trim().split('\n'));
  });
});

/** Lay an emission out as a host file where every mapped extent is allocated (zeros written as bytes), as bmaptool create sees it. */
function writeAllocated(file: string, e: Emission): Uint8Array {
  const fd = fs.openSync(file, 'w');
  const mem = new Uint8Array(e.size);
  for (const x of e.extents) {
    const d = x.data ?? new Uint8Array(x.zero!);
    if (d.length) fs.writeSync(fd, d, 0, d.length, x.offset);
    mem.set(d, x.offset);
  }
  fs.ftruncateSync(fd, e.size);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  return mem;
}

function sampleEmission(): Emission {
  const MiB = 1 << 20;
  const data = (n: number, seed: number) => {
    const d = new Uint8Array(n);
    for (let i = 0; i < n; i++) d[i] = (i * 131 + seed) & 0xff;
    return d;
  };
  return {
    extents: [
      { offset: 0, data: data(512, 1) }, // a boot sector
      { offset: 512, data: data(512, 2) },
      { offset: 1024, zero: 16 * 1024 }, // a zeroed table
      { offset: MiB, data: data(3 * 4096 + 100, 3) },
      { offset: MiB + 5 * 4096, zero: 8 * 4096 },
      { offset: MiB + 13 * 4096, data: data(10, 4) }, // adjacent to the zero range
      { offset: 9 * MiB + 17, data: data(4096, 5) }, // straddles two blocks
      { offset: 40 * MiB, zero: 2 * MiB },
      { offset: 63 * MiB, data: data(MiB, 6) }, // runs to the end
    ],
    size: 64 * MiB,
  };
}

describe.skipIf(!haveTools('bmaptool', 'python3'))('bmaptool oracle', () => {
  it('our .bmap is byte-identical to what bmaptool create writes for the same mapped blocks', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const e = sampleEmission();
      const img = path.join(dir, 'a.img');
      writeAllocated(img, e);
      const r = run('bmaptool', ['create', '-o', path.join(dir, 'ref.bmap'), img]);
      expect(r.status, r.stderr).toBe(0);
      const ours = new BmapSink(null, { createHasher: nodeSha256 });
      await emit(e, ours);
      const ref = fs.readFileSync(path.join(dir, 'ref.bmap'), 'utf8');
      expect(ref).toContain('<Range');
      expect(new TextDecoder().decode(ours.bmap().bytes)).toBe(ref);
    } finally {
      cleanup();
    }
  });

  it('bmaptool copy with our .bmap onto a target full of random bytes gives the image in every mapped block', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const e = sampleEmission();
      const img = path.join(dir, 'b.img');
      const mem = new MemorySink();
      const bmap = new BmapSink(mem);
      await emit(e, bmap);
      fs.writeFileSync(img, mem.bytes());
      fs.writeFileSync(path.join(dir, 'b.img.bmap'), bmap.bmap().bytes);
      // The CLI truncates a regular-file target; the library copies onto the
      // file as it is, as onto a block device holding old data.
      const target = path.join(dir, 'target');
      const junk = new Uint8Array(e.size);
      randomFillSync(junk);
      fs.writeFileSync(target, junk);
      const py = run(bmaptoolPython(), ['-c', [
        'import sys',
        'from bmaptools import BmapCopy',
        "img = open(sys.argv[1], 'rb'); dest = open(sys.argv[2], 'r+b'); bm = open(sys.argv[3], 'r')",
        'w = BmapCopy.BmapCopy(img, dest, bm, None)',
        'w.copy(False, True)',
        "print('mapped', w.mapped_cnt, 'of', w.blocks_cnt)",
      ].join('\n'), img, target, path.join(dir, 'b.img.bmap')]);
      expect(py.status, py.stderr).toBe(0);
      const r = bmap.bmap();
      expect(py.stdout.trim()).toBe(`mapped ${r.mappedBlocksCount} of ${r.blocksCount}`);
      const out = fs.readFileSync(target);
      const image = mem.bytes();
      const mappedBlocks = new Set<number>();
      for (const rg of r.ranges) for (let b = rg.first; b <= rg.last; b++) mappedBlocks.add(b);
      for (const b of mappedBlocks) {
        const s = b * 4096, t = Math.min(s + 4096, e.size);
        expect(Buffer.compare(out.subarray(s, t), Buffer.from(image.subarray(s, t))), `block ${b}`).toBe(0);
      }
      // Unmapped blocks keep the old bytes (so the copy really was by the map).
      const unmapped = [...Array(r.blocksCount).keys()].find((b) => !mappedBlocks.has(b))!;
      expect(Buffer.compare(out.subarray(unmapped * 4096, unmapped * 4096 + 4096), Buffer.from(junk.subarray(unmapped * 4096, unmapped * 4096 + 4096)))).toBe(0);

      // The CLI accepts the map (it verifies the file checksum and every range's) …
      const cli = run('bmaptool', ['copy', '--bmap', path.join(dir, 'b.img.bmap'), img, path.join(dir, 'cli-target')]);
      expect(cli.status, cli.stderr).toBe(0);
      expect(cli.stderr).not.toMatch(/mismatch|error/i);
      // … and refuses it when one mapped byte of the image changes.
      const bad = Buffer.from(image);
      bad[MiBOffset(63) + 5] ^= 0xff;
      fs.writeFileSync(img, bad);
      const cli2 = run('bmaptool', ['copy', '--bmap', path.join(dir, 'b.img.bmap'), img, path.join(dir, 'cli-target2')]);
      expect(cli2.status).not.toBe(0);
      expect(cli2.stderr).toMatch(/checksum mismatch/);
    } finally {
      cleanup();
    }
  });
});

function MiBOffset(n: number): number {
  return n * (1 << 20);
}
