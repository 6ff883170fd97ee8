// A Sink that writes a qcow2 (version 3) image of the raw extents it is
// given (docs/interop/qcow2.txt). The emitter hands extents in offset order,
// so the data clusters are written in one pass, in file order, right after
// the header cluster: each virtual cluster that holds a non-zero byte gets
// the next host cluster (or, with compression, the next bytes). Clusters of
// zeros are not allocated (no backing file: they read as zeros). The tables
// (L2, L1, refcount blocks, refcount table) follow the data; the header,
// which points at them, is written last, into cluster 0.
//
// Memory: the current cluster, and two numbers per allocated cluster.
import { fail } from '../errors.js';
import type { Sink } from '../io/sink.js';
import type { DeflateCodec } from './deflate.js';
import { CompressQueue } from './compress-queue.js';
import { isZero } from './zero.js';
import {
  QCOW2_MAGIC, QCOW2_OFLAG_COMPRESSED, QCOW2_OFLAG_COPIED, Qcow2Header,
} from './qcow2-header.js';

export interface Qcow2SinkOptions {
  /** Bytes per cluster: a power of two from 512 to 2 MiB (default 64 KiB, as qemu-img). */
  clusterSize?: number;
  /** Store clusters deflate-compressed where that makes them smaller (needs `codec`). */
  compress?: boolean;
  codec?: DeflateCodec;
}

/** refcount_order 4: 16-bit refcounts, as qemu-img creates them. */
const REFCOUNT_BYTES = 2;

export function checkClusterSize(clusterSize: number, min = 512, max = 2 << 20): number {
  if (!Number.isSafeInteger(clusterSize) || clusterSize < min || clusterSize > max || (clusterSize & (clusterSize - 1)) !== 0) {
    fail('VDISK_CLUSTER_SIZE', `cluster size must be a power of two from ${min} to ${max} bytes, got ${clusterSize}`, { actual: clusterSize, expected: [min, max] });
  }
  return Math.log2(clusterSize);
}

export class Qcow2Sink implements Sink {
  readonly clusterSize: number;
  private readonly clusterBits: number;
  /** With compression: the clusters being deflated, stored in order. */
  private readonly queue: CompressQueue<number> | null;
  /** The virtual cluster being assembled, and its bytes. */
  private curIndex = -1;
  private readonly cur: Uint8Array;
  private curTouched = false;
  /** Next free host byte (cluster 0 is the header). */
  private hostNext: number;
  /** Allocated clusters in virtual order: index, host offset, and (compressed) the stored size, or -1. */
  private readonly vIndex: number[] = [];
  private readonly vHost: number[] = [];
  private readonly vCompressed: number[] = [];
  private done = false;
  /** Host bytes of data written (for reports). */
  dataBytes = 0;

  constructor(private readonly inner: Sink, options: Qcow2SinkOptions = {}) {
    this.clusterSize = options.clusterSize ?? 65536;
    this.clusterBits = checkClusterSize(this.clusterSize);
    if (options.compress && !options.codec) fail('VDISK_NO_CODEC', 'compressed qcow2 needs a deflate codec', {});
    this.queue = options.compress ? new CompressQueue(options.codec!, 'raw-4k', (i, plain, c) => this.storeCluster(i, plain, c)) : null;
    this.cur = new Uint8Array(this.clusterSize);
    this.hostNext = this.clusterSize;
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    const cs = this.clusterSize;
    let pos = 0;
    while (pos < data.length) {
      const off = offset + pos;
      const index = Math.floor(off / cs);
      const within = off - index * cs;
      if (index < this.curIndex) fail('VDISK_OUT_OF_ORDER', `qcow2 output takes extents in offset order: ${off} comes after cluster ${this.curIndex}`, { offset: off });
      if (index !== this.curIndex) await this.flushCurrent();
      if (within === 0 && data.length - pos >= cs && !this.queue) {
        // Whole clusters: straight from the caller's bytes, consecutive
        // non-zero clusters in one write.
        let n = Math.floor((data.length - pos) / cs);
        let run = 0;
        for (let k = 0; k < n; k++) {
          const c = data.subarray(pos + k * cs, pos + (k + 1) * cs);
          if (isZero(c)) {
            if (run) await this.writeRun(data, pos + (k - run) * cs, index + k - run, run);
            run = 0;
          } else {
            run++;
          }
        }
        if (run) await this.writeRun(data, pos + (n - run) * cs, index + n - run, run);
        this.curIndex = index + n - 1;
        pos += n * cs;
        continue;
      }
      if (index !== this.curIndex) {
        this.curIndex = index;
        this.cur.fill(0);
        this.curTouched = false;
      }
      const n = Math.min(cs - within, data.length - pos);
      this.cur.set(data.subarray(pos, pos + n), within);
      this.curTouched = true;
      pos += n;
    }
  }

