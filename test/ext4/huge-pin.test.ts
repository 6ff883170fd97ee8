// Pinned output of the ext4 builder, small and huge: the SHA-256 of what
// each planned image reads as (every 512-byte sector holding a non-zero
// byte, with its index) and of its mapped ranges (written or zeroed, merged).
// Both are independent of how the emitter splits or joins its extents, so a
// change in how planning stores its per-group state passes, and a change in
// the bytes (or in which ranges an image flashed over old data zeroes) fails.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FileTree } from '../../src/tree/tree.js';
import { bytesSource, textSource } from '../../src/io/source.js';
import { planExt4, type Ext4Options } from '../../src/ext4/build.js';
import type { Sink } from '../../src/io/sink.js';

const SECTOR = 512;

/** A sink that hashes what the image reads as, without holding it. */
export class ContentHashSink implements Sink {
  private readonly content = createHash('sha256');
  private readonly mapped = createHash('sha256');
  private runStart = -1;
  private runEnd = -1;
  private pendingIndex = -1;
  private readonly pending = new Uint8Array(SECTOR);
  private lastEnd = 0;
  dataBytes = 0;
  zeroBytes = 0;
  calls = 0;
  finished = -1;

  private map(offset: number, length: number): void {
    if (offset < this.lastEnd) throw new Error(`extent at ${offset} before the previous end ${this.lastEnd}`);
    this.lastEnd = offset + length;
    this.calls++;
    if (length === 0) return;
    if (offset === this.runEnd) { this.runEnd += length; return; }
    if (this.runStart >= 0) this.mapped.update(`${this.runStart}-${this.runEnd};`);
    this.runStart = offset;
    this.runEnd = offset + length;
  }

  private flushSector(): void {
    if (this.pendingIndex < 0) return;
    if (this.pending.some((b) => b !== 0)) {
      this.content.update(`${this.pendingIndex}:`);
      this.content.update(this.pending);
    }
    this.pendingIndex = -1;
    this.pending.fill(0);
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    this.map(offset, data.length);
    this.dataBytes += data.length;
    let i = 0;
    while (i < data.length) {
      const pos = offset + i;
      const sector = Math.floor(pos / SECTOR);
      const at = pos - sector * SECTOR;
      const n = Math.min(SECTOR - at, data.length - i);
      if (sector !== this.pendingIndex) {
        this.flushSector();
        // A whole all-zero sector needs no copy.
        if (at === 0 && n === SECTOR && isZero(data, i, SECTOR)) { i += n; continue; }
        this.pendingIndex = sector;
      }
      this.pending.set(data.subarray(i, i + n), at);
      i += n;
    }
  }

  async zero(offset: number, length: number): Promise<void> {
    this.map(offset, length);
    this.zeroBytes += length;
  }

  async finish(size: number): Promise<void> {
    this.flushSector();
    if (this.runStart >= 0) this.mapped.update(`${this.runStart}-${this.runEnd};`);
    this.finished = size;
  }

  async abort(): Promise<void> {}

  digests(): { content: string; mapped: string } {
    return { content: this.content.digest('hex'), mapped: this.mapped.digest('hex') };
  }
}

function isZero(d: Uint8Array, from: number, n: number): boolean {
  for (let k = from; k < from + n; k++) if (d[k] !== 0) return false;
  return true;
}

export async function hashPlanned(tree: FileTree, options: Ext4Options): Promise<{ content: string; mapped: string; sink: ContentHashSink }> {
  const plan = planExt4(tree, options);
  const sink = new ContentHashSink();
  await plan.emit(sink, 0);
  await sink.finish(options.size);
  return { ...sink.digests(), sink };
}

const T0 = { sec: 1_700_000_000, nsec: 0 };

function richTree(): FileTree {
  const t = new FileTree({ defaultTime: T0 });
  t.addFile('/etc/hostname', textSource('kubesolo\n'));
  t.addFile('/big.bin', bytesSource(new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff)));
  t.addSymlink('/etc/short', 'hostname');
  t.addSymlink('/etc/long', 'x'.repeat(100));
  t.addDevice('/dev/null', 'char', 1, 3);
  t.addSpecial('/run/fifo', 'fifo');
  t.addFile('/empty', bytesSource(new Uint8Array(0)));
  t.addFile('/x', textSource('attrs'), { xattrs: [{ name: 'user.a', value: new TextEncoder().encode('1') }] });
  for (let i = 0; i < 300; i++) t.addFile(`/many/f${i}`, textSource(`file ${i}\n`));
  return t;
}

