// ext4 geometry: pure maths over sizes, as mke2fs computes them
// (e2fsprogs lib/ext2fs/initialize.c ext2fs_initialize, alloc_tables.c
// ext2fs_allocate_group_table / flexbg_offset, closefs.c ext2fs_bg_has_super,
// mkjournal.c ext2fs_default_journal_size).
import { fail } from '../errors.js';

export interface GeometryOptions {
  /** Bytes available (the partition). */
  size: number;
  blockSize?: 1024 | 2048 | 4096;
  inodeSize?: number;
  /** Bytes per inode (mke2fs -i); default 16384. */
  inodeRatio?: number;
  /** Inode count (mke2fs -N); overrides the ratio. */
  inodes?: number;
  /** Reserved blocks percentage (mke2fs -m); default 5. */
  reservedPercent?: number;
  /** 64-byte group descriptors (64bit). Default true. */
  is64bit?: boolean;
  /** flex_bg with 16 groups per flex group. Default true. */
  flexBg?: boolean;
  /** Journal blocks; 0 = no journal; undefined = mke2fs's default size. */
  journalBlocks?: number;
  /** Reserved GDT blocks for resize_inode; default 0, or mke2fs's amount with `resizeInode`. */
  reservedGdtBlocks?: number;
  /** Reserve GDT blocks for growth as mke2fs does for resize_inode (calc_reserved_gdt_blocks). */
  resizeInode?: boolean;
}

/** One group's layout, as groupLayout() gives it (the geometry keeps none: groupPlacer() computes them). */
export interface GroupLayout {
  group: number;
  /** First block of the group. */
  first: number;
  /** Blocks in the group (the last group may be short). */
  blocks: number;
  hasSuper: boolean;
  /** Blocks used by superblock + GDT + reserved GDT at the group start (0 without a backup). */
  superBlocks: number;
  blockBitmap: number;
  inodeBitmap: number;
  inodeTable: number;
}

export interface Ext4Geometry {
  blockSize: number;
  logBlockSize: number;
  firstDataBlock: number;
  blocksCount: number;
  blocksPerGroup: number;
  groupCount: number;
  inodeSize: number;
  inodesPerGroup: number;
  inodesCount: number;
  inodeTableBlocks: number;
  descSize: number;
  gdtBlocks: number;
  reservedGdtBlocks: number;
  reservedBlocks: number;
  logGroupsPerFlex: number;
  journalBlocks: number;
  /** Groups holding a superblock and GDT copy (sparse_super), ascending. */
  superGroups: number[];
  /** Blocks of superblock + GDT + reserved GDT in each of those groups. */
  superBlocks: number;
}

/**
 * The largest filesystem diskwright writes: mke2fs turns meta_bg on when the
 * GDT and its reserved blocks take more than 3/4 of a group
 * (ext2fs_initialize), and diskwright does not write meta_bg. With 4 KiB
 * blocks and 64bit that is 1,572,864 groups (192 TiB); without 64bit,
 * 2^32 blocks (16 TiB with 4 KiB blocks), as mke2fs refuses more.
 */
export function maxGdtBlocks(blockSize: number): number {
  return (blockSize * 8 * 3) / 4;
}

/** EXT4_TOO_BIG; `rsvGdt`: the reserved GDT blocks (resize_inode) that share the room. */
function tooBig(size: number, blockSize: number, descSize: number, rsvGdt = 0): never {
  const maxGroups = Math.floor(((maxGdtBlocks(blockSize) - rsvGdt) * blockSize) / descSize);
  return fail('EXT4_TOO_BIG', `${size} bytes is more than the ${maxGroups} block groups whose descriptors fit in a group of `
    + `${blockSize}-byte blocks; past that mke2fs uses meta_bg, which diskwright does not write`, {
    field: 'size', actual: size, expected: maxGroups * blockSize * 8 * blockSize,
  });
}