  /** Zero ranges need nothing: an unallocated cluster reads as zeros, and the current one starts zeroed. */
  async zero(): Promise<void> {}

  private async writeRun(data: Uint8Array, from: number, firstIndex: number, clusters: number): Promise<void> {
    const cs = this.clusterSize;
    const host = this.alignHost();
    for (let k = 0; k < clusters; k++) {
      this.vIndex.push(firstIndex + k);
      this.vHost.push(host + k * cs);
      this.vCompressed.push(-1);
    }
    this.hostNext = host + clusters * cs;
    this.dataBytes += clusters * cs;
    await this.inner.write(host, data.subarray(from, from + clusters * cs));
  }

  private alignHost(): number {
    const cs = this.clusterSize;
    return Math.ceil(this.hostNext / cs) * cs;
  }

  private async flushCurrent(): Promise<void> {
    if (this.curIndex < 0 || !this.curTouched || isZero(this.cur)) {
      this.curTouched = false;
      return;
    }
    this.curTouched = false;
    if (this.queue) await this.queue.push(this.curIndex, this.cur);
    else await this.storeCluster(this.curIndex, this.cur, null);
  }

  /** Place one cluster: compressed where that is smaller (and fits the sector count field), else whole. */
  private async storeCluster(index: number, plain: Uint8Array, compressed: Uint8Array | null): Promise<void> {
    const cs = this.clusterSize;
    if (compressed) {
      const host = this.hostNext;
      const extraSectors = Math.floor((host + compressed.length - 1) / 512) - Math.floor(host / 512);
      if (compressed.length < cs && extraSectors < 2 ** (this.clusterBits - 8)) {
        this.vIndex.push(index);
        this.vHost.push(host);
        this.vCompressed.push(compressed.length);
        this.hostNext = host + compressed.length;
        this.dataBytes += compressed.length;
        await this.inner.write(host, compressed);
        return;
      }
    }
    const host = this.alignHost();
    this.vIndex.push(index);
    this.vHost.push(host);
    this.vCompressed.push(-1);
    this.hostNext = host + cs;
    this.dataBytes += cs;
    await this.inner.write(host, plain);
  }

  async finish(size: number): Promise<void> {
    if (this.done) return;
    this.done = true;
    try {
      await this.flushCurrent();
      await this.queue?.drain();
      await this.writeTables(size);
    } catch (e) {
      await this.inner.abort(e);
      throw e;
    }
  }

