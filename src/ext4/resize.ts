// Offline ext4 grow, as resize2fs grows an unmounted filesystem
// (e2fsprogs resize/resize2fs.c adjust_fs_info / adjust_superblock,
// lib/ext2fs/res_gdt.c ext2fs_create_resize_inode for the resize inode's
// lists of reserved GDT backups).
//
// planExt4Grow() reads and checks everything and returns the writes in the
// order they must reach the disk: new groups' bitmaps and inode tables and
// their superblock/GDT backups first, then the old last group's bitmap and
// the resize inode, then the group descriptors, then the superblocks (the
// primary last). Nothing is written until the whole plan is made, so a
// refusal changes nothing; a crash before the primary superblock leaves the
// old filesystem's size and counts in force.
import { fail } from '../errors.js';
import type { Disk } from '../io/disk.js';
import { setBlockBitmapCsum, setGroupDescCsum, setInodeBitmapCsum, setInodeCsum, setSuperBlockCsum, csumSeed } from './csum.js';
import {
  BG_BLOCK_UNINIT, BG_INODE_UNINIT, COMPAT, HUGE_FILE_FL, INCOMPAT, RESIZE_INO, RO_COMPAT, STATE_ERROR, STATE_VALID,
} from './features.js';
import { groupHasSuper } from './geometry.js';
import {
  decodeGroupDesc, encodeGroupDesc, freeBlocksCountGd, setBlockBitmap, setFreeBlocksCountGd, setFreeInodesCountGd, setInodeBitmap,
  setInodeTable, setItableUnused, type GroupDesc, Ext4GroupDesc, inodeTable,
} from './group-desc.js';
import { Ext4Inode } from './inode.js';
import {
  blockSize, blocksCount, decodeSuperBlock, descSize, encodeSuperBlock, EXT4_SUPER_MAGIC, freeBlocksCount, groupCount, hasGroupDescCsum,
  hasMetadataCsum, inodeSize, rBlocksCount, setBlocksCount, setFreeBlocksCount, setRBlocksCount, SUPERBLOCK_OFFSET, type SuperBlock,
} from './superblock.js';

/** One write of the plan: `data` at byte `offset` of the filesystem. */
export interface GrowWrite {
  offset: number;
  /** Bytes (zeros are given as a length only, to spare memory). */
  data?: Uint8Array;
  length: number;
  what: string;
}

export interface Ext4GrowPlan {
  oldBlocks: number;
  newBlocks: number;
  oldGroups: number;
  newGroups: number;
  blockSize: number;
  inodesCount: number;
  freeBlocks: number;
  freeInodes: number;
  /** In the order they must be written. Empty when there is nothing to do. */
  writes: GrowWrite[];
}

// Features whose on-disk meaning a grow here keeps right; anything else is refused.
const COMPAT_OK = COMPAT.dir_prealloc | COMPAT.has_journal | COMPAT.ext_attr | COMPAT.resize_inode | COMPAT.dir_index
  | COMPAT.fast_commit | COMPAT.stable_inodes | COMPAT.orphan_file;
const INCOMPAT_OK = INCOMPAT.filetype | INCOMPAT.extent | INCOMPAT['64bit'] | INCOMPAT.flex_bg | INCOMPAT.ea_inode
  | INCOMPAT.metadata_csum_seed | INCOMPAT.large_dir | INCOMPAT.inline_data | INCOMPAT.encrypt | INCOMPAT.casefold;
const RO_COMPAT_OK = RO_COMPAT.sparse_super | RO_COMPAT.large_file | RO_COMPAT.huge_file | RO_COMPAT.uninit_bg | RO_COMPAT.dir_nlink
  | RO_COMPAT.extra_isize | RO_COMPAT.quota | RO_COMPAT.metadata_csum | RO_COMPAT.project | RO_COMPAT.verity | RO_COMPAT.orphan_present;

