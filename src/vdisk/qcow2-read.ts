// Reading a qcow2 image (versions 2 and 3, docs/interop/qcow2.txt) as a Disk
// of its virtual size. Every table offset and size is checked against the
// file before it is used; L2 tables are read on demand and a few are kept.
// Writes go to standard clusters already allocated (a bootenv edit in place);
// anything else would need new clusters and is refused by code.
import { fail } from '../errors.js';
import type { Disk } from '../io/disk.js';
import { checkRange } from '../io/source.js';
import type { DeflateCodec } from './deflate.js';
import {
  QCOW2_INCOMPAT_COMPRESSION_TYPE, QCOW2_INCOMPAT_CORRUPT, QCOW2_INCOMPAT_DIRTY, QCOW2_INCOMPAT_EXTERNAL_DATA,
  QCOW2_MAGIC, QCOW2_OFFSET_MASK, QCOW2_OFLAG_COMPRESSED, QCOW2_OFLAG_ZERO, Qcow2Header,
} from './qcow2-header.js';

export function looksLikeQcow2(head: Uint8Array): boolean {
  return head.length >= 4 && new DataView(head.buffer, head.byteOffset, 4).getUint32(0) === QCOW2_MAGIC;
}

const L2_CACHE = 16;

export interface Qcow2Info {
  version: number;
  clusterSize: number;
  virtualSize: number;
  compressedClusters: boolean;
}

