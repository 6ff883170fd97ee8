// openImage for a host file: the image opened read-only (or writable, for
// in-place edits such as bootenv), with close() to release the descriptor.
import { openImage, type OpenedImage, type OpenImageOptions } from '../image/open.js';
import { openFileDisk } from './file-source.js';

export function openImageFile(file: string, options: OpenImageOptions & { writable?: boolean } = {}): OpenedImage & { close(): void } {
  const disk = openFileDisk(file, options.writable ?? false);
  try {
    return Object.assign(openImage(disk, options), { close: () => disk.close() });
  } catch (e) {
    disk.close();
    throw e;
  }
}
