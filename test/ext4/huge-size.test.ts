// Huge ext4 filesystems: planning memory that does not grow with the block
// groups that hold nothing, the explicit upper bound (EXT4_TOO_BIG), mke2fs's
// geometry at 64 TiB, the largest sparse file this host holds checked by
// e2fsck, and a 64 TiB GPT image built through the image layer.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { FileTree } from '../../src/tree/tree.js';
import { textSource } from '../../src/io/source.js';
import { planExt4, type Ext4Options } from '../../src/ext4/build.js';
import { computeGeometry, groupLayout } from '../../src/ext4/geometry.js';
import { Ext4SuperBlock } from '../../src/ext4/superblock.js';
import { planImage, emitImage } from '../../src/image/build.js';
import type { Sink } from '../../src/io/sink.js';
import type { FilesystemPlan } from '../../src/fs/types.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';
import { buildImage, expectFsckClean } from './build-util.js';

const MiB = 2 ** 20;
const TiB = 2 ** 40;
const T0 = { sec: 1_700_000_000, nsec: 0 };

/** Counts what it is given; keeps the bytes of one window (a superblock) if asked. */
class CountingSink implements Sink {
  dataBytes = 0;
  zeroBytes = 0;
  calls = 0;
  private lastEnd = 0;
  captured: Uint8Array | null = null;
  constructor(private readonly capture?: { offset: number; length: number }) {}
  async write(offset: number, data: Uint8Array): Promise<void> {
    this.track(offset, data.length);
    this.dataBytes += data.length;
    const c = this.capture;
    if (c && offset <= c.offset && offset + data.length >= c.offset + c.length) {
      this.captured = data.slice(c.offset - offset, c.offset - offset + c.length);
    }
  }
  async zero(offset: number, length: number): Promise<void> {
    this.track(offset, length);
    this.zeroBytes += length;
  }
  private track(offset: number, length: number): void {
    if (offset < this.lastEnd) throw new Error(`extent at ${offset} overlaps the previous one (ends ${this.lastEnd})`);
    this.lastEnd = offset + length;
    this.calls++;
  }
  async finish(): Promise<void> {}
  async abort(): Promise<void> {}
}

function tinyTree(): FileTree {
  const t = new FileTree({ defaultTime: T0 });
  t.addFile('/var/lib/kubesolo/marker', textSource('data\n'));
  return t;
}

function codeOf(f: () => unknown): { code: string; data: Record<string, unknown> } {
  try { f(); } catch (e) { return e as { code: string; data: Record<string, unknown> }; }
  throw new Error('expected an error');
}

// A collector to call between measurements (vitest workers do not run with --expose-gc).
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const held = () => { gc(); gc(); const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };

