// Microsoft's Virtual Hard Disk Image Format Specification (October 2006):
// the 512-byte hard disk footer, and the 1024-byte dynamic disk header.
// Big-endian. The checksum is the ones' complement of the byte sum of the
// record with the checksum field taken as zero.
import { bytes, defineStruct, reserved, u16be, u32be, u64be, u8, type StructValue } from '../codec/struct.js';

export const VHD_COOKIE = 'conectix';
export const VHD_DYNAMIC_COOKIE = 'cxsparse';
export const VHD_FIXED = 2;
export const VHD_DYNAMIC = 3;
/** Seconds from the Unix epoch to the VHD epoch (2000-01-01 00:00:00 UTC). */
export const VHD_EPOCH = 946684800;

export const VhdFooter = defineStruct('VhdFooter', 512, {
  cookie: bytes(0, 8),
  features: u32be(8),
  file_format_version: u32be(12),
  data_offset: u64be(16),
  time_stamp: u32be(24),
  creator_application: bytes(28, 4),
  creator_version: u32be(32),
  creator_host_os: u32be(36),
  original_size: u64be(40),
  current_size: u64be(48),
  cylinders: u16be(56),
  heads: u8(58),
  sectors_per_track: u8(59),
  disk_type: u32be(60),
  checksum: u32be(64),
  unique_id: bytes(68, 16),
  saved_state: u8(84),
  reserved: reserved(85, 427),
});
export type VhdFooterValue = StructValue<typeof VhdFooter>;

export const VhdDynamicHeader = defineStruct('VhdDynamicHeader', 1024, {
  cookie: bytes(0, 8),
  data_offset: u64be(8),
  table_offset: u64be(16),
  header_version: u32be(24),
  max_table_entries: u32be(28),
  block_size: u32be(32),
  checksum: u32be(36),
  parent_unique_id: bytes(40, 16),
  parent_time_stamp: u32be(56),
  reserved1: reserved(60, 4),
  parent_unicode_name: bytes(64, 512),
  parent_locator_entries: bytes(576, 192),
  reserved2: reserved(768, 256),
});
export type VhdDynamicHeaderValue = StructValue<typeof VhdDynamicHeader>;

/** The checksum of an encoded footer or dynamic header whose checksum field is at `field`. */
export function vhdChecksum(record: Uint8Array, field: number): number {
  let sum = 0;
  for (let i = 0; i < record.length; i++) if (i < field || i >= field + 4) sum += record[i]!;
  return ~sum >>> 0;
}

/** CHS geometry for a disk of `size` bytes: the specification's Appendix "CHS Calculation". */
export function vhdGeometry(size: number): { cylinders: number; heads: number; sectorsPerTrack: number } {
  let total = Math.floor(size / 512);
  if (total > 65535 * 16 * 255) total = 65535 * 16 * 255;
  let spt: number;
  let heads: number;
  let cth: number;
  if (total >= 65535 * 16 * 63) {
    spt = 255;
    heads = 16;
    cth = Math.floor(total / spt);
  } else {
    spt = 17;
    cth = Math.floor(total / spt);
    heads = Math.floor((cth + 1023) / 1024);
    if (heads < 4) heads = 4;
    if (cth >= heads * 1024 || heads > 16) {
      spt = 31;
      heads = 16;
      cth = Math.floor(total / spt);
    }
    if (cth >= heads * 1024) {
      spt = 63;
      heads = 16;
      cth = Math.floor(total / spt);
    }
  }
  return { cylinders: Math.floor(cth / heads), heads, sectorsPerTrack: spt };
}
