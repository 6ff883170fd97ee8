// ext4 inode: struct ext2_inode_large of e2fsprogs lib/ext2fs/ext2_fs.h
// (Linux Documentation/filesystems/ext4/inodes.rst, "Index Nodes"), with the
// Linux osd1/osd2 unions. The first 128 bytes are the original ext2 inode; the
// fields after i_extra_isize exist only as far as 128 + i_extra_isize reaches
// (EXT4_FITS_IN_INODE); the rest of an inode record holds in-inode xattrs.
import { defineStruct, u16le, u32le, bytes, type StructValue } from '../codec/struct.js';

export const EXT2_N_BLOCKS = 15;
export const INODE_LARGE_SIZE = 160;

export const Ext4Inode = defineStruct('ext2_inode_large', INODE_LARGE_SIZE, {
  i_mode: u16le(0x00),
  i_uid: u16le(0x02),
  i_size_lo: u32le(0x04),
  i_atime: u32le(0x08),
  i_ctime: u32le(0x0c),
  i_mtime: u32le(0x10),
  i_dtime: u32le(0x14),
  i_gid: u16le(0x18),
  i_links_count: u16le(0x1a),
  i_blocks_lo: u32le(0x1c),
  i_flags: u32le(0x20),
  /** osd1.linux1.l_i_version */
  l_i_version: u32le(0x24),
  /** __u32 i_block[EXT2_N_BLOCKS]: block map, extent tree root, inline data or fast symlink. */
  i_block: bytes(0x28, 60),
  i_generation: u32le(0x64),
  i_file_acl_lo: u32le(0x68),
  i_size_high: u32le(0x6c),
  i_faddr: u32le(0x70),
  // osd2.linux2
  l_i_blocks_hi: u16le(0x74),
  l_i_file_acl_high: u16le(0x76),
  l_i_uid_high: u16le(0x78),
  l_i_gid_high: u16le(0x7a),
  l_i_checksum_lo: u16le(0x7c),
  l_i_reserved: u16le(0x7e),
  i_extra_isize: u16le(0x80),
  i_checksum_hi: u16le(0x82),
  i_ctime_extra: u32le(0x84),
  i_mtime_extra: u32le(0x88),
  i_atime_extra: u32le(0x8c),
  i_crtime: u32le(0x90),
  i_crtime_extra: u32le(0x94),
  i_version_hi: u32le(0x98),
  i_projid: u32le(0x9c),
});

export type Inode = { -readonly [K in keyof StructValue<typeof Ext4Inode>]: StructValue<typeof Ext4Inode>[K] };

/** EXT4_INODE_CSUM_HI_EXTRA_END: i_extra_isize needed for i_checksum_hi to exist. */
export const INODE_CSUM_HI_EXTRA_END = 0x84 - 0x80;

/**
 * Whether field `name` lies inside the inode's real extent: within the
 * 128-byte base, or within 128 + i_extra_isize (EXT4_FITS_IN_INODE), and
 * within the inode size.
 */
export function fitsInInode(inode: Inode, inodeSize: number, name: keyof Inode & string): boolean {
  const f = Ext4Inode.fields[name];
  const end = f.offset + (f.kind === 'u16le' ? 2 : f.kind === 'bytes' ? 60 : 4);
  if (end <= 128) return true;
  if (inodeSize <= 128) return false;
  return end <= 128 + inode.i_extra_isize && end <= inodeSize;
}

/**
 * Decode the inode at `offset` of an inode record of `inodeSize` bytes.
 * Fields past 128 + i_extra_isize (or past the record) read as 0, as the
 * kernel treats fields that do not fit.
 */
export function decodeInode(buf: Uint8Array, offset: number, inodeSize: number): Inode {
  const tmp = new Uint8Array(INODE_LARGE_SIZE);
  const avail = Math.min(inodeSize, INODE_LARGE_SIZE, buf.length - offset);
  tmp.set(buf.subarray(offset, offset + Math.max(0, avail)));
  const ino = Ext4Inode.decode(tmp, 0);
  if (inodeSize > 128) {
    const extraEnd = 128 + ino.i_extra_isize;
    if (extraEnd < INODE_LARGE_SIZE) {
      // zero fields beyond i_extra_isize: they are xattr space, not fields
      tmp.fill(0, Math.max(0x82, extraEnd), INODE_LARGE_SIZE);
      return Ext4Inode.decode(tmp, 0);
    }
  }
  return ino;
}

/**
 * Encode `inode` into an inode record of `inodeSize` bytes at `offset` of
 * `buf`. Only 128 + i_extra_isize bytes of fields are written (bounded by
 * inodeSize); bytes after that (in-inode xattrs) are left as they are.
 */
