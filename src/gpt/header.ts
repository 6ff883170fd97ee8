// UEFI 2.10 §5.3.2 Table 5.5 "GPT Header". 92 bytes; the rest of the
// header's logical block is reserved and must be zero.
import { bytes, defineStruct, u32le, u64le, type StructValue } from '../codec/struct.js';

export const GPT_SIGNATURE = 'EFI PART';
export const GPT_REVISION = 0x00010000;
export const GPT_HEADER_SIZE = 92;

export const GptHeader = defineStruct('GptHeader', 92, {
  Signature: bytes(0, 8),
  Revision: u32le(8),
  HeaderSize: u32le(12),
  HeaderCRC32: u32le(16),
  Reserved: u32le(20),
  MyLBA: u64le(24),
  AlternateLBA: u64le(32),
  FirstUsableLBA: u64le(40),
  LastUsableLBA: u64le(48),
  DiskGUID: bytes(56, 16),
  PartitionEntryLBA: u64le(72),
  NumberOfPartitionEntries: u32le(80),
  SizeOfPartitionEntry: u32le(84),
  PartitionEntryArrayCRC32: u32le(88),
});

export type GptHeaderValue = StructValue<typeof GptHeader>;
