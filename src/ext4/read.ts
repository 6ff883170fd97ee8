// ext2/ext3/ext4 reader: opens a filesystem on a Disk and answers list, stat,
// read, readlink, xattrs and in-place rewrites. Layout follows the Linux
// ext4 documentation (Documentation/filesystems/ext4/) and e2fsprogs; every
// check mirrors one the kernel (fs/ext4/super.c ext4_fill_super,
// ext4_check_descriptors; extents.c __ext4_ext_check; dir.c
// __ext4_check_dir_entry; namei.c dx_probe) or e2fsck makes, and every loop is
// bounded by the filesystem's real size.
import { fail } from '../errors.js';
import type { Disk } from '../io/disk.js';
import type { FileExtent, FilesystemReader, FsEntry, FsInfo, FsStat, EntryType, FsType } from '../fs/types.js';
import type { Timestamp, Xattr } from '../tree/tree.js';
import { decodeUuid } from '../codec/guid.js';
import {
  COMPAT, INCOMPAT, RO_COMPAT, READER_INCOMPAT_SUPPORTED, BG_INODE_UNINIT, ROOT_INO,
  EXTENTS_FL, INDEX_FL, INLINE_DATA_FL, ENCRYPT_FL, EA_INODE_FL, HUGE_FILE_FL,
  S_IFMT, S_IFSOCK, S_IFLNK, S_IFREG, S_IFBLK, S_IFDIR, S_IFCHR, S_IFIFO, FT_DIR_CSUM,
} from './features.js';
import {
  decodeSuperBlock, blocksCount, freeBlocksCount, hasCompat, hasIncompat, hasRoCompat, hasMetadataCsum,
  hasGroupDescCsum, is64bit, volumeName, EXT4_SUPER_MAGIC, SUPERBLOCK_OFFSET, type SuperBlock,
} from './superblock.js';
import { decodeGroupDesc, blockBitmap, inodeBitmap, inodeTable, itableUnused, type GroupDesc } from './group-desc.js';
import { decodeInode, inodeFileSize, inodeUid, inodeGid, fileAcl, decodeTime, decodeDevice, inodeBlocks, type Inode } from './inode.js';
import {
  Ext4ExtentHeader, Ext4Extent, Ext4ExtentIdx, EXT4_EXT_MAGIC,
  extentStart, extentLength, extentUnwritten, indexLeaf,
} from './extent.js';
import { decodeRecLen, DIR_TAIL_SIZE } from './dirent.js';
import { Ext4XattrEntry, EXT2_EXT_ATTR_MAGIC, xattrEntryLen, xattrPrefix } from './xattr.js';
import {
  csumSeed, verifySuperBlockCsum, verifyGroupDescCsum, verifyInodeCsum, verifyExtentBlockCsum,
  verifyDirBlockCsum, hasDirTail, verifyDxCsum, verifyXattrBlockCsum,
} from './csum.js';
import { JournalSuperBlock, JBD2_MAGIC_NUMBER, JBD2_SUPERBLOCK_V1, JBD2_SUPERBLOCK_V2 } from './journal.js';

export interface Ext4ReadOptions {
  /** Verify metadata_csum / uninit_bg checksums and report EXT4_CSUM_* errors (default true). */
  verifyChecksums?: boolean;
  /** Largest file readFile() returns, in bytes (default: the disk's size, at least 64 MiB, at most 1 GiB): an i_size from disk never sizes an allocation beyond this. */
  maxFileSize?: number;
}

export interface Ext4Stat extends FsStat {
  /** i_flags (EXT4_*_FL). */
  flags: number;
  atime: Timestamp;
  ctime: Timestamp;
  /** Creation time, when the inode is large enough to hold it. */
  crtime?: Timestamp;
  generation: number;
}

export interface Ext4Reader extends FilesystemReader {
  readonly superblock: SuperBlock;
  /** Non-fatal findings (journal needs recovery, orphans pending, errors flagged…). */
  readonly warnings: string[];
  stat(path: string): Ext4Stat;
  /** Extended attributes of the entry at `path` (not following a final symlink): in-inode first, then the xattr block. */
  listXattrs(path: string): Xattr[];
  /** Inode number of `path` (not following a final symlink). */
  lookup(path: string): number;
  /** Bytes [offset, offset+length) of a regular file (clipped to its size), for streaming files past maxFileSize. */
  readFileRange(path: string, offset: number, length: number): Uint8Array;
}

/** A directory entry as stored. */
interface RawDirent {
  name: Uint8Array;
  ino: number;
  fileType: number;
}

interface InodeRec {
  ino: number;
  inode: Inode;
  raw: Uint8Array;
}

/** A run of logical blocks: pblk < 0 is a hole. */
interface Run {
  lblk: number;
  pblk: number;
  len: number;
  unwritten: boolean;
}

const DEFAULT_MAX_FILE = 1024 * 1024 * 1024;
const MAX_SYMLINK_FOLLOW = 40;
const XATTR_SIZE_MAX = 65536;
/**
 * The kernel refuses trees deeper than EXT4_MAX_EXTENT_DEPTH (5), but
 * e2fsprogs reads deeper ones (and e2fsck only offers to shorten them), so
 * the reader accepts up to this depth; each level costs a real block.
 */
const MAX_EXTENT_DEPTH = 32;
const utf8 = new TextDecoder('utf-8');
const enc = new TextEncoder();

function rd32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}
function rd16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}
function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}
function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

/** True when the disk holds an ext2/3/4 superblock magic (0xEF53 at byte 1080). */
export function looksLikeExt4(disk: Disk): boolean {
  if (disk.size < SUPERBLOCK_OFFSET + 1024) return false;
  const m = disk.read(SUPERBLOCK_OFFSET + 0x38, 2);
  return rd16(m, 0) === EXT4_SUPER_MAGIC;
}

/** Open an ext2/ext3/ext4 filesystem; throws EXT4_* errors when it is broken or unsupported. */
export function openExt4(disk: Disk, options: Ext4ReadOptions = {}): Ext4Reader {
  return new Ext4Fs(disk, options).reader();
}

/** Alias with the verb-first naming of the other readers. */
export const readExt4 = openExt4;

function sbFail(code: string, message: string, field: string, expected: unknown, actual: unknown): never {
  fail(code, message, { structure: 'ext2_super_block', offset: SUPERBLOCK_OFFSET, field, expected, actual });
}

class Ext4Fs {
  readonly sb: SuperBlock;
  readonly bs: number;
  readonly blocks: number;
  readonly isz: number;
  readonly ipg: number;
  readonly bpg: number;
  readonly groups: number;
  readonly descSz: number;
  readonly gds: GroupDesc[] = [];
  readonly seed: number;
  readonly csum: boolean;
  readonly verify: boolean;
  readonly maxFile: number;
  readonly warnings: string[] = [];
  private readonly dirCache = new Map<number, RawDirent[]>();
  private readonly dirIndex = new Map<number, Map<string, RawDirent>>();
  /** Directories whose ".." has been checked against the parent they were reached from. */
  private readonly parentOk = new Map<number, number>();