/** ext2fs_bg_has_super() with sparse_super: groups 0, 1 and powers of 3, 5, 7. */
export function groupHasSuper(group: number): boolean {
  if (group <= 1) return true;
  if (group % 2 === 0) return false;
  for (const base of [3, 5, 7]) {
    let n = base;
    while (n < group) n *= base;
    if (n === group) return true;
  }
  return false;
}

/** ext2fs_default_journal_size(): journal blocks for a filesystem of `blocks` blocks (-1: too small for one). */
export function defaultJournalBlocks(blocks: number): number {
  if (blocks < 2048) return -1;
  if (blocks < 32768) return 1024;
  if (blocks < 256 * 1024) return 4096;
  if (blocks < 512 * 1024) return 8192;
  if (blocks < 4096 * 1024) return 16384;
  if (blocks < 8192 * 1024) return 32768;
  if (blocks < 16384 * 1024) return 65536;
  if (blocks < 32768 * 1024) return 131072;
  return 262144;
}

function divCeil(a: number, b: number): number {
  return Math.floor((a + b - 1) / b);
}

/**
 * calc_reserved_gdt_blocks() of ext2fs_initialize: room for growth to 1024×
 * the size (capped at 2^32 blocks), at most one indirect block's worth.
 */
export function defaultReservedGdtBlocks(blockSize: number, blocksCount: number, firstDataBlock: number, descSize: number, gdtBlocks: number): number {
  const bpg = blockSize * 8;
  const descPerBlock = blockSize / descSize;
  const maxBlocks = Math.min(0xffffffff, blocksCount * 1024);
  const rsvGroups = divCeil(maxBlocks - firstDataBlock, bpg);
  let rsv = divCeil(rsvGroups, descPerBlock) - gdtBlocks;
  if (rsv > blockSize / 4) rsv = blockSize / 4;
  return Math.max(0, rsv);
}

