// The ext4 builder at scale and at its edges, judged by e2fsprogs: hashed
// directories up to 100,000 entries, extent trees of depth 1 and 2, files
// over 4 GiB, dumpe2fs features, offline growth with resize2fs, determinism
// and the coded errors for content that does not fit.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { FileTree } from '../../src/tree/tree.js';
import { bytesSource, textSource } from '../../src/io/source.js';
import { planExt4 } from '../../src/ext4/build.js';
import { isDiskwrightError } from '../../src/errors.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';
import { buildBytes, buildImage, debugfs, expectFsckClean, expectImageMatchesTree, sparseSource } from './build-util.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function flatTree(n: number, nameOf: (i: number) => string): FileTree {
  const t = new FileTree({ defaultTime: { sec: 1_700_000_000, nsec: 0 } });
  const d = t.addDir('/flat');
  const empty = bytesSource(new Uint8Array(0));
  for (let i = 0; i < n; i++) d.children.set(nameOf(i), { kind: 'file', mode: 0o644, uid: 0, gid: 0, mtime: { sec: 1_700_000_000, nsec: 0 }, source: empty });
  return t;
}

describe.skipIf(!haveTools('e2fsck', 'debugfs', 'dumpe2fs'))('ext4 builder: scale and edges', () => {
  it('a flat directory of 100,000 entries is a two-level htree that e2fsck accepts', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const t = flatTree(100_000, (i) => `file-${i.toString().padStart(6, '0')}-${'x'.repeat(i % 40)}`);
      const img = path.join(dir, 'flat.img');
      const t0 = performance.now();
      await buildImage(t, img, { size: 512 * MiB, seed: 'flat', inodeRatio: 4096 });
      const ms = performance.now() - t0;
      console.log(`100k-entry directory: built in ${ms.toFixed(0)} ms`);
      expectFsckClean(img);
      const dump = debugfs(img, 'htree_dump /flat', 'ls -p /flat');
      expect(dump).toMatch(/Indirect levels: 1/);
      const names = dump.split('\n').filter((l) => /^\/\d+\/100644\//.test(l)).length;
      expect(names).toBe(100_000);
    } finally {
      cleanup();
    }
  }, 300_000);

  it('one-level htrees with hash collisions and UTF-8 names, for each hash seed and block size', async () => {
    const { dir, cleanup } = tempDir();
    try {
      for (const blockSize of [1024, 4096] as const) {
        const t = flatTree(3000, (i) => (i % 3 === 0 ? `ü-${i}` : i % 3 === 1 ? `n${i}` : `${'ß'.repeat(1 + (i % 100))}${i}`));
        const img = path.join(dir, `h${blockSize}.img`);
        await buildImage(t, img, { size: 64 * MiB, seed: `h${blockSize}`, blockSize });
        expectFsckClean(img);
        expect(debugfs(img, 'htree_dump /flat')).toMatch(blockSize === 4096 ? /Indirect levels: 0/ : /Indirect levels: 1/);
        expectImageMatchesTree(img, t, dir);
      }
      // Without dir_index the same directory is a chain of linear blocks.
      const t = flatTree(3000, (i) => `n${i}-${'ß'.repeat(i % 50)}`);
      const img = path.join(dir, 'linear.img');
      await buildImage(t, img, { size: 64 * MiB, seed: 'lin', features: { dir_index: false } });
      expectFsckClean(img);
      expect(run('dumpe2fs', ['-h', img]).stdout).not.toMatch(/dir_index/);
      const st = debugfs(img, 'stat /flat');
      expect(parseInt(/Flags: 0x([0-9a-f]+)/.exec(st)![1], 16) & 0x1000).toBe(0); // no EXT4_INDEX_FL
      expect(Number(/Size: (\d+)/.exec(st)![1])).toBeGreaterThan(4096 * 10);
      expectImageMatchesTree(img, t, dir);
    } finally {
      cleanup();
    }
  }, 120_000);

  it('extent trees of depth 1 and 2, a sparse file over 4 GiB, and a dense multi-group file', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const t = new FileTree({ defaultTime: { sec: 1_600_000_000, nsec: 0 } });
      const holes = (count: number, step: number) => Array.from({ length: count }, (_, i) => [i * step, i * step + 100] as [number, number]);
      // 1 KiB blocks: 84 extents per tree block, 4 in the inode
      t.addFile('/depth1', sparseSource(300 * 8192, holes(300, 8192), 1));
      t.addFile('/depth2', sparseSource(2000 * 8192, holes(2000, 8192), 2));
      const dense = new Uint8Array(30 * MiB); // spans several 8 MiB groups
      for (let i = 0; i < dense.length; i += 4096) dense[i] = (i / 4096) & 0xff;
      t.addFile('/dense', bytesSource(dense));
      const img = path.join(dir, 'ext.img');
      await buildImage(t, img, { size: 100 * MiB, seed: 'ext', blockSize: 1024 });
      expectFsckClean(img);
      const st = debugfs(img, 'stat /depth1', 'stat /depth2', 'stat /dense');
      const secs = st.split(/^debugfs: /m).slice(1);
      expect(secs[0]).toMatch(/\(ETB0\)/);
      expect(secs[0]).not.toMatch(/\(ETB1\)/);
      expect(secs[1]).toMatch(/\(ETB1\)/);
      expectImageMatchesTree(img, t, dir);

      // A sparse file over 4 GiB in its own image: debugfs gives size, block
      // count and mapping; the mapped blocks in the image hold the bytes.
      const h = new FileTree({ defaultTime: { sec: 1_600_000_000, nsec: 0 } });
      const huge = sparseSource(5 * GiB + 123, [[0, 4096], [4 * GiB + 10, 4 * GiB + 20000], [5 * GiB, 5 * GiB + 123]], 3);
      h.addFile('/huge', huge);
      const himg = path.join(dir, 'huge.img');
      await buildImage(h, himg, { size: 32 * MiB, seed: 'huge', blockSize: 1024 });
      expectFsckClean(himg);
      const hs = debugfs(himg, 'stat /huge');
      expect(hs).toMatch(/Size: 5368709243/);
      // 4 + 20 + 1 data blocks of 1 KiB, 2 sectors each, in three extents; the holes take nothing
      expect(hs).toMatch(/Blockcount: 50\b/);
      const m = /\(0-3\):(\d+)-\d+, \(4194304-4194323\):(\d+)-\d+, \(5242880\):(\d+)/.exec(hs);
      expect(m, hs).not.toBeNull();
      const fd = fs.openSync(himg, 'r');
      try {
        for (const [logical, phys, len] of [[0, +m![1], 4], [4194304, +m![2], 20], [5242880, +m![3], 1]]) {
          const got = Buffer.alloc(len * 1024);
          fs.readSync(fd, got, 0, got.length, phys * 1024);
          const wantLen = Math.min(len * 1024, huge.size - logical * 1024);
          expect(Buffer.compare(got.subarray(0, wantLen), Buffer.from(huge.read(logical * 1024, wantLen)))).toBe(0);
          expect(got.subarray(wantLen).every((x) => x === 0)).toBe(true);
        }
      } finally {
        fs.closeSync(fd);
      }
    } finally {
      cleanup();
    }
  }, 180_000);

  it('dumpe2fs -h shows the mke2fs -t ext4 feature set, label, UUID and counts', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const t = new FileTree({ defaultTime: { sec: 1_700_000_000, nsec: 0 } });
      t.addFile('/a', textSource('a'));
      const img = path.join(dir, 'f.img');
      const plan = planExt4(t, { size: 256 * MiB, seed: 'feat', label: 'KSOLO-DATA' });
      await buildImage(t, img, { size: 256 * MiB, seed: 'feat', label: 'KSOLO-DATA' });
      const out = run('dumpe2fs', ['-h', img]).stdout;
      const feats = /Filesystem features:\s+(.*)/.exec(out)![1].trim().split(/\s+/).sort();
      expect(feats).toEqual(['64bit', 'dir_index', 'dir_nlink', 'ext_attr', 'extent', 'extra_isize', 'filetype', 'flex_bg', 'has_journal',
        'huge_file', 'large_file', 'metadata_csum', 'resize_inode', 'sparse_super'].sort());
      expect(out).toMatch(/Filesystem volume name:\s+KSOLO-DATA/);
      expect(out).toMatch(new RegExp(`Filesystem UUID:\\s+${plan.uuid}`));
      expect(out).toMatch(/Block size:\s+4096/);
      expect(out).toMatch(/Inode size:\s+256/);
      expect(out).toMatch(/Reserved block count:\s+3276\b/);
      expect(out).toMatch(/Journal inode:\s+8/);
      expect(out).toMatch(/Total journal size:\s+16M/); // ext2fs_default_journal_size for 65536 blocks
      expect(out).toMatch(/Journal features:\s+journal_checksum_v3/);
      expect(out).toMatch(/Filesystem created:\s+Tue Nov 14 22:13:20 2023/);
      expectFsckClean(img);

      // ITABLE_ZEROED only where the inode tables are written: groups in use
      // by default, every group with zeroInodeTables.
      const groups = run('dumpe2fs', [img]).stdout.split('\n').filter((l) => /^Group \d+:/.test(l));
      expect(groups.length).toBe(2);
      expect(groups[0]).toMatch(/ITABLE_ZEROED/);
      expect(groups[1]).toMatch(/INODE_UNINIT/);
      expect(groups[1]).not.toMatch(/ITABLE_ZEROED/);
      const zeroed = path.join(dir, 'zeroed.img');
      await buildImage(t, zeroed, { size: 256 * MiB, seed: 'feat', zeroInodeTables: true });
      const zg = run('dumpe2fs', [zeroed]).stdout.split('\n').filter((l) => /^Group \d+:/.test(l));
      expect(zg.every((l) => /ITABLE_ZEROED/.test(l))).toBe(true);
      expectFsckClean(zeroed);

      const off = path.join(dir, 'nojournal.img');
      await buildImage(t, off, { size: 64 * MiB, seed: 'feat', journal: false, features: { metadata_csum: false } });
      const o2 = run('dumpe2fs', ['-h', off]).stdout;
      const f2 = /Filesystem features:\s+(.*)/.exec(o2)![1];
      expect(f2).not.toMatch(/has_journal|metadata_csum/);
      expect(f2).toMatch(/uninit_bg/);
      expectFsckClean(off);
    } finally {
      cleanup();
    }
  }, 60_000);

  it.skipIf(!haveTools('resize2fs'))('grows offline with resize2fs after the image is enlarged', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const t = new FileTree({ defaultTime: { sec: 1_700_000_000, nsec: 0 } });
      for (let i = 0; i < 300; i++) t.addFile(`/d${i % 7}/f${i}`, bytesSource(new Uint8Array(20000 + i).fill(i & 0xff)));
      // With resize_inode (reserved GDT blocks) and without (resize2fs moves blocks to make room).
      for (const [size, grown, bs, resize] of [[64 * MiB, 2 * GiB, 4096, true], [32 * MiB, 300 * MiB, 1024, true], [32 * MiB, 600 * MiB, 1024, false]] as const) {
        const img = path.join(dir, `g${bs}.img`);
        await buildImage(t, img, { size, seed: 'grow', blockSize: bs, features: { resize_inode: resize } });
        const before = run('dumpe2fs', ['-h', img]).stdout;
        expect(/Reserved GDT blocks:\s+(\d+)/.exec(before)?.[1] ?? '0').toBe(resize ? (bs === 4096 ? '7' : '255') : '0'); // what mke2fs -t ext4 reserves for these sizes
        fs.truncateSync(img, grown);
        const r = run('resize2fs', ['-f', img], { timeoutMs: 300_000 });
        expect(r.status, r.stdout + r.stderr).toBe(0);
        expect(r.stdout + r.stderr).toMatch(/is now \d+ .*blocks long/);
        expectFsckClean(img);
        const out = run('dumpe2fs', ['-h', img]).stdout;
        expect(Number(/Block count:\s+(\d+)/.exec(out)![1])).toBe(grown / bs);
        expectImageMatchesTree(img, t, dir);
      }
    } finally {
      cleanup();
    }
  }, 300_000);

  it('written onto a device full of old data (only data and zero extents land), it is still clean and complete', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const t = new FileTree({ defaultTime: { sec: 1_700_000_000, nsec: 0 } });
      for (let i = 0; i < 700; i++) t.addFile(`/many/entry-${i}`, textSource(`${i}\n`.repeat(i % 50)), { xattrs: i % 10 === 0 ? [{ name: 'user.k', value: new Uint8Array(300).fill(i & 0xff) }] : undefined });
      t.addSymlink('/slow', 's'.repeat(200));
      t.addFile('/sparse', sparseSource(10 * MiB, [[0, 10], [9 * MiB, 9 * MiB + 10]], 5));
      t.addDevice('/dev/sda', 'block', 8, 0);
      for (const opts of [{ blockSize: 4096 as const }, { blockSize: 1024 as const, features: { metadata_csum: false } }]) {
        const img = path.join(dir, 'dirty.img');
        const size = 96 * MiB;
        const junk = Buffer.alloc(MiB, 0xa5);
        const fd = fs.openSync(img, 'w+');
        for (let o = 0; o < size; o += MiB) fs.writeSync(fd, junk, 0, MiB, o);
        // A sink that writes data and writes zeros for zero(): what a flash with a block map does.
        const sink = {
          async write(off: number, data: Uint8Array) { fs.writeSync(fd, data, 0, data.length, off); },
          async zero(off: number, len: number) {
            for (let o = 0; o < len; o += MiB) fs.writeSync(fd, Buffer.alloc(Math.min(MiB, len - o)), 0, Math.min(MiB, len - o), off + o);
          },
          async finish() { fs.closeSync(fd); },
          async abort() { fs.closeSync(fd); },
        };
        const plan = planExt4(t, { size, seed: 'dirty', ...opts });
        await plan.emit(sink, 0);
        await sink.finish();
        expectFsckClean(img);
        expectImageMatchesTree(img, t, dir);
      }
    } finally {
      cleanup();
    }
  }, 120_000);

  it('a 1 TiB filesystem: metadata for 8192 groups, little written, e2fsck clean', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const t = new FileTree({ defaultTime: { sec: 1_700_000_000, nsec: 0 } });
      t.addFile('/hello', textSource('hello\n'));
      const size = 1024 * GiB;
      const img = path.join(dir, 'tib.img');
      const plan = planExt4(t, { size, seed: 'tib' });
      const { FileSink } = await import('../../src/node/file-sink.js');
      const sink = new FileSink(img);
      let written = 0;
      let zeroed = 0;
      const counting = {
        write: (o: number, d: Uint8Array) => { written += d.length; return sink.write(o, d); },
        zero: (o: number, n: number) => { zeroed += n; return sink.zero(); },
        finish: (n: number) => sink.finish(n),
        abort: () => sink.abort(),
      };
      await plan.emit(counting, 0);
      await counting.finish(size);
      // Group descriptors, superblock copies, bitmaps of groups in use, one
      // journal superblock, root and lost+found: not the inode tables of
      // unused groups (INODE_UNINIT, lazily initialised).
      expect(written).toBeLessThan(64 * MiB);
      expect(zeroed).toBeLessThan(2 * GiB);
      expectFsckClean(img);
      const out = run('dumpe2fs', ['-h', img]).stdout;
      expect(out).toMatch(/Block count:\s+268435456/);
      expect(out).toMatch(/Total journal size:\s+1024M/);
    } finally {
      cleanup();
    }
  }, 120_000);

  it('is deterministic: same tree and seed give the same bytes, another seed other ids', async () => {
    const mk = () => {
      const t = new FileTree({ defaultTime: { sec: 1_700_000_000, nsec: 123 } });
      for (let i = 0; i < 500; i++) t.addFile(`/x/${i}`, textSource(`file ${i}\n`.repeat(i)));
      t.addSymlink('/l', '/x/1');
      return t;
    };
    const a = await buildBytes(mk(), { size: 32 * MiB, seed: 's1' });
    const b = await buildBytes(mk(), { size: 32 * MiB, seed: 's1' });
    const c = await buildBytes(mk(), { size: 32 * MiB, seed: 's2' });
    const h = (x: Uint8Array) => createHash('sha256').update(x).digest('hex');
    expect(h(a)).toBe(h(b));
    expect(h(a)).not.toBe(h(c));
    expect(planExt4(mk(), { size: 32 * MiB, seed: 's1' }).uuid).not.toBe(planExt4(mk(), { size: 32 * MiB, seed: 's2' }).uuid);
  });

  it('fills a filesystem up to its last free blocks, and refuses one block more', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const size = 24 * MiB;
      const empty = path.join(dir, 'empty.img');
      await buildImage(new FileTree(), empty, { size, seed: 'full', journal: false });
      const free = Number(/Free blocks:\s+(\d+)/.exec(run('dumpe2fs', ['-h', empty]).stdout)![1]);
      // Eight blocks short of the free count: the estimate before allocation keeps only a little slack.
      const fill = (n: number) => {
        const t = new FileTree();
        t.addFile('/fill', bytesSource(new Uint8Array(n * 4096).fill(0x5a)));
        return t;
      };
      const img = path.join(dir, 'full.img');
      await buildImage(fill(free - 8), img, { size, seed: 'full', journal: false });
      expectFsckClean(img);
      expect(Number(/Free blocks:\s+(\d+)/.exec(run('dumpe2fs', ['-h', img]).stdout)![1])).toBeLessThanOrEqual(8);
      expect(() => planExt4(fill(free + 1), { size, seed: 'full', journal: false })).toThrow(expect.objectContaining({ code: 'EXT4_NO_SPACE' }));
    } finally {
      cleanup();
    }
  });

  it('refuses content that does not fit, with coded errors and numbers, before writing', () => {
    const t = new FileTree();
    t.addFile('/big', bytesSource(new Uint8Array(40 * MiB)));
    try {
      planExt4(t, { size: 32 * MiB, seed: 'x' });
      expect.unreachable();
    } catch (e) {
      expect(isDiskwrightError(e, 'EXT4_NO_SPACE')).toBe(true);
      const d = (e as { data: { needed: number; available: number } }).data;
      expect(d.needed).toBeGreaterThan(40 * MiB);
      expect(d.available).toBeLessThan(32 * MiB);
    }
    const many = flatTree(5000, (i) => `f${i}`);
    try {
      planExt4(many, { size: 32 * MiB, seed: 'x', inodes: 1024 });
      expect.unreachable();
    } catch (e) {
      expect(isDiskwrightError(e, 'EXT4_TOO_MANY_FILES')).toBe(true);
      expect((e as { data: { needed: number } }).data.needed).toBe(5000 + 1 + 11);
    }
  });
});
