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
  groups: GroupLayout[];
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
  let blocksCount = Math.floor(o.size / blockSize);
  if (!o.is64bit && o.is64bit !== undefined && blocksCount > 0xffffffff) blocksCount = 0xffffffff;
  if (blocksCount > 2 ** 48) blocksCount = 2 ** 48;
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
    if (inodes < 16) inodes = 16;
    let ipg = divCeil(inodes, groupCount);
    if (ipg < 16) ipg = 16;
    const maxIpg = Math.min(blockSize * 8, 65536 - (blockSize / inodeSize));
    if (ipg > maxIpg) ipg = maxIpg;
    let itb = divCeil(ipg * inodeSize, blockSize);
    ipg = Math.floor((itb * blockSize) / inodeSize);
    ipg &= ~7;
    if (ipg > maxIpg) ipg = maxIpg & ~7;
    itb = divCeil(ipg * inodeSize, blockSize);
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

  const groups: GroupLayout[] = [];
  for (let g = 0; g < groupCount; g++) {
    const first = firstDataBlock + g * blocksPerGroup;
    const blocks = Math.min(blocksPerGroup, blocksCount - first);
    const hasSuper = groupHasSuper(g);
    const superBlocks = hasSuper ? 1 + gdtBlocks + rsvGdt : 0;
    groups.push({ group: g, first, blocks, hasSuper, superBlocks, blockBitmap: 0, inodeBitmap: 0, inodeTable: 0 });
  }

  // Bitmaps and inode tables. With flex_bg they are packed at the start of
  // each flex group's first group: all block bitmaps, then all inode
  // bitmaps, then all inode tables (ext2fs_allocate_group_table with
  // flexbg_offset); without it, each group holds its own after its backup.
  const isReserved = (b: number): boolean => {
    const g = Math.floor((b - firstDataBlock) / blocksPerGroup);
    const grp = groups[g];
    return !grp || b < grp.first + grp.superBlocks;
  };
  const placeRun = (start: number, n: number): number => {
    // first block ≥ start where n blocks in a row avoid superblock/GDT copies
    let s = start;
    for (let guard = 0; guard < groupCount + 2; guard++) {
      let ok = true;
      for (let b = s; b < s + n; b++) {
        if (b >= blocksCount) fail('EXT4_TOO_SMALL', `${o.size} bytes cannot hold the group metadata`, { field: 'size', actual: o.size });
        if (isReserved(b)) {
          const g = Math.floor((b - firstDataBlock) / blocksPerGroup);
          s = groups[g].first + groups[g].superBlocks;
          ok = false;
          break;
        }
      }
      if (ok) return s;
    }
    return fail('EXT4_TOO_SMALL', `${o.size} bytes cannot hold the group metadata`, { field: 'size', actual: o.size });
  };
  if (flexSize > 1) {
    for (let f = 0; f * flexSize < groupCount; f++) {
      const g0 = f * flexSize;
      const n = Math.min(flexSize, groupCount - g0);
      let cursor = groups[g0].first + groups[g0].superBlocks;
      for (let i = 0; i < n; i++) { cursor = placeRun(cursor, 1); groups[g0 + i].blockBitmap = cursor++; }
      for (let i = 0; i < n; i++) { cursor = placeRun(cursor, 1); groups[g0 + i].inodeBitmap = cursor++; }
      for (let i = 0; i < n; i++) {
        cursor = placeRun(cursor, inodeTableBlocks);
        groups[g0 + i].inodeTable = cursor;
        cursor += inodeTableBlocks;
      }
    }
  } else {
    for (const grp of groups) {
      const start = grp.first + grp.superBlocks;
      if (start + 2 + inodeTableBlocks > grp.first + grp.blocks) {
        fail('EXT4_TOO_SMALL', `group ${grp.group} cannot hold its metadata`, { field: 'size', actual: o.size });
      }
      grp.blockBitmap = start;
      grp.inodeBitmap = start + 1;
      grp.inodeTable = start + 2;
    }
  }

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
    groups,
  };
}
