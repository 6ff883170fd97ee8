// Cylinder-head-sector addresses in MBR partition records (UEFI 2.10 §5.2.1,
// "Legacy MBR"). Computed with the 255-head, 63-sector geometry that fdisk,
// sfdisk and sgdisk assume; an LBA past cylinder 1023 is stored as the
// maximum FE FF FF, as util-linux fdisk's set_partition() / chs clamping does.

export const CHS_HEADS = 255;
export const CHS_SECTORS = 63;

/** The 3 CHS bytes (head, sector|cyl-high, cyl-low) for an LBA. */
export function encodeChs(lba: number, heads = CHS_HEADS, sectors = CHS_SECTORS): Uint8Array {
  const cyl = Math.floor(lba / (heads * sectors));
  if (cyl > 1023) return Uint8Array.of(0xfe, 0xff, 0xff);
  const head = Math.floor(lba / sectors) % heads;
  const sector = (lba % sectors) + 1;
  return Uint8Array.of(head, sector | ((cyl >> 2) & 0xc0), cyl & 0xff);
}

/** {cylinder, head, sector} of 3 CHS bytes. */
export function decodeChs(b: Uint8Array): { cylinder: number; head: number; sector: number } {
  return { head: b[0], sector: b[1] & 0x3f, cylinder: ((b[1] & 0xc0) << 2) | b[2] };
}
