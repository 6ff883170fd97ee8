// The registered filesystem drivers (the interface is src/fs/driver.ts).
// Each filesystem module exports one driver and adds it to `drivers` below
// (one line each).
import type { Disk } from '../io/disk.js';
import type { FilesystemReader } from '../fs/types.js';
import { readOnlyWriter, type EditOptions, type FilesystemWriter } from '../fs/writer.js';
import type { FilesystemDriver } from '../fs/driver.js';
import { fat32Driver } from '../fat32/driver.js';
import { ext4Driver } from '../ext4/driver.js';

export type { FilesystemDriver, PlanArgs } from '../fs/driver.js';

export const drivers: FilesystemDriver[] = [
  // Filesystem drivers register here, one line each:
  // fat32Driver (src/fat32/driver.ts), ext4Driver (src/ext4/driver.ts)
  fat32Driver,
  ext4Driver,
];

export function driverFor(type: string): FilesystemDriver | undefined {
  const t = type.toLowerCase();
  return drivers.find((d) => d.types.includes(t));
}

/** The first driver whose probe recognises the disk, or null. Coded errors from a probe (a broken filesystem) propagate. */
export function probeFilesystem(disk: Disk): FilesystemReader | null {
  for (const d of drivers) {
    const r = d.probe(disk);
    if (r) return r;
  }
  return null;
}

/**
 * The filesystem on a disk, through the writer interface: the driver's
 * writer when the disk is writable and the driver can edit, else its reader
 * with every mutation refused by code (IMAGE_READ_ONLY on a read-only disk,
 * FS_UNSUPPORTED where the driver has no writer). Null when no driver recognises it.
 */
export function openFilesystem(disk: Disk, edit?: EditOptions): FilesystemWriter | null {
  for (const d of drivers) {
    if (disk.write && d.openWriter) {
      const w = d.openWriter(disk, edit);
      if (w) return w;
      continue;
    }
    const r = d.probe(disk);
    if (r) return readOnlyWriter(r, disk.write ? 'FS_UNSUPPORTED' : 'IMAGE_READ_ONLY', d.types[0] ?? 'this');
  }
  return null;
}
