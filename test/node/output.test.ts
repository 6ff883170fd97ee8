import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openOutput, outputPaths } from '../../src/node/output.js';
import { MemorySink } from '../../src/io/memory-sink.js';
import type { Sink } from '../../src/io/sink.js';
import { DiskwrightError, isDiskwrightError } from '../../src/errors.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';

const MiB = 1 << 20;

function bytes(n: number, seed: number): Uint8Array {
  const d = new Uint8Array(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    d[i] = (x >>> 3) % 7 === 0 ? 0 : 65 + (x & 31);
  }
  return d;
}

const SIZE = 48 * MiB;

/** A small image-like emission; `until` stops after that many extents (no finish). */
async function emit(sink: Sink, until = Infinity): Promise<void> {
  const ext: Array<[number, Uint8Array | number]> = [
    [0, bytes(1024, 1)],
    [1024, 31 * 1024],
    [MiB, bytes(2 * MiB + 300, 2)],
    [8 * MiB, 64 * 1024],
    [20 * MiB + 512, bytes(6 * MiB, 3)],
    [47 * MiB, bytes(MiB, 4)],
  ];
  let n = 0;
  for (const [off, x] of ext) {
    if (n++ >= until) return;
    if (typeof x === 'number') await sink.zero(off, x);
    else await sink.write(off, x);
  }
  await sink.finish(SIZE);
}

async function reference(): Promise<Buffer> {
  const m = new MemorySink();
  await emit(m);
  return Buffer.from(m.bytes());
}

const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

/** A sink that fails the way a full disk does, after `after` calls. */
function failingSink(after: number): Sink {
  let calls = 0;
  const hit = () => {
    if (++calls > after) throw new DiskwrightError('IO_NO_SPACE', 'no space left on device (simulated)', { errno: 'ENOSPC' });
  };
  return { write: async () => hit(), zero: async () => hit(), finish: async () => hit(), abort: async () => undefined };
}

describe('outputPaths', () => {
  it('names OUT, OUT.zst and the block map after the raw image', () => {
    expect(outputPaths('/o/x.img', {})).toEqual({ image: '/o/x.img' });
    expect(outputPaths('/o/x.img', { zstd: true, bmap: true })).toEqual({ zstd: '/o/x.img.zst', bmap: '/o/x.img.bmap' });
    expect(outputPaths('/o/x.img.zst', { zstd: true, bmap: true })).toEqual({ zstd: '/o/x.img.zst', bmap: '/o/x.img.bmap' });
    expect(outputPaths('/o/x.img', { zstd: true, raw: true, bmap: true })).toEqual({ image: '/o/x.img', zstd: '/o/x.img.zst', bmap: '/o/x.img.bmap' });
  });
});

