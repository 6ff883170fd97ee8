// UEFI 2.10 §5.2.1 Table 5.1 "Legacy MBR": the 512-byte master boot record
// (and the layout an EBR reuses). BootCode is kept raw so that a boot loader
// written by another tool survives a re-encode.
import { bytes, defineStruct, u16le, u32le, type StructValue } from '../codec/struct.js';

export const MBR_SIGNATURE = 0xaa55;

export const MasterBootRecord = defineStruct('MasterBootRecord', 512, {
  BootCode: bytes(0, 440),
  UniqueMBRDiskSignature: u32le(440),
  Unknown: bytes(444, 2),
  PartitionRecord: bytes(446, 64),
  Signature: u16le(510),
});

export type MasterBootRecordValue = StructValue<typeof MasterBootRecord>;
