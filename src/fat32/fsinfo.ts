// FAT32 FSInfo sector: fatgen103 §5 "FAT32 FSInfo Sector Structure and
// Backup Boot Sector". Only the first 512 bytes are defined, also on volumes
// with larger sectors.
import { defineStruct, reserved, u32le, type StructValue } from '../codec/struct.js';

export const FsInfo = defineStruct('FsInfo', 512, {
  FSI_LeadSig: u32le(0),
  FSI_Reserved1: reserved(4, 480),
  FSI_StrucSig: u32le(484),
  FSI_Free_Count: u32le(488),
  FSI_Nxt_Free: u32le(492),
  FSI_Reserved2: reserved(496, 12),
  FSI_TrailSig: u32le(508),
});

export type FsInfoValue = StructValue<typeof FsInfo>;

export const FSI_LEAD_SIG = 0x41615252;
export const FSI_STRUC_SIG = 0x61417272;
export const FSI_TRAIL_SIG = 0xaa550000;
/** FSI_Free_Count / FSI_Nxt_Free value meaning "unknown". */
export const FSI_UNKNOWN = 0xffffffff;

export function encodeFsInfo(freeCount: number, nextFree: number): Uint8Array {
  return FsInfo.encode({
    ...FsInfo.zero(),
    FSI_LeadSig: FSI_LEAD_SIG,
    FSI_StrucSig: FSI_STRUC_SIG,
    FSI_Free_Count: freeCount,
    FSI_Nxt_Free: nextFree,
    FSI_TrailSig: FSI_TRAIL_SIG,
  });
}