const hex = (n: number) => `0x${(n >>> 0).toString(16)}`;

function refuseUnless(sb: SuperBlock): void {
  if (sb.s_magic !== EXT4_SUPER_MAGIC) fail('GROW_NOT_EXT4', `the partition holds no ext2/3/4 filesystem (magic ${hex(sb.s_magic)})`, { field: 's_magic', actual: sb.s_magic, expected: EXT4_SUPER_MAGIC });
  if (sb.s_feature_incompat & INCOMPAT.needs_recovery) {
    fail('EXT4_GROW_NEEDS_RECOVERY', 'the journal needs recovery (needs_recovery): run e2fsck first', { field: 's_feature_incompat', actual: sb.s_feature_incompat });
  }
  if (sb.s_state & STATE_ERROR) fail('EXT4_GROW_HAS_ERRORS', 'the filesystem is marked with errors: run e2fsck -f first', { field: 's_state', actual: sb.s_state });
  if (!(sb.s_state & STATE_VALID)) fail('EXT4_GROW_NOT_CLEAN', 'the filesystem was not cleanly unmounted: run e2fsck -f first', { field: 's_state', actual: sb.s_state });
  const unknown: Array<[string, number]> = [
    ['s_feature_compat', sb.s_feature_compat & ~COMPAT_OK],
    ['s_feature_incompat', sb.s_feature_incompat & ~INCOMPAT_OK],
    ['s_feature_ro_compat', sb.s_feature_ro_compat & ~RO_COMPAT_OK],
  ];
  for (const [field, bits] of unknown) {
    if (bits) fail('EXT4_GROW_UNSUPPORTED', `feature bits ${hex(bits)} of ${field} are not ones diskwright grows (meta_bg, bigalloc, sparse_super2, mmp and unknown features are refused)`, { field, actual: bits });
  }
  if (!(sb.s_feature_ro_compat & RO_COMPAT.sparse_super)) {
    fail('EXT4_GROW_UNSUPPORTED', 'a filesystem without sparse_super is not grown', { field: 's_feature_ro_compat', actual: sb.s_feature_ro_compat });
  }
  if (sb.s_log_block_size > 2 || sb.s_blocks_per_group !== blockSize(sb) * 8 || sb.s_inodes_per_group === 0) {
    fail('EXT4_GROW_UNSUPPORTED', 'block size or group geometry is not one diskwright grows', { field: 's_blocks_per_group', actual: sb.s_blocks_per_group });
  }
}

const setBits = (bm: Uint8Array, from: number, to: number) => { for (let i = from; i < to; i++) bm[i >> 3] |= 1 << (i & 7); };
const clearBits = (bm: Uint8Array, from: number, to: number) => { for (let i = from; i < to; i++) bm[i >> 3] &= ~(1 << (i & 7)); };

/** The backup groups below `count` in ext2fs_list_backups order (1, 3, 5, 7, 9, 25, 27, …), sparse_super. */
function backupGroups(count: number): number[] {
  const out: number[] = [];
  for (let g = 1; g < count; g++) if (groupHasSuper(g)) out.push(g);
  return out;
}

/**
 * Plan the grow of the filesystem on `disk` to `newSize` bytes (at most the
 * disk's size). Reads only; refusals (coded) before anything is planned.
 */
