// Helpers for the GPT/MBR oracle tests: write a table into a sparse host file.
import * as fs from 'node:fs';
import { encodeGpt, type GptTable } from '../../src/gpt/table.js';

export function writeGptFile(file: string, t: GptTable): void {
  const e = encodeGpt(t);
  const fd = fs.openSync(file, 'w');
  try {
    fs.ftruncateSync(fd, t.totalSectors * t.sectorSize);
    fs.writeSync(fd, e.protectiveMbr, 0, e.protectiveMbr.length, 0);
    fs.writeSync(fd, e.primaryHeader, 0, e.primaryHeader.length, e.primaryHeaderOffset);
    fs.writeSync(fd, e.entries, 0, e.entries.length, e.primaryEntriesOffset);
    fs.writeSync(fd, e.entries, 0, e.entries.length, e.backupEntriesOffset);
    fs.writeSync(fd, e.backupHeader, 0, e.backupHeader.length, e.backupHeaderOffset);
  } finally {
    fs.closeSync(fd);
  }
}

/** sfdisk's attrs string for an attribute mask (util-linux libfdisk gpt.c gpt_entry_attrs_to_string). */
export function sfdiskAttrs(a: bigint): string | undefined {
  const parts: string[] = [];
  if (a & 1n) parts.push('RequiredPartition');
  if (a & 2n) parts.push('NoBlockIOProtocol');
  if (a & 4n) parts.push('LegacyBIOSBootable');
  const bits: string[] = [];
  for (let b = 48n; b < 64n; b++) if (a & (1n << b)) bits.push(String(b));
  if (bits.length) parts.push(`GUID:${bits.join(',')}`);
  return parts.length ? parts.join(' ') : undefined;
}

/** util-linux prints non-ASCII name bytes as \xHH escapes; undo that. */
export function unescapeHex(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const m = /^\\x([0-9a-fA-F]{2})/.exec(s.slice(i));
    if (m) { bytes.push(parseInt(m[1], 16)); i += 3; } else bytes.push(...Buffer.from(s[i], 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}
