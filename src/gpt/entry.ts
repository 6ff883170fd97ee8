// UEFI 2.10 §5.3.3 Table 5.6 "GPT Partition Entry". SizeOfPartitionEntry may
// be larger than 128 (128 × 2^n); the bytes past 128 are kept raw.
import { bytes, defineStruct, u64le, type StructValue } from '../codec/struct.js';

export const GPT_ENTRY_SIZE = 128;
export const GPT_NAME_UNITS = 36;

export const GptEntry = defineStruct('GptEntry', 128, {
  PartitionTypeGUID: bytes(0, 16),
  UniquePartitionGUID: bytes(16, 16),
  StartingLBA: u64le(32),
  EndingLBA: u64le(40),
  Attributes: u64le(48),
  PartitionName: bytes(56, 72),
});

export type GptEntryValue = StructValue<typeof GptEntry>;

/** Attribute bits (UEFI 2.10 Table 5.7) by name; bits 48–63 are type specific. */
export const GPT_ATTRIBUTE_BITS: Record<string, number> = {
  required: 0,
  'no-block-io-protocol': 1,
  'legacy-bios-bootable': 2,
};
