// Build an image from a spec file on the host: `from` paths resolve against
// the spec's directory, output goes through OutputSink (temporary files,
// renamed only when complete; optional .zst and .bmap).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskwrightError, fail } from '../errors.js';
import { buildImage, planPartition, type BuildOptions, type BuildReport } from '../image/build.js';
import { SLOT_PARTITION } from '../image/update.js';
import { RangeWriter } from '../io/range-writer.js';
import type { Disk } from '../io/disk.js';
import type { Slot } from '../bootenv/slots.js';
import { nodeSha256, type SlotPayloadInfo } from './update-file.js';
import { parseSpecJson, validateSpec, type FilesystemSpec } from '../image/spec.js';
import type { Timestamp } from '../tree/tree.js';
import { ioError } from './file-sink.js';
import { treeFromContents, type ContentItem, type ContentsOptions } from './inputs.js';
import { OutputSink, formatFromPath, type ImageFormat, type OutputResult } from './output.js';
import { deriveBytes, deriveU32 } from '../codec/derive.js';

export interface BuildFileOptions extends Pick<BuildOptions, 'onProgress' | 'signal' | 'seed'> {
  /** Write OUT.zst (streamed). */
  zstd?: boolean;
  /** Write OUT.bmap beside the image. */
  bmap?: boolean;
  /** With zstd: also write the raw image (by default only OUT.zst is written). */
  raw?: boolean;
  /** The SOURCE_DATE_EPOCH environment value (a string of whole seconds), if any. */
  sourceDateEpoch?: string | number;
  /** The image file's format (default: from OUT's extension, else raw). */
  format?: ImageFormat;
  /** qcow2 cluster size / VHD dynamic block size. */
  clusterSize?: number;
  /** qcow2: deflate-compressed clusters. */
  compress?: boolean;
  /** fsync every output before renaming it into place (default true; see OutputOptions.sync). */
  sync?: boolean;
}

export interface BuildFileResult {
  report: BuildReport;
  output: OutputResult;
}

/** Parse SOURCE_DATE_EPOCH: whole seconds. */
export function parseSourceDateEpoch(v: string | number | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = typeof v === 'number' ? v : /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : NaN;
  if (!Number.isSafeInteger(n)) fail('SOURCE_DATE_EPOCH_INVALID', `SOURCE_DATE_EPOCH must be whole seconds since the epoch, got ${JSON.stringify(v)}`, { actual: v });
  return n;
}

/** A loadTree for buildImage that reads host files, directories and tar archives. */
export function hostTreeLoader(baseDir: string): NonNullable<BuildOptions['loadTree']> {
  return (fsSpec: FilesystemSpec, specPath: string, defaultTime: Timestamp) =>
    treeFromContents((fsSpec.contents ?? []) as ContentItem[], {
      baseDir, defaultTime, path: `${specPath}.contents`, owner: fsSpec.owner as ContentsOptions['owner'],
    });
}

/** Read a spec file and build it to `out`. Nothing is left at `out` when this fails. */
export async function buildImageFile(specFile: string, out: string, options: BuildFileOptions = {}): Promise<BuildFileResult> {
  let text: string;
  try {
    text = fs.readFileSync(specFile, 'utf8');
  } catch (e) {
    throw ioError(e, specFile, 'read');
  }
  const spec = parseSpecJson(text, specFile);
  const checked = validateSpec(spec);
  const format = options.format ?? formatFromPath(out);
  if (format !== 'raw' && options.zstd) fail('USAGE', `--zstd compresses raw images; a ${format} image cannot also be .zst`, { format });
  if (format !== 'qcow2' && options.compress) fail('USAGE', `--compress is for qcow2 images, not ${format}`, { format });
  const sourceDateEpoch = parseSourceDateEpoch(options.sourceDateEpoch);
  const sink = new OutputSink(out, {
    zstd: options.zstd, bmap: options.bmap, raw: options.raw, signal: options.signal, sync: options.sync,
    format, clusterSize: options.clusterSize, compress: options.compress,
    // VHD footers: the spec's time and an id from its seed, never the clock.
    time: checked.sourceDateEpoch ?? sourceDateEpoch ?? 0,
    uniqueId: deriveBytes(options.seed ?? checked.seed, ['vhd-unique-id'], 16),
    cid: deriveU32(options.seed ?? checked.seed, 'vmdk-cid'),
  });
  try {
    const report = await buildImage(spec, sink, {
      onProgress: options.onProgress, signal: options.signal, seed: options.seed,
      sourceDateEpoch,
      loadTree: hostTreeLoader(path.dirname(path.resolve(specFile))),
    });
    if (!sink.result) throw new DiskwrightError('INTERNAL', 'output finished without a result');
    return { report, output: sink.result };
  } catch (e) {
    await sink.abort(e);
    throw e;
  }
}

export interface SlotPayloadResult {
  info: SlotPayloadInfo;
  output: OutputResult;
  /** Where the description (size, SHA-256) was written: OUT.json. */
  infoPath: string;
}

/**
 * `build --slot-payload A|B`: just that slot's filesystem, planned as the
 * whole build plans it, as a file of its own (the partition's bytes: raw, or
 * .zst), with OUT.json giving the slot, the partition size and the SHA-256
 * of the raw bytes, for `update --from`.
 */
export async function buildSlotPayload(specFile: string, out: string, slot: Slot, options: BuildFileOptions = {}): Promise<SlotPayloadResult> {
  let text: string;
  try {
    text = fs.readFileSync(specFile, 'utf8');
  } catch (e) {
    throw ioError(e, specFile, 'read');
  }
  const spec = parseSpecJson(text, specFile);
  if ((options.format ?? formatFromPath(out)) !== 'raw') fail('USAGE', '--slot-payload writes a raw filesystem image (or .zst)', { format: options.format });
  const { partition, filesystem } = await planPartition(spec, SLOT_PARTITION[slot], {
    seed: options.seed, sourceDateEpoch: parseSourceDateEpoch(options.sourceDateEpoch), signal: options.signal,
    loadTree: hostTreeLoader(path.dirname(path.resolve(specFile))),
  });
  const hash = new RangeWriter(hashOnlyDisk(partition.size), 0, partition.size, nodeSha256());
  const sink = new OutputSink(out, { zstd: options.zstd, bmap: options.bmap, raw: options.raw, signal: options.signal, sync: options.sync, also: [hash] });
  try {
    await filesystem.emit(sink, 0);
    await sink.finish(partition.size);
  } catch (e) {
    await sink.abort(e);
    throw e;
  }
  const info: SlotPayloadInfo = {
    slot, partition: partition.index, size: partition.size, sha256: hash.sha256!,
    filesystem: { type: filesystem.type, label: filesystem.label, uuid: filesystem.uuid },
  };
  const infoPath = `${path.resolve(out)}.json`;
  fs.writeFileSync(infoPath, JSON.stringify(info, null, 2) + '\n');
  return { info, output: sink.result!, infoPath };
}

/** A disk that only counts: RangeWriter over it hashes what a partition would hold. */
function hashOnlyDisk(size: number): Disk {
  return { size, read: () => fail('INTERNAL', 'not readable', {}), write: () => {} };
}
