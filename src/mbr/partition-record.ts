// UEFI 2.10 §5.2.1 Table 5.2 "Legacy MBR Partition Record": one 16-byte
// entry of the MBR (and of an EBR) partition table.
import { bytes, defineStruct, u32le, u8, type StructValue } from '../codec/struct.js';

export const MbrPartitionRecord = defineStruct('MbrPartitionRecord', 16, {
  BootIndicator: u8(0),
  StartingCHS: bytes(1, 3),
  OSType: u8(4),
  EndingCHS: bytes(5, 3),
  StartingLBA: u32le(8),
  SizeInLBA: u32le(12),
});

export type MbrPartitionRecordValue = StructValue<typeof MbrPartitionRecord>;
