// Sinks that write VHD images (the Virtual Hard Disk Image Format
// Specification):
//   fixed   — the raw image, its size rounded up to a whole MiB (Azure
//             accepts only such sizes), then the 512-byte footer;
//   dynamic — a copy of the footer, the dynamic header, then each 2 MiB
//             block that holds a non-zero byte (its sector bitmap, all
//             present, then its data) in virtual order, then the block
//             allocation table (BAT) and the footer. The header names the
//             BAT's offset, so the blocks go out in one pass; the footer copy
//             and the header at 0 are written last.
//
// Creator application: QEMU's vpc driver takes the disk size from the CHS
// geometry unless the creator is one it knows to use current_size; "qem2"
// is the id QEMU itself writes for that meaning (vpc.c, force_size), so
// qemu-img and the VM see exactly current_size. Azure reads current_size.
import { fail } from '../errors.js';
import type { Sink } from '../io/sink.js';
import { isZero } from './zero.js';
import { VHD_COOKIE, VHD_DYNAMIC, VHD_DYNAMIC_COOKIE, VHD_EPOCH, VHD_FIXED, VhdDynamicHeader, VhdFooter, vhdChecksum, vhdGeometry } from './vhd-footer.js';

export interface VhdSinkOptions {
  /** Seconds since the Unix epoch for the footer's time stamp (the spec's time; never the clock). */
  time?: number;
  /** 16 bytes, derived from the spec's seed. */
  uniqueId?: Uint8Array;
  /** Dynamic disks: bytes per block (default 2 MiB, a power of two ≥ 512). */
  blockSize?: number;
}

const MIB = 1 << 20;

export function encodeVhdFooter(size: number, type: number, opts: VhdSinkOptions): Uint8Array {
  const g = vhdGeometry(size);
  const f = VhdFooter.encode({
    ...VhdFooter.zero(),
    cookie: new TextEncoder().encode(VHD_COOKIE),
    features: 2,
    file_format_version: 0x00010000,
    data_offset: type === VHD_FIXED ? 0xffffffffffffffffn : 512n,
    time_stamp: Math.max(0, Math.min(0xffffffff, Math.floor((opts.time ?? VHD_EPOCH) - VHD_EPOCH))),
    creator_application: new TextEncoder().encode('qem2'),
    creator_version: 0x00010000,
    creator_host_os: 0x5769326b, // "Wi2k"
    original_size: BigInt(size),
    current_size: BigInt(size),
    cylinders: g.cylinders, heads: g.heads, sectors_per_track: g.sectorsPerTrack,
    disk_type: type,
    unique_id: opts.uniqueId ?? new Uint8Array(16),
  });
  new DataView(f.buffer).setUint32(VhdFooter.offsetOf('checksum'), vhdChecksum(f, VhdFooter.offsetOf('checksum')));
  return f;
}

/** The virtual size a VHD of a `size`-byte raw image gets: whole MiB. */
export function vhdVirtualSize(size: number): number {
  return Math.ceil(size / MIB) * MIB;
}

export class VhdFixedSink implements Sink {
  constructor(private readonly inner: Sink, private readonly options: VhdSinkOptions = {}) {}
  write(offset: number, data: Uint8Array): Promise<void> {
    return this.inner.write(offset, data);
  }
  zero(offset: number, length: number): Promise<void> {
    return this.inner.zero(offset, length);
  }
  async finish(size: number): Promise<void> {
    const v = vhdVirtualSize(size);
    try {
      await this.inner.write(v, encodeVhdFooter(v, VHD_FIXED, this.options));
    } catch (e) {
      await this.inner.abort(e);
      throw e;
    }
    await this.inner.finish(v + 512);
  }
  abort(reason?: unknown): Promise<void> {
    return this.inner.abort(reason);
  }
}

export class VhdDynamicSink implements Sink {
  private readonly blockSize: number;
  private readonly bitmapBytes: number;
  private curIndex = -1;
  private readonly cur: Uint8Array;
  private curTouched = false;
  /** Block index -> file offset of its bitmap, in order. */
  private readonly blocks: Array<[number, number]> = [];
  /** Blocks follow the footer copy (0) and the dynamic header (512); the BAT goes after them. */
  private next = 1536;

  constructor(private readonly inner: Sink, private readonly options: VhdSinkOptions = {}) {
    this.blockSize = options.blockSize ?? 2 * MIB;
    if (this.blockSize < 512 || this.blockSize > 256 * MIB || (this.blockSize & (this.blockSize - 1)) !== 0) {
      fail('VDISK_CLUSTER_SIZE', `VHD block size must be a power of two from 512 bytes to 256 MiB, got ${this.blockSize}`, { actual: this.blockSize });
    }
    this.bitmapBytes = Math.ceil(this.blockSize / 512 / 8 / 512) * 512;
    this.cur = new Uint8Array(this.blockSize);
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    const bs = this.blockSize;
    let pos = 0;
    while (pos < data.length) {
      const off = offset + pos;
      const index = Math.floor(off / bs);
      if (index < this.curIndex) fail('VDISK_OUT_OF_ORDER', `VHD output takes extents in offset order: ${off} comes after block ${this.curIndex}`, { offset: off });
      if (index !== this.curIndex) {
        await this.flushCurrent();
        this.curIndex = index;
        this.cur.fill(0);
      }
      const within = off - index * bs;
      const n = Math.min(bs - within, data.length - pos);
      this.cur.set(data.subarray(pos, pos + n), within);
      this.curTouched = true;
      pos += n;
    }
  }

  async zero(): Promise<void> {}

  private async flushCurrent(): Promise<void> {
    if (this.curIndex < 0 || !this.curTouched) return;
    this.curTouched = false;
    if (isZero(this.cur)) return;
    const bitmap = new Uint8Array(this.bitmapBytes);
    bitmap.fill(0xff, 0, this.blockSize / 512 / 8);
    this.blocks.push([this.curIndex, this.next]);
    await this.inner.write(this.next, bitmap);
    await this.inner.write(this.next + this.bitmapBytes, this.cur);
    this.next += this.bitmapBytes + this.blockSize;
  }

  async finish(size: number): Promise<void> {
    try {
      await this.flushCurrent();
      const v = vhdVirtualSize(size);
      const entries = Math.ceil(v / this.blockSize);
      const batAt = this.next;
      const bat = new Uint8Array(Math.ceil((entries * 4) / 512) * 512).fill(0xff);
      const bv = new DataView(bat.buffer);
      for (const [index, at] of this.blocks) bv.setUint32(index * 4, at / 512);
      const footer = encodeVhdFooter(v, VHD_DYNAMIC, this.options);
      const header = VhdDynamicHeader.encode({
        ...VhdDynamicHeader.zero(),
        cookie: new TextEncoder().encode(VHD_DYNAMIC_COOKIE),
        data_offset: 0xffffffffffffffffn,
        table_offset: BigInt(batAt),
        header_version: 0x00010000,
        max_table_entries: entries,
        block_size: this.blockSize,
      });
      new DataView(header.buffer).setUint32(VhdDynamicHeader.offsetOf('checksum'), vhdChecksum(header, VhdDynamicHeader.offsetOf('checksum')));
      await this.inner.write(batAt, bat);
      await this.inner.write(batAt + bat.length, footer);
      await this.inner.write(0, footer);
      await this.inner.write(512, header);
      await this.inner.finish(batAt + bat.length + 512);
    } catch (e) {
      await this.inner.abort(e);
      throw e;
    }
  }

  abort(reason?: unknown): Promise<void> {
    return this.inner.abort(reason);
  }
}