export function encodeInode(inode: Inode, buf: Uint8Array, offset: number, inodeSize: number): void {
  const tmp = Ext4Inode.encode(inode);
  const n = inodeSize <= 128 ? 128 : Math.min(inodeSize, 128 + inode.i_extra_isize, INODE_LARGE_SIZE);
  buf.set(tmp.subarray(0, n), offset);
}

// ---- accessors combining the halves ---------------------------------------

/** EXT2_I_SIZE(): i_size_high counts for every file type since large_file / ext4. */
export function inodeFileSize(inode: Inode): number {
  return inode.i_size_high * 0x1_0000_0000 + inode.i_size_lo;
}
export function setInodeFileSize(inode: Inode, size: number): void {
  inode.i_size_lo = size >>> 0;
  inode.i_size_high = Math.floor(size / 0x1_0000_0000);
}
export function inodeUid(inode: Inode): number {
  return inode.l_i_uid_high * 0x10000 + inode.i_uid;
}
export function inodeGid(inode: Inode): number {
  return inode.l_i_gid_high * 0x10000 + inode.i_gid;
}
export function setInodeUid(inode: Inode, uid: number): void {
  inode.i_uid = uid & 0xffff;
  inode.l_i_uid_high = Math.floor(uid / 0x10000) & 0xffff;
}
export function setInodeGid(inode: Inode, gid: number): void {
  inode.i_gid = gid & 0xffff;
  inode.l_i_gid_high = Math.floor(gid / 0x10000) & 0xffff;
}
/** ext2fs_file_acl_block(): i_file_acl_lo | l_i_file_acl_high << 32 (the high half only with 64bit). */
export function fileAcl(inode: Inode, is64bit: boolean): number {
  return is64bit ? inode.l_i_file_acl_high * 0x1_0000_0000 + inode.i_file_acl_lo : inode.i_file_acl_lo;
}
export function setFileAcl(inode: Inode, block: number): void {
  inode.i_file_acl_lo = block >>> 0;
  inode.l_i_file_acl_high = Math.floor(block / 0x1_0000_0000) & 0xffff;
}
/** i_blocks in 512-byte units, or in fs blocks with huge_file + EXT4_HUGE_FILE_FL (ext4_inode_blocks()). */
export function inodeBlocks(inode: Inode): number {
  return inode.l_i_blocks_hi * 0x1_0000_0000 + inode.i_blocks_lo;
}
export function setInodeBlocks(inode: Inode, n: number): void {
  inode.i_blocks_lo = n >>> 0;
  inode.l_i_blocks_hi = Math.floor(n / 0x1_0000_0000) & 0xffff;
}

/**
 * Timestamps: seconds are signed 32-bit with two epoch bits from the _extra
 * field; nanoseconds are _extra >> 2 (ext4_decode_extra_time()).
 */
export function decodeTime(base: number, extra: number): { sec: number; nsec: number } {
  const signed = base | 0;
  return { sec: signed + (extra & 3) * 0x1_0000_0000, nsec: extra >>> 2 };
}
/** ext4_encode_extra_time(): [base, extra]. */
export function encodeTime(sec: number, nsec: number): [number, number] {
  const epoch = Math.floor((sec + 0x8000_0000) / 0x1_0000_0000);
  const base = (sec - epoch * 0x1_0000_0000) >>> 0;
  const extra = ((nsec << 2) | (epoch & 3)) >>> 0;
  return [base, extra];
}

/** Device number in i_block (old_encode_dev / new_encode_dev, as ext4_inode's i_block[0]/[1]). */
export function decodeDevice(iblock: Uint8Array): { major: number; minor: number } {
  const dv = new DataView(iblock.buffer, iblock.byteOffset, iblock.byteLength);
  const b0 = dv.getUint32(0, true);
  if (b0 !== 0) return { major: (b0 >>> 8) & 0xff, minor: b0 & 0xff };
  const dev = dv.getUint32(4, true);
  return { major: (dev & 0xfff00) >>> 8, minor: (dev & 0xff) | ((dev >>> 12) & 0xfff00) };
}
/** The kernel's ext4 encoding: old format in i_block[0] when it fits, else new format in i_block[1]. */
export function encodeDevice(major: number, minor: number): Uint8Array {
  const b = new Uint8Array(60);
  const dv = new DataView(b.buffer);
  if (major < 256 && minor < 256) dv.setUint32(0, (major << 8) | minor, true);
  else dv.setUint32(4, ((minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)) >>> 0, true);
  return b;
}