  constructor(readonly disk: Disk, options: Ext4ReadOptions) {
    this.verify = options.verifyChecksums ?? true;
    // i_size sizes readFile's buffer: by default no more than the container
    // holds (at least 64 MiB), so a hostile i_size on a small image cannot
    // ask for a gigabyte; a sparse file larger than that needs maxFileSize.
    this.maxFile = options.maxFileSize ?? Math.min(DEFAULT_MAX_FILE, Math.max(disk.size, 64 * 1024 * 1024));
    if (disk.size < SUPERBLOCK_OFFSET + 1024) {
      fail('EXT4_SUPERBLOCK_TRUNCATED', `${disk.size} bytes cannot hold an ext superblock`, { structure: 'ext2_super_block', offset: SUPERBLOCK_OFFSET, expected: 2048, actual: disk.size });
    }
    const raw = disk.read(SUPERBLOCK_OFFSET, 1024);
    const sb = decodeSuperBlock(raw);
    this.sb = sb;
    if (sb.s_magic !== EXT4_SUPER_MAGIC) sbFail('EXT4_SUPERBLOCK_MAGIC', `no ext superblock magic (0x${sb.s_magic.toString(16)})`, 's_magic', EXT4_SUPER_MAGIC, sb.s_magic);
    this.csum = hasMetadataCsum(sb);
    if (this.csum && this.verify) {
      if (sb.s_checksum_type !== 1) sbFail('EXT4_SUPERBLOCK_CSUM_TYPE', `unknown checksum type ${sb.s_checksum_type}`, 's_checksum_type', 1, sb.s_checksum_type);
      if (!verifySuperBlockCsum(raw)) {
        fail('EXT4_CSUM_SUPERBLOCK', 'superblock checksum mismatch', { structure: 'ext2_super_block', offset: SUPERBLOCK_OFFSET, field: 's_checksum', actual: sb.s_checksum });
      }
    }
    if (sb.s_rev_level > 1) sbFail('EXT4_SUPERBLOCK_REVISION', `revision ${sb.s_rev_level} is newer than any known`, 's_rev_level', '0 or 1', sb.s_rev_level);
    // ext4_fill_super / ext2fs_open2 geometry checks
    if (sb.s_log_block_size > 6) sbFail('EXT4_SUPERBLOCK_BLOCK_SIZE', `block size 1024 << ${sb.s_log_block_size} is out of range`, 's_log_block_size', '0..6', sb.s_log_block_size);
    this.bs = 1024 << sb.s_log_block_size;
    const bigalloc = hasRoCompat(sb, RO_COMPAT.bigalloc);
    if (!bigalloc && sb.s_log_cluster_size !== sb.s_log_block_size && sb.s_rev_level > 0 && sb.s_log_cluster_size !== 0) {
      sbFail('EXT4_SUPERBLOCK_CLUSTER_SIZE', 'cluster size differs from block size without bigalloc', 's_log_cluster_size', sb.s_log_block_size, sb.s_log_cluster_size);
    }
    if (bigalloc && (sb.s_log_cluster_size < sb.s_log_block_size || sb.s_log_cluster_size > 29)) {
      sbFail('EXT4_SUPERBLOCK_CLUSTER_SIZE', 'cluster size out of range', 's_log_cluster_size', `${sb.s_log_block_size}..29`, sb.s_log_cluster_size);
    }
    const isz = sb.s_rev_level === 0 ? 128 : sb.s_inode_size;
    if (isz < 128 || isz > this.bs || (isz & (isz - 1)) !== 0) sbFail('EXT4_SUPERBLOCK_INODE_SIZE', `inode size ${isz} is invalid`, 's_inode_size', 'power of 2, 128..block size', isz);
    this.isz = isz;
    this.blocks = blocksCount(sb);
    this.bpg = sb.s_blocks_per_group;
    const clusterRatio = bigalloc ? 2 ** (sb.s_log_cluster_size - sb.s_log_block_size) : 1;
    const maxPerGroup = this.bs * 8 * clusterRatio;
    if (this.bpg < 8 || this.bpg > maxPerGroup || this.bpg % 8 !== 0) sbFail('EXT4_SUPERBLOCK_GEOMETRY', `blocks per group ${this.bpg} is invalid`, 's_blocks_per_group', `8..${maxPerGroup}`, this.bpg);
    this.ipg = sb.s_inodes_per_group;
    const inodesPerBlock = this.bs / isz;
    if (this.ipg < inodesPerBlock || this.ipg > this.bs * 8 || this.ipg % inodesPerBlock !== 0) {
      sbFail('EXT4_SUPERBLOCK_GEOMETRY', `inodes per group ${this.ipg} is invalid`, 's_inodes_per_group', `${inodesPerBlock}..${this.bs * 8}`, this.ipg);
    }
    const expectFirst = this.bs === 1024 && !bigalloc ? 1 : 0;
    if (sb.s_first_data_block !== expectFirst && !(this.bs === 1024 && sb.s_first_data_block === 0)) {
      sbFail('EXT4_SUPERBLOCK_GEOMETRY', `first data block ${sb.s_first_data_block} is invalid`, 's_first_data_block', expectFirst, sb.s_first_data_block);
    }
    if (this.blocks <= sb.s_first_data_block) sbFail('EXT4_SUPERBLOCK_GEOMETRY', 'block count is not beyond the first data block', 's_blocks_count_lo', `> ${sb.s_first_data_block}`, this.blocks);
    if (this.blocks * this.bs > disk.size) {
      fail('EXT4_SUPERBLOCK_SIZE', `the filesystem's ${this.blocks} blocks of ${this.bs} bytes exceed its ${disk.size}-byte container`, {
        structure: 'ext2_super_block', offset: SUPERBLOCK_OFFSET, field: 's_blocks_count_lo', expected: `<= ${Math.floor(disk.size / this.bs)}`, actual: this.blocks,
      });
    }
    this.groups = Math.ceil((this.blocks - sb.s_first_data_block) / this.bpg);
    if (sb.s_inodes_count !== this.groups * this.ipg) {
      sbFail('EXT4_SUPERBLOCK_INODES', `inode count ${sb.s_inodes_count} is not groups × inodes per group (${this.groups * this.ipg})`, 's_inodes_count', this.groups * this.ipg, sb.s_inodes_count);
    }
    if (freeBlocksCount(sb) > this.blocks) sbFail('EXT4_SUPERBLOCK_COUNTS', 'more free blocks than blocks', 's_free_blocks_count_lo', `<= ${this.blocks}`, freeBlocksCount(sb));
    if (sb.s_free_inodes_count > sb.s_inodes_count) sbFail('EXT4_SUPERBLOCK_COUNTS', 'more free inodes than inodes', 's_free_inodes_count', `<= ${sb.s_inodes_count}`, sb.s_free_inodes_count);
    if (sb.s_rev_level > 0 && (sb.s_first_ino < 11 || sb.s_first_ino > sb.s_inodes_count)) sbFail('EXT4_SUPERBLOCK_GEOMETRY', `first inode ${sb.s_first_ino} is invalid`, 's_first_ino', `11..${sb.s_inodes_count}`, sb.s_first_ino);
    // features
    // encrypt: the filesystem opens, encrypted inodes report EXT4_ENCRYPTED when their content is read
    const unknown = sb.s_feature_incompat & ~READER_INCOMPAT_SUPPORTED & ~INCOMPAT.ea_inode & ~INCOMPAT.casefold & ~INCOMPAT.encrypt;
    if (unknown !== 0) {
      sbFail('EXT4_SUPERBLOCK_FEATURE', `unsupported incompatible features 0x${unknown.toString(16)}`, 's_feature_incompat', `subset of 0x${READER_INCOMPAT_SUPPORTED.toString(16)}`, sb.s_feature_incompat);
    }
    if (hasIncompat(sb, INCOMPAT.meta_bg) && hasCompat(sb, COMPAT.resize_inode)) {
      sbFail('EXT4_SUPERBLOCK_FEATURE', 'resize_inode and meta_bg cannot be set together', 's_feature_compat', 'not both resize_inode and meta_bg', sb.s_feature_compat);
    }
    if (is64bit(sb)) {
      const d = sb.s_desc_size;
      if (d < 64 || d > 1024 || (d & (d - 1)) !== 0) sbFail('EXT4_SUPERBLOCK_DESC_SIZE', `descriptor size ${d} is invalid`, 's_desc_size', 'power of 2, 64..1024', d);
      this.descSz = d;
    } else this.descSz = 32;
    this.seed = csumSeed(sb);
    if (hasIncompat(sb, INCOMPAT.needs_recovery)) this.warnings.push('the journal needs recovery; read without replaying it');
    if (sb.s_last_orphan !== 0 || hasRoCompat(sb, RO_COMPAT.orphan_present)) this.warnings.push('orphan inodes are pending');
    if ((sb.s_state & 2) !== 0) this.warnings.push('the filesystem is marked as having errors');
    this.loadGroupDescs();
    this.checkGroupDescs();
    if (hasCompat(sb, COMPAT.has_journal) && sb.s_journal_inum !== 0) this.checkJournal();
  }

  // ---- geometry -------------------------------------------------------------

  private hasSuper(group: number): boolean {
    if (group === 0) return true;
    if (hasCompat(this.sb, COMPAT.sparse_super2)) {
      const bgs = [rd32(this.sb.s_backup_bgs, 0), rd32(this.sb.s_backup_bgs, 4)];
      return bgs.includes(group);
    }
    if (group <= 1 || !hasRoCompat(this.sb, RO_COMPAT.sparse_super)) return true;
    if ((group & 1) === 0) return false;
    for (const p of [3, 5, 7]) {
      let n = p;
      while (n < group) n *= p;
      if (n === group) return true;
    }
    return false;
  }

  /** Blocks holding the group descriptor table. */
  get gdtBlocks(): number {
    return Math.ceil((this.groups * this.descSz) / this.bs);
  }

  /** ext2fs_descriptor_block_loc2() for the primary table. */
  private descBlockLoc(i: number): number {
    const start = this.sb.s_first_data_block;
    const adjust = this.bs === 1024 && start === 0 ? 1 : 0;
    if (!hasIncompat(this.sb, INCOMPAT.meta_bg) || i < this.sb.s_first_meta_bg) return start + i + 1 + adjust;
    const perBlock = this.bs / this.descSz;
    const bg = perBlock * i;
    return start + bg * this.bpg + (this.hasSuper(bg) ? 1 : 0) + (bg === 0 ? adjust : 0);
  }

  private loadGroupDescs(): void {
    const gdtBlocks = this.gdtBlocks;
    const perBlock = this.bs / this.descSz;
    if (hasIncompat(this.sb, INCOMPAT.meta_bg) && this.sb.s_first_meta_bg > gdtBlocks) {
      sbFail('EXT4_SUPERBLOCK_META_BG', `first meta block group ${this.sb.s_first_meta_bg} is beyond the ${gdtBlocks} descriptor blocks`, 's_first_meta_bg', `<= ${gdtBlocks}`, this.sb.s_first_meta_bg);
    }
    for (let i = 0; i < gdtBlocks; i++) {
      const blk = this.descBlockLoc(i);
      if (blk >= this.blocks) fail('EXT4_GROUP_DESC_RANGE', `descriptor block ${i} lies at ${blk}, past the end`, { structure: 'ext4_group_desc', field: 'location', expected: `< ${this.blocks}`, actual: blk });
      const b = this.disk.read(blk * this.bs, this.bs);
      for (let j = 0; j < perBlock; j++) {
        const g = i * perBlock + j;
        if (g >= this.groups) break;
        const off = j * this.descSz;
        const rawGd = b.subarray(off, off + this.descSz);
        if (this.verify && hasGroupDescCsum(this.sb) && !verifyGroupDescCsum(this.sb, this.seed, g, rawGd)) {
          fail('EXT4_CSUM_GROUP_DESC', `group ${g} descriptor checksum mismatch`, { structure: 'ext4_group_desc', group: g, offset: blk * this.bs + off, field: 'bg_checksum', actual: rd16(rawGd, 0x1e) });
        }
        this.gds.push(decodeGroupDesc(b, off, this.descSz));
      }
    }
  }

