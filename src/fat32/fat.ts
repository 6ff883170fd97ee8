// The File Allocation Table: fatgen103 §4 "FAT Data Structure". Entries are
// 12 bits (packed, two in three bytes), 16 bits or 32 bits of which the low
// 28 count (FAT32). Encoding works on one window of the table at a time, so
// a builder never holds a whole FAT of a large volume.
export type FatBits = 12 | 16 | 32;

/** End-of-chain marker that builders write (mkfs.fat and the kernel use the top value). */
export function endOfChain(bits: FatBits): number {
  return bits === 32 ? 0x0fffffff : bits === 16 ? 0xffff : 0xfff;
}

/** Smallest value a reader takes as end of chain (fatgen103: ≥ 0x?FF8). */
export function endOfChainMin(bits: FatBits): number {
  return bits === 32 ? 0x0ffffff8 : bits === 16 ? 0xfff8 : 0xff8;
}

export function badClusterMark(bits: FatBits): number {
  return bits === 32 ? 0x0ffffff7 : bits === 16 ? 0xfff7 : 0xff7;
}

/** Bytes of FAT that `entries` entries take. */
export function fatBytesFor(entries: number, bits: FatBits): number {
  return bits === 12 ? Math.ceil((entries * 3) / 2) : entries * (bits / 8);
}

/** Read entry `n` from a buffer holding the table from entry 0 (or from `first`, for 16/32 bits). */
export function getFatEntry(buf: Uint8Array, n: number, bits: FatBits, first = 0): number {
  const i = n - first;
  if (bits === 32) {
    const o = i * 4;
    return (buf[o] | (buf[o + 1] << 8) | (buf[o + 2] << 16) | (buf[o + 3] << 24)) & 0x0fffffff;
  }
  if (bits === 16) return buf[i * 2] | (buf[i * 2 + 1] << 8);
  const o = Math.floor((n * 3) / 2) - Math.floor((first * 3) / 2);
  const v = buf[o] | (buf[o + 1] << 8);
  return n & 1 ? v >> 4 : v & 0xfff;
}

/**
 * Set entry `n` in a buffer that holds the table from entry `first` (even
 * for FAT12). FAT32 keeps the top 4 bits of the old value, as fatgen103 says
 * a writer must.
 */
export function setFatEntry(buf: Uint8Array, n: number, value: number, bits: FatBits, first = 0): void {
  const i = n - first;
  if (bits === 32) {
    const o = i * 4;
    const v = ((buf[o + 3] & 0xf0) << 24 | (value & 0x0fffffff)) >>> 0;
    buf[o] = v & 0xff; buf[o + 1] = (v >>> 8) & 0xff; buf[o + 2] = (v >>> 16) & 0xff; buf[o + 3] = v >>> 24;
  } else if (bits === 16) {
    buf[i * 2] = value & 0xff; buf[i * 2 + 1] = (value >> 8) & 0xff;
  } else {
    const o = Math.floor((n * 3) / 2) - Math.floor((first * 3) / 2);
    if (n & 1) {
      buf[o] = (buf[o] & 0x0f) | ((value & 0x0f) << 4);
      buf[o + 1] = (value >> 4) & 0xff;
    } else {
      buf[o] = value & 0xff;
      buf[o + 1] = (buf[o + 1] & 0xf0) | ((value >> 8) & 0x0f);
    }
  }
}

/** A chain of consecutive clusters [start, start+count): each points to the next, the last is end of chain. */
export interface ClusterRun {
  start: number;
  count: number;
}

/**
 * Encode the FAT entries [first, first+n) of a table whose chains are
 * `runs` (sorted by start, not overlapping), with entry 0 = media byte and
 * entry 1 = end of chain, every other entry free. `first` must be even for
 * FAT12. Returns the bytes of those entries.
 */
export function encodeFatWindow(runs: readonly ClusterRun[], first: number, n: number, bits: FatBits, media: number, runIndex = { i: 0 }): Uint8Array {
  const buf = new Uint8Array(fatBytesFor(n, bits));
  const end = first + n;
  const eoc = endOfChain(bits);
  if (first === 0) {
    const mask = bits === 32 ? 0x0fffff00 : bits === 16 ? 0xff00 : 0xf00;
    setFatEntry(buf, 0, mask | media, bits, 0);
    if (n > 1) setFatEntry(buf, 1, eoc, bits, 0);
  }
  // Skip runs that end before the window.
  while (runIndex.i < runs.length && runs[runIndex.i].start + runs[runIndex.i].count <= first) runIndex.i++;
  for (let r = runIndex.i; r < runs.length; r++) {
    const run = runs[r];
    if (run.start >= end) break;
    const last = run.start + run.count - 1;
    const lo = Math.max(run.start, first);
    const hi = Math.min(last, end - 1);
    for (let c = lo; c <= hi; c++) setFatEntry(buf, c, c === last ? eoc : c + 1, bits, first);
  }
  return buf;
}
