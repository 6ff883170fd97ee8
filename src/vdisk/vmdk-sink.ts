// A Sink that writes a VMDK streamOptimized image (VMware Virtual Disk
// Format 1.1, "Stream-Optimized Compressed Sparse Extents"), what VMware and
// cloud image import take. In file order:
//   header (sector 0) and embedded descriptor (from sector 1), written last;
//   from sector 128 on, each grain holding a non-zero byte, zlib-compressed
//   behind its 12-byte grain marker (LBA, size), padded to a sector;
//   after the grains of each 512-grain range, that range's grain table
//   (behind a GT marker);
//   the grain directory (behind a GD marker), the footer (a copy of the
//   header with the directory's offset, behind a footer marker) and the
//   end-of-stream marker.
// Memory: one grain, one grain table, one directory entry per 512 grains.
import { fail } from '../errors.js';
import type { Sink } from '../io/sink.js';
import type { DeflateCodec } from './deflate.js';
import { isZero } from './zero.js';
import { CompressQueue } from './compress-queue.js';
import {
  VMDK_COMPRESSION_DEFLATE, VMDK_FLAG_COMPRESSED, VMDK_FLAG_MARKERS, VMDK_FLAG_NEWLINE_TEST, VMDK_GD_AT_END, VMDK_MAGIC,
  VMDK_MARKER_EOS, VMDK_MARKER_FOOTER, VMDK_MARKER_GD, VMDK_MARKER_GT, VmdkMarker, VmdkSparseHeader,
} from './vmdk-header.js';

export interface VmdkSinkOptions {
  codec: DeflateCodec;
  /** Bytes per grain: a power of two from 4 KiB to 1 MiB (default 64 KiB, as qemu-img and VMware). */
  grainSize?: number;
  /** The descriptor's content id (8 hex digits, derived from the spec's seed). */
  cid?: number;
  /**
   * The extent file name the descriptor names (default "disk.vmdk"; readers
   * of a monolithic file take the extent from the file itself, and a fixed
   * name keeps the bytes independent of where the image is written).
   */
  fileName?: string;
}

const GTES = 512;
/** Sectors before the first grain: header and descriptor. */
const OVERHEAD = 128;
const DESCRIPTOR_SECTORS = 20;

function marker(val: number, type: number): Uint8Array {
  return VmdkMarker.encode({ ...VmdkMarker.zero(), val: BigInt(val), size: 0, type });
}

export class VmdkStreamSink implements Sink {
  private readonly grainBytes: number;
  private readonly queue: CompressQueue<number>;
  private curIndex = -1;
  private readonly cur: Uint8Array;
  private curTouched = false;
  /** The grain table being filled, and which range of grains it covers. */
  private gtIndex = -1;
  private readonly gt = new Uint32Array(GTES);
  private gtUsed = false;
  /** Grain-table index -> sector of its table. */
  private readonly gd = new Map<number, number>();
  /** Next free sector. */
  private next = OVERHEAD;

  constructor(private readonly inner: Sink, private readonly options: VmdkSinkOptions) {
    this.grainBytes = options.grainSize ?? 65536;
    const g = this.grainBytes;
    if (!Number.isSafeInteger(g) || g < 4096 || g > 1 << 20 || (g & (g - 1)) !== 0) {
      fail('VDISK_CLUSTER_SIZE', `VMDK grain size must be a power of two from 4096 to 1048576 bytes, got ${g}`, { actual: g });
    }
    this.queue = new CompressQueue(options.codec, 'zlib', (i, _plain, c) => this.storeGrain(i, c));
    this.cur = new Uint8Array(g);
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    const g = this.grainBytes;
    let pos = 0;
    while (pos < data.length) {
      const off = offset + pos;
      const index = Math.floor(off / g);
      if (index < this.curIndex) fail('VDISK_OUT_OF_ORDER', `VMDK output takes extents in offset order: ${off} comes after grain ${this.curIndex}`, { offset: off });
      if (index !== this.curIndex) {
        await this.flushGrain();
        this.curIndex = index;
        this.cur.fill(0);
      }
      const within = off - index * g;
      const n = Math.min(g - within, data.length - pos);
      this.cur.set(data.subarray(pos, pos + n), within);
      this.curTouched = true;
      pos += n;
    }
  }

  async zero(): Promise<void> {}

  private async flushGrain(): Promise<void> {
    if (this.curIndex < 0 || !this.curTouched) return;
    this.curTouched = false;
    if (isZero(this.cur)) return;
    await this.queue.push(this.curIndex, this.cur);
  }

  /** A compressed grain behind its marker, at the next sector; its grain table is written when its range is done. */
  private async storeGrain(index: number, c: Uint8Array): Promise<void> {
    const t = Math.floor(index / GTES);
    if (t !== this.gtIndex) {
      await this.flushTable();
      this.gtIndex = t;
    }
    const rec = new Uint8Array(Math.ceil((12 + c.length) / 512) * 512);
    const v = new DataView(rec.buffer);
    v.setBigUint64(0, BigInt(index * (this.grainBytes / 512)), true);
    v.setUint32(8, c.length, true);
    rec.set(c, 12);
    this.gt[index % GTES] = this.next;
    this.gtUsed = true;
    await this.inner.write(this.next * 512, rec);
    this.next += rec.length / 512;
  }