  /** ext4_check_descriptors(): bitmaps and inode tables inside the filesystem (inside their group without flex_bg), clear of the superblock/descriptors and of each other. */
  private checkGroupDescs(): void {
    const flex = hasIncompat(this.sb, INCOMPAT.flex_bg);
    const itb = Math.ceil((this.ipg * this.isz) / this.bs);
    const fdb = this.sb.s_first_data_block;
    const sbBlock = this.bs === 1024 ? 1 : 0;
    const reservedEnd = (this.bs === 1024 && fdb === 0 ? 2 : fdb + 1) + (hasIncompat(this.sb, INCOMPAT.meta_bg) ? Math.min(this.sb.s_first_meta_bg, this.gdtBlocks) : this.gdtBlocks) + (hasCompat(this.sb, COMPAT.resize_inode) ? this.sb.s_reserved_gdt_blocks : 0);
    const ranges: Array<[number, number, number, string]> = [[sbBlock, reservedEnd, -1, 'superblock and descriptors']];
    for (let g = 0; g < this.groups; g++) {
      const gd = this.gds[g];
      const first = flex ? fdb : fdb + g * this.bpg;
      const last = flex ? this.blocks - 1 : Math.min(fdb + (g + 1) * this.bpg, this.blocks) - 1;
      const check = (field: string, start: number, len: number) => {
        if (start < first || start + len - 1 > last) {
          fail('EXT4_GROUP_DESC_RANGE', `group ${g}: ${field} at block ${start} (+${len}) is outside ${first}..${last}`, { structure: 'ext4_group_desc', group: g, field, expected: `${first}..${last}`, actual: start });
        }
        ranges.push([start, start + len, g, field]);
      };
      check('bg_block_bitmap', blockBitmap(gd, this.descSz), 1);
      check('bg_inode_bitmap', inodeBitmap(gd, this.descSz), 1);
      check('bg_inode_table', inodeTable(gd, this.descSz), itb);
      if (itableUnused(gd, this.descSz) > this.ipg) {
        fail('EXT4_GROUP_DESC_RANGE', `group ${g}: ${itableUnused(gd, this.descSz)} unused inodes of ${this.ipg}`, { structure: 'ext4_group_desc', group: g, field: 'bg_itable_unused_lo', expected: `<= ${this.ipg}`, actual: itableUnused(gd, this.descSz) });
      }
    }
    // bigalloc packs metadata of different groups into one cluster: only whole-block overlaps matter
    ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (let i = 1; i < ranges.length; i++) {
      const p = ranges[i - 1];
      const c = ranges[i];
      if (c[0] < p[1]) {
        fail('EXT4_GROUP_DESC_OVERLAP', `group ${c[2]} ${c[3]} at block ${c[0]} overlaps ${p[2] < 0 ? p[3] : `group ${p[2]} ${p[3]}`}`, {
          structure: 'ext4_group_desc', group: c[2], field: c[3], actual: c[0], expected: `>= ${p[1]}`,
        });
      }
    }
  }

  /** The journal inode must hold a jbd2 superblock (jbd2_journal_load → journal_get_superblock). */
  private checkJournal(): void {
    const rec = this.readInode(this.sb.s_journal_inum);
    const runs = this.mapBlocks(rec, 1);
    if (runs.length === 0 || runs[0].pblk < 0) {
      fail('EXT4_JOURNAL_SUPERBLOCK', 'the journal inode maps no first block', { structure: 'journal_superblock_t', inode: rec.ino });
    }
    const b = this.readBlock(runs[0].pblk);
    const js = JournalSuperBlock.decode(b.length >= 1024 ? b : new Uint8Array(1024));
    if (js.h_magic !== JBD2_MAGIC_NUMBER || (js.h_blocktype !== JBD2_SUPERBLOCK_V1 && js.h_blocktype !== JBD2_SUPERBLOCK_V2)) {
      fail('EXT4_JOURNAL_SUPERBLOCK', 'the journal does not start with a jbd2 superblock', { structure: 'journal_superblock_t', field: 'h_magic', expected: JBD2_MAGIC_NUMBER, actual: js.h_magic });
    }
    if (js.s_blocksize !== this.bs) {
      fail('EXT4_JOURNAL_SUPERBLOCK', `journal block size ${js.s_blocksize} differs from the filesystem's ${this.bs}`, { structure: 'journal_superblock_t', field: 's_blocksize', expected: this.bs, actual: js.s_blocksize });
    }
    const jsize = Math.floor(inodeFileSize(rec.inode) / this.bs);
    if (js.s_maxlen > jsize || js.s_first === 0 || js.s_first >= js.s_maxlen) {
      fail('EXT4_JOURNAL_SUPERBLOCK', 'journal superblock geometry does not fit the journal inode', { structure: 'journal_superblock_t', field: 's_maxlen', expected: `<= ${jsize}`, actual: js.s_maxlen });
    }
    if (js.s_start !== 0) this.checkJournalLog(rec, js.s_first, js.s_maxlen, js.s_start, js.s_sequence, js.s_feature_incompat);
  }

  /**
   * A pending journal is not replayed, but its log is walked (as jbd2's
   * do_one_pass scan pass does) so that broken records are reported:
   * revoke records whose r_count overruns the block, descriptor tags
   * running off the block. Bounded by s_maxlen blocks.
   */
  private checkJournalLog(rec: InodeRec, first: number, maxlen: number, start: number, seq: number, incompat: number): void {
    if (start < first || start >= maxlen) {
      fail('EXT4_JOURNAL_SUPERBLOCK', `journal log start ${start} outside ${first}..${maxlen - 1}`, { structure: 'journal_superblock_t', field: 's_start', actual: start });
    }
    const runs = this.mapBlocks(rec, maxlen);
    const phys = (l: number): number => {
      for (const r of runs) if (l >= r.lblk && l < r.lblk + r.len) return r.pblk < 0 ? -1 : r.pblk + (l - r.lblk);
      return -1;
    };
    const csumV2or3 = (incompat & 0x18) !== 0;
    const is64 = (incompat & 0x2) !== 0;
    const tagBytes = csumV2or3 && (incompat & 0x10) ? (is64 ? 16 : 12) : (is64 ? 12 : 8) + (csumV2or3 ? 2 : 0);
    let pos = start;
    const next = () => { pos++; if (pos >= maxlen) pos = first; };
    for (let steps = 0; steps < maxlen; steps++) {
      const p = phys(pos);
      if (p < 0) return;
      const b = this.readBlock(p);
      const magic = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
      const type = ((b[4] << 24) | (b[5] << 16) | (b[6] << 8) | b[7]) >>> 0;
      const bseq = ((b[8] << 24) | (b[9] << 16) | (b[10] << 8) | b[11]) >>> 0;
      if (magic !== JBD2_MAGIC_NUMBER || bseq !== seq) return;
      if (type === 1) {
        // descriptor: tags until JBD2_FLAG_LAST_TAG (8); each tag's data block follows
        let off = 12;
        let data = 0;
        const tailRoom = csumV2or3 ? 4 : 0;
        for (;;) {
          if (off + tagBytes > this.bs - tailRoom) {
            fail('EXT4_JOURNAL_DESCRIPTOR', 'journal descriptor tags run off the block', { structure: 'journal_block_tag_t', offset: p * this.bs + off });
          }
          const flags = csumV2or3 && (incompat & 0x10) ? rd32be(b, off + 4) : ((b[off + 6] << 8) | b[off + 7]);
          off += tagBytes;
          if ((flags & 2) === 0) off += 16; // !SAME_UUID: a 16-byte UUID follows
          data++;
          if ((flags & 8) !== 0) break;
        }
        for (let i = 0; i < data; i++) next();
      } else if (type === 2) {
        seq = (seq + 1) >>> 0;
      } else if (type === 5) {
        const count = rd32be(b, 12);
        const limit = this.bs - (csumV2or3 ? 4 : 0);
        if (count < 16 || count > limit) {
          fail('EXT4_JOURNAL_REVOKE', `journal revoke record of ${count} bytes in a ${this.bs}-byte block`, { structure: 'jbd2_journal_revoke_header_t', offset: p * this.bs + 12, field: 'r_count', expected: `16..${limit}`, actual: count });
        }
      } else if (type !== 6) {
        return;
      }
      next();
    }
  }

  // ---- blocks and inodes ------------------------------------------------------

  readBlock(n: number): Uint8Array {
    if (!Number.isSafeInteger(n) || n < 0 || n >= this.blocks) {
      fail('EXT4_BLOCK_RANGE', `block ${n} is outside the filesystem's ${this.blocks} blocks`, { expected: `< ${this.blocks}`, actual: n });
    }
    return this.disk.read(n * this.bs, this.bs);
  }

  private inodeOffset(ino: number): number {
    if (!Number.isSafeInteger(ino) || ino < 1 || ino > this.sb.s_inodes_count) {
      fail('EXT4_INODE_RANGE', `inode ${ino} is outside 1..${this.sb.s_inodes_count}`, { structure: 'ext2_inode_large', inode: ino, expected: `1..${this.sb.s_inodes_count}`, actual: ino });
    }
    const g = Math.floor((ino - 1) / this.ipg);
    const idx = (ino - 1) % this.ipg;
    return inodeTable(this.gds[g], this.descSz) * this.bs + idx * this.isz;
  }

