// VMware Virtual Disk Format 1.1, "Hosted Sparse Extent Header": the
// 512-byte header of a monolithicSparse or streamOptimized extent, little-
// endian, sizes in 512-byte sectors. A streamOptimized file repeats it as a
// footer near its end, where the grain directory's offset is finally known.
import { bytes, defineStruct, u16le, u32le, u64le, u8, type StructValue } from '../codec/struct.js';

export const VMDK_MAGIC = 0x564d444b; // "KDMV"
/** gdOffset of a streamOptimized header: the grain directory is found through the footer. */
export const VMDK_GD_AT_END = 0xffffffffffffffffn;
export const VMDK_FLAG_NEWLINE_TEST = 1 << 0;
export const VMDK_FLAG_REDUNDANT_GT = 1 << 1;
export const VMDK_FLAG_COMPRESSED = 1 << 16;
export const VMDK_FLAG_MARKERS = 1 << 17;
export const VMDK_COMPRESSION_DEFLATE = 1;

export const VmdkSparseHeader = defineStruct('VmdkSparseHeader', 512, {
  magicNumber: u32le(0),
  version: u32le(4),
  flags: u32le(8),
  capacity: u64le(12),
  grainSize: u64le(20),
  descriptorOffset: u64le(28),
  descriptorSize: u64le(36),
  numGTEsPerGT: u32le(44),
  rgdOffset: u64le(48),
  gdOffset: u64le(56),
  overHead: u64le(64),
  uncleanShutdown: u8(72),
  singleEndLineChar: u8(73),
  nonEndLineChar: u8(74),
  doubleEndLineChar1: u8(75),
  doubleEndLineChar2: u8(76),
  compressAlgorithm: u16le(77),
  pad: bytes(79, 433),
});
export type VmdkSparseHeaderValue = StructValue<typeof VmdkSparseHeader>;

/** A streamOptimized metadata marker sector: numSectors, size (0 for metadata), type. */
export const VmdkMarker = defineStruct('VmdkMarker', 512, {
  val: u64le(0),
  size: u32le(8),
  type: u32le(12),
  pad: bytes(16, 496),
});
export const VMDK_MARKER_EOS = 0;
export const VMDK_MARKER_GT = 1;
export const VMDK_MARKER_GD = 2;
export const VMDK_MARKER_FOOTER = 3;