  private async flushTable(): Promise<void> {
    if (!this.gtUsed) return;
    const sectors = (GTES * 4) / 512;
    const out = new Uint8Array(512 + GTES * 4);
    out.set(marker(sectors, VMDK_MARKER_GT), 0);
    const v = new DataView(out.buffer);
    for (let i = 0; i < GTES; i++) v.setUint32(512 + i * 4, this.gt[i]!, true);
    this.gd.set(this.gtIndex, this.next + 1);
    await this.inner.write(this.next * 512, out);
    this.next += 1 + sectors;
    this.gt.fill(0);
    this.gtUsed = false;
  }

  private header(capacity: number, gdOffset: bigint, descriptorSize: number): Uint8Array {
    return VmdkSparseHeader.encode({
      ...VmdkSparseHeader.zero(),
      magicNumber: VMDK_MAGIC, version: 3,
      flags: VMDK_FLAG_NEWLINE_TEST | VMDK_FLAG_COMPRESSED | VMDK_FLAG_MARKERS,
      capacity: BigInt(capacity), grainSize: BigInt(this.grainBytes / 512),
      descriptorOffset: 1n, descriptorSize: BigInt(descriptorSize),
      numGTEsPerGT: GTES, rgdOffset: 0n, gdOffset, overHead: BigInt(OVERHEAD),
      uncleanShutdown: 0, singleEndLineChar: 0x0a, nonEndLineChar: 0x20, doubleEndLineChar1: 0x0d, doubleEndLineChar2: 0x0a,
      compressAlgorithm: VMDK_COMPRESSION_DEFLATE,
    });
  }

  private descriptor(capacity: number): Uint8Array {
    const cylinders = Math.min(65535, Math.max(1, Math.floor(capacity / (255 * 63))));
    const cid = ((this.options.cid ?? 0x12345678) >>> 0).toString(16).padStart(8, '0');
    const text = [
      '# Disk DescriptorFile', 'version=1', `CID=${cid}`, 'parentCID=ffffffff', 'createType="streamOptimized"', '',
      '# Extent description', `RW ${capacity} SPARSE "${this.options.fileName ?? 'disk.vmdk'}"`, '',
      '# The Disk Data Base', '#DDB', '',
      'ddb.virtualHWVersion = "4"', `ddb.geometry.cylinders = "${cylinders}"`, 'ddb.geometry.heads = "255"',
      'ddb.geometry.sectors = "63"', 'ddb.adapterType = "lsilogic"', '',
    ].join('\n');
    const b = new TextEncoder().encode(text);
    if (b.length > DESCRIPTOR_SECTORS * 512) fail('VDISK_SIZE', 'the VMDK descriptor does not fit its sectors', {});
    const out = new Uint8Array(DESCRIPTOR_SECTORS * 512);
    out.set(b);
    return out;
  }

  async finish(size: number): Promise<void> {
    try {
      if (size % 512 !== 0) fail('VDISK_SIZE', `a VMDK capacity is whole sectors, got ${size} bytes`, { actual: size });
      await this.flushGrain();
      await this.queue.drain();
      await this.flushTable();
      const capacity = size / 512;
      const grains = Math.ceil(size / this.grainBytes);
      const gdEntries = Math.ceil(grains / GTES);
      const gdSectors = Math.ceil((gdEntries * 4) / 512);
      const gd = new Uint8Array(512 + gdSectors * 512);
      gd.set(marker(gdSectors, VMDK_MARKER_GD), 0);
      const gv = new DataView(gd.buffer);
      for (const [t, sector] of this.gd) gv.setUint32(512 + t * 4, sector, true);
      const gdAt = this.next + 1;
      await this.inner.write(this.next * 512, gd);
      this.next += 1 + gdSectors;
      const tail = new Uint8Array(3 * 512);
      tail.set(marker(1, VMDK_MARKER_FOOTER), 0);
      tail.set(this.header(capacity, BigInt(gdAt), DESCRIPTOR_SECTORS), 512);
      tail.set(marker(0, VMDK_MARKER_EOS), 1024);
      await this.inner.write(this.next * 512, tail);
      this.next += 3;
      const head = new Uint8Array(OVERHEAD * 512);
      head.set(this.header(capacity, VMDK_GD_AT_END, DESCRIPTOR_SECTORS), 0);
      head.set(this.descriptor(capacity), 512);
      await this.inner.write(0, head);
      await this.inner.finish(this.next * 512);
    } catch (e) {
      await this.inner.abort(e);
      throw e;
    }
  }

  abort(reason?: unknown): Promise<void> {
    return this.inner.abort(reason);
  }
}