describe('openOutput', () => {
  it('writes a sparse raw image at OUT and nothing else', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const out = path.join(dir, 'disk.img');
      const s = openOutput(out);
      await emit(s);
      expect(fs.readdirSync(dir)).toEqual(['disk.img']);
      expect(Buffer.compare(fs.readFileSync(out), await reference())).toBe(0);
      // Zeros were not written: far fewer blocks than the image size.
      expect(fs.statSync(out).blocks * 512).toBeLessThan(16 * MiB);
      expect(s.result?.paths).toEqual({ image: out });
    } finally {
      cleanup();
    }
  });

  it.skipIf(!haveTools('zstd', 'bmaptool'))('writes OUT.zst and OUT.bmap, with no raw image; bmaptool flashes the .zst with the map and verifies it', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const out = path.join(dir, 'disk.img');
      const s = openOutput(out, { zstd: true, bmap: true });
      await emit(s);
      expect(fs.readdirSync(dir).sort()).toEqual(['disk.img.bmap', 'disk.img.zst']);
      const ref = await reference();
      const raw = spawnSync('zstd', ['-d', '-c', '-q', path.join(dir, 'disk.img.zst')], { maxBuffer: 256 * MiB });
      expect(raw.status).toBe(0);
      expect(Buffer.compare(raw.stdout, ref)).toBe(0);
      expect(s.result?.compressedSize).toBe(fs.statSync(path.join(dir, 'disk.img.zst')).size);
      expect(s.result?.bmap?.mappedBlocksCount).toBeGreaterThan(0);
      // bmaptool finds disk.img.bmap for disk.img.zst by itself, decompresses and checks every range.
      const target = path.join(dir, 'flashed');
      const r = run('bmaptool', ['copy', path.join(dir, 'disk.img.zst'), target]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/discovered bmap file/);
      expect(r.stderr).not.toMatch(/mismatch/);
      expect(Buffer.compare(fs.readFileSync(target), ref)).toBe(0);
    } finally {
      cleanup();
    }
  });

  it.skipIf(!haveTools('zstd'))('gives the same .img, .img.zst and .bmap bytes on every build', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const digests: string[][] = [];
      for (const name of ['a', 'b']) {
        const out = path.join(dir, `${name}.img`);
        await emit(openOutput(out, { zstd: true, raw: true, bmap: true }));
        digests.push([sha(out), sha(`${out}.zst`), sha(`${out}.bmap`)]);
      }
      expect(digests[1]).toEqual(digests[0]);
      expect(fs.readdirSync(dir).sort()).toEqual(['a.img', 'a.img.bmap', 'a.img.zst', 'b.img', 'b.img.bmap', 'b.img.zst']);
    } finally {
      cleanup();
    }
  });

  for (const [label, opts] of [
    ['raw', {}],
    ['zstd + bmap', { zstd: true, bmap: true }],
    ['raw + zstd + bmap', { zstd: true, raw: true, bmap: true }],
  ] as const) {
    it(`a failing sink (${label}) leaves nothing new behind and existing targets untouched`, async () => {
      const { dir, cleanup } = tempDir();
      try {
        const out = path.join(dir, 'disk.img');
        const paths = outputPaths(out, opts);
        for (const p of Object.values(paths)) fs.writeFileSync(p, `old ${path.basename(p)}`);
        const before = fs.readdirSync(dir).sort();
        for (const after of [0, 3, 6]) {
          const s = openOutput(out, { ...opts, also: [failingSink(after)] });
          await expect(emit(s)).rejects.toSatisfy((e) => isDiskwrightError(e, 'IO_NO_SPACE'));
          expect(fs.readdirSync(dir).sort()).toEqual(before);
          for (const p of Object.values(paths)) expect(fs.readFileSync(p, 'utf8')).toBe(`old ${path.basename(p)}`);
          await expect(s.write(SIZE, new Uint8Array(1))).rejects.toBeInstanceOf(DiskwrightError);
        }
        // Without targets there beforehand: nothing at all.
        for (const p of Object.values(paths)) fs.unlinkSync(p);
        const s = openOutput(out, { ...opts, also: [failingSink(4)] });
        await expect(emit(s)).rejects.toSatisfy((e) => isDiskwrightError(e, 'IO_NO_SPACE'));
        expect(fs.readdirSync(dir)).toEqual([]);
      } finally {
        cleanup();
      }
    });
  }

  it('an AbortSignal mid-emission removes everything and later calls throw ABORTED', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const out = path.join(dir, 'disk.img');
      fs.writeFileSync(out, 'old');
      const ac = new AbortController();
      const s = openOutput(out, { zstd: true, raw: true, bmap: true, signal: ac.signal });
      await emit(s, 3);
      expect(fs.readdirSync(dir).length).toBeGreaterThan(1); // temporary files exist while building
      ac.abort(new Error('user pressed ^C'));
      await expect(s.write(20 * MiB, bytes(10, 9))).rejects.toSatisfy((e) => isDiskwrightError(e, 'ABORTED'));
      await expect(s.finish(SIZE)).rejects.toSatisfy((e) => isDiskwrightError(e, 'ABORTED'));
      expect(fs.readdirSync(dir)).toEqual(['disk.img']);
      expect(fs.readFileSync(out, 'utf8')).toBe('old');
      // An already-aborted signal refuses to open at all.
      expect(() => openOutput(out, { signal: ac.signal })).toThrow(expect.objectContaining({ code: 'ABORTED' }));
      expect(fs.readdirSync(dir)).toEqual(['disk.img']);
    } finally {
      cleanup();
    }
  });

  it('abort() by the emitter cleans up the same way', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const s = openOutput(path.join(dir, 'disk.img'), { zstd: true, bmap: true });
      await emit(s, 4);
      await s.abort(new Error('plan failed'));
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      cleanup();
    }
  });

  it('refuses a directory as OUT', () => {
    const { dir, cleanup } = tempDir();
    try {
      fs.mkdirSync(path.join(dir, 'x.img'));
      expect(() => openOutput(path.join(dir, 'x.img'))).toThrow(expect.objectContaining({ code: 'OUTPUT_IS_DIRECTORY' }));
    } finally {
      cleanup();
    }
  });

  // A real full disk: a 4 MiB tmpfs (needs root and a kernel that lets us mount).
  const canMount = process.getuid?.() === 0 && haveTools('mount', 'umount') && (() => {
    const { dir, cleanup } = tempDir();
    const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]).status === 0;
    if (ok) spawnSync('umount', [dir]);
    cleanup();
    return ok;
  })();
  it.skipIf(!canMount)('a full file system (ENOSPC on a small tmpfs) gives IO_NO_SPACE and leaves nothing behind', async () => {
    const { dir, cleanup } = tempDir();
    expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir]).status).toBe(0);
    try {
      for (const opts of [{ bmap: true }, { zstd: true, bmap: true, raw: true }]) {
        const s = openOutput(path.join(dir, 'disk.img'), opts);
        await expect(emit(s)).rejects.toSatisfy((e) => isDiskwrightError(e, 'IO_NO_SPACE'));
        expect(fs.readdirSync(dir)).toEqual([]);
      }
    } finally {
      spawnSync('umount', [dir]);
      cleanup();
    }
  });
});

