// The disk inside a container file, found by its magic: qcow2 ("QFI\xfb" at
// 0), VHD ("conectix" footer at the end, or its copy at 0), VMDK sparse
// ("KDMV" at 0, refused for now), else the file itself (raw).
import { fail } from '../errors.js';
import type { Disk } from '../io/disk.js';
import type { DeflateCodec } from './deflate.js';
import { looksLikeQcow2, openQcow2 } from './qcow2-read.js';
import { looksLikeVhd, openVhd } from './vhd-read.js';

export type DiskFormat = 'raw' | 'qcow2' | 'vhd' | 'vhd-dynamic';

export function detectDiskFormat(file: Disk): DiskFormat | 'vmdk' {
  const head = file.read(0, Math.min(8, file.size));
  if (looksLikeQcow2(head)) return 'qcow2';
  if (head.length >= 4 && head[0] === 0x4b && head[1] === 0x44 && head[2] === 0x4d && head[3] === 0x56) return 'vmdk';
  if (looksLikeVhd(file)) {
    return head.length === 8 && new TextDecoder().decode(head) === 'conectix' ? 'vhd-dynamic' : 'vhd';
  }
  return 'raw';
}

/** The virtual disk a file holds (the file itself when it is raw), and its format. */
export function openVirtualDisk(file: Disk, codec: DeflateCodec | null): { disk: Disk; format: DiskFormat } {
  const format = detectDiskFormat(file);
  switch (format) {
    case 'qcow2': return { disk: openQcow2(file, codec), format };
    case 'vhd':
    case 'vhd-dynamic': return { disk: openVhd(file), format };
    case 'vmdk': return fail('VDISK_UNSUPPORTED', 'VMDK images are not read yet (convert with qemu-img convert -O raw)', { format });
    default: return { disk: file, format };
  }
}
