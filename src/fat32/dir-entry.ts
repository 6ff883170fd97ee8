// FAT short directory entry: fatgen103 §6 "FAT Directory Structure" and
// §6.1 (date/time format). DIR_NTRes carries the Windows NT lowercase flags
// (not in fatgen103; the Linux kernel's vfat and mtools read them).
import { bytes, defineStruct, u16le, u32le, u8, type StructValue } from '../codec/struct.js';
import type { Timestamp } from '../tree/tree.js';

export const DirEntry = defineStruct('FatDirEntry', 32, {
  DIR_Name: bytes(0, 11),
  DIR_Attr: u8(11),
  DIR_NTRes: u8(12),
  DIR_CrtTimeTenth: u8(13),
  DIR_CrtTime: u16le(14),
  DIR_CrtDate: u16le(16),
  DIR_LstAccDate: u16le(18),
  DIR_FstClusHI: u16le(20),
  DIR_WrtTime: u16le(22),
  DIR_WrtDate: u16le(24),
  DIR_FstClusLO: u16le(26),
  DIR_FileSize: u32le(28),
});

export type DirEntryValue = StructValue<typeof DirEntry>;

export const DIR_ENTRY_SIZE = 32;

export const ATTR_READ_ONLY = 0x01;
export const ATTR_HIDDEN = 0x02;
export const ATTR_SYSTEM = 0x04;
export const ATTR_VOLUME_ID = 0x08;
export const ATTR_DIRECTORY = 0x10;
export const ATTR_ARCHIVE = 0x20;
export const ATTR_LONG_NAME = ATTR_READ_ONLY | ATTR_HIDDEN | ATTR_SYSTEM | ATTR_VOLUME_ID;
export const ATTR_LONG_NAME_MASK = ATTR_LONG_NAME | ATTR_DIRECTORY | ATTR_ARCHIVE;

/** DIR_NTRes bits: the base name / the extension is shown in lower case (Windows NT, Linux vfat_create_shortname). */
export const NTRES_LOWER_BASE = 0x08;
export const NTRES_LOWER_EXT = 0x10;

/** First byte of a free entry; 0x00 also ends the directory. */
export const DIR_FREE = 0xe5;
export const DIR_END = 0x00;
/** A first byte 0xE5 of a real name is stored as 0x05 (fatgen103 §6, DIR_Name[0]). */
export const DIR_KANJI_E5 = 0x05;

export interface FatDateTime {
  date: number;
  time: number;
  /** 10 ms units past the 2-second step (0…199), for DIR_CrtTimeTenth. */
  centis: number;
}

const MIN_SEC = Date.UTC(1980, 0, 1) / 1000;
const MAX_SEC = Date.UTC(2107, 11, 31, 23, 59, 58) / 1000;

/**
 * A Unix time as FAT date and time, local time = UTC. Seconds go in 2-second
 * steps, rounded down as the Linux kernel's fat_time_unix2fat() does; times
 * outside 1980…2107 are clamped to the range, as it does too.
 */
export function encodeFatTime(t: Timestamp): FatDateTime {
  let sec = Math.floor(t.sec);
  let nsec = t.nsec;
  if (sec < MIN_SEC) { sec = MIN_SEC; nsec = 0; }
  if (sec > MAX_SEC) { sec = MAX_SEC; nsec = 0; }
  const d = new Date(sec * 1000);
  const date = ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate();
  const time = (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1);
  const centis = (d.getUTCSeconds() & 1) * 100 + Math.floor(nsec / 10_000_000);
  return { date, time, centis };
}

/** FAT date and time (UTC) as a Unix time; odd values decode as the nearest date Date.UTC gives. */
export function decodeFatTime(date: number, time: number, centis = 0): Timestamp {
  const year = 1980 + (date >> 9);
  const month = Math.max(1, (date >> 5) & 0x0f);
  const day = Math.max(1, date & 0x1f);
  const h = time >> 11;
  const m = (time >> 5) & 0x3f;
  const s = (time & 0x1f) * 2;
  const extra = Math.min(centis, 199);
  const ms = Date.UTC(year, month - 1, day, h, m, s);
  return { sec: ms / 1000 + Math.floor(extra / 100), nsec: (extra % 100) * 10_000_000 };
}
