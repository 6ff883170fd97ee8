// openImage for a host file or block device (raw, qcow2 or VHD, by magic): the image opened read-only (or
// writable, for in-place edits such as bootenv), with close() to release the
// descriptor. Closing a writable image fsyncs it first, so an edit is on the
// medium when close() returns (a device may be unplugged right after).
import { openImage, type OpenedImage, type OpenImageOptions } from '../image/open.js';
import { openImageDisk, type ImageDisk } from './vdisk.js';

export type OpenedImageFile = OpenedImage & { disk: ImageDisk; sync(): void; close(): void };

export function openImageFile(file: string, options: OpenImageOptions & { writable?: boolean } = {}): OpenedImageFile {
  const writable = options.writable ?? false;
  const disk = openImageDisk(file, writable);
  try {
    return Object.assign(openImage(disk, options), {
      disk,
      sync: () => disk.sync(),
      close: () => {
        try {
          if (writable) disk.sync();
        } finally {
          disk.close();
        }
      },
    });
  } catch (e) {
    disk.close();
    throw e;
  }
}