describe('ext4 planning of huge filesystems', () => {
  it('a plan keeps a few bytes per empty block group, not an object per group', () => {
    const retained = (size: number): { bytes: number; groups: number } => {
      const before = held();
      const plan: FilesystemPlan | null = planExt4(tinyTree(), { size, seed: 'mem' });
      const after = held();
      expect(plan.size).toBe(size);
      return { bytes: after - before, groups: computeGeometry({ size }).groupCount };
    };
    retained(TiB); // warm-up: module state, caches
    const small = retained(TiB);
    const big = retained(128 * TiB);
    const perGroup = (big.bytes - small.bytes) / (big.groups - small.groups);
    // 11 bytes of free counts, flags and bitmap checksums, and the used
    // runs (one or two per flex group of 16); the builder before this bound
    // kept about 2 KB a group.
    expect(big.groups).toBe(1048576);
    expect(perGroup).toBeLessThan(32);
    if (process.env.PRINT_MEASURES) console.log(`plan memory per empty group: ${perGroup.toFixed(1)} bytes (${small.bytes} at 1 TiB, ${big.bytes} at 128 TiB)`);
  }, 60_000);

  it('64 TiB plans as mke2fs -i 16384 lays it out, and emits a bounded number of extents', async () => {
    const size = 64 * TiB;
    const geo = computeGeometry({ size, resizeInode: true });
    // mke2fs -n -t ext4 -i 16384 … 64T: "17179869184 4k blocks and 4286578688 inodes"
    // (the ratio asks for 2^32 inodes; mke2fs caps at 2^32 - 1 and steps the
    // per-group count down until the total fits).
    expect(geo.blocksCount).toBe(17179869184);
    expect(geo.inodesCount).toBe(4286578688);
    expect(geo.reservedGdtBlocks).toBe(0); // no resize_inode past 2^32 blocks
    // flex_bg (ext2fs_allocate_group_table): group 16 leads groups 16-31 and
    // holds their 16 block bitmaps, 16 inode bitmaps, then 16 inode tables
    // of 511 blocks (8176 inodes of 256 bytes).
    const first16 = 16 * 32768;
    expect(groupLayout(geo, 16)).toEqual({
      group: 16, first: first16, blocks: 32768, hasSuper: false, superBlocks: 0,
      blockBitmap: first16, inodeBitmap: first16 + 16, inodeTable: first16 + 32,
    });
    expect(groupLayout(geo, 27)).toMatchObject({ hasSuper: true, superBlocks: 1 + 8192, blockBitmap: first16 + 11, inodeTable: first16 + 32 + 11 * 511 });
    const plan = planExt4(tinyTree(), { size, seed: 'big' });
    const sink = new CountingSink({ offset: 1024, length: 1024 });
    await plan.emit(sink, 0);
    const sb = Ext4SuperBlock.decode(sink.captured!, 0);
    expect(sb.s_inodes_count).toBe(4286578688);
    expect(sb.s_blocks_count_lo + sb.s_blocks_count_hi * 2 ** 32).toBe(17179869184);
    // Written: superblock + GDT copies (32 MiB each), one block bitmap per
    // flex group (the other 15 groups are BLOCK_UNINIT), group 0's inode
    // bitmap and inode table blocks, root and lost+found, the journal header.
    const gdtBytes = geo.gdtBlocks * 4096;
    const copies = geo.superGroups.length;
    expect(sink.dataBytes).toBeGreaterThan(copies * gdtBytes);
    expect(sink.dataBytes).toBeLessThan(copies * (gdtBytes + 4096) + (geo.groupCount / 16) * 4096 + 64 * MiB);
    // Extents: a few per flex group, not one per group.
    expect(sink.calls).toBeLessThan(geo.groupCount / 8);
  }, 60_000);

  it('zeroInodeTables at 64 TiB: the inode tables of each flex group are one zero range', async () => {
    const size = 64 * TiB;
    const plan = planExt4(tinyTree(), { size, seed: 'zero', zeroInodeTables: true, journal: false });
    const sink = new CountingSink();
    await plan.emit(sink, 0);
    const geo = computeGeometry({ size });
    const tables = geo.groupCount * geo.inodeTableBlocks * 4096;
    expect(sink.zeroBytes).toBeGreaterThan(tables - 8 * MiB); // all but the used part of group 0's table
    expect(sink.zeroBytes).toBeLessThanOrEqual(tables);
    // A block bitmap and a zero range per flex group of 16 (one range per group would be 524,288 calls).
    expect(sink.calls).toBeLessThan(geo.groupCount / 4);
  }, 60_000);

  it('beyond what diskwright writes: EXT4_TOO_BIG with the limit, before anything is allocated', () => {
    // 4 KiB blocks, 64bit: 1,572,864 groups (192 TiB) before mke2fs would switch to meta_bg.
    const e1 = codeOf(() => planExt4(tinyTree(), { size: 256 * TiB }));
    expect(e1.code).toBe('EXT4_TOO_BIG');
    expect(e1.data).toMatchObject({ field: 'size', actual: 256 * TiB, expected: 1572864 * 32768 * 4096 });
    expect(computeGeometry({ size: 192 * TiB - 128 * MiB }).groupCount).toBe(1572863);
    expect(codeOf(() => computeGeometry({ size: 192 * TiB + 128 * MiB })).code).toBe('EXT4_TOO_BIG');
    // 1 KiB blocks: 6144 GDT blocks of 16 descriptors, 8 MiB groups.
    expect(codeOf(() => computeGeometry({ size: TiB, blockSize: 1024 })).data).toMatchObject({ expected: 6144 * 16 * 8192 * 1024 });
    // Without 64bit: 2^32 blocks, as mke2fs ("too big to be expressed in 32 bits").
    const e2 = codeOf(() => planExt4(tinyTree(), { size: 17 * TiB, features: { '64bit': false } }));
    expect(e2.code).toBe('EXT4_TOO_BIG');
    expect(e2.data).toMatchObject({ field: 'size', expected: 0xffffffff * 4096 });
    // Sizes far past any limit fail the same way, at once.
    const before = held();
    expect(codeOf(() => planExt4(tinyTree(), { size: 2 ** 53 })).code).toBe('EXT4_TOO_BIG');
    expect(codeOf(() => planExt4(tinyTree(), { size: 2 ** 60 })).code).toBe('EXT4_TOO_BIG');
    expect(held() - before).toBeLessThan(4 * MiB);
  });

  it.skipIf(!haveTools('mke2fs'))('the geometry matches mke2fs -n at 64 TiB and 128 TiB (blocks, inodes, superblock backups)', () => {
    const { dir, cleanup } = tempDir('dw-huge-');
    try {
      const dev = path.join(dir, 'dev.img');
      run('truncate', ['-s', '1G', dev]);
      for (const size of [64 * TiB, 128 * TiB + 5 * 128 * MiB]) {
        const blocks = size / 4096;
        const v = run('mke2fs', ['-n', '-F', '-t', 'ext4', '-b', '4096', '-i', '16384', dev, String(blocks)]);
        const out = v.stdout + v.stderr;
        const m = /Creating filesystem with (\d+) 4k blocks and (\d+) inodes/.exec(out);
        expect(m, out).not.toBeNull();
        const geo = computeGeometry({ size });
        expect(geo.blocksCount).toBe(Number(m![1]));
        expect(geo.inodesCount).toBe(Number(m![2]));
        const backups = /Superblock backups stored on blocks:\s*([\d,\s]+)/.exec(out)![1].split(/[,\s]+/).filter(Boolean).map(Number);
        expect(geo.superGroups.slice(1).map((g) => g * geo.blocksPerGroup)).toEqual(backups);
      }
    } finally {
      cleanup();
    }
  }, 60_000);

  it.skipIf(!haveTools('e2fsck'))('the largest sparse file this host holds (16 TiB - 4 KiB: 2^32 - 1 blocks) passes e2fsck -fn', async () => {
    // The host's ext4 refuses files of 16 TiB and more (s_maxbytes), so
    // larger filesystems are checked through the counting sink above.
    const { dir, cleanup } = tempDir('dw-huge-');
    try {
      const img = path.join(dir, 'big.img');
      const options: Ext4Options = { size: 16 * TiB - 4096, seed: 'host-max', label: 'data' };
      await buildImage(tinyTree(), img, options);
      const out = expectFsckClean(img);
      expect(out).toMatch(/: 15\/1073741824 files .*\/4294967295 blocks/); // 11 reserved + 3 directories + 1 file
    } finally {
      cleanup();
    }
  }, 300_000);

  // Past 16 TiB a sparse file needs a host filesystem that allows it: tmpfs
  // does (its limit is the pages written, about 300 MiB here). Where
  // /dev/shm is missing or small (containers often give 64 MiB) this is
  // skipped and the counting-sink tests above stand alone.
  const shmFree = (() => { try { const st = fs.statfsSync('/dev/shm'); return st.bavail * st.bsize; } catch { return 0; } })();
  it.skipIf(!haveTools('e2fsck') || shmFree < 2 * 2 ** 30)('20 TiB (more than 2^32 blocks, no resize_inode) on tmpfs passes e2fsck -fn', async () => {
    const dir = fs.mkdtempSync('/dev/shm/dw-huge-');
    try {
      const img = path.join(dir, 'big.img');
      await buildImage(tinyTree(), img, { size: 20 * TiB, seed: 'tmpfs', label: 'data' });
      const out = expectFsckClean(img);
      expect(out).toMatch(/: 15\/1342177280 files .*\/5368709120 blocks/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  // The limit against mke2fs itself: with 1 KiB blocks (GDT copies of a few
  // MiB, so mke2fs writes the whole filesystem to tmpfs in a blink) the
  // largest size without meta_bg is EXT4_TOO_BIG's boundary. resize_inode's
  // 256 reserved GDT blocks share the room: 94,208 groups, 736 GiB.
  it.skipIf(!haveTools('mke2fs', 'dumpe2fs') || shmFree < 2 * 2 ** 30)('EXT4_TOO_BIG starts where mke2fs switches to meta_bg (1 KiB blocks)', () => {
    const dir = fs.mkdtempSync('/dev/shm/dw-huge-');
    try {
      const dev = path.join(dir, 'mk.img');
      const last = 736 * 2 ** 30;
      for (const size of [last, last + 8 * MiB]) {
        fs.rmSync(dev, { force: true });
        fs.writeFileSync(dev, '');
        fs.truncateSync(dev, size);
        const mk = run('mke2fs', ['-F', '-q', '-t', 'ext4', '-b', '1024', '-E', 'lazy_itable_init=1,nodiscard', dev], { timeoutMs: 120_000 });
        expect(mk.status, mk.stdout + mk.stderr).toBe(0);
        const features = /Filesystem features:\s*(.*)/.exec(run('dumpe2fs', ['-h', dev]).stdout)![1].split(/\s+/);
        const ours = (() => { try { return computeGeometry({ size, blockSize: 1024, resizeInode: true }); } catch (e) { return e as { code: string }; } })();
        if (features.includes('meta_bg')) {
          expect(size).toBe(last + 8 * MiB);
          expect(ours).toMatchObject({ code: 'EXT4_TOO_BIG', data: { expected: last } });
        } else {
          expect(size).toBe(last);
          expect(features).toContain('resize_inode');
          expect(ours).toMatchObject({ groupCount: 94208, reservedGdtBlocks: 256 });
        }
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('a 64 TiB GPT image with an ext4 data partition of "rest"', () => {
  const spec = (size: string) => ({
    table: 'gpt', size, seed: 'huge',
    partitions: [
      { name: 'EFI System', type: 'esp', size: '64MiB', filesystem: { type: 'fat32', label: 'EFI' } },
      { name: 'System A', type: 'linux', size: '512MiB' },
      { name: 'System B', type: 'linux', size: '512MiB' },
      { name: 'Data', type: 'linux', size: 'rest', filesystem: { type: 'ext4', label: 'data' } },
    ],
  });
  afterAll(() => gc());

  it('plans and emits (to a counting sink) with the data filesystem spanning the rest', async () => {
    const plan = await planImage(spec('64TiB'));
    const data = plan.partitions[3];
    expect(data.filesystem?.type).toBe('ext4');
    const sink = new CountingSink({ offset: data.start + 1024, length: 1024 });
    const report = await emitImage(plan, sink);
    expect(report.size).toBe(64 * TiB);
    const sb = Ext4SuperBlock.decode(sink.captured!, 0);
    const blocks = sb.s_blocks_count_lo + sb.s_blocks_count_hi * 2 ** 32;
    expect(blocks).toBe(computeGeometry({ size: data.size }).blocksCount);
    expect(blocks * 4096).toBeGreaterThan(data.size - 128 * MiB);
    expect(sink.calls).toBeLessThan(100_000);
  }, 120_000);

  it('a 256 TiB one is EXT4_TOO_BIG at planning, naming the limit', async () => {
    await expect(planImage(spec('256TiB'))).rejects.toMatchObject({
      code: 'EXT4_TOO_BIG', data: { path: 'partitions[3].filesystem', expected: 1572864 * 32768 * 4096 },
    });
  });
});
