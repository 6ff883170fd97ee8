// CRC32 (IEEE 802.3, as GPT, gzip and zlib use it), CRC32C (Castagnoli, as
// ext4 metadata_csum and jbd2 use it) and CRC16 (ANSI/IBM, reflected poly
// 0xA001, as ext4's uninit_bg group descriptor checksum uses it).
import CRC32 from 'crc-32';
import CRC32C from 'crc-32/crc32c.js';

/** Standard CRC32 of `data`; `previous` continues an earlier result. */
export function crc32(data: Uint8Array, previous = 0): number {
  return CRC32.buf(data, previous) >>> 0;
}

/** Standard CRC32C (iSCSI): init ~0, final xor ~0. `previous` continues an earlier result. */
export function crc32c(data: Uint8Array, previous = 0): number {
  return CRC32C.buf(data, previous) >>> 0;
}

/**
 * The "raw" CRC32C that the Linux kernel's crc32c() and e2fsprogs'
 * ext2fs_crc32c_le() compute: the caller supplies the running register and
 * no final inversion is made. ext4 starts it at ~0 (ext4_chksum).
 */
export function crc32cRaw(register: number, data: Uint8Array): number {
  // std(data, seed) = ~raw(~seed, data)  ⇒  raw(r, data) = ~std(data, ~r)
  return ~CRC32C.buf(data, ~register) >>> 0;
}

let crc16Table: Uint16Array | undefined;

/** CRC16 (poly 0x8005 reflected = 0xA001), as e2fsprogs' ext2fs_crc16(). */
export function crc16(register: number, data: Uint8Array): number {
  if (!crc16Table) {
    crc16Table = new Uint16Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
      crc16Table[n] = c;
    }
  }
  let crc = register & 0xffff;
  for (let i = 0; i < data.length; i++) crc = (crc >>> 8) ^ crc16Table[(crc ^ data[i]) & 0xff];
  return crc & 0xffff;
}