  readInode(ino: number): InodeRec {
    const off = this.inodeOffset(ino);
    const g = Math.floor((ino - 1) / this.ipg);
    const gd = this.gds[g];
    let raw: Uint8Array;
    const uninit = hasGroupDescCsum(this.sb) && ((gd.bg_flags & BG_INODE_UNINIT) !== 0 || (ino - 1) % this.ipg >= this.ipg - itableUnused(gd, this.descSz));
    if (uninit) raw = new Uint8Array(this.isz); // never initialised: reads as an unused inode (ext4_get_inode_loc)
    else raw = this.disk.read(off, this.isz);
    if (this.csum && this.verify && !uninit && !isZero(raw) && !verifyInodeCsum(this.seed, ino, raw, this.isz)) {
      fail('EXT4_CSUM_INODE', `inode ${ino} checksum mismatch`, { structure: 'ext2_inode_large', inode: ino, offset: off, field: 'l_i_checksum_lo' });
    }
    const inode = decodeInode(raw, 0, this.isz);
    if (this.isz > 128 && inode.i_extra_isize > 0) {
      if (inode.i_extra_isize > this.isz - 128 || (inode.i_extra_isize & 3) !== 0) {
        fail('EXT4_INODE_EXTRA_ISIZE', `inode ${ino}: i_extra_isize ${inode.i_extra_isize} is invalid`, { structure: 'ext2_inode_large', inode: ino, field: 'i_extra_isize', expected: `multiple of 4, <= ${this.isz - 128}`, actual: inode.i_extra_isize });
      }
    }
    return { ino, inode, raw };
  }

  /** An inode a directory entry (or the root) refers to: it must be in use. */
  private usedInode(ino: number, path: string): InodeRec {
    const rec = this.readInode(ino);
    if (rec.inode.i_links_count === 0 || rec.inode.i_mode === 0) {
      fail('EXT4_INODE_UNUSED', `${path}: inode ${ino} is not in use`, { structure: 'ext2_inode_large', inode: ino, path, field: 'i_links_count', actual: rec.inode.i_links_count });
    }
    return rec;
  }

  // ---- block mapping ----------------------------------------------------------

  private blockOk(b: number, len = 1): boolean {
    return b >= this.sb.s_first_data_block && b + len <= this.blocks;
  }

  /** Runs covering logical blocks [0, maxLblk) that the inode maps (holes omitted). */
  mapBlocks(rec: InodeRec, maxLblk: number): Run[] {
    const { inode, ino } = rec;
    if ((inode.i_flags & INLINE_DATA_FL) !== 0) return [];
    if ((inode.i_flags & EXTENTS_FL) !== 0) return this.mapExtents(rec, maxLblk);
    return this.mapIndirect(ino, inode, maxLblk);
  }

  private mapExtents(rec: InodeRec, maxLblk: number): Run[] {
    const runs: Run[] = [];
    const seen = new Set<number>();
    let budget = Math.min(this.blocks, 1 << 22);
    const ino = rec.ino;
    const walk = (node: Uint8Array, where: string, depthExpected: number | null, minLblk: number, firstExpected: number | null, blockNr: number) => {
      const h = Ext4ExtentHeader.decode(node, 0);
      const data = { structure: 'ext3_extent_header', inode: ino, where, block: blockNr };
      if (h.eh_magic !== EXT4_EXT_MAGIC) fail('EXT4_EXTENT_MAGIC', `inode ${ino}: bad extent header magic in ${where}`, { ...data, field: 'eh_magic', expected: EXT4_EXT_MAGIC, actual: h.eh_magic });
      const max = Math.floor((node.length - 12) / 12);
      if (h.eh_max > max || h.eh_max < max - 2 || h.eh_entries > h.eh_max) {
        fail('EXT4_EXTENT_HEADER', `inode ${ino}: extent header in ${where} claims ${h.eh_entries}/${h.eh_max} entries (room for ${max})`, { ...data, field: 'eh_max', expected: max, actual: h.eh_max });
      }
      if (h.eh_depth > MAX_EXTENT_DEPTH || (depthExpected !== null && h.eh_depth !== depthExpected)) {
        fail('EXT4_EXTENT_DEPTH', `inode ${ino}: extent depth ${h.eh_depth} in ${where}`, { ...data, field: 'eh_depth', expected: depthExpected ?? `<= ${MAX_EXTENT_DEPTH}`, actual: h.eh_depth });
      }
      if (blockNr >= 0 && this.csum && this.verify && !verifyExtentBlockCsum(this.seed, ino, rec.inode.i_generation, node)) {
        fail('EXT4_CSUM_EXTENT', `inode ${ino}: extent block ${blockNr} checksum mismatch`, { ...data, structure: 'ext3_extent_tail', field: 'et_checksum' });
      }
      let prevEnd = minLblk;
      for (let i = 0; i < h.eh_entries; i++) {
        const off = 12 + i * 12;
        if (h.eh_depth === 0) {
          const e = Ext4Extent.decode(node, off);
          const len = extentLength(e);
          const start = extentStart(e);
          const edata = { ...data, structure: 'ext3_extent', entry: i };
          if (i === 0 && firstExpected !== null && e.ee_block !== firstExpected) {
            fail('EXT4_EXTENT_INDEX', `inode ${ino}: first extent of ${where} starts at ${e.ee_block}, its index says ${firstExpected}`, { ...edata, field: 'ee_block', expected: firstExpected, actual: e.ee_block });
          }
          if (len === 0 || e.ee_block + len > 0x1_0000_0000) fail('EXT4_EXTENT_LENGTH', `inode ${ino}: extent ${i} of ${where} has length ${len} at ${e.ee_block}`, { ...edata, field: 'ee_len', actual: e.ee_len });
          if (e.ee_block < prevEnd) fail('EXT4_EXTENT_ORDER', `inode ${ino}: extent ${i} of ${where} at ${e.ee_block} overlaps or precedes the one before`, { ...edata, field: 'ee_block', expected: `>= ${prevEnd}`, actual: e.ee_block });
          if (!this.blockOk(start, len)) fail('EXT4_EXTENT_RANGE', `inode ${ino}: extent ${i} of ${where} maps blocks ${start}+${len} outside the filesystem`, { ...edata, field: 'ee_start_lo', expected: `< ${this.blocks}`, actual: start });
          prevEnd = e.ee_block + len;
          if (e.ee_block < maxLblk) runs.push({ lblk: e.ee_block, pblk: start, len: Math.min(len, maxLblk - e.ee_block), unwritten: extentUnwritten(e) });
        } else {
          const x = Ext4ExtentIdx.decode(node, off);
          const idata = { ...data, structure: 'ext3_extent_idx', entry: i };
          if (i === 0 && firstExpected !== null && x.ei_block !== firstExpected) {
            fail('EXT4_EXTENT_INDEX', `inode ${ino}: first index of ${where} starts at ${x.ei_block}, its parent says ${firstExpected}`, { ...idata, field: 'ei_block', expected: firstExpected, actual: x.ei_block });
          }
          if (x.ei_block < prevEnd) fail('EXT4_EXTENT_ORDER', `inode ${ino}: index ${i} of ${where} out of order`, { ...idata, field: 'ei_block', expected: `>= ${prevEnd}`, actual: x.ei_block });
          prevEnd = x.ei_block + 1;
          const leaf = indexLeaf(x);
          if (!this.blockOk(leaf)) fail('EXT4_EXTENT_RANGE', `inode ${ino}: index ${i} of ${where} points at block ${leaf} outside the filesystem`, { ...idata, field: 'ei_leaf_lo', expected: `< ${this.blocks}`, actual: leaf });
          if (seen.has(leaf)) fail('EXT4_EXTENT_LOOP', `inode ${ino}: extent block ${leaf} is referenced twice`, { ...idata, actual: leaf });
          seen.add(leaf);
          if (--budget < 0) fail('EXT4_EXTENT_LOOP', `inode ${ino}: extent tree larger than the filesystem`, idata);
          if (x.ei_block >= maxLblk) continue;
          walk(this.readBlock(leaf), `block ${leaf}`, h.eh_depth - 1, x.ei_block, x.ei_block, leaf);
        }
      }
    };
    const root = rec.inode.i_block;
    walk(root, 'i_block', null, 0, null, -1);
    runs.sort((a, b) => a.lblk - b.lblk);
    return runs;
  }