export function computeGeometry(o: GeometryOptions): Ext4Geometry {
  const blockSize = o.blockSize ?? 4096;
  if (![1024, 2048, 4096].includes(blockSize)) {
    fail('EXT4_OPTION_INVALID', `block size ${blockSize} is not 1024, 2048 or 4096`, { field: 'blockSize', actual: blockSize });
  }
  const inodeSize = o.inodeSize ?? 256;
  if (inodeSize < 160 || inodeSize > blockSize || (inodeSize & (inodeSize - 1)) !== 0) {
    fail('EXT4_OPTION_INVALID', `inode size ${inodeSize} must be a power of two from 256 up to the block size`, { field: 'inodeSize', actual: inodeSize });
  }
  const logBlockSize = Math.log2(blockSize) - 10;
  const firstDataBlock = blockSize === 1024 ? 1 : 0;
  const blocksPerGroup = blockSize * 8;
  const descSize = o.is64bit === false ? 32 : 64;
  if (!(o.size >= 0 && Number.isFinite(o.size))) {
    fail('EXT4_OPTION_INVALID', `size ${o.size} is not a byte count`, { field: 'size', actual: o.size });
  }
  let blocksCount = Math.floor(o.size / blockSize);
  // mke2fs: "Size of device … too big to be expressed in 32 bits" without 64bit.
  if (o.is64bit === false && blocksCount > 0xffffffff) {
    fail('EXT4_TOO_BIG', `${o.size} bytes is more than 2^32 blocks of ${blockSize} bytes; ext4 needs the 64bit feature for that`, {
      field: 'size', actual: o.size, expected: 0xffffffff * blockSize,
    });
  }
  // The bound checked below once the geometry is known, here with one group
  // to spare for the trimming of a short last group: nothing is computed
  // for a size far past it.
  const roughGroups = divCeil(blocksCount - firstDataBlock, blocksPerGroup) - 1;
  if (divCeil(roughGroups * descSize, blockSize) > maxGdtBlocks(blockSize)) tooBig(o.size, blockSize, descSize);
  if (blocksCount < 64) {
    fail('EXT4_TOO_SMALL', `${o.size} bytes is too small for an ext4 filesystem`, { field: 'size', actual: o.size, expected: 64 * blockSize });
  }

  const inodeRatio = o.inodeRatio ?? 16384;
  if (!Number.isInteger(inodeRatio) || inodeRatio < blockSize || inodeRatio > 67108864) {
    fail('EXT4_OPTION_INVALID', `inode ratio ${inodeRatio} must be between the block size and 64 MiB`, { field: 'inodeRatio', actual: inodeRatio });
  }
  const reservedPercent = o.reservedPercent ?? 5;
  if (!(reservedPercent >= 0 && reservedPercent <= 50)) {
    fail('EXT4_OPTION_INVALID', `reserved percentage ${reservedPercent} must be between 0 and 50`, { field: 'reservedPercent', actual: reservedPercent });
  }
  const logGroupsPerFlex = o.flexBg === false ? 0 : 4;
  const flexSize = 1 << logGroupsPerFlex;

  // Trimming a too-short last group, as ext2fs_initialize does ("retry").
  let groupCount = 0;
  let gdtBlocks = 0;
  let rsvGdt = 0;
  let inodesPerGroup = 0;
  let inodeTableBlocks = 0;
  for (let attempt = 0; attempt < 3; attempt++) {
    groupCount = divCeil(blocksCount - firstDataBlock, blocksPerGroup);
    gdtBlocks = divCeil(groupCount * descSize, blockSize);
    rsvGdt = o.reservedGdtBlocks
      ?? (o.resizeInode && blocksCount <= 0xffffffff ? defaultReservedGdtBlocks(blockSize, blocksCount, firstDataBlock, descSize, gdtBlocks) : 0);
    let inodes = o.inodes ?? Math.floor((blocksCount * blockSize) / inodeRatio);
    // mke2fs (PRS): a ratio that asks for more than 2^32 - 1 inodes gets
    // 2^32 - 1 with 64bit.
    if (o.inodes === undefined && inodes > 0xffffffff && o.is64bit !== false) inodes = 0xffffffff;
    if (inodes < 16) inodes = 16;
    let ipg0 = divCeil(inodes, groupCount);
    if (ipg0 < 16) ipg0 = 16;
    const maxIpg = Math.min(blockSize * 8, 65536 - (blockSize / inodeSize));
    if (ipg0 > maxIpg) ipg0 = maxIpg;
    let ipg = 0;
    let itb = 0;
    // ext2fs_initialize's ipg_retry: round up to fill the inode table
    // blocks, then step down while the count passes 2^32 - 1 (at most one
    // block's worth of inodes, so a few steps).
    for (; ipg0 >= 16; ipg0--) {
      itb = divCeil(ipg0 * inodeSize, blockSize);
      ipg = Math.floor((itb * blockSize) / inodeSize);
      ipg &= ~7;
      if (ipg > maxIpg) ipg = maxIpg & ~7;
      itb = divCeil(ipg * inodeSize, blockSize);
      if (ipg * groupCount <= 0xffffffff) break;
    }
    inodesPerGroup = ipg;
    inodeTableBlocks = itb;
    if (ipg * groupCount > 0xffffffff) {
      fail('EXT4_OPTION_INVALID', `too many inodes (${ipg * groupCount})`, { field: 'inodes', actual: ipg * groupCount });
    }
    // The last group must hold at least its own overhead plus 50 blocks.
    const last = groupCount - 1;
    const rem = (blocksCount - firstDataBlock) % blocksPerGroup;
    const overhead = (groupHasSuper(last) ? 1 + gdtBlocks + rsvGdt : 0) + (o.flexBg === false ? 2 + itb : 0);
    if (groupCount > 1 && rem !== 0 && rem < overhead + 50) {
      blocksCount -= rem;
      continue;
    }
    break;
  }
  if (o.flexBg === false && groupCount === 1 && blocksCount - firstDataBlock < 1 + gdtBlocks + rsvGdt + 2 + inodeTableBlocks + 16) {
    fail('EXT4_TOO_SMALL', `${o.size} bytes is too small for an ext4 filesystem`, { field: 'size', actual: o.size });
  }

  // Before anything in proportion to the group count is allocated.
  // ext2fs_initialize turns meta_bg on (and resize_inode off) when
  // desc_blocks + s_reserved_gdt_blocks > 3/4 of a group.
  if (gdtBlocks + rsvGdt > maxGdtBlocks(blockSize)) tooBig(o.size, blockSize, descSize, rsvGdt);

  const superBlocks = 1 + gdtBlocks + rsvGdt;
  const superGroups = superGroupsBelow(groupCount);
  // Every group's bitmaps and inode table must find room (EXT4_TOO_SMALL
  // otherwise); placed here once to check, and again by groupPlacer() for
  // whoever needs the blocks: nothing is kept per group.
  const place = placer({ firstDataBlock, blocksPerGroup, blocksCount, groupCount, superBlocks, inodeTableBlocks, logGroupsPerFlex }, o.size);
  for (let g = 0; g < groupCount; g += flexSize) place(g);

  let journalBlocks = o.journalBlocks ?? defaultJournalBlocks(blocksCount);
  if (journalBlocks < 0) journalBlocks = 0;
  if (journalBlocks !== 0 && (journalBlocks < 1024 || journalBlocks > 10240000)) {
    fail('EXT4_OPTION_INVALID', `journal of ${journalBlocks} blocks: need 1024 to 10240000`, { field: 'journal', actual: journalBlocks });
  }

  return {
    blockSize,
    logBlockSize,
    firstDataBlock,
    blocksCount,
    blocksPerGroup,
    groupCount,
    inodeSize,
    inodesPerGroup,
    inodesCount: inodesPerGroup * groupCount,
    inodeTableBlocks,
    descSize,
    gdtBlocks,
    reservedGdtBlocks: rsvGdt,
    reservedBlocks: Math.floor((blocksCount * reservedPercent) / 100),
    logGroupsPerFlex,
    journalBlocks,
    superGroups,
    superBlocks,
  };
}