function tinyTree(): FileTree {
  const t = new FileTree({ defaultTime: T0 });
  t.addFile('/var/lib/data', textSource('data partition\n'));
  return t;
}

const MiB = 2 ** 20;
const TiB = 2 ** 40;

// Digests produced by the builder before the per-group state was made
// compact (commit "ext4: pin planned images' bytes"). Regenerate only for a
// deliberate change of the output.
const CASES: Array<{ name: string; tree: () => FileTree; options: Ext4Options; content: string; mapped: string }> = [
  {
    name: '64 MiB, defaults', tree: richTree, options: { size: 64 * MiB, seed: 'pin-a' },
    content: '67c31b05652cec80b8ccf84056196242515a4377fe985112f83f1bb11ffe96c2', mapped: 'be588d39cabf6d7b21ab9bf9ed197c09782b849626ec07ae5a5722b1eb34ee1d',
  },
  {
    name: '64 MiB, 1 KiB blocks, no 64bit/flex_bg/metadata_csum (uninit_bg), resize_inode',
    tree: richTree,
    options: { size: 64 * MiB, seed: 'pin-b', blockSize: 1024, features: { '64bit': false, flex_bg: false, metadata_csum: false } },
    content: 'd544ea5e40d6a566578dca88972ce3bea31eaadd6bc668717b53664956067ba3', mapped: 'b2041880d40746b322db0e21164c42bec9d75bf18bc22662d7b1ac045eafe437',
  },
  {
    name: '300 MiB, no journal, zeroInodeTables, 2 KiB blocks',
    tree: richTree,
    options: { size: 300 * MiB, seed: 'pin-c', blockSize: 2048, journal: false, zeroInodeTables: true },
    content: '2dbe3c71dd8b92afa2c8620b3a6af42e21a956aa417f2ffcdbc250ef18317ad9', mapped: '3815cde34c7b1965394732ba4d3f79b1ff22d52453662b88baee64c0fdc810df',
  },
  {
    name: '300 MiB, no group checksums at all (every bitmap and inode table written)',
    tree: richTree,
    options: { size: 300 * MiB + 12345, seed: 'pin-d', features: { metadata_csum: false, uninit_bg: false } },
    content: 'bbf6ee44f57ebe88390ebf9bdaee9c895dc8dc1c9080c3dba3a7f9e4f155462a', mapped: '1ffc1ad083f5310ce9f6f03e68ca506d9d57810d49838253fd59f92091715cf2',
  },
  { name: '1 TiB, defaults', tree: tinyTree, options: { size: TiB, seed: 'pin-e' }, content: '188faffccdecb941913534534d10c36b1d1e9a1cbd1a2ff21a09fea307677ba2', mapped: '1e062a4bc12849a4cdc9d54ff65f110e67fefa31856fba82809bdfa493cf61f1' },
  {
    name: '1 TiB, zeroInodeTables', tree: tinyTree, options: { size: TiB + 7 * MiB, seed: 'pin-f', zeroInodeTables: true },
    content: 'eb3a2adf905c8fb81071d49a6848a1019d2dbab9f0b2df760414c9fdab422798', mapped: 'b04633980cc8883394b2dcb51615c94df00acf2cec9aff826a868ec9373005fc',
  },
  {
    name: '2 TiB without 64bit (32-byte descriptors, resize_inode)', tree: tinyTree,
    options: { size: 2 * TiB, seed: 'pin-g', features: { '64bit': false } }, content: '858e649fd4d8a90d7360cb4395e23508e8952f281601566861471a286c421f1e', mapped: 'd7190de90c03a759886af660cd58a292bb3fb76b51e4580dfc1085099ed89200',
  },
  { name: '20 TiB, defaults (more than 2^32 blocks)', tree: tinyTree, options: { size: 20 * TiB, seed: 'pin-h' }, content: '6e30107c4da74b881d3167a5d5d3158e428b92d29530963dde3515fb708c1c9f', mapped: '5802ef7d79d3b2a41cf71f787736010844fa6891b4780a461ce3819f5b719ca2' },
];

describe('ext4 builder output is pinned', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const r = await hashPlanned(c.tree(), c.options);
      if (process.env.PRINT_PINS) console.log(JSON.stringify({ name: c.name, content: r.content, mapped: r.mapped }));
      expect(r.sink.dataBytes).toBeGreaterThan(0);
      expect({ content: r.content, mapped: r.mapped }).toEqual({ content: c.content, mapped: c.mapped });
    }, 120_000);
  }
});