/** The virtual disk inside a qcow2 file (`file` is the container's bytes). */
export function openQcow2(file: Disk, codec: DeflateCodec | null): Disk & { qcow2: Qcow2Info } {
  if (file.size < 72) fail('QCOW2_TRUNCATED', `a qcow2 header needs 72 bytes, the file has ${file.size}`, { actual: file.size, expected: 72 });
  const raw = new Uint8Array(Qcow2Header.size);
  raw.set(file.read(0, Math.min(Qcow2Header.size, file.size)));
  const h = { ...Qcow2Header.decode(raw) };
  if (h.magic !== QCOW2_MAGIC) fail('QCOW2_BAD_MAGIC', 'not a qcow2 image', { field: 'magic', actual: h.magic, expected: QCOW2_MAGIC });
  if (h.version !== 2 && h.version !== 3) fail('QCOW2_UNSUPPORTED', `qcow2 version ${h.version} (diskwright reads 2 and 3)`, { field: 'version', actual: h.version });
  if (h.version === 2) {
    h.incompatible_features = 0n;
    h.refcount_order = 4;
    h.header_length = 72;
  }
  const cbits = h.cluster_bits;
  if (cbits < 9 || cbits > 21) fail('QCOW2_BAD_HEADER', `cluster_bits ${cbits} is outside 9–21`, { field: 'cluster_bits', actual: cbits });
  const cs = 2 ** cbits;
  if (h.backing_file_offset !== 0n) fail('QCOW2_BACKING_FILE', 'the qcow2 image has a backing file; diskwright reads only self-contained images', { field: 'backing_file_offset' });
  if (h.crypt_method !== 0) fail('QCOW2_ENCRYPTED', `the qcow2 image is encrypted (method ${h.crypt_method})`, { field: 'crypt_method', actual: h.crypt_method });
  if (h.incompatible_features & QCOW2_INCOMPAT_EXTERNAL_DATA) fail('QCOW2_EXTERNAL_DATA', 'the qcow2 image keeps its data in an external file', { field: 'incompatible_features' });
  if (h.incompatible_features & QCOW2_INCOMPAT_CORRUPT) fail('QCOW2_CORRUPT', 'the qcow2 image is marked corrupt (qemu-img check -r all repairs it)', { field: 'incompatible_features' });
  if (h.incompatible_features & QCOW2_INCOMPAT_COMPRESSION_TYPE) {
    const t = h.header_length > 104 && file.size > 104 ? file.read(104, 1)[0] : 0;
    if (t !== 0) fail('QCOW2_UNSUPPORTED', `qcow2 compression type ${t} (diskwright reads deflate)`, { field: 'compression_type', actual: t });
  }
  const unknown = h.incompatible_features & ~(QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_COMPRESSION_TYPE);
  if (unknown) fail('QCOW2_UNSUPPORTED', `unknown incompatible qcow2 features 0x${unknown.toString(16)} (extended L2 entries, say)`, { field: 'incompatible_features', actual: Number(unknown) });
  if (h.size > BigInt(Number.MAX_SAFE_INTEGER)) fail('QCOW2_BAD_HEADER', 'virtual size too large', { field: 'size' });
  const size = Number(h.size);
  const l2Entries = cs / 8;
  const needL1 = Math.ceil(Math.ceil(size / cs) / l2Entries);
  if (h.l1_size < needL1) fail('QCOW2_BAD_HEADER', `l1_size ${h.l1_size} cannot map ${size} bytes (needs ${needL1})`, { field: 'l1_size', actual: h.l1_size, expected: needL1 });
  const l1Offset = Number(h.l1_table_offset);
  if (l1Offset % cs !== 0 || l1Offset + needL1 * 8 > file.size) {
    fail('QCOW2_BAD_HEADER', `the L1 table (${needL1} entries at ${l1Offset}) lies outside the ${file.size}-byte file or off a cluster boundary`, { field: 'l1_table_offset', actual: l1Offset });
  }
  // Only the entries that map the virtual size are read (l1_size may be larger; bounded by the file anyway).
  const l1 = new DataView(file.read(l1Offset, needL1 * 8).buffer);
  const csizeShift = BigInt(62 - (cbits - 8));
  const csizeMask = (1n << BigInt(cbits - 8)) - 1n;
  const coffMask = (1n << csizeShift) - 1n;
  const cache = new Map<number, DataView>();
  let compressedClusters = false;

  const l2Table = (l1Index: number): DataView | null => {
    const e = l1.getBigUint64(l1Index * 8) & QCOW2_OFFSET_MASK;
    if (e === 0n) return null;
    const off = Number(e);
    if (off % cs !== 0 || off + cs > file.size) fail('QCOW2_BAD_TABLE', `L1 entry ${l1Index} points at ${off}, outside the file or off a cluster boundary`, { field: 'l1', offset: off });
    let t = cache.get(off);
    if (!t) {
      t = new DataView(file.read(off, cs).buffer);
      if (cache.size >= L2_CACHE) cache.delete(cache.keys().next().value!);
      cache.set(off, t);
    }
    return t;
  };

  /** Host location of virtual cluster `v`: null for zeros, a standard offset, or a compressed run. */
  type Where = null | { host: number } | { coffset: number; csize: number };
  const locate = (v: number): Where => {
    const t = l2Table(Math.floor(v / l2Entries));
    if (!t) return null;
    const e = t.getBigUint64((v % l2Entries) * 8);
    if (e & QCOW2_OFLAG_COMPRESSED) {
      const coffset = Number(e & coffMask);
      const nb = Number((e >> csizeShift) & csizeMask) + 1;
      const csize = Math.min(nb * 512 - (coffset % 512), file.size - coffset);
      if (coffset >= file.size || csize <= 0) fail('QCOW2_BAD_TABLE', `compressed cluster ${v} lies outside the file`, { field: 'l2', offset: coffset });
      return { coffset, csize };
    }
    if (h.version === 3 && (e & QCOW2_OFLAG_ZERO)) return null;
    const host = Number(e & QCOW2_OFFSET_MASK);
    if (host === 0) return null;
    if (host % cs !== 0 || host + cs > file.size) {
      // The last cluster of a file may be short when the image ends inside it.
      if (host % cs !== 0 || host >= file.size) fail('QCOW2_BAD_TABLE', `cluster ${v} points at ${host}, outside the ${file.size}-byte file`, { field: 'l2', offset: host });
    }
    return { host };
  };

  const readCluster = (v: number, within: number, n: number, out: Uint8Array, at: number): void => {
    const w = locate(v);
    if (w === null) return; // out is zeroed
    if ('host' in w) {
      const avail = Math.max(0, Math.min(n, file.size - (w.host + within)));
      if (avail) out.set(file.read(w.host + within, avail), at);
      return;
    }
    compressedClusters = true;
    if (!codec) fail('VDISK_NO_CODEC', 'the qcow2 image has compressed clusters and no deflate codec was given', {});
    let plain: Uint8Array;
    try {
      plain = codec.inflate(file.read(w.coffset, w.csize), 'raw', cs);
    } catch (e) {
      fail('QCOW2_BAD_COMPRESSED', `compressed cluster ${v} does not inflate: ${(e as Error).message}`, { offset: w.coffset });
    }
    if (plain.length < within + n) fail('QCOW2_BAD_COMPRESSED', `compressed cluster ${v} inflates to ${plain.length} bytes, not ${cs}`, { offset: w.coffset, actual: plain.length, expected: cs });
    out.set(plain.subarray(within, within + n), at);
  };

  const disk: Disk & { qcow2: Qcow2Info } = {
    size,
    get qcow2() {
      return { version: h.version, clusterSize: cs, virtualSize: size, compressedClusters };
    },
    read(offset, length) {
      checkRange(size, offset, length, 'qcow2 image');
      const out = new Uint8Array(length);
      let pos = 0;
      while (pos < length) {
        const off = offset + pos;
        const v = Math.floor(off / cs);
        const within = off - v * cs;
        const n = Math.min(cs - within, length - pos);
        readCluster(v, within, n, out, pos);
        pos += n;
      }
      return out;
    },
  };
  if (file.write) {
    const w = file.write.bind(file);
    disk.write = (offset, data) => {
      checkRange(size, offset, data.length, 'qcow2 image');
      // Check every cluster first: a write that can't complete changes nothing.
      const hosts: number[] = [];
      for (let off = offset; off < offset + data.length; off = (Math.floor(off / cs) + 1) * cs) {
        const where = locate(Math.floor(off / cs));
        if (where === null || !('host' in where)) {
          fail('QCOW2_WRITE_UNALLOCATED', `writing at ${off} needs a cluster the qcow2 image has not allocated (or has compressed); diskwright edits qcow2 only in allocated clusters`, { offset: off });
        }
        hosts.push(where.host);
      }
      let pos = 0;
      for (const host of hosts) {
        const off = offset + pos;
        const within = off % cs;
        const n = Math.min(cs - within, data.length - pos);
        w(host + within, data.subarray(pos, pos + n));
        pos += n;
      }
    };
  }
  return disk;
}
