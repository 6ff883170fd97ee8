// Images for the boot tests made by the library: buildImage from a spec (our
// GPT, our FAT32 with a contiguous grubenv, our ext4), and the library's
// CLI, `diskwright bootenv IMG slot B` / `try 2`, between boots. Until src/image/presets.ts (genericGpt) exists, the spec spells out
// the layout the preset is specified to make; see fixtures/boot/README.md.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildImage } from '../../src/image/build.js';
import { openFat } from '../../src/fat32/read.js';
import { FileSink } from '../../src/node/file-sink.js';
import { main } from '../../src/cli/main.js';
import { openFileDisk } from '../../src/node/file-source.js';
import { subDisk, type Disk } from '../../src/io/disk.js';
import type { FileTree } from '../../src/tree/tree.js';
import type { FilesystemReader } from '../../src/fs/types.js';
import { MiB, type PlacedPartition } from './classic.js';
import { REPO } from './harness.js';

export interface LibraryPartition {
  name: string;
  /** A GPT type alias of the spec ("esp", "linux") or a GUID. */
  type: string;
  sizeMiB: number;
  fs: 'fat32' | 'ext4';
  label: string;
  tree: FileTree;
}

/**
 * Build a GPT or MBR image with the library's buildImage from a spec. The
 * filesystems' contents are in-memory trees: the spec names them
 * ("from": "tree:NAME") and the loadTree hook hands them over.
 */
export async function buildLibraryImage(
  image: string, table: 'gpt' | 'mbr', partitions: LibraryPartition[], seed: string, sourceDateEpoch: number, totalMiB = 1 + partitions.reduce((n, p) => n + p.sizeMiB, 0) + 1,
): Promise<{ parts: PlacedPartition[]; spec: unknown }> {
  const spec = {
    table,
    size: totalMiB * MiB,
    seed,
    sourceDateEpoch,
    partitions: partitions.map((p) => ({
      name: p.name,
      type: p.type,
      size: p.sizeMiB * MiB,
      filesystem: p.fs === 'fat32'
        ? { type: 'fat32', label: p.label, contents: [{ from: `tree:${p.name}`, to: '/' }] }
        : { type: 'ext4', label: p.label, owner: 'root', contents: [{ from: `tree:${p.name}`, to: '/' }] },
    })),
  };
  const trees = new Map(partitions.map((p) => [`tree:${p.name}`, p.tree]));
  const report = await buildImage(spec, new FileSink(image), {
    loadTree: async (fsSpec) => {
      const from = (fsSpec.contents as Array<{ from: string }>)[0].from;
      const t = trees.get(from);
      if (!t) throw new Error(`no tree ${from}`);
      return t;
    },
  });
  const parts = report.partitions.map((r, i) => ({
    name: r.name ?? '', type: r.type, sizeMiB: partitions[i].sizeMiB, fs: partitions[i].fs, label: partitions[i].label,
    index: r.index, offset: r.start, size: r.size,
  }));
  return { parts, spec };
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

/**
 * `diskwright bootenv IMG ARGS…` through the CLI's own entry point (in
 * process, so no build step is needed): its exit status, stdout and stderr.
 */
export async function diskwrightCli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const dec = new TextDecoder();
  const status = await main(args, {
    stdout: (b: Uint8Array | string) => { stdout += typeof b === 'string' ? b : dec.decode(b); },
    stderr: (t: string) => { stderr += t; },
  });
  return { status, stdout, stderr };
}

/**
 * A file from the ext4 at partition `p`, read with our ext4 reader
 * (src/ext4/read.ts, openExt4), or null while that reader is not in the
 * tree yet (the suites then rely on debugfs alone and say so).
 */
export async function readWithOurExt4(image: string, p: PlacedPartition, file: string): Promise<string | null> {
  const mod = path.join(REPO, 'src/ext4/read.ts');
  if (!fs.existsSync(mod)) return null;
  const { openExt4 } = (await import(pathToFileURL(mod).href)) as { openExt4: (d: Disk) => FilesystemReader };
  const disk = openFileDisk(image, false);
  try {
    return new TextDecoder().decode(openExt4(subDisk(disk, p.offset, p.size)).readFile(file));
  } finally {
    disk.close();
  }
}

/** The files the presets path needs; until they are all in the tree that path is pending (its suites are skipped). */
export const PRESET_MODULES = ['src/image/presets.ts', 'src/node/build-file.ts'];
export const PRESETS_READY = PRESET_MODULES.every((f) => fs.existsSync(path.join(REPO, f)));

/**
 * Build an image from a preset (src/image/presets.ts: genericGpt or
 * raspberryPi) exactly as a user would: the preset's spec, written as JSON,
 * built by buildImageFile (host contents, temporary file renamed at the end).
 */
export async function buildPresetImage(image: string, preset: 'genericGpt' | 'raspberryPi', options: Record<string, unknown>): Promise<{ parts: PlacedPartition[]; spec: unknown }> {
  const presets = (await import(pathToFileURL(path.join(REPO, 'src/image/presets.ts')).href)) as Record<string, (o: unknown) => Record<string, unknown>>;
  const { buildImageFile } = (await import(pathToFileURL(path.join(REPO, 'src/node/build-file.ts')).href)) as {
    buildImageFile: (spec: string, out: string) => Promise<{ report: { partitions: Array<{ index: number; name: string | null; start: number; size: number; type: string }> } }>;
  };
  const spec = presets[preset](options);
  const specFile = `${image}.spec.json`;
  fs.writeFileSync(specFile, JSON.stringify(spec, null, 2));
  const { report } = await buildImageFile(specFile, image);
  const parts = report.partitions.map((r) => ({
    name: r.name ?? '', type: r.type, sizeMiB: r.size / MiB, fs: (r.index === 4 ? 'ext4' : 'fat32') as 'ext4' | 'fat32', label: r.name ?? '',
    index: r.index, offset: r.start, size: r.size,
  }));
  return { parts, spec };
}
