// Sizes as a spec writes them: a byte count, or a number with a binary
// (KiB, MiB, GiB, TiB) or decimal (kB, MB, GB, TB) unit. "K", "M", "G", "T"
// alone mean the binary units, as sfdisk and mkfs read them.
import { fail } from '../errors.js';

const UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3, t: 1024 ** 4, tib: 1024 ** 4,
  kb: 1000, mb: 1000 ** 2, gb: 1000 ** 3, tb: 1000 ** 4,
};

/** Parse a size. `path` names the spec field in the error. */
export function parseSize(value: unknown, path = 'size'): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value <= 0) {
      fail('SPEC_SIZE', `${path}: size must be a positive whole number of bytes, got ${value}`, { path, value });
    }
    return value;
  }
  if (typeof value !== 'string') fail('SPEC_SIZE', `${path}: size must be a number or a string like "64MiB"`, { path, value });
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  if (!m) fail('SPEC_SIZE', `${path}: cannot read size ${JSON.stringify(value)}`, { path, value });
  const unit = UNITS[m[2].toLowerCase()];
  if (unit === undefined) fail('SPEC_SIZE', `${path}: unknown unit ${JSON.stringify(m[2])}`, { path, value });
  const n = Number(m[1]) * unit;
  if (!Number.isSafeInteger(n) || n <= 0) {
    fail('SPEC_SIZE', `${path}: size must be a positive whole number of bytes, got ${JSON.stringify(value)}`, { path, value });
  }
  return n;
}

export function formatSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1 && v % 1024 === 0) { v /= 1024; i++; }
  return `${v}${units[i]}`;
}
