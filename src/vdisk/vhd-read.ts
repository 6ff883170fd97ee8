// Reading VHD images (fixed and dynamic) as a Disk of their current_size.
// The footer is the file's last 512 bytes (a dynamic disk also keeps a copy
// at 0); every offset is checked against the file. Differencing disks need a
// parent and are refused. Writes go in place for fixed disks and for blocks
// a dynamic disk has allocated; anything else is refused by code.
import { fail } from '../errors.js';
import type { Disk } from '../io/disk.js';
import { checkRange } from '../io/source.js';
import { VHD_COOKIE, VHD_DYNAMIC, VHD_DYNAMIC_COOKIE, VHD_FIXED, VhdDynamicHeader, VhdFooter, vhdChecksum } from './vhd-footer.js';

const COOKIE = new TextEncoder().encode(VHD_COOKIE);

function hasCookie(b: Uint8Array, at: number, cookie: Uint8Array): boolean {
  if (b.length < at + cookie.length) return false;
  for (let i = 0; i < cookie.length; i++) if (b[at + i] !== cookie[i]) return false;
  return true;
}

/** A VHD is known by its footer at the end (fixed) or its copy at the start (dynamic). */
export function looksLikeVhd(file: Disk): boolean {
  if (file.size < 512 + 512) return false;
  return hasCookie(file.read(file.size - 512, 8), 0, COOKIE) || hasCookie(file.read(0, 8), 0, COOKIE);
}

export function openVhd(file: Disk): Disk & { vhd: { type: 'fixed' | 'dynamic'; virtualSize: number } } {
  let raw = file.read(file.size - 512, 512);
  if (!hasCookie(raw, 0, COOKIE)) raw = file.read(0, 512); // a dynamic disk's copy
  if (!hasCookie(raw, 0, COOKIE)) fail('VHD_BAD_FOOTER', 'no VHD footer ("conectix") at the end or start of the file', { field: 'cookie' });
  const f = VhdFooter.decode(raw);
  const sum = vhdChecksum(raw, VhdFooter.offsetOf('checksum'));
  if (sum !== f.checksum) fail('VHD_BAD_CHECKSUM', `VHD footer checksum 0x${f.checksum.toString(16)} should be 0x${sum.toString(16)}`, { structure: 'VhdFooter', expected: sum, actual: f.checksum });
  if (f.current_size > BigInt(Number.MAX_SAFE_INTEGER)) fail('VHD_BAD_FOOTER', 'current_size too large', { field: 'current_size' });
  const size = Number(f.current_size);
  if (f.disk_type === VHD_FIXED) {
    if (size + 512 > file.size) fail('VHD_TRUNCATED', `a fixed VHD of ${size} bytes needs a ${size + 512}-byte file, this one has ${file.size}`, { expected: size + 512, actual: file.size });
    const d: Disk & { vhd: { type: 'fixed' | 'dynamic'; virtualSize: number } } = {
      size, vhd: { type: 'fixed', virtualSize: size },
      read: (o, n) => {
        checkRange(size, o, n, 'VHD image');
        return file.read(o, n);
      },
    };
    if (file.write) {
      const w = file.write.bind(file);
      d.write = (o, data) => {
        checkRange(size, o, data.length, 'VHD image');
        w(o, data);
      };
    }
    return d;
  }
  if (f.disk_type !== VHD_DYNAMIC) fail('VHD_UNSUPPORTED', `VHD disk type ${f.disk_type} (diskwright reads fixed (2) and dynamic (3); differencing disks need their parent)`, { field: 'disk_type', actual: f.disk_type });
  const hOff = Number(f.data_offset);
  if (!Number.isSafeInteger(hOff) || hOff + 1024 > file.size) fail('VHD_BAD_FOOTER', `the dynamic header offset ${f.data_offset} lies outside the file`, { field: 'data_offset' });
  const hraw = file.read(hOff, 1024);
  if (!hasCookie(hraw, 0, new TextEncoder().encode(VHD_DYNAMIC_COOKIE))) fail('VHD_BAD_HEADER', 'no dynamic disk header ("cxsparse")', { field: 'cookie', offset: hOff });
  const h = VhdDynamicHeader.decode(hraw);
  const hsum = vhdChecksum(hraw, VhdDynamicHeader.offsetOf('checksum'));
  if (hsum !== h.checksum) fail('VHD_BAD_CHECKSUM', `VHD dynamic header checksum 0x${h.checksum.toString(16)} should be 0x${hsum.toString(16)}`, { structure: 'VhdDynamicHeader', expected: hsum, actual: h.checksum });
  const bs = h.block_size;
  if (bs < 512 || (bs & (bs - 1)) !== 0 || bs > 256 * 1024 * 1024) fail('VHD_BAD_HEADER', `block size ${bs} is not a power of two from 512 bytes to 256 MiB`, { field: 'block_size', actual: bs });
  const entries = Math.ceil(size / bs);
  if (h.max_table_entries < entries) fail('VHD_BAD_HEADER', `the BAT has ${h.max_table_entries} entries, the disk needs ${entries}`, { field: 'max_table_entries', actual: h.max_table_entries, expected: entries });
  const tOff = Number(h.table_offset);
  if (!Number.isSafeInteger(tOff) || tOff + entries * 4 > file.size) fail('VHD_BAD_HEADER', 'the BAT lies outside the file', { field: 'table_offset' });
  const bat = new DataView(file.read(tOff, entries * 4).buffer);
  const bitmapBytes = Math.ceil(bs / 512 / 8 / 512) * 512;
  const blockAt = (i: number): number | null => {
    const e = bat.getUint32(i * 4);
    if (e === 0xffffffff) return null;
    const at = e * 512 + bitmapBytes;
    if (at + bs > file.size) fail('VHD_BAD_TABLE', `BAT entry ${i} points outside the file`, { offset: e * 512 });
    return at;
  };
  const d: Disk & { vhd: { type: 'fixed' | 'dynamic'; virtualSize: number } } = {
    size, vhd: { type: 'dynamic', virtualSize: size },
    read(o, n) {
      checkRange(size, o, n, 'VHD image');
      const out = new Uint8Array(n);
      // Sector bitmaps are not consulted: with no parent, an allocated
      // block's absent sectors are zeros in the block too (as QEMU reads them).
      for (let pos = 0; pos < n;) {
        const i = Math.floor((o + pos) / bs);
        const within = o + pos - i * bs;
        const k = Math.min(bs - within, n - pos);
        const at = blockAt(i);
        if (at !== null) out.set(file.read(at + within, k), pos);
        pos += k;
      }
      return out;
    },
  };
  if (file.write) {
    const w = file.write.bind(file);
    d.write = (o, data) => {
      checkRange(size, o, data.length, 'VHD image');
      const parts: Array<[number, number, number]> = [];
      for (let pos = 0; pos < data.length;) {
        const i = Math.floor((o + pos) / bs);
        const within = o + pos - i * bs;
        const k = Math.min(bs - within, data.length - pos);
        const at = blockAt(i);
        if (at === null) fail('VHD_WRITE_UNALLOCATED', `writing at ${o + pos} needs a block the dynamic VHD has not allocated`, { offset: o + pos });
        parts.push([at + within, pos, k]);
        pos += k;
      }
      for (const [at, pos, k] of parts) w(at, data.subarray(pos, pos + k));
    };
  }
  return d;
}