type PlacerGeometry = Pick<Ext4Geometry, 'firstDataBlock' | 'blocksPerGroup' | 'blocksCount' | 'groupCount' | 'superBlocks' | 'inodeTableBlocks' | 'logGroupsPerFlex'>;

/**
 * Bitmaps and inode tables. With flex_bg they are packed at the start of
 * each flex group's first group: all block bitmaps, then all inode bitmaps,
 * then all inode tables (ext2fs_allocate_group_table with flexbg_offset);
 * without it, each group holds its own after its backup. `place(g)` lays out
 * g's flex group into three arrays of 16 (the last one computed is kept, so
 * visiting groups in order costs one layout per flex group).
 */
function placer(geo: PlacerGeometry, size: number): (g: number) => { first: number; bb: Float64Array; ib: Float64Array; it: Float64Array } {
  const { firstDataBlock, blocksPerGroup, blocksCount, groupCount, superBlocks, inodeTableBlocks } = geo;
  const flexSize = 1 << geo.logGroupsPerFlex;
  const firstOf = (g: number) => firstDataBlock + g * blocksPerGroup;
  const superOf = (g: number) => (groupHasSuper(g) ? superBlocks : 0);
  const tooSmall = (): never => fail('EXT4_TOO_SMALL', `${size} bytes cannot hold the group metadata`, { field: 'size', actual: size });
  const placeRun = (start: number, n: number): number => {
    // First block ≥ start where n blocks in a row avoid superblock/GDT
    // copies: each pass moves past the first copy the run would touch.
    let s = start;
    for (let guard = 0; guard < groupCount + 2; guard++) {
      if (s + n > blocksCount) tooSmall();
      let moved = false;
      const g1 = Math.floor((s + n - 1 - firstDataBlock) / blocksPerGroup);
      for (let g = Math.floor((s - firstDataBlock) / blocksPerGroup); g <= g1; g++) {
        const end = firstOf(g) + superOf(g);
        if (end > s && firstOf(g) < s + n) { s = end; moved = true; break; }
      }
      if (!moved) return s;
    }
    return tooSmall();
  };
  const out = { first: -1, bb: new Float64Array(flexSize), ib: new Float64Array(flexSize), it: new Float64Array(flexSize) };
  return (g: number) => {
    const g0 = g - (g % flexSize);
    if (out.first === g0) return out;
    const n = Math.min(flexSize, groupCount - g0);
    if (flexSize > 1) {
      let cursor = firstOf(g0) + superOf(g0);
      for (let i = 0; i < n; i++) { cursor = placeRun(cursor, 1); out.bb[i] = cursor++; }
      for (let i = 0; i < n; i++) { cursor = placeRun(cursor, 1); out.ib[i] = cursor++; }
      for (let i = 0; i < n; i++) {
        cursor = placeRun(cursor, inodeTableBlocks);
        out.it[i] = cursor;
        cursor += inodeTableBlocks;
      }
    } else {
      const first = firstOf(g0);
      const start = first + superOf(g0);
      if (start + 2 + inodeTableBlocks > first + Math.min(blocksPerGroup, blocksCount - first)) {
        fail('EXT4_TOO_SMALL', `group ${g0} cannot hold its metadata`, { field: 'size', actual: size });
      }
      out.bb[0] = start;
      out.ib[0] = start + 1;
      out.it[0] = start + 2;
    }
    out.first = g0;
    return out;
  };
}

