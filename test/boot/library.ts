// Images for the boot tests made by the library's own parts: our GPT
// (createGptTable/encodeGpt), our FAT32 builder (ESP, grubenv contiguous),
// our ext4 builder (SYSTEM-A/B, DATA), our grubenv; and the library's in-place
// bootenv edit (what `diskwright bootenv IMG slot B` runs) between boots.
// Until src/image/presets.ts and buildImage exist this assembles the same
// layout the genericGpt preset is specified to make; see fixtures/boot/README.md.
import * as fs from 'node:fs';
import { createGptTable, encodeGpt } from '../../src/gpt/table.js';
import { planFat } from '../../src/fat32/build.js';
import { openFat } from '../../src/fat32/read.js';
import { planExt4 } from '../../src/ext4/build.js';
import { editBootenvInPlace, locateBootenv, type BootenvCommandResult } from '../../src/bootenv/locate.js';
import { openFileDisk } from '../../src/node/file-source.js';
import { subDisk } from '../../src/io/disk.js';
import type { Sink } from '../../src/io/sink.js';
import type { FileTree } from '../../src/tree/tree.js';
import type { FilesystemPlan, FilesystemReader } from '../../src/fs/types.js';
import { MiB, type PlacedPartition } from './classic.js';

export interface LibraryPartition {
  name: string;
  typeGuid: string;
  sizeMiB: number;
  fs: 'fat32' | 'ext4';
  label: string;
  tree: FileTree;
}

/**
 * Positional writes into a fresh (all-zero, sparse) image file. A zero range
 * needs no write there: the file reads as zeros where nothing was written.
 */
class ImageFileSink implements Sink {
  constructor(private readonly fd: number) {}
  async write(offset: number, data: Uint8Array): Promise<void> {
    let done = 0;
    while (done < data.length) done += fs.writeSync(this.fd, data, done, data.length - done, offset + done);
  }
  async zero(): Promise<void> { /* fresh file: already zeros */ }
  async finish(): Promise<void> { /* the caller closes the file */ }
  async abort(): Promise<void> { /* the caller removes the file */ }
}

export async function buildLibraryGptImage(image: string, partitions: LibraryPartition[], seed: string): Promise<PlacedPartition[]> {
  const placed: PlacedPartition[] = [];
  let at = 1;
  for (const [i, p] of partitions.entries()) {
    placed.push({ name: p.name, type: p.typeGuid, sizeMiB: p.sizeMiB, fs: p.fs, label: p.label, index: i + 1, offset: at * MiB, size: p.sizeMiB * MiB });
    at += p.sizeMiB;
  }
  const total = (at + 1) * MiB;
  const table = createGptTable({
    diskSize: total,
    diskGuid: '5EED0000-0000-4000-8000-000000000000',
    partitions: placed.map((p) => ({
      typeGuid: p.type,
      uniqueGuid: `5EED0000-0000-4000-8000-00000000000${p.index}`,
      startLba: p.offset / 512,
      endLba: (p.offset + p.size) / 512 - 1,
      name: p.name,
    })),
  });
  const gpt = encodeGpt(table);
  fs.rmSync(image, { force: true });
  const fd = fs.openSync(image, 'w+');
  try {
    fs.ftruncateSync(fd, total);
    const sink = new ImageFileSink(fd);
    await sink.write(0, gpt.protectiveMbr);
    await sink.write(gpt.primaryHeaderOffset, gpt.primaryHeader);
    await sink.write(gpt.primaryEntriesOffset, gpt.entries);
    for (const [i, p] of partitions.entries()) {
      const where = placed[i];
      const plan: FilesystemPlan = p.fs === 'fat32'
        ? planFat({ tree: p.tree, size: where.size, fat: 'fat32', label: p.label, seed, seedLabels: [where.index], partitionOffset: where.offset, path: p.name })
        : planExt4(p.tree, { size: where.size, label: p.label, seed: `${seed}/${where.index}`, owner: 'root' });
      await plan.emit(sink, where.offset);
    }
    await sink.write(gpt.backupEntriesOffset, gpt.entries);
    await sink.write(gpt.backupHeaderOffset, gpt.backupHeader);
  } finally {
    fs.closeSync(fd);
  }
  return placed;
}

/** Our FAT reader over one partition of the image. */
export function withFat<T>(image: string, p: PlacedPartition, writable: boolean, fn: (r: FilesystemReader) => T): T {
  const disk = openFileDisk(image, writable);
  try {
    return fn(openFat(subDisk(disk, p.offset, p.size)));
  } finally {
    disk.close();
  }
}

/** The library's bootenv command on the image, in place (as `diskwright bootenv IMG VERB ARGS`). */
export function libraryBootenv(image: string, parts: PlacedPartition[], verb: string, args: string[]): BootenvCommandResult {
  const disk = openFileDisk(image, true);
  try {
    const partitions = parts.map((p) => ({ index: p.index, type: p.type.toUpperCase(), disk: subDisk(disk, p.offset, p.size) }));
    const loc = locateBootenv(partitions, (d) => {
      try { return openFat(d); } catch { return null; }
    });
    return editBootenvInPlace(loc, verb, args);
  } finally {
    disk.close();
  }
}
