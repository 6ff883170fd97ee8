// MBR partition type bytes (OSType) by alias, as util-linux's
// include/pt-mbr-partnames.h names them.
import { fail } from '../errors.js';

export const MBR_TYPES: Record<string, number> = {
  empty: 0x00,
  fat12: 0x01,
  'fat16-small': 0x04,
  extended: 0x05,
  fat16: 0x06,
  ntfs: 0x07,
  msdata: 0x07,
  exfat: 0x07,
  'fat32-chs': 0x0b,
  fat32: 0x0c,
  'fat16-lba': 0x0e,
  'extended-lba': 0x0f,
  swap: 0x82,
  linux: 0x83,
  'linux-extended': 0x85,
  'linux-lvm': 0x8e,
  'linux-raid': 0xfd,
  gpt: 0xee,
  protective: 0xee,
  esp: 0xef,
  efi: 0xef,
};

export const EXTENDED_TYPES = new Set([0x05, 0x0f, 0x85]);

/** An MBR type from an alias, "0x0c", "c" or a number 1..255. */
export function resolveMbrType(value: unknown, path = 'type'): number {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value > 0 && value <= 0xff) return value;
  } else if (typeof value === 'string') {
    const alias = MBR_TYPES[value.toLowerCase()];
    if (alias !== undefined && alias !== 0) return alias;
    const m = /^(?:0x)?([0-9a-fA-F]{1,2})$/.exec(value);
    if (m) {
      const n = parseInt(m[1], 16);
      if (n > 0) return n;
    }
  }
  return fail('SPEC_TYPE', `${path}: not an MBR partition type: ${JSON.stringify(value)} (use an alias such as "fat32", "linux", "esp" or a byte such as "0x0c")`, { path, value });
}

/** "0x0c" style: two lower-case hex digits. */
export function formatMbrType(t: number): string {
  return `0x${t.toString(16).padStart(2, '0')}`;
}