  /** The ext2/ext3 block map: 12 direct, then single, double and triple indirect blocks (ext2fs_block_iterate). */
  private mapIndirect(ino: number, inode: Inode, maxLblk: number): Run[] {
    const runs: Run[] = [];
    const per = this.bs / 4;
    const iblock = inode.i_block;
    let budget = Math.min(this.blocks, 1 << 22);
    const add = (lblk: number, pblk: number) => {
      const last = runs[runs.length - 1];
      if (last && last.lblk + last.len === lblk && last.pblk + last.len === pblk) last.len++;
      else runs.push({ lblk, pblk, len: 1, unwritten: false });
    };
    const check = (p: number, field: string) => {
      if (!this.blockOk(p)) fail('EXT4_BLOCKMAP_RANGE', `inode ${ino}: ${field} points at block ${p} outside the filesystem`, { structure: 'ext2_inode_large', inode: ino, field, expected: `${this.sb.s_first_data_block}..${this.blocks - 1}`, actual: p });
    };
    for (let i = 0; i < 12 && i < maxLblk; i++) {
      const p = rd32(iblock, i * 4);
      if (p === 0) continue;
      check(p, `i_block[${i}]`);
      add(i, p);
    }
    const walk = (blk: number, level: number, base: number, field: string) => {
      if (base >= maxLblk) return;
      check(blk, field);
      if (--budget < 0) fail('EXT4_BLOCKMAP_LOOP', `inode ${ino}: block map larger than the filesystem`, { structure: 'ext2_inode_large', inode: ino, field });
      const b = this.readBlock(blk);
      const span = per ** level;
      for (let i = 0; i < per; i++) {
        const lb = base + i * span;
        if (lb >= maxLblk) break;
        const p = rd32(b, i * 4);
        if (p === 0) continue;
        if (level === 0) {
          check(p, `${field}[${i}]`);
          add(lb, p);
        } else walk(p, level - 1, lb, `${field}[${i}]`);
      }
    };
    let base = 12;
    for (let level = 0; level < 3; level++) {
      const p = rd32(iblock, (12 + level) * 4);
      if (p !== 0) walk(p, level, base, `i_block[${12 + level}]`);
      base += per ** (level + 1);
    }
    return runs;
  }

  // ---- file data ----------------------------------------------------------------

  /** Inline data: i_block then the system.data xattr's value (ext4_read_inline_data). */
  private inlineData(rec: InodeRec): Uint8Array {
    const size = inodeFileSize(rec.inode);
    const ib = rec.inode.i_block;
    const extra = this.ibodyXattrs(rec).find((x) => x.index === 7 && x.name === 'data');
    const total = 60 + (extra ? extra.value.length : 0);
    if (size > total) {
      fail('EXT4_INLINE_DATA', `inode ${rec.ino}: i_size ${size} exceeds its ${total} bytes of inline data`, { structure: 'ext2_inode_large', inode: rec.ino, field: 'i_size_lo', expected: `<= ${total}`, actual: size });
    }
    const out = new Uint8Array(total);
    out.set(ib, 0);
    if (extra) out.set(extra.value, 60);
    return out.subarray(0, size);
  }

  private fileSize(rec: InodeRec): number {
    return inodeFileSize(rec.inode);
  }

  /** The file's bytes [from, from+size): holes and unwritten extents read as zeros. */
  readData(rec: InodeRec, size: number, from = 0): Uint8Array {
    if ((rec.inode.i_flags & INLINE_DATA_FL) !== 0) return this.inlineData(rec).slice(from, from + size);
    const out = new Uint8Array(size);
    const end = from + size;
    for (const r of this.mapBlocks(rec, Math.ceil(end / this.bs))) {
      if (r.unwritten) continue;
      const runStart = r.lblk * this.bs;
      const a = Math.max(runStart, from);
      const b = Math.min(runStart + r.len * this.bs, end);
      if (b <= a) continue;
      out.set(this.disk.read(r.pblk * this.bs + (a - runStart), b - a), a - from);
    }
    return out;
  }

  // ---- directories ---------------------------------------------------------------

  /** Entries of a directory inode, "." and ".." included, as stored (cached for a few directories). */
  dirEntries(rec: InodeRec, path: string): RawDirent[] {
    const cached = this.dirCache.get(rec.ino);
    if (cached) return cached;
    const out = this.readDir(rec, path);
    if (this.dirCache.size >= 8) {
      const oldest = this.dirCache.keys().next().value as number;
      this.dirCache.delete(oldest);
      this.dirIndex.delete(oldest);
    }
    this.dirCache.set(rec.ino, out);
    return out;
  }

  /** The entry called `name` in a directory (a name index is built once per cached directory). */
  findEntry(rec: InodeRec, path: string, name: string): RawDirent | undefined {
    const ents = this.dirEntries(rec, path);
    let idx = this.dirIndex.get(rec.ino);
    if (!idx) {
      idx = new Map();
      // names are bytes: key them by latin1 so that non-UTF-8 names stay distinct
      for (const e of ents.slice(2)) {
        const k = latin1(e.name);
        if (!idx.has(k)) idx.set(k, e);
      }
      this.dirIndex.set(rec.ino, idx);
    }
    return idx.get(latin1(enc.encode(name)));
  }

  /** fscrypt content (names, data, symlink targets) cannot be read without the keys. */
  refuseEncryptedFile(rec: InodeRec, path: string): void {
    this.refuseEncrypted(rec, path);
  }

  private refuseEncrypted(rec: InodeRec, path: string): void {
    if ((rec.inode.i_flags & ENCRYPT_FL) !== 0) {
      fail('EXT4_ENCRYPTED', `${path}: the content is encrypted (fscrypt)`, { structure: 'ext2_inode_large', inode: rec.ino, path, field: 'i_flags', actual: rec.inode.i_flags });
    }
  }

