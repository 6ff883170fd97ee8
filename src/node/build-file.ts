// Build an image from a spec file on the host: `from` paths resolve against
// the spec's directory, output goes through OutputSink (temporary files,
// renamed only when complete; optional .zst and .bmap).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskwrightError, fail } from '../errors.js';
import { buildImage, type BuildOptions, type BuildReport } from '../image/build.js';
import { parseSpecJson, validateSpec, type FilesystemSpec } from '../image/spec.js';
import type { Timestamp } from '../tree/tree.js';
import { ioError } from './file-sink.js';
import { treeFromContents, type ContentItem, type ContentsOptions } from './inputs.js';
import { OutputSink, formatFromPath, type ImageFormat, type OutputResult } from './output.js';
import { deriveBytes } from '../codec/derive.js';

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