// A whole image from the sample spec, flashed with its block map onto a
// target full of random bytes: the result must pass the oracles.
describe.skipIf(!haveTools('bmaptool', 'sgdisk', 'fsck.fat', 'e2fsck'))('bmap flash of a built image', () => {
  it('bmaptool-copies fixtures/specs/demo.json onto random bytes and the result passes sgdisk, fsck.fat and e2fsck', async () => {
    const { buildImageFile } = await import('../../src/node/build-file.js');
    const { dir, cleanup } = tempDir();
    try {
      const out = path.join(dir, 'demo.img');
      const { output } = await buildImageFile(path.resolve('fixtures/specs/demo.json'), out, { bmap: true });
      const size = fs.statSync(out).size;
      const target = path.join(dir, 'target');
      const junk = Buffer.alloc(size);
      for (let i = 0; i < size; i += 1 << 16) junk.writeUInt32LE((i * 2654435761) >>> 0, i); // old, non-zero data
      fs.writeFileSync(target, junk);
      const tool = run('bash', ['-c', 'head -1 "$(command -v bmaptool)" | sed "s/^#!//"']).stdout.trim() || 'python3';
      const py = run(tool, ['-c', [
        'import sys', 'from bmaptools import BmapCopy',
        "w = BmapCopy.BmapCopy(open(sys.argv[1], 'rb'), open(sys.argv[2], 'r+b'), open(sys.argv[3], 'r'), None)",
        'w.copy(False, True)',
      ].join('\n'), out, target, `${out}.bmap`]);
      expect(py.status, py.stderr).toBe(0);
      expect(output.bmap!.mappedBlocksCount).toBeLessThan(output.bmap!.blocksCount);
      const v = run('sgdisk', ['-v', target]);
      expect(v.stdout).toMatch(/No problems found/);
      const parts = JSON.parse(run('sfdisk', ['-J', target]).stdout).partitiontable.partitions as Array<{ start: number; size: number }>;
      const slice = (i: number) => {
        const f = path.join(dir, `p${i + 1}`);
        const fd = fs.openSync(target, 'r');
        const buf = Buffer.alloc(parts[i].size * 512);
        fs.readSync(fd, buf, 0, buf.length, parts[i].start * 512);
        fs.closeSync(fd);
        fs.writeFileSync(f, buf);
        return f;
      };
      const fat = run('fsck.fat', ['-n', slice(0)]);
      expect(fat.status, fat.stdout + fat.stderr).toBe(0);
      expect(fat.stdout).not.toMatch(/differ|corrupt|invalid|Free cluster summary wrong|Dirty bit/i);
      const ext = run('e2fsck', ['-fn', slice(3)]);
      expect(ext.status, ext.stdout + ext.stderr).toBe(0);
      expect(ext.stdout).toMatch(/files .* blocks/);
    } finally {
      cleanup();
    }
  });
});