  private readDir(rec: InodeRec, path: string): RawDirent[] {
    const { ino, inode } = rec;
    this.refuseEncrypted(rec, path);
    const size = this.fileSize(rec);
    const base = { structure: 'ext2_dir_entry_2', inode: ino, path };
    if ((inode.i_flags & INLINE_DATA_FL) !== 0) {
      const d = this.inlineData(rec);
      if (d.length < 4) fail('EXT4_INLINE_DATA', `${path}: inline directory of ${d.length} bytes`, { ...base, actual: d.length });
      const parent = rd32(d, 0);
      const out: RawDirent[] = [
        { name: enc.encode('.'), ino, fileType: 2 },
        { name: enc.encode('..'), ino: parent, fileType: 2 },
      ];
      if (parent === 0 || parent > this.sb.s_inodes_count) fail('EXT4_DIRENT_INODE', `${path}: inline directory's parent inode ${parent} is invalid`, { ...base, field: 'inode', actual: parent });
      this.parseDirBlock(d.subarray(4, Math.min(60, d.length)), out, { ...base, where: 'i_block' }, false);
      if (d.length > 60) this.parseDirBlock(d.subarray(60), out, { ...base, where: 'system.data' }, false);
      return out;
    }
    if (size % this.bs !== 0 || size > this.blocks * this.bs || size === 0) {
      fail('EXT4_DIR_SIZE', `${path}: directory size ${size} is not a whole number of blocks within the filesystem`, { ...base, structure: 'ext2_inode_large', field: 'i_size_lo', expected: `multiple of ${this.bs}, <= ${this.blocks * this.bs}`, actual: size });
    }
    const nblocks = size / this.bs;
    // map everything: a directory has no blocks past i_size (e2fsck pass 1 "causes directory to be too big")
    const runs = this.mapBlocks(rec, 0x1_0000_0000);
    // the runs must cover 0..nblocks-1 with written blocks, in order (no holes):
    // checked on the runs themselves, so nothing is sized by i_size
    let next = 0;
    for (const r of runs) {
      if (r.lblk + r.len > nblocks) {
        fail('EXT4_DIR_SIZE', `${path}: directory maps block ${r.lblk + r.len - 1} past its ${nblocks} blocks`, { ...base, structure: 'ext2_inode_large', field: 'i_size_lo', expected: `<= ${nblocks} blocks`, actual: r.lblk + r.len });
      }
      if (r.lblk !== next || r.unwritten) fail('EXT4_DIR_HOLE', `${path}: directory block ${next} is a hole`, { ...base, block: next });
      next = r.lblk + r.len;
    }
    if (next !== nblocks) fail('EXT4_DIR_HOLE', `${path}: directory block ${next} is a hole`, { ...base, block: next });
    const phys = (i: number): number => {
      let lo = 0;
      let hi = runs.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (runs[mid].lblk <= i) lo = mid;
        else hi = mid - 1;
      }
      return runs[lo].pblk + (i - runs[lo].lblk);
    };
    const htree = (inode.i_flags & INDEX_FL) !== 0 && hasCompat(this.sb, COMPAT.dir_index);
    const dxBlocks = htree ? this.checkHtree(rec, phys, nblocks, path) : new Set<number>();
    const out: RawDirent[] = [];
    for (let i = 0; i < nblocks; i++) {
      if (dxBlocks.has(i)) {
        if (i === 0) {
          // the root: "." and ".." as real entries, the rest hidden in ".."
          // (checkHtree has validated their rec_len and name_len)
          const b = this.readBlock(phys(0));
          out.push({ name: b.slice(8, 9), ino: rd32(b, 0), fileType: b[7] });
          out.push({ name: b.slice(20, 22), ino: rd32(b, 12), fileType: b[19] });
        }
        continue;
      }
      const b = this.readBlock(phys(i));
      let end = b.length;
      if (this.csum) {
        if (!hasDirTail(b)) {
          if (this.verify) fail('EXT4_DIRENT_TAIL', `${path}: directory block ${i} has no checksum tail`, { ...base, structure: 'ext2_dir_entry_tail', block: i });
        } else {
          if (this.verify && !verifyDirBlockCsum(this.seed, ino, inode.i_generation, b)) {
            fail('EXT4_CSUM_DIRENT', `${path}: directory block ${i} checksum mismatch`, { ...base, structure: 'ext2_dir_entry_tail', block: i, field: 'det_checksum' });
          }
          end = b.length - DIR_TAIL_SIZE;
        }
      }
      this.parseDirBlock(b.subarray(0, end), out, { ...base, block: i }, i === 0);
    }
    // "." and ".." open the first block (e2fsck check_dot / check_dotdot)
    if (out.length < 2 || utf8.decode(out[0].name) !== '.' || utf8.decode(out[1].name) !== '..' || out[0].ino !== ino) {
      fail('EXT4_DIRENT_DOT', `${path}: directory does not start with "." and ".."`, { ...base, block: 0 });
    }
    return out;
  }

  private parseDirBlock(b: Uint8Array, out: RawDirent[], data: Record<string, unknown>, isFirst: boolean): void {
    const filetype = hasIncompat(this.sb, INCOMPAT.filetype);
    let pos = 0;
    let n = 0;
    while (pos < b.length) {
      if (pos + 8 > b.length) fail('EXT4_DIRENT_RECLEN', `directory entry header at ${pos} is cut by the block end`, { ...data, offset: pos, field: 'rec_len' });
      const inode = rd32(b, pos);
      const recLen = decodeRecLen(rd16(b, pos + 4), this.bs);
      const nameLen = filetype ? b[pos + 6] : rd16(b, pos + 6);
      const ft = filetype ? b[pos + 7] : 0;
      if (recLen < 12 || recLen % 4 !== 0 || pos + recLen > b.length) {
        fail('EXT4_DIRENT_RECLEN', `directory entry at ${pos} has rec_len ${recLen}`, { ...data, offset: pos, field: 'rec_len', expected: `12..${b.length - pos}, multiple of 4`, actual: recLen });
      }
      if (nameLen + 8 > recLen || nameLen > 255) fail('EXT4_DIRENT_NAMELEN', `directory entry at ${pos} has name_len ${nameLen} in ${recLen} bytes`, { ...data, offset: pos, field: 'name_len', expected: `<= ${recLen - 8}`, actual: nameLen });
      if (inode !== 0) {
        if (inode > this.sb.s_inodes_count) fail('EXT4_DIRENT_INODE', `directory entry at ${pos} names inode ${inode}`, { ...data, offset: pos, field: 'inode', expected: `1..${this.sb.s_inodes_count}`, actual: inode });
        if (nameLen === 0) fail('EXT4_DIRENT_NAMELEN', `directory entry at ${pos} has an empty name`, { ...data, offset: pos, field: 'name_len', actual: 0 });
        const name = b.slice(pos + 8, pos + 8 + nameLen);
        if (name.includes(0x2f) || name.includes(0)) fail('EXT4_DIRENT_NAME', `directory entry at ${pos} has a name with '/' or NUL`, { ...data, offset: pos, field: 'name' });
        if (ft === FT_DIR_CSUM || ft > 7) fail('EXT4_DIRENT_TYPE', `directory entry at ${pos} has file_type ${ft}`, { ...data, offset: pos, field: 'file_type', expected: '0..7', actual: ft });
        const isDot = nameLen === 1 && name[0] === 0x2e;
        const isDotDot = nameLen === 2 && name[0] === 0x2e && name[1] === 0x2e;
        if ((isDot || isDotDot) && !(isFirst && n === (isDot ? 0 : 1))) {
          fail('EXT4_DIRENT_DOT', `"${isDot ? '.' : '..'}" appears at entry ${n}`, { ...data, offset: pos, field: 'name' });
        }
        out.push({ name, ino: inode, fileType: ft });
      } else if (isFirst && n < 2) {
        fail('EXT4_DIRENT_DOT', `entry ${n} of the first block is empty where "${n === 0 ? '.' : '..'}" belongs`, { ...data, offset: pos });
      }
      n++;
      pos += recLen;
    }
  }

  /**
   * Validate an htree (dx_probe and e2fsck's htree pass): the root's info,
   * count/limit of every node, entries inside the directory and in hash
   * order, checksums. Returns the logical blocks that are dx blocks.
   */
  private checkHtree(rec: InodeRec, phys: (lblk: number) => number, nblocks: number, path: string): Set<number> {
    const base = { structure: 'dx_root', inode: rec.ino, path };
    const root = this.readBlock(phys(0));
    const tailSz = this.csum ? 8 : 0;
    if (rd16(root, 4) !== 12 || root[6] !== 1 || rd16(root, 16) !== this.bs - 12 || root[18] !== 2) {
      fail('EXT4_HTREE_ROOT', `${path}: htree root does not hold "." and ".." as expected`, { ...base, field: 'dot_rec_len' });
    }
    const hashVersion = root[0x1c];
    const infoLen = root[0x1d];
    const levels = root[0x1e];
    const maxLevels = hasIncompat(this.sb, INCOMPAT.large_dir) ? 3 : 2;
    if (rd32(root, 0x18) !== 0 || infoLen !== 8 || hashVersion > 6 || levels >= maxLevels) {
      fail('EXT4_HTREE_ROOT', `${path}: htree root info is invalid (hash ${hashVersion}, info length ${infoLen}, levels ${levels})`, {
        ...base, structure: 'dx_root_info', field: infoLen !== 8 ? 'info_length' : hashVersion > 6 ? 'hash_version' : 'indirect_levels', actual: infoLen !== 8 ? infoLen : hashVersion > 6 ? hashVersion : levels,
      });
    }
    const dx = new Set<number>([0]);
    const refs = new Set<number>();
    let budget = nblocks;
    const visit = (b: Uint8Array, lblk: number, countOff: number, level: number) => {
      const limit = rd16(b, countOff);
      const count = rd16(b, countOff + 2);
      const expectLimit = Math.floor((this.bs - countOff - tailSz) / 8);
      const d = { ...base, structure: 'dx_countlimit', block: lblk };
      if (limit !== expectLimit) fail('EXT4_HTREE_LIMIT', `${path}: htree block ${lblk} has limit ${limit}, expected ${expectLimit}`, { ...d, field: 'limit', expected: expectLimit, actual: limit });
      if (count === 0 || count > limit) fail('EXT4_HTREE_COUNT', `${path}: htree block ${lblk} has count ${count} of ${limit}`, { ...d, field: 'count', expected: `1..${limit}`, actual: count });
      if (this.csum && this.verify && !verifyDxCsum(this.seed, rec.ino, rec.inode.i_generation, b, countOff)) {
        fail('EXT4_CSUM_DX', `${path}: htree block ${lblk} checksum mismatch`, { ...d, structure: 'dx_tail', field: 'dt_checksum' });
      }
      let prevHash = 0;
      for (let i = 0; i < count; i++) {
        const o = countOff + i * 8;
        const hash = i === 0 ? 0 : rd32(b, o);
        const child = rd32(b, o + 4);
        if (i > 0 && hash < prevHash) fail('EXT4_HTREE_ORDER', `${path}: htree block ${lblk} entry ${i} is out of hash order`, { ...d, structure: 'dx_entry', field: 'hash', expected: `>= ${prevHash}`, actual: hash });
        prevHash = hash;
        if (child === 0 || child >= nblocks || dx.has(child) || refs.has(child)) {
          fail('EXT4_HTREE_BLOCK', `${path}: htree block ${lblk} entry ${i} points at block ${child}`, { ...d, structure: 'dx_entry', field: 'block', expected: `1..${nblocks - 1}`, actual: child });
        }
        if (--budget < 0) fail('EXT4_HTREE_BLOCK', `${path}: htree larger than its directory`, d);
        refs.add(child);
        if (level > 0) {
          dx.add(child);
          const nb = this.readBlock(phys(child));
          if (rd32(nb, 0) !== 0 || decodeRecLen(rd16(nb, 4), this.bs) !== this.bs) {
            fail('EXT4_HTREE_NODE', `${path}: htree node ${child} does not start with an empty block-wide entry`, { ...d, structure: 'dx_node', block: child, field: 'fake_rec_len' });
          }
          visit(nb, child, 8, level - 1);
        }
      }
    };
    visit(root, 0, 0x18 + infoLen, levels);
    // every block is the root, a node or a leaf that exactly one entry names (e2fsck pass 2)
    for (let i = 1; i < nblocks; i++) {
      if (!refs.has(i)) fail('EXT4_HTREE_BLOCK', `${path}: directory block ${i} is not referenced by the htree`, { ...base, structure: 'dx_entry', block: i });
    }
    return dx;
  }

  // ---- xattrs ---------------------------------------------------------------------

  private parseXattrs(region: Uint8Array, entriesStart: number, valueBase: number, owner: number, where: string, out: Array<{ index: number; name: string; value: Uint8Array }>): void {
    const data = { structure: 'ext2_ext_attr_entry', inode: owner, where };
    let pos = entriesStart;
    const values: Array<[number, number]> = [];
    for (;;) {
      if (pos + 4 > region.length) fail('EXT4_XATTR_RANGE', `inode ${owner}: ${where} xattr entries run off the end`, { ...data, offset: pos });
      if (rd32(region, pos) === 0) break;
      if (pos + 16 > region.length) fail('EXT4_XATTR_RANGE', `inode ${owner}: ${where} xattr entry cut by the end`, { ...data, offset: pos });
      const e = Ext4XattrEntry.decode(region, pos);
      if (pos + 16 + e.e_name_len > region.length) fail('EXT4_XATTR_RANGE', `inode ${owner}: ${where} xattr name runs off the end`, { ...data, offset: pos, field: 'e_name_len', actual: e.e_name_len });
      const suffix = utf8.decode(region.subarray(pos + 16, pos + 16 + e.e_name_len));
      if (e.e_value_size > XATTR_SIZE_MAX) fail('EXT4_XATTR_SIZE', `inode ${owner}: xattr value of ${e.e_value_size} bytes`, { ...data, offset: pos, field: 'e_value_size', expected: `<= ${XATTR_SIZE_MAX}`, actual: e.e_value_size });
      let value: Uint8Array;
      if (e.e_value_inum !== 0) {
        if (!hasIncompat(this.sb, INCOMPAT.ea_inode)) fail('EXT4_XATTR_INODE', `inode ${owner}: xattr value in inode ${e.e_value_inum} without ea_inode`, { ...data, offset: pos, field: 'e_value_inum', actual: e.e_value_inum });
        if (e.e_value_inum === owner) fail('EXT4_XATTR_INODE', `inode ${owner}: xattr value inode refers to itself`, { ...data, offset: pos, field: 'e_value_inum', actual: e.e_value_inum });
        const vrec = this.readInode(e.e_value_inum);
        if ((vrec.inode.i_flags & EA_INODE_FL) === 0 || (vrec.inode.i_mode & S_IFMT) !== S_IFREG || inodeFileSize(vrec.inode) !== e.e_value_size) {
          fail('EXT4_XATTR_INODE', `inode ${owner}: xattr value inode ${e.e_value_inum} is not an EA inode of ${e.e_value_size} bytes`, { ...data, offset: pos, field: 'e_value_inum', actual: e.e_value_inum });
        }
        value = this.readData(vrec, e.e_value_size);
      } else {
        const vs = valueBase + e.e_value_offs;
        if (e.e_value_size > 0 && (vs + e.e_value_size > region.length || vs < valueBase)) {
          fail('EXT4_XATTR_RANGE', `inode ${owner}: ${where} xattr value at ${vs}+${e.e_value_size} lies outside its ${region.length} bytes`, { ...data, offset: pos, field: 'e_value_offs', actual: e.e_value_offs });
        }
        value = region.slice(vs, vs + e.e_value_size);
        if (e.e_value_size > 0) values.push([vs, vs + e.e_value_size]);
      }
      out.push({ index: e.e_name_index, name: suffix, value });
      pos += xattrEntryLen(e.e_name_len);
    }
    const entriesEnd = pos + 4;
    values.sort((a, b) => a[0] - b[0]);
    for (let i = 0; i < values.length; i++) {
      if (values[i][0] < entriesEnd) fail('EXT4_XATTR_RANGE', `inode ${owner}: ${where} xattr value overlaps the entries`, { ...data, offset: values[i][0], expected: `>= ${entriesEnd}`, actual: values[i][0] });
      if (i > 0 && values[i][0] < values[i - 1][1]) fail('EXT4_XATTR_RANGE', `inode ${owner}: ${where} xattr values overlap`, { ...data, offset: values[i][0] });
    }
  }

  /** Xattrs in the inode body (after 128 + i_extra_isize). */
  ibodyXattrs(rec: InodeRec): Array<{ index: number; name: string; value: Uint8Array }> {
    const out: Array<{ index: number; name: string; value: Uint8Array }> = [];
    if (this.isz <= 128) return out;
    const start = 128 + rec.inode.i_extra_isize;
    if (start + 4 > this.isz) return out;
    if (rd32(rec.raw, start) !== EXT2_EXT_ATTR_MAGIC) return out;
    const region = rec.raw.subarray(start + 4, this.isz);
    this.parseXattrs(region, 0, 0, rec.ino, 'inode body', out);
    return out;
  }

  blockXattrs(rec: InodeRec): Array<{ index: number; name: string; value: Uint8Array }> {
    const out: Array<{ index: number; name: string; value: Uint8Array }> = [];
    const blk = fileAcl(rec.inode, is64bit(this.sb));
    if (blk === 0) return out;
    const data = { structure: 'ext2_ext_attr_header', inode: rec.ino, block: blk };
    if (!this.blockOk(blk)) fail('EXT4_XATTR_RANGE', `inode ${rec.ino}: xattr block ${blk} outside the filesystem`, { ...data, field: 'i_file_acl_lo', actual: blk });
    const b = this.readBlock(blk);
    if (rd32(b, 0) !== EXT2_EXT_ATTR_MAGIC || rd32(b, 8) !== 1) {
      fail('EXT4_XATTR_MAGIC', `inode ${rec.ino}: xattr block ${blk} has no valid header`, { ...data, field: 'h_magic', expected: EXT2_EXT_ATTR_MAGIC, actual: rd32(b, 0) });
    }
    if (this.csum && this.verify && !verifyXattrBlockCsum(this.seed, blk, b)) {
      fail('EXT4_CSUM_XATTR', `inode ${rec.ino}: xattr block ${blk} checksum mismatch`, { ...data, field: 'h_checksum' });
    }
    this.parseXattrs(b, 32, 0, rec.ino, `block ${blk}`, out);
    return out;
  }

  xattrs(rec: InodeRec): Xattr[] {
    if (!hasCompat(this.sb, COMPAT.ext_attr) && fileAcl(rec.inode, is64bit(this.sb)) === 0 && this.isz <= 128) return [];
    const all = [...this.ibodyXattrs(rec), ...this.blockXattrs(rec)];
    // system.data holds inline data, not an attribute a user set; indices
    // without a name prefix (encryption context, verity, Lustre…) are not
    // listed, as the kernel's ext4_xattr_list_entries() skips them
    return all
      .filter((x) => !(x.index === 7 && x.name === 'data') && xattrPrefix(x.index) !== null && x.index !== 0)
      .map((x) => ({ name: xattrPrefix(x.index) + x.name, value: x.value }));
  }

  // ---- symlinks -----------------------------------------------------------------

  readLink(rec: InodeRec, path: string): string {
    this.refuseEncrypted(rec, path);
    const size = this.fileSize(rec);
    const data = { structure: 'ext2_inode_large', inode: rec.ino, path };
    if (size === 0 || size >= this.bs || size > 4095) fail('EXT4_SYMLINK_SIZE', `${path}: symlink of ${size} bytes`, { ...data, field: 'i_size_lo', expected: `1..${Math.min(this.bs - 1, 4095)}`, actual: size });
    let bytes: Uint8Array;
    if ((rec.inode.i_flags & INLINE_DATA_FL) !== 0) bytes = this.inlineData(rec);
    else if (this.isFastSymlink(rec)) {
      if (size >= 60) fail('EXT4_SYMLINK_SIZE', `${path}: fast symlink of ${size} bytes`, { ...data, field: 'i_size_lo', expected: '< 60', actual: size });
      bytes = rec.inode.i_block.slice(0, size);
    } else {
      const runs = this.mapBlocks(rec, 1);
      if (runs.length === 0) fail('EXT4_SYMLINK_BLOCK', `${path}: slow symlink maps no block`, data);
      bytes = this.readData(rec, size);
    }
    if (bytes.includes(0)) fail('EXT4_SYMLINK_TARGET', `${path}: symlink target contains NUL`, data);
    return utf8.decode(bytes);
  }

  /** ext2fs_is_fast_symlink() / ext4_inode_is_fast_symlink(): no data blocks beyond an xattr block. */
  private isFastSymlink(rec: InodeRec): boolean {
    // with ea_inode, i_blocks also counts xattr value inodes: judge by size alone
    if (hasIncompat(this.sb, INCOMPAT.ea_inode)) return (rec.inode.i_flags & EXTENTS_FL) === 0 && inodeFileSize(rec.inode) < 60;
    const eaBlocks = fileAcl(rec.inode, is64bit(this.sb)) !== 0 ? (this.bs << (hasRoCompat(this.sb, RO_COMPAT.bigalloc) ? this.sb.s_log_cluster_size - this.sb.s_log_block_size : 0)) / 512 : 0;
    let blocks = inodeBlocks(rec.inode);
    if (hasRoCompat(this.sb, RO_COMPAT.huge_file) && (rec.inode.i_flags & HUGE_FILE_FL) !== 0) blocks *= this.bs / 512;
    return blocks - eaBlocks === 0;
  }

  // ---- paths ---------------------------------------------------------------------

  /** Resolve `path` to an inode; symlinks in the middle are followed, the last one only if `followLast`. */
  resolve(path: string, followLast: boolean): InodeRec {
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    const stack: InodeRec[] = [this.usedInode(ROOT_INO, '/')];
    const shown: string[] = [];
    let follows = 0;
    while (parts.length > 0) {
      const name = parts.shift()!;
      const dir = stack[stack.length - 1];
      const here = '/' + shown.join('/');
      if ((dir.inode.i_mode & S_IFMT) !== S_IFDIR) fail('EXT4_NOT_A_DIRECTORY', `${here} is not a directory`, { path: here });
      if (name === '..') {
        if (stack.length > 1) { stack.pop(); shown.pop(); }
        continue;
      }
      const ent = this.findEntry(dir, here, name);
      const full = (here === '/' ? '/' : here + '/') + name;
      if (!ent) fail('EXT4_NOT_FOUND', `${full}: no such file or directory`, { path: full });
      const child = this.usedInode(ent.ino, full);
      const type = child.inode.i_mode & S_IFMT;
      if (type === S_IFLNK && (parts.length > 0 || followLast)) {
        if (++follows > MAX_SYMLINK_FOLLOW) fail('EXT4_SYMLINK_LOOP', `${full}: too many levels of symbolic links`, { path: full });
        const target = this.readLink(child, full);
        if (target.startsWith('/')) { stack.length = 1; shown.length = 0; }
        parts.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
        continue;
      }
      if (type === S_IFDIR) this.checkParent(child, dir.ino, full);
      stack.push(child);
      shown.push(name);
    }
    return stack[stack.length - 1];
  }

  /** A directory reached from `parent` must name it as ".." (catches directory hard links and cycles). */
  private checkParent(child: InodeRec, parent: number, path: string): void {
    if (this.parentOk.get(child.ino) === parent) return;
    const ents = this.dirEntries(child, path);
    const dotdot = ents[1].ino;
    if (dotdot !== parent) {
      fail('EXT4_DIR_PARENT', `${path}: ".." names inode ${dotdot}, but the directory was reached from inode ${parent}`, { structure: 'ext2_dir_entry_2', inode: child.ino, path, field: 'inode', expected: parent, actual: dotdot });
    }
    if (this.parentOk.size > 4096) this.parentOk.clear();
    this.parentOk.set(child.ino, parent);
  }

  entryType(rec: InodeRec, path: string): EntryType {
    switch (rec.inode.i_mode & S_IFMT) {
      case S_IFREG: return 'file';
      case S_IFDIR: return 'dir';
      case S_IFLNK: return 'symlink';
      case S_IFCHR: return 'char';
      case S_IFBLK: return 'block';
      case S_IFIFO: return 'fifo';
      case S_IFSOCK: return 'socket';
      default:
        return fail('EXT4_INODE_MODE', `${path}: inode ${rec.ino} has file type 0o${(rec.inode.i_mode & S_IFMT).toString(8)}`, { structure: 'ext2_inode_large', inode: rec.ino, path, field: 'i_mode', actual: rec.inode.i_mode });
    }
  }

  entryOf(rec: InodeRec, name: string, path: string): FsEntry {
    const type = this.entryType(rec, path);
    const i = rec.inode;
    return {
      name,
      type,
      mode: i.i_mode & 0o7777,
      uid: inodeUid(i),
      gid: inodeGid(i),
      size: type === 'char' || type === 'block' || type === 'fifo' || type === 'socket' ? 0 : inodeFileSize(i),
      mtime: decodeTime(i.i_mtime, i.i_mtime_extra),
    };
  }

  // ---- the reader ----------------------------------------------------------------

  reader(): Ext4Reader {
    const fs = this;
    const baseName = (p: string) => {
      const parts = p.split('/').filter((x) => x !== '' && x !== '.');
      return parts.length ? parts[parts.length - 1] : '/';
    };
    const regular = (path: string) => {
      const rec = fs.resolve(path, true);
      const t = rec.inode.i_mode & S_IFMT;
      if (t === S_IFDIR) fail('EXT4_IS_A_DIRECTORY', `${path} is a directory`, { path });
      if (t !== S_IFREG) fail('EXT4_NOT_A_FILE', `${path} is not a regular file`, { path });
      return rec;
    };
    const r: Ext4Reader = {
      superblock: fs.sb,
      warnings: fs.warnings,
      info(): FsInfo {
        const sb = fs.sb;
        const ext4Incompat = INCOMPAT.extent | INCOMPAT['64bit'] | INCOMPAT.flex_bg | INCOMPAT.inline_data | INCOMPAT.mmp | INCOMPAT.ea_inode | INCOMPAT.large_dir | INCOMPAT.metadata_csum_seed;
        const ext4Ro = RO_COMPAT.huge_file | RO_COMPAT.dir_nlink | RO_COMPAT.extra_isize | RO_COMPAT.metadata_csum | RO_COMPAT.uninit_bg | RO_COMPAT.bigalloc;
        let type: FsType = 'ext2';
        if ((sb.s_feature_incompat & ext4Incompat) !== 0 || (sb.s_feature_ro_compat & ext4Ro) !== 0) type = 'ext4';
        else if (hasCompat(sb, COMPAT.has_journal)) type = 'ext3';
        const free = freeBlocksCount(sb);
        const label = volumeName(sb);
        return { type, label: label === '' ? null : label, uuid: decodeUuid(sb.s_uuid), size: fs.blocks * fs.bs, used: (fs.blocks - free) * fs.bs, blockSize: fs.bs };
      },
      list(path) {
        const dir = fs.resolve(path, true);
        if ((dir.inode.i_mode & S_IFMT) !== S_IFDIR) fail('EXT4_NOT_A_DIRECTORY', `${path} is not a directory`, { path });
        const out: FsEntry[] = [];
        const prefix = path.endsWith('/') ? path : path + '/';
        for (const e of fs.dirEntries(dir, path).slice(2)) {
          const name = utf8.decode(e.name);
          out.push(fs.entryOf(fs.usedInode(e.ino, prefix + name), name, prefix + name));
        }
        return out;
      },
      stat(path) {
        const rec = fs.resolve(path, false);
        const e = fs.entryOf(rec, baseName(path), path);
        const i = rec.inode;
        const st: Ext4Stat = {
          ...e,
          id: rec.ino,
          nlink: i.i_links_count,
          flags: i.i_flags,
          atime: decodeTime(i.i_atime, i.i_atime_extra),
          ctime: decodeTime(i.i_ctime, i.i_ctime_extra),
          generation: i.i_generation,
        };
        if (fs.isz > 128 && i.i_extra_isize >= 0x18) st.crtime = decodeTime(i.i_crtime, i.i_crtime_extra);
        if (e.type === 'symlink') st.target = fs.readLink(rec, path);
        if (e.type === 'char' || e.type === 'block') Object.assign(st, decodeDevice(i.i_block));
        const xs = fs.xattrs(rec);
        if (xs.length) st.xattrs = xs;
        return st;
      },
      readFile(path) {
        const rec = regular(path);
        const size = inodeFileSize(rec.inode);
        fs.refuseEncryptedFile(rec, path);
        if (size > fs.maxFile) fail('EXT4_FILE_TOO_LARGE', `${path}: ${size} bytes exceed the ${fs.maxFile}-byte read limit`, { path, inode: rec.ino, expected: `<= ${fs.maxFile}`, actual: size });
        return fs.readData(rec, size);
      },
      readFileRange(path, offset, length) {
        const rec = regular(path);
        fs.refuseEncryptedFile(rec, path);
        const size = inodeFileSize(rec.inode);
        if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
          fail('EXT4_RANGE', `${path}: invalid range ${offset}+${length}`, { path, offset, length });
        }
        const n = Math.max(0, Math.min(length, size - offset));
        if (n > fs.maxFile) fail('EXT4_FILE_TOO_LARGE', `${path}: ${n} bytes exceed the ${fs.maxFile}-byte read limit`, { path, inode: rec.ino, expected: `<= ${fs.maxFile}`, actual: n });
        return fs.readData(rec, n, Math.min(offset, size));
      },
      readlink(path) {
        const rec = fs.resolve(path, false);
        if ((rec.inode.i_mode & S_IFMT) !== S_IFLNK) fail('EXT4_NOT_A_SYMLINK', `${path} is not a symbolic link`, { path });
        return fs.readLink(rec, path);
      },
      listXattrs(path) {
        return fs.xattrs(fs.resolve(path, false));
      },
      lookup(path) {
        return fs.resolve(path, false).ino;
      },
      fileExtents(path) {
        const rec = regular(path);
        if ((rec.inode.i_flags & INLINE_DATA_FL) !== 0) fail('EXT4_INLINE_DATA', `${path}: the data lives inside the inode`, { path, inode: rec.ino });
        const size = inodeFileSize(rec.inode);
        const out: FileExtent[] = [];
        for (const run of fs.mapBlocks(rec, Math.ceil(size / fs.bs))) {
          if (run.unwritten) continue;
          const offset = run.pblk * fs.bs;
          const length = Math.min(run.len * fs.bs, size - run.lblk * fs.bs);
          const last = out[out.length - 1];
          if (last && last.offset + last.length === offset) last.length += length;
          else out.push({ offset, length });
        }
        return out;
      },
      rewriteFile(path, data) {
        if (!fs.disk.write) fail('EXT4_READ_ONLY', 'the disk is not writable', { path });
        const rec = regular(path);
        const size = inodeFileSize(rec.inode);
        if (data.length !== size) fail('EXT4_REWRITE_SIZE', `${path}: new contents are ${data.length} bytes, the file has ${size}`, { path, expected: size, actual: data.length });
        if ((rec.inode.i_flags & INLINE_DATA_FL) !== 0) fail('EXT4_INLINE_DATA', `${path}: inline data cannot be rewritten in place`, { path, inode: rec.ino });
        const writes: Array<[number, Uint8Array]> = [];
        let covered = 0;
        for (const run of fs.mapBlocks(rec, Math.ceil(size / fs.bs))) {
          const start = run.lblk * fs.bs;
          const end = Math.min(start + run.len * fs.bs, size);
          if (!isZero(data.subarray(covered, start))) fail('EXT4_REWRITE_HOLE', `${path}: non-zero bytes fall into a hole`, { path, offset: covered });
          if (run.unwritten) {
            if (!isZero(data.subarray(start, end))) fail('EXT4_REWRITE_HOLE', `${path}: non-zero bytes fall into an unwritten extent`, { path, offset: start });
          } else writes.push([run.pblk * fs.bs, data.subarray(start, end)]);
          covered = end;
        }
        if (!isZero(data.subarray(covered))) fail('EXT4_REWRITE_HOLE', `${path}: non-zero bytes fall into a hole`, { path, offset: covered });
        for (const [off, bytes] of writes) fs.disk.write!(off, bytes);
      },
    };
    return r;
  }
}

function rd32be(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}
