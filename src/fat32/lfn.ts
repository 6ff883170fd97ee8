// VFAT long-name directory entry: fatgen103 §7 "FAT Long Directory Entries".
// A long name is stored in 13-character UTF-16 pieces, last piece first,
// each carrying the checksum of the short name that follows them.
import { bytes, defineStruct, u16le, u8, type StructValue } from '../codec/struct.js';
import { ATTR_LONG_NAME } from './dir-entry.js';

export const LfnEntry = defineStruct('FatLfnEntry', 32, {
  LDIR_Ord: u8(0),
  LDIR_Name1: bytes(1, 10),
  LDIR_Attr: u8(11),
  LDIR_Type: u8(12),
  LDIR_Chksum: u8(13),
  LDIR_Name2: bytes(14, 12),
  LDIR_FstClusLO: u16le(26),
  LDIR_Name3: bytes(28, 4),
});

export type LfnEntryValue = StructValue<typeof LfnEntry>;

export const LAST_LONG_ENTRY = 0x40;
export const LFN_CHARS_PER_ENTRY = 13;
/** Longest long name in UTF-16 code units (fatgen103 §7). */
export const MAX_LFN_LENGTH = 255;

/** fatgen103 §7 ChkSum(): rotate right and add over the 11 bytes of DIR_Name. */
export function lfnChecksum(shortName: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < 11; i++) sum = ((((sum & 1) << 7) | (sum >> 1)) + shortName[i]) & 0xff;
  return sum;
}

/**
 * The long-name entries for `name`, in on-disk order (highest ordinal, with
 * LAST_LONG_ENTRY, first). The name is NUL-terminated when it does not fill
 * the last piece, and padded with 0xFFFF after that.
 */
export function encodeLfnEntries(name: string, shortName: Uint8Array): Uint8Array[] {
  const units: number[] = [];
  for (let i = 0; i < name.length; i++) units.push(name.charCodeAt(i));
  const count = Math.ceil(units.length / LFN_CHARS_PER_ENTRY);
  if (units.length % LFN_CHARS_PER_ENTRY !== 0) units.push(0);
  while (units.length < count * LFN_CHARS_PER_ENTRY) units.push(0xffff);
  const sum = lfnChecksum(shortName);
  const out: Uint8Array[] = [];
  for (let n = count; n >= 1; n--) {
    const piece = units.slice((n - 1) * LFN_CHARS_PER_ENTRY, n * LFN_CHARS_PER_ENTRY);
    const b = new Uint8Array(26);
    piece.forEach((u, i) => { b[2 * i] = u & 0xff; b[2 * i + 1] = u >> 8; });
    out.push(LfnEntry.encode({
      LDIR_Ord: n | (n === count ? LAST_LONG_ENTRY : 0),
      LDIR_Name1: b.subarray(0, 10),
      LDIR_Attr: ATTR_LONG_NAME,
      LDIR_Type: 0,
      LDIR_Chksum: sum,
      LDIR_Name2: b.subarray(10, 22),
      LDIR_FstClusLO: 0,
      LDIR_Name3: b.subarray(22, 26),
    }));
  }
  return out;
}

/** The 13 UTF-16 code units of one long-name entry. */
export function lfnUnits(e: LfnEntryValue): number[] {
  const out: number[] = [];
  for (const part of [e.LDIR_Name1, e.LDIR_Name2, e.LDIR_Name3]) {
    for (let i = 0; i + 1 < part.length; i += 2) out.push(part[i] | (part[i + 1] << 8));
  }
  return out;
}