export function planExt4Grow(disk: Disk, newSize: number): Ext4GrowPlan {
  if (disk.size < SUPERBLOCK_OFFSET + 1024) fail('EXT4_TOO_SMALL', `${disk.size} bytes cannot hold an ext4 superblock`, { actual: disk.size });
  const sbRaw = disk.read(SUPERBLOCK_OFFSET, 1024);
  const sb = decodeSuperBlock(sbRaw);
  refuseUnless(sb);
  const bs = blockSize(sb);
  const first = sb.s_first_data_block;
  const bpg = sb.s_blocks_per_group;
  const ipg = sb.s_inodes_per_group;
  const ds = descSize(sb);
  const wide = (sb.s_feature_incompat & INCOMPAT['64bit']) !== 0;
  const oldBlocks = blocksCount(sb);
  const oldGroups = groupCount(sb);
  const rsv = sb.s_feature_compat & COMPAT.resize_inode ? sb.s_reserved_gdt_blocks : 0;
  const descPerBlock = bs / ds;
  const oldDescBlocks = Math.ceil(oldGroups / descPerBlock);
  const itb = Math.ceil((ipg * inodeSize(sb)) / bs);
  const flexSize = sb.s_feature_incompat & INCOMPAT.flex_bg ? 2 ** sb.s_log_groups_per_flex : 1;
  const csum = hasGroupDescCsum(sb);
  const seed = hasMetadataCsum(sb) ? csumSeed(sb) : 0;
  if (oldBlocks * bs > disk.size) {
    fail('EXT4_GROW_SMALLER', `the filesystem (${oldBlocks * bs} bytes) is larger than its ${disk.size}-byte partition`, { actual: disk.size, expected: oldBlocks * bs });
  }

  // New block count as adjust_fs_info trims it: the last group must hold its
  // overhead (2 + inode table, and its backup) plus 50 blocks, else it goes.
  let newBlocks = Math.floor(Math.min(newSize, disk.size) / bs);
  if (!wide && newBlocks > 0xffffffff) newBlocks = 0xffffffff;
  let newGroups = 0;
  for (let attempt = 0; attempt < 2; attempt++) {
    newGroups = Math.ceil((newBlocks - first) / bpg);
    const rem = (newBlocks - first) % bpg;
    const last = newGroups - 1;
    const overhead = 2 + itb + (groupHasSuper(last) ? 1 + oldDescBlocks + rsv : 0);
    if (newGroups > 1 && rem !== 0 && rem < overhead + 50) { newBlocks -= rem; continue; }
    break;
  }
  const base = { oldBlocks, oldGroups, blockSize: bs, inodesCount: sb.s_inodes_count, freeBlocks: freeBlocksCount(sb), freeInodes: sb.s_free_inodes_count };
  if (newBlocks <= oldBlocks) return { ...base, newBlocks: oldBlocks, newGroups: oldGroups, writes: [] };
  if (newGroups * ipg > 0xffffffff) fail('EXT4_GROW_TOO_MANY_INODES', `${newGroups} groups of ${ipg} inodes pass 2^32 - 1 inodes`, { actual: newGroups * ipg });
  // New descriptor blocks come out of resize_inode's reserved GDT blocks,
  // which follow the GDT in every backup group (resize2fs adjust_superblock).
  const newDescBlocks = Math.ceil(newGroups / descPerBlock);
  const taken = newDescBlocks - oldDescBlocks;
  if (taken > rsv) {
    const maxSize = (Math.min(0xffffffff, (oldDescBlocks + rsv) * descPerBlock * bpg) + first) * bs;
    fail('EXT4_GROW_GDT_FULL', `${newGroups} groups need ${newDescBlocks} descriptor blocks; ${oldDescBlocks} exist and ${rsv} are reserved for growth (resize_inode): grow to at most ${maxSize} bytes (meta_bg conversion is not done)`, {
      field: 's_reserved_gdt_blocks', actual: newDescBlocks, expected: oldDescBlocks + rsv, maxSize,
    });
  }
  const newRsv = rsv - taken;
  const superBlocks = 1 + oldDescBlocks + rsv;
  const groupFirst = (g: number) => first + g * bpg;
  const groupLen = (g: number) => Math.min(bpg, newBlocks - groupFirst(g));

  // The descriptor table as it stands (all GDT blocks, the tail past the old groups zero).
  const gdt = disk.read((first + 1) * bs, oldDescBlocks * bs);
  gdt.fill(0, oldGroups * ds);
  const descs: GroupDesc[] = [];
  for (let g = 0; g < oldGroups; g++) descs.push(decodeGroupDesc(gdt, g * ds, ds));

  // Placement of the new groups' bitmaps and inode tables: with flex_bg, the
  // new groups of one flex group are packed at the start of the first of
  // them, block bitmaps, inode bitmaps, inode tables (mke2fs's contiguous
  // layout for a last flex group); a run that would not fit there, and every
  // group without flex_bg, holds its own after its backup.
  const bb = new Float64Array(newGroups);
  const ib = new Float64Array(newGroups);
  const it = new Float64Array(newGroups);
  const placeOwn = (g: number) => {
    const s = groupFirst(g) + (groupHasSuper(g) ? superBlocks : 0);
    if (s + 2 + itb > groupFirst(g) + groupLen(g)) fail('EXT4_GROW_UNSUPPORTED', `group ${g} cannot hold its metadata`, { group: g });
    bb[g] = s; ib[g] = s + 1; it[g] = s + 2;
  };
  for (let g0 = oldGroups; g0 < newGroups;) {
    const end = Math.min(newGroups, g0 - (g0 % flexSize) + flexSize);
    const n = end - g0;
    const start = groupFirst(g0) + (groupHasSuper(g0) ? superBlocks : 0);
    if (flexSize > 1 && start + n * (2 + itb) <= groupFirst(g0) + groupLen(g0)) {
      for (let i = 0; i < n; i++) { bb[g0 + i] = start + i; ib[g0 + i] = start + n + i; it[g0 + i] = start + 2 * n + i * itb; }
    } else {
      for (let g = g0; g < end; g++) placeOwn(g);
    }
    g0 = end;
  }

  const writes: GrowWrite[] = [];
  const newSuperCopies: number[] = [];
  let addedFree = 0;
  for (let g = oldGroups; g < newGroups; g++) {
    const gFirst = groupFirst(g);
    const len = groupLen(g);
    const bm = new Uint8Array(bs);
    if (groupHasSuper(g)) { setBits(bm, 0, superBlocks); newSuperCopies.push(g); }
    let foreign = false;
    const f0 = Math.max(oldGroups, g - (g % flexSize));
    for (let h = f0; h < Math.min(newGroups, f0 + flexSize); h++) {
      const mark = (b: number, k: number) => {
        if (b >= gFirst && b < gFirst + len) { setBits(bm, b - gFirst, b - gFirst + k); if (h !== g) foreign = true; }
      };
      mark(bb[h], 1); mark(ib[h], 1); mark(it[h], itb);
    }
    setBits(bm, len, bs * 8);
    let used = 0;
    for (let i = 0; i < len; i++) if (bm[i >> 3] & (1 << (i & 7))) used++;
    const free = len - used;
    addedFree += free;
    const gd: GroupDesc = Ext4GroupDesc.zero();
    setBlockBitmap(gd, bb[g]); setInodeBitmap(gd, ib[g]); setInodeTable(gd, it[g]);
    setFreeBlocksCountGd(gd, free);
    setFreeInodesCountGd(gd, ipg);
    const ibm = new Uint8Array(bs);
    setBits(ibm, ipg, bs * 8);
    if (csum) {
      // adjust_fs_info: new groups are INODE_UNINIT and, but for the last,
      // BLOCK_UNINIT when the kernel's ext4_init_block_bitmap would compute
      // their bitmap exactly.
      gd.bg_flags = BG_INODE_UNINIT | (g !== newGroups - 1 && !foreign ? BG_BLOCK_UNINIT : 0);
      setItableUnused(gd, ipg);
    }
    if (hasMetadataCsum(sb)) {
      setBlockBitmapCsum(seed, gd, ds, bm.subarray(0, bpg / 8));
      setInodeBitmapCsum(seed, gd, ds, ibm.subarray(0, ipg / 8));
    }
    descs.push(gd);
    writes.push({ offset: bb[g] * bs, data: bm, length: bs, what: `group ${g} block bitmap` });
    writes.push({ offset: ib[g] * bs, data: ibm, length: bs, what: `group ${g} inode bitmap` });
    // Lazy inode table init, as resize2fs with lazy_itable_init: with group
    // checksums an INODE_UNINIT table without INODE_ZEROED is never read
    // (the kernel's ext4lazyinit zeroes it once mounted); without them the
    // table is zeroed here.
    if (!csum) writes.push({ offset: it[g] * bs, length: itb * bs, what: `group ${g} inode table (zeroed)` });
  }

  // The old last group: blocks past the old end become free.
  const lastOld = oldGroups - 1;
  const lastOldLen = oldBlocks - groupFirst(lastOld);
  if (lastOldLen < bpg) {
    const gd = descs[lastOld];
    const grown = groupLen(lastOld);
    const bmBlock = (ds >= 64 ? gd.bg_block_bitmap_hi * 0x1_0000_0000 : 0) + gd.bg_block_bitmap_lo;
    setFreeBlocksCountGd(gd, freeBlocksCountGd(gd, ds) + grown - lastOldLen);
    addedFree += grown - lastOldLen;
    if (!(csum && gd.bg_flags & BG_BLOCK_UNINIT)) {
      const bm = disk.read(bmBlock * bs, bs);
      clearBits(bm, lastOldLen, grown);
      if (hasMetadataCsum(sb)) setBlockBitmapCsum(seed, gd, ds, bm.subarray(0, bpg / 8));
      writes.push({ offset: bmBlock * bs, data: bm, length: bs, what: `group ${lastOld} block bitmap` });
    }
  }

  // The new superblock.
  const nsb: SuperBlock = { ...sb };
  setBlocksCount(nsb, newBlocks);
  // resize2fs keeps the reserved share: percent = r * 100.0 / blocks, in doubles.
  const percent = (rBlocksCount(sb) * 100.0) / oldBlocks;
  setRBlocksCount(nsb, Math.floor((percent * newBlocks) / 100.0));
  nsb.s_inodes_count = newGroups * ipg;
  nsb.s_reserved_gdt_blocks = sb.s_feature_compat & COMPAT.resize_inode ? newRsv : sb.s_reserved_gdt_blocks;
  nsb.s_free_inodes_count = sb.s_free_inodes_count + (newGroups - oldGroups) * ipg;
  setFreeBlocksCount(nsb, freeBlocksCount(sb) + addedFree);

  // The resize inode (ext2fs_create_resize_inode): its double-indirect
  // block points at the primary reserved GDT blocks, and each of those lists
  // its copies in the backup groups. Rebuilt for the new layout; only the
  // blocks whose bytes change are written.
  if (rsv > 0) {
    const isz = inodeSize(sb);
    const ioff = inodeTable(descs[0], ds) * bs + (RESIZE_INO - 1) * isz;
    const iblk = Math.floor(ioff / bs) * bs;
    const tableBlock = disk.read(iblk, bs);
    const raw = tableBlock.subarray(ioff - iblk, ioff - iblk + isz);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const dindBlock = dv.getUint32(Ext4Inode.offsetOf('i_block') + 13 * 4, true);
    if (dindBlock !== 0) {
      const apb = bs / 4;
      const backups = backupGroups(newGroups);
      const changed = (a: Uint8Array, b: Uint8Array) => a.some((v, i) => v !== b[i]);
      const oldDind = disk.read(dindBlock * bs, bs);
      const dind = new Uint8Array(bs);
      const ddv = new DataView(dind.buffer);
      const lists: GrowWrite[] = [];
      for (let r = 0; r < newRsv; r++) {
        const primary = first + 1 + newDescBlocks + r;
        ddv.setUint32(((newDescBlocks + r) % apb) * 4, primary, true);
        const oldList = disk.read(primary * bs, bs);
        const list = new Uint8Array(bs);
        const ldv = new DataView(list.buffer);
        backups.forEach((g, k) => { if (k < apb) ldv.setUint32(k * 4, primary + g * bpg, true); });
        if (changed(list, oldList)) lists.push({ offset: primary * bs, data: list, length: bs, what: `resize inode list of reserved GDT block ${primary}` });
      }
      const flags = dv.getUint32(Ext4Inode.offsetOf('i_flags'), true);
      const unit = sb.s_feature_ro_compat & RO_COMPAT.huge_file && flags & HUGE_FILE_FL ? 1 : bs / 512;
      const iBlocks = (1 + newRsv * (1 + Math.min(apb, backups.length))) * unit;
      const before = new Uint8Array(raw);
      dv.setUint32(Ext4Inode.offsetOf('i_blocks_lo'), iBlocks, true);
      if (hasMetadataCsum(sb)) setInodeCsum(seed, RESIZE_INO, raw, isz);
      writes.push(...lists);
      if (changed(dind, oldDind)) writes.push({ offset: dindBlock * bs, data: dind, length: bs, what: 'resize inode double-indirect block' });
      if (changed(raw, before)) writes.push({ offset: iblk, data: tableBlock, length: bs, what: 'resize inode' });
    }
  }

  // Descriptors, then superblocks (backups, then the primary last).
  const newGdt = new Uint8Array(newDescBlocks * bs);
  newGdt.set(gdt);
  descs.forEach((gd, g) => {
    if (g === lastOld || g >= oldGroups) {
      encodeGroupDesc(gd, newGdt, g * ds, ds);
      setGroupDescCsum(nsb, seed, g, newGdt.subarray(g * ds, g * ds + ds));
    }
  });
  const copies = [0, ...backupGroups(newGroups)];
  for (const g of copies) writes.push({ offset: (groupFirst(g) + 1) * bs, data: newGdt, length: newGdt.length, what: `group ${g} descriptors` });
  const encodeSb = (g: number): Uint8Array => {
    const raw = g === 0 ? new Uint8Array(sbRaw) : new Uint8Array(1024);
    if (g !== 0) {
      // A backup holds the superblock with s_block_group_nr set (read back from disk for old copies).
      raw.set(newSuperCopies.includes(g) ? sbRaw : disk.read(groupFirst(g) * bs, 1024));
    }
    encodeSuperBlock({ ...nsb, s_block_group_nr: g === 0 ? sb.s_block_group_nr : g }, raw, 0);
    if (hasMetadataCsum(sb)) setSuperBlockCsum(raw);
    return raw;
  };
  for (const g of copies.slice(1).reverse()) writes.push({ offset: groupFirst(g) * bs, data: encodeSb(g), length: 1024, what: `group ${g} superblock` });
  writes.push({ offset: SUPERBLOCK_OFFSET, data: encodeSb(0), length: 1024, what: 'primary superblock' });

  return {
    oldBlocks, newBlocks, oldGroups, newGroups, blockSize: bs, inodesCount: nsb.s_inodes_count,
    freeBlocks: freeBlocksCount(nsb), freeInodes: nsb.s_free_inodes_count, writes,
  };
}

/** Write a plan in its order (zero-filled writes in chunks of at most 1 MiB). */
export function applyGrowWrites(disk: Disk, writes: readonly GrowWrite[]): void {
  if (!disk.write) fail('IMAGE_READ_ONLY', 'the disk is not writable', {});
  const zeros = new Uint8Array(1 << 20);
  for (const w of writes) {
    if (w.data) { disk.write(w.offset, w.data.length === w.length ? w.data : w.data.subarray(0, w.length)); continue; }
    for (let o = 0; o < w.length; o += zeros.length) disk.write(w.offset + o, zeros.subarray(0, Math.min(zeros.length, w.length - o)));
  }
}
