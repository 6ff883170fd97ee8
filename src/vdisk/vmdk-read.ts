// Reading VMDK sparse extents (monolithicSparse and streamOptimized: VMware
// Virtual Disk Format 1.1) as a Disk of their capacity. The grain directory
// comes from the header, or, for a streamOptimized file whose header says
// "at end", from the footer before the end-of-stream marker. Grain tables
// are read on demand; every offset is checked against the file. Descriptor-
// only VMDKs (flat or split extents in other files) are refused.
import { fail } from '../errors.js';
import type { Disk } from '../io/disk.js';
import { checkRange } from '../io/source.js';
import type { DeflateCodec } from './deflate.js';
import { VMDK_FLAG_COMPRESSED, VMDK_GD_AT_END, VMDK_MAGIC, VmdkSparseHeader, type VmdkSparseHeaderValue } from './vmdk-header.js';

export function looksLikeVmdk(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x4b && head[1] === 0x44 && head[2] === 0x4d && head[3] === 0x56;
}

const GT_CACHE = 16;
const FLAG_ZEROED_GTE = 1 << 2;

export function openVmdk(file: Disk, codec: DeflateCodec | null): Disk & { vmdk: { streamOptimized: boolean } } {
  if (file.size < 1536) fail('VMDK_TRUNCATED', `a VMDK sparse extent needs at least 1536 bytes, the file has ${file.size}`, { actual: file.size });
  let h: VmdkSparseHeaderValue = VmdkSparseHeader.decode(file.read(0, 512));
  if (h.magicNumber !== VMDK_MAGIC) fail('VMDK_BAD_MAGIC', 'not a VMDK sparse extent', { field: 'magicNumber', actual: h.magicNumber });
  if (h.version < 1 || h.version > 3) fail('VMDK_UNSUPPORTED', `VMDK sparse extent version ${h.version}`, { field: 'version', actual: h.version });
  if (h.gdOffset === VMDK_GD_AT_END) {
    const footer = VmdkSparseHeader.decode(file.read(file.size - 1024, 512));
    if (footer.magicNumber !== VMDK_MAGIC || footer.gdOffset === VMDK_GD_AT_END) fail('VMDK_BAD_FOOTER', 'a streamOptimized VMDK without a footer naming its grain directory', { field: 'gdOffset' });
    h = footer;
  }
  const sectors = (v: bigint, field: string): number => {
    if (v > BigInt(Math.floor(Number.MAX_SAFE_INTEGER / 512))) fail('VMDK_BAD_HEADER', `${field} ${v} is too large`, { field });
    return Number(v);
  };
  const grain = sectors(h.grainSize, 'grainSize');
  if (grain < 1 || grain > 2048 || (grain & (grain - 1)) !== 0) fail('VMDK_BAD_HEADER', `grainSize ${grain} sectors is not a power of two up to 1 MiB`, { field: 'grainSize', actual: grain });
  const grainBytes = grain * 512;
  const size = sectors(h.capacity, 'capacity') * 512;
  const perGt = h.numGTEsPerGT;
  if (perGt < 1 || perGt > 65536) fail('VMDK_BAD_HEADER', `numGTEsPerGT ${perGt}`, { field: 'numGTEsPerGT', actual: perGt });
  const gdEntries = Math.ceil(Math.ceil(size / grainBytes) / perGt);
  const gdAt = sectors(h.gdOffset, 'gdOffset') * 512;
  if (gdAt + gdEntries * 4 > file.size) fail('VMDK_BAD_HEADER', `the grain directory (${gdEntries} entries at ${gdAt}) lies outside the ${file.size}-byte file`, { field: 'gdOffset', offset: gdAt });
  const gd = new DataView(file.read(gdAt, gdEntries * 4).buffer);
  const compressed = (h.flags & VMDK_FLAG_COMPRESSED) !== 0;
  const zeroedGte = (h.flags & FLAG_ZEROED_GTE) !== 0;
  const cache = new Map<number, DataView>();

  const gte = (g: number): number => {
    const t = Math.floor(g / perGt);
    const at = gd.getUint32(t * 4, true) * 512;
    if (at === 0) return 0;
    let table = cache.get(at);
    if (!table) {
      if (at + perGt * 4 > file.size) fail('VMDK_BAD_TABLE', `grain table ${t} at ${at} lies outside the file`, { offset: at });
      table = new DataView(file.read(at, perGt * 4).buffer);
      if (cache.size >= GT_CACHE) cache.delete(cache.keys().next().value!);
      cache.set(at, table);
    }
    const e = table.getUint32((g % perGt) * 4, true);
    return e === 1 && zeroedGte ? 0 : e;
  };

  const readGrain = (g: number, within: number, n: number, out: Uint8Array, pos: number): void => {
    const e = gte(g);
    if (e === 0) return;
    const at = e * 512;
    if (!compressed) {
      if (at + grainBytes > file.size) fail('VMDK_BAD_TABLE', `grain ${g} at ${at} lies outside the file`, { offset: at });
      out.set(file.read(at + within, n), pos);
      return;
    }
    if (at + 12 > file.size) fail('VMDK_BAD_TABLE', `grain ${g} at ${at} lies outside the file`, { offset: at });
    const len = new DataView(file.read(at + 8, 4).buffer).getUint32(0, true);
    if (at + 12 + len > file.size) fail('VMDK_BAD_TABLE', `compressed grain ${g} (${len} bytes at ${at}) runs past the end of the file`, { offset: at });
    if (!codec) fail('VDISK_NO_CODEC', 'the VMDK has compressed grains and no deflate codec was given', {});
    const plain = codec.inflate(file.read(at + 12, len), 'zlib', grainBytes);
    if (plain.length < within + n && plain.length !== grainBytes) {
      // The last grain of a disk may be short; anything else is damage.
      if (g !== Math.ceil(size / grainBytes) - 1) fail('VMDK_BAD_COMPRESSED', `grain ${g} inflates to ${plain.length} bytes, not ${grainBytes}`, { offset: at });
    }
    out.set(plain.subarray(within, Math.min(plain.length, within + n)), pos);
  };

  const disk: Disk & { vmdk: { streamOptimized: boolean } } = {
    size,
    vmdk: { streamOptimized: compressed },
    read(offset, length) {
      checkRange(size, offset, length, 'VMDK image');
      const out = new Uint8Array(length);
      for (let pos = 0; pos < length;) {
        const off = offset + pos;
        const g = Math.floor(off / grainBytes);
        const within = off - g * grainBytes;
        const n = Math.min(grainBytes - within, length - pos);
        readGrain(g, within, n, out, pos);
        pos += n;
      }
      return out;
    },
  };
  if (file.write && !compressed) {
    const w = file.write.bind(file);
    disk.write = (offset, data) => {
      checkRange(size, offset, data.length, 'VMDK image');
      const parts: Array<[number, number, number]> = [];
      for (let pos = 0; pos < data.length;) {
        const off = offset + pos;
        const g = Math.floor(off / grainBytes);
        const within = off - g * grainBytes;
        const n = Math.min(grainBytes - within, data.length - pos);
        const e = gte(g);
        if (e === 0) fail('VMDK_WRITE_UNALLOCATED', `writing at ${off} needs a grain the VMDK has not allocated`, { offset: off });
        parts.push([e * 512 + within, pos, n]);
        pos += n;
      }
      for (const [at, pos, n] of parts) w(at, data.subarray(pos, pos + n));
    };
  } else if (file.write) {
    disk.write = (offset) => fail('VMDK_WRITE_UNALLOCATED', `writing at ${offset}: a streamOptimized VMDK's grains are compressed and cannot be edited in place`, { offset });
  }
  return disk;
}