  private async writeTables(size: number): Promise<void> {
    const cs = this.clusterSize;
    const cbits = this.clusterBits;
    if (size % 512 !== 0) fail('VDISK_SIZE', `a qcow2 virtual size must be a multiple of 512 bytes, got ${size}`, { actual: size });
    const l2Entries = cs / 8;
    const l1Size = Math.ceil(Math.ceil(size / cs) / l2Entries);
    const dataEnd = this.alignHost() / cs; // host clusters up to the end of the data
    // The L2 tables in use, in order.
    const l2Of = new Map<number, number>(); // L1 index -> position among the L2 tables
    for (const v of this.vIndex) {
      const t = Math.floor(v / l2Entries);
      if (!l2Of.has(t)) l2Of.set(t, l2Of.size);
    }
    const nL2 = l2Of.size;
    const l1Clusters = Math.max(1, Math.ceil((l1Size * 8) / cs));
    const perBlock = cs / REFCOUNT_BYTES;
    // The refcount structures count themselves: grow them to a fixed point.
    let rb = 1;
    let rt = 1;
    for (;;) {
      const total = dataEnd + nL2 + l1Clusters + rb + rt;
      const rb2 = Math.ceil(total / perBlock);
      const rt2 = Math.max(1, Math.ceil((rb2 * 8) / cs));
      if (rb2 === rb && rt2 === rt) break;
      rb = rb2;
      rt = rt2;
    }
    const l2Start = dataEnd;
    const l1Start = l2Start + nL2;
    const rbStart = l1Start + l1Clusters;
    const rtStart = rbStart + rb;
    const totalClusters = rtStart + rt;

    // L2 tables.
    const l2 = new Uint8Array(nL2 * cs);
    const l2v = new DataView(l2.buffer);
    const refcounts = new Uint16Array(totalClusters);
    refcounts[0] = 1;
    const csizeShift = BigInt(62 - (cbits - 8));
    for (let k = 0; k < this.vIndex.length; k++) {
      const v = this.vIndex[k]!;
      const host = this.vHost[k]!;
      const clen = this.vCompressed[k]!;
      const at = l2Of.get(Math.floor(v / l2Entries))! * cs + (v % l2Entries) * 8;
      if (clen < 0) {
        l2v.setBigUint64(at, BigInt(host) | QCOW2_OFLAG_COPIED);
        refcounts[host / cs]! += 1;
      } else {
        const extra = Math.floor((host + clen - 1) / 512) - Math.floor(host / 512);
        l2v.setBigUint64(at, QCOW2_OFLAG_COMPRESSED | (BigInt(extra) << csizeShift) | BigInt(host));
        for (let c = Math.floor(host / cs); c <= Math.floor((host + clen - 1) / cs); c++) refcounts[c]! += 1;
      }
    }
    // L1 table.
    const l1 = new Uint8Array(l1Clusters * cs);
    const l1v = new DataView(l1.buffer);
    for (const [t, i] of l2Of) l1v.setBigUint64(t * 8, BigInt((l2Start + i) * cs) | QCOW2_OFLAG_COPIED);
    for (let c = l2Start; c < totalClusters; c++) refcounts[c] = 1;
    // Refcount blocks and table.
    const rbBytes = new Uint8Array(rb * cs);
    const rbv = new DataView(rbBytes.buffer);
    for (let c = 0; c < totalClusters; c++) if (refcounts[c]) rbv.setUint16(c * 2, refcounts[c]!);
    const rtBytes = new Uint8Array(rt * cs);
    const rtv = new DataView(rtBytes.buffer);
    for (let i = 0; i < rb; i++) rtv.setBigUint64(i * 8, BigInt((rbStart + i) * cs));

    if (nL2) await this.inner.write(l2Start * cs, l2);
    await this.inner.write(l1Start * cs, l1);
    await this.inner.write(rbStart * cs, rbBytes);
    await this.inner.write(rtStart * cs, rtBytes);
    const header = Qcow2Header.encode({
      ...Qcow2Header.zero(),
      magic: QCOW2_MAGIC, version: 3, cluster_bits: cbits, size: BigInt(size), crypt_method: 0,
      l1_size: l1Size, l1_table_offset: BigInt(l1Start * cs),
      refcount_table_offset: BigInt(rtStart * cs), refcount_table_clusters: rt,
      refcount_order: 4, header_length: Qcow2Header.size,
    });
    // The header cluster: header, then the end-of-extensions marker (8 zero bytes).
    const h = new Uint8Array(Math.min(cs, 4096));
    h.set(header, 0);
    await this.inner.write(0, h);
    await this.inner.finish(totalClusters * cs);
  }

  async abort(reason?: unknown): Promise<void> {
    this.done = true;
    await this.inner.abort(reason);
  }
}