/** Where each group's block bitmap, inode bitmap and inode table lie. */
export interface GroupPlacer {
  blockBitmap(g: number): number;
  inodeBitmap(g: number): number;
  inodeTable(g: number): number;
}

/**
 * A placer for `geo`, computing a flex group's layout when first asked and
 * keeping only the last one: cheap for groups visited in order, and no
 * memory per group (a 64 TiB filesystem has 524,288 groups).
 */
export function groupPlacer(geo: Ext4Geometry): GroupPlacer {
  const place = placer(geo, geo.blocksCount * geo.blockSize);
  const flexSize = 1 << geo.logGroupsPerFlex;
  const at = (g: number) => {
    if (!(Number.isInteger(g) && g >= 0 && g < geo.groupCount)) throw new RangeError(`group ${g} of ${geo.groupCount}`);
    return place(g);
  };
  return {
    blockBitmap: (g) => at(g).bb[g % flexSize],
    inodeBitmap: (g) => at(g).ib[g % flexSize],
    inodeTable: (g) => at(g).it[g % flexSize],
  };
}

/** Groups below `count` that hold a superblock backup (sparse_super), ascending. */
export function superGroupsBelow(count: number): number[] {
  const out = new Set<number>();
  if (count > 0) out.add(0);
  if (count > 1) out.add(1);
  for (const base of [3, 5, 7]) for (let n = base; n < count; n *= base) out.add(n);
  return [...out].sort((a, b) => a - b);
}

/** First block of group `g`. */
export function groupFirst(geo: Ext4Geometry, g: number): number {
  return geo.firstDataBlock + g * geo.blocksPerGroup;
}

/** Blocks in group `g` (the last may be short). */
export function groupBlocks(geo: Ext4Geometry, g: number): number {
  return Math.min(geo.blocksPerGroup, geo.blocksCount - groupFirst(geo, g));
}

/** Blocks of the superblock/GDT copy at the start of group `g` (0 if it has none). */
export function groupSuperBlocks(geo: Ext4Geometry, g: number): number {
  return groupHasSuper(g) ? geo.superBlocks : 0;
}

/** Group `g`'s layout as one object (for callers that want one group; planning reads the arrays). */
export function groupLayout(geo: Ext4Geometry, g: number, placer: GroupPlacer = groupPlacer(geo)): GroupLayout {
  const hasSuper = groupHasSuper(g);
  return {
    group: g, first: groupFirst(geo, g), blocks: groupBlocks(geo, g), hasSuper, superBlocks: hasSuper ? geo.superBlocks : 0,
    blockBitmap: placer.blockBitmap(g), inodeBitmap: placer.inodeBitmap(g), inodeTable: placer.inodeTable(g),
  };
}
