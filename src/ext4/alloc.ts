// Block allocation for the ext4 builder: a forward-moving cursor over the
// blocks that group metadata (superblock/GDT copies, bitmaps, inode tables)
// leaves free. Allocations come out in increasing block order, so every file
// is as contiguous as the metadata allows and the used set stays a short
// list of runs (memory in proportion to the files, not to the size).
import { fail } from '../errors.js';
import { groupFirst, groupPlacer, groupSuperBlocks, type Ext4Geometry } from './geometry.js';

export interface Run {
  start: number;
  len: number;
}

/**
 * Metadata runs of a geometry, sorted and merged. Built one flex group at a
 * time (a few runs each once merged), so a huge filesystem never holds five
 * objects a group.
 */
export function metadataRuns(geo: Ext4Geometry): Run[] {
  const out: Run[] = [];
  const append = (r: Run) => {
    const last = out[out.length - 1];
    if (last && r.start <= last.start + last.len) last.len = Math.max(last.len, r.start + r.len - last.start);
    else out.push({ start: r.start, len: r.len });
  };
  if (geo.firstDataBlock > 0) append({ start: 0, len: geo.firstDataBlock });
  const window = 1 << geo.logGroupsPerFlex;
  const place = groupPlacer(geo);
  let pending: Run[] = [];
  for (let g0 = 0; g0 < geo.groupCount; g0 += window) {
    for (let g = g0; g < Math.min(geo.groupCount, g0 + window); g++) {
      const sb = groupSuperBlocks(geo, g);
      if (sb > 0) pending.push({ start: groupFirst(geo, g), len: sb });
      pending.push({ start: place.blockBitmap(g), len: 1 });
      pending.push({ start: place.inodeBitmap(g), len: 1 });
      pending.push({ start: place.inodeTable(g), len: geo.inodeTableBlocks });
    }
    // Everything of later windows lies at or after their first block.
    const bound = g0 + window < geo.groupCount ? groupFirst(geo, g0 + window) : Infinity;
    pending.sort((a, b) => a.start - b.start);
    let k = 0;
    while (k < pending.length && pending[k].start < bound) append(pending[k++]);
    pending = pending.slice(k);
  }
  return out;
}

export function mergeRuns(runs: Run[]): Run[] {
  runs.sort((a, b) => a.start - b.start);
  const out: Run[] = [];
  for (const r of runs) {
    if (r.len <= 0) continue;
    const last = out[out.length - 1];
    if (last && r.start <= last.start + last.len) {
      last.len = Math.max(last.len, r.start + r.len - last.start);
    } else {
      out.push({ start: r.start, len: r.len });
    }
  }
  return out;
}

export class BlockAllocator {
  private cursor: number;
  private next = 0;
  /** Runs handed out, in increasing order (adjacent ones merged). */
  readonly used: Run[] = [];
  allocated = 0;

  constructor(private readonly reserved: readonly Run[], private readonly blocksCount: number, private readonly freeBlocks: number) {
    this.cursor = 0;
    this.skip();
  }

  private skip(): void {
    while (this.next < this.reserved.length && this.reserved[this.next].start + this.reserved[this.next].len <= this.cursor) this.next++;
    while (this.next < this.reserved.length && this.reserved[this.next].start <= this.cursor) {
      this.cursor = this.reserved[this.next].start + this.reserved[this.next].len;
      this.next++;
    }
  }

  /** `n` blocks as runs in increasing order (each run contiguous). */
  alloc(n: number, what: string): Run[] {
    const out: Run[] = [];
    let left = n;
    while (left > 0) {
      this.skip();
      if (this.cursor >= this.blocksCount) {
        fail('EXT4_NO_SPACE', `the filesystem is full while placing ${what}`, {
          structure: 'ext4', path: what, needed: (this.allocated + left) , available: this.freeBlocks,
        });
      }
      const limit = this.next < this.reserved.length ? this.reserved[this.next].start : this.blocksCount;
      const take = Math.min(left, limit - this.cursor);
      out.push({ start: this.cursor, len: take });
      const last = this.used[this.used.length - 1];
      if (last && last.start + last.len === this.cursor) last.len += take;
      else this.used.push({ start: this.cursor, len: take });
      this.cursor += take;
      this.allocated += take;
      left -= take;
    }
    return out;
  }

  /**
   * `n` blocks in one run (a file that must never be split: GRUB's grubenv).
   * Free blocks skipped to find the run stay free.
   */
  allocContiguous(n: number, what: string): Run {
    for (;;) {
      this.skip();
      const limit = this.next < this.reserved.length ? this.reserved[this.next].start : this.blocksCount;
      if (this.cursor >= this.blocksCount) {
        fail('EXT4_NO_SPACE', `no run of ${n} free blocks for ${what}`, { structure: 'ext4', path: what, needed: n, available: this.freeBlocks - this.allocated });
      }
      if (limit - this.cursor >= n) {
        const [r] = this.alloc(n, what);
        return r;
      }
      this.cursor = limit;
    }
  }
}
