// The disk inside a container file, found by its magic: qcow2 ("QFI\xfb" at
// 0), VHD ("conectix" footer at the end, or its copy at 0), VMDK sparse
// extents ("KDMV" at 0), else the file itself (raw).
import type { Disk } from '../io/disk.js';
import type { DeflateCodec } from './deflate.js';
import { looksLikeQcow2, openQcow2 } from './qcow2-read.js';
import { looksLikeVhd, openVhd } from './vhd-read.js';
import { looksLikeVmdk, openVmdk } from './vmdk-read.js';

export type DiskFormat = 'raw' | 'qcow2' | 'vhd' | 'vhd-dynamic' | 'vmdk';

export function detectDiskFormat(file: Disk): DiskFormat {
  const head = file.read(0, Math.min(8, file.size));
  if (looksLikeQcow2(head)) return 'qcow2';
  if (looksLikeVmdk(head)) return 'vmdk';
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
    case 'vmdk': return { disk: openVmdk(file, codec), format };
    default: return { disk: file, format };
  }
}
