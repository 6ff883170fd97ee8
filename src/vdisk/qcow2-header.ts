// QEMU's qcow2 image format (docs/interop/qcow2.txt, "Header"): big-endian,
// 72 bytes in version 2, 104 bytes in version 3 (header_length says how
// many; a v3 header may run longer, with the compression type at 104).
import { defineStruct, u32be, u64be, type StructValue } from '../codec/struct.js';

export const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"

export const Qcow2Header = defineStruct('Qcow2Header', 104, {
  magic: u32be(0),
  version: u32be(4),
  backing_file_offset: u64be(8),
  backing_file_size: u32be(16),
  cluster_bits: u32be(20),
  size: u64be(24),
  crypt_method: u32be(32),
  l1_size: u32be(36),
  l1_table_offset: u64be(40),
  refcount_table_offset: u64be(48),
  refcount_table_clusters: u32be(56),
  nb_snapshots: u32be(60),
  snapshots_offset: u64be(64),
  incompatible_features: u64be(72),
  compatible_features: u64be(80),
  autoclear_features: u64be(88),
  refcount_order: u32be(96),
  header_length: u32be(100),
});

export type Qcow2HeaderValue = StructValue<typeof Qcow2Header>;

/** Incompatible feature bits (qcow2.txt): what a reader must understand. */
export const QCOW2_INCOMPAT_DIRTY = 1n << 0n;
export const QCOW2_INCOMPAT_CORRUPT = 1n << 1n;
export const QCOW2_INCOMPAT_EXTERNAL_DATA = 1n << 2n;
export const QCOW2_INCOMPAT_COMPRESSION_TYPE = 1n << 3n;
export const QCOW2_INCOMPAT_EXTENDED_L2 = 1n << 4n;

/** L1/L2 entry bits: bit 63 "copied" (refcount exactly 1), bit 62 compressed, bit 0 (v3, standard clusters) reads as zeros. */
export const QCOW2_OFLAG_COPIED = 1n << 63n;
export const QCOW2_OFLAG_COMPRESSED = 1n << 62n;
export const QCOW2_OFLAG_ZERO = 1n;
/** Bits 9–55 of a standard L2 entry and of an L1 entry hold the host offset. */
export const QCOW2_OFFSET_MASK = 0x00fffffffffffe00n;
