// Virtual disk formats on the host: node:zlib as the deflate codec, and
// image files opened through their container (qcow2, VHD) by magic.
import * as zlib from 'node:zlib';
import { fail } from '../errors.js';
import type { Disk } from '../io/disk.js';
import type { DeflateCodec } from '../vdisk/deflate.js';
import { openVirtualDisk, type DiskFormat } from '../vdisk/open.js';
import { openFileDisk, type FileDisk } from './file-source.js';

export const nodeDeflate: DeflateCodec = {
  deflate(data, format) {
    return format === 'raw-4k'
      ? zlib.deflateRawSync(data, { windowBits: 12, level: 6 })
      : zlib.deflateSync(data, { level: 6 });
  },
  deflateAsync(data, format) {
    return new Promise((resolve, reject) => {
      const done = (e: Error | null, r: Buffer) => (e ? reject(e) : resolve(r));
      if (format === 'raw-4k') zlib.deflateRaw(data, { windowBits: 12, level: 6 }, done);
      else zlib.deflate(data, { level: 6 }, done);
    });
  },
  inflate(data, format, size) {
    try {
      // maxOutputLength bounds what a hostile stream can make us allocate.
      return format === 'raw'
        ? zlib.inflateRawSync(data, { maxOutputLength: size, finishFlush: zlib.constants.Z_SYNC_FLUSH })
        : zlib.inflateSync(data, { maxOutputLength: size, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    } catch (e) {
      return fail('VDISK_BAD_COMPRESSED', `compressed data does not inflate: ${(e as Error).message}`, {});
    }
  },
};

export type ImageDisk = Disk & { format: DiskFormat; file: FileDisk; sync(): void; close(): void };

/** A host image file (or device) opened as the virtual disk it holds: raw, qcow2 or VHD. */
export function openImageDisk(path: string, writable = false): ImageDisk {
  const file = openFileDisk(path, writable);
  try {
    const { disk, format } = openVirtualDisk(file, nodeDeflate);
    const d: ImageDisk = {
      size: disk.size, format, file,
      read: (o, n) => disk.read(o, n),
      sync: () => file.sync(),
      close: () => file.close(),
    };
    if (disk.write) d.write = disk.write.bind(disk);
    return d;
  } catch (e) {
    file.close();
    throw e;
  }
}
