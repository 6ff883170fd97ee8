// FAT boot sector and BPB: Microsoft "FAT: General Overview of On-Disk
// Format" (fatgen103) §3.1 (common BPB), §3.2 (FAT12/16 extended BPB) and
// §3.3 (FAT32 extended BPB). The first 36 bytes are shared; the two variants
// differ from offset 36 on.
import { bytes, defineStruct, u16le, u32le, u8, type StructValue } from '../codec/struct.js';

/** fatgen103 §3.1: the first 36 bytes, the same in every FAT variant. */
const BPB_COMMON = {
  BS_jmpBoot: bytes(0, 3),
  BS_OEMName: bytes(3, 8),
  BPB_BytsPerSec: u16le(11),
  BPB_SecPerClus: u8(13),
  BPB_RsvdSecCnt: u16le(14),
  BPB_NumFATs: u8(16),
  BPB_RootEntCnt: u16le(17),
  BPB_TotSec16: u16le(19),
  BPB_Media: u8(21),
  BPB_FATSz16: u16le(22),
  BPB_SecPerTrk: u16le(24),
  BPB_NumHeads: u16le(26),
  BPB_HiddSec: u32le(28),
  BPB_TotSec32: u32le(32),
} as const;

export const Fat32BootSector = defineStruct('Fat32BootSector', 512, {
  ...BPB_COMMON,
  BPB_FATSz32: u32le(36),
  BPB_ExtFlags: u16le(40),
  BPB_FSVer: u16le(42),
  BPB_RootClus: u32le(44),
  BPB_FSInfo: u16le(48),
  BPB_BkBootSec: u16le(50),
  BPB_Reserved: bytes(52, 12),
  BS_DrvNum: u8(64),
  BS_Reserved1: u8(65),
  BS_BootSig: u8(66),
  BS_VolID: u32le(67),
  BS_VolLab: bytes(71, 11),
  BS_FilSysType: bytes(82, 8),
  BS_BootCode: bytes(90, 420),
  Signature_word: u16le(510),
});

export const Fat16BootSector = defineStruct('Fat16BootSector', 512, {
  ...BPB_COMMON,
  BS_DrvNum: u8(36),
  BS_Reserved1: u8(37),
  BS_BootSig: u8(38),
  BS_VolID: u32le(39),
  BS_VolLab: bytes(43, 11),
  BS_FilSysType: bytes(54, 8),
  BS_BootCode: bytes(62, 448),
  Signature_word: u16le(510),
});

export type Fat32BootSectorValue = StructValue<typeof Fat32BootSector>;
export type Fat16BootSectorValue = StructValue<typeof Fat16BootSector>;

export const BOOT_SIGNATURE = 0xaa55;
/** BS_BootSig value saying that BS_VolID, BS_VolLab and BS_FilSysType are present. */
export const EXTENDED_BOOT_SIGNATURE = 0x29;

/**
 * Boot code for a volume that is not bootable through the BIOS: "int 0x18"
 * (boot failure, try the next device), then halt in a loop.
 */
export const NON_BOOTABLE_CODE = Uint8Array.of(0xcd, 0x18, 0xeb, 0xfe);
