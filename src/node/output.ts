// Where a built image goes on the host: OUT (sparse raw image), OUT.zst
// (streamed, no raw image on disk) and OUT.bmap (block map), as the CLI's
// `build -o OUT [--zstd] [--bmap]` promises:
//   - with zstd, OUT.zst is written, or OUT itself when it already ends in
//     ".zst"; the raw image is written only when asked for (raw: true);
//   - the block map is named after the raw image (x.img → x.img.bmap, also
//     for x.img.zst), which is where `bmaptool copy` looks for it;
//   - every file is built under a temporary name beside its target; only
//     when all of them are complete and synced are they renamed into place.
//     A failure, an abort() or the AbortSignal removes every temporary file
//     and leaves existing targets untouched.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskwrightError, fail } from '../errors.js';
import { BmapSink, type BmapResult, type RangeHasher } from '../io/bmap.js';
import type { Sink } from '../io/sink.js';
import { TeeSink } from '../io/tee-sink.js';
import { FileSink, ioError } from './file-sink.js';
import { ZstdSink, type ZstdSinkOptions } from './zstd-sink.js';
import { Qcow2Sink } from '../vdisk/qcow2-sink.js';
import { VhdDynamicSink, VhdFixedSink } from '../vdisk/vhd-sink.js';
import { VmdkStreamSink } from '../vdisk/vmdk-sink.js';
import { nodeDeflate } from './vdisk.js';

export interface OutputOptions {
  /** Write a streamed .img.zst. */
  zstd?: boolean | ZstdSinkOptions;
  /** Write a block map beside the image. */
  bmap?: boolean;
  /** Also write the raw image when zstd is on (default: only without zstd). */
  raw?: boolean;
  /** Aborts the output: temporary files are removed, and later calls throw ABORTED. */
  signal?: AbortSignal;
  /**
   * Make every output durable (fsync) before it is renamed into place
   * (default true). False leaves the writeback to the kernel: faster where a
   * disk is slow, and a crash soon after may lose an image that looked
   * complete (see FileSinkOptions.sync).
   */
  sync?: boolean;
  /** More sinks fed the same emission (a checksum, a progress meter); their failure fails the output. */
  also?: Sink[];
  /** The image file's format (default raw); the block map and .zst always describe the raw content. */
  format?: ImageFormat;
  /** qcow2: bytes per cluster; VHD dynamic: bytes per block. */
  clusterSize?: number;
  /** qcow2: deflate-compress clusters. */
  compress?: boolean;
  /** VHD: footer time stamp (seconds since the Unix epoch) and unique id. */
  time?: number;
  uniqueId?: Uint8Array;
  /** VMDK: the descriptor's content id. */
  cid?: number;
}

export type ImageFormat = 'raw' | 'qcow2' | 'vhd' | 'vhd-dynamic' | 'vmdk';

/** The format `build -o OUT` writes when none is given: from OUT's extension. */
export function formatFromPath(out: string): ImageFormat {
  const lower = out.toLowerCase().replace(/\.zst$/, '');
  if (lower.endsWith('.qcow2')) return 'qcow2';
  if (lower.endsWith('.vhd')) return 'vhd';
  if (lower.endsWith('.vmdk')) return 'vmdk';
  return 'raw';
}

/** The sink that writes an image file of `format` at `stage`. */
function imageFileSink(stage: string, opts: OutputOptions): Sink {
  const format = opts.format ?? 'raw';
  const sync = opts.sync ?? true;
  if (format === 'raw') return new FileSink(stage, { sync });
  // The container formats write their tables after the data and their header
  // at the start last: positional writes, through the page cache.
  const file = new FileSink(stage, { direct: false, sync });
  if (format === 'qcow2') return new Qcow2Sink(file, { clusterSize: opts.clusterSize, compress: opts.compress, codec: nodeDeflate });
  if (format === 'vmdk') return new VmdkStreamSink(file, { codec: nodeDeflate, grainSize: opts.clusterSize, cid: opts.cid });
  const vhd = { time: opts.time, uniqueId: opts.uniqueId, blockSize: opts.clusterSize };
  return format === 'vhd' ? new VhdFixedSink(file, vhd) : new VhdDynamicSink(file, vhd);
}

export interface OutputPaths {
  /** The raw image, when written. */
  image?: string;
  zstd?: string;
  bmap?: string;
}

export interface OutputResult {
  paths: OutputPaths;
  size: number;
  /** Bytes of the .zst file, when written. */
  compressedSize?: number;
  bmap?: BmapResult;
}

/** The files openOutput() would write for OUT and these options. */
export function outputPaths(out: string, opts: Pick<OutputOptions, 'zstd' | 'bmap' | 'raw'> = {}): OutputPaths {
  const target = path.resolve(out);
  const zstd = !!opts.zstd;
  const rawName = zstd && target.endsWith('.zst') ? target.slice(0, -'.zst'.length) : target;
  const paths: OutputPaths = {};
  if (!zstd || opts.raw) paths.image = rawName;
  if (zstd) paths.zstd = target.endsWith('.zst') ? target : `${target}.zst`;
  if (opts.bmap) paths.bmap = `${rawName}.bmap`;
  return paths;
}

let counter = 0;

function stagePath(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${++counter}.stage`);
}

function nodeSha256(): RangeHasher {
  const h = createHash('sha256');
  return { update: (d) => void h.update(d), digestHex: () => h.digest('hex') };
}

/** A Sink that writes OUT / OUT.zst / OUT.bmap; finish() resolves to what was written. */
export class OutputSink implements Sink {
  readonly paths: OutputPaths;
  private readonly tee: TeeSink;
  private readonly bmapSink: BmapSink | null;
  private readonly zstdSink: ZstdSink | null;
  /** [stage, target] pairs renamed on commit. */
  private readonly staged: Array<[string, string]> = [];
  private state: 'open' | 'finishing' | 'done' | 'aborted' = 'open';
  private abortError: DiskwrightError | null = null;
  private aborting: Promise<void> | null = null;
  private readonly signal: AbortSignal | undefined;
  private readonly sync: boolean;
  private readonly onAbort = (): void => {
    void this.abort(this.signal?.reason);
  };
  result: OutputResult | null = null;

  constructor(out: string, opts: OutputOptions = {}) {
    this.paths = outputPaths(out, opts);
    this.signal = opts.signal;
    this.sync = opts.sync ?? true;
    if (this.signal?.aborted) throw abortedError(this.signal.reason);
    for (const p of Object.values(this.paths) as string[]) {
      let st: fs.Stats | undefined;
      try { st = fs.statSync(p); } catch { /* absent: fine */ }
      if (st?.isDirectory()) fail('OUTPUT_IS_DIRECTORY', `output ${p} is a directory`, { path: p });
    }
    const sinks: Sink[] = [...(opts.also ?? [])];
    this.bmapSink = this.paths.bmap ? new BmapSink(null, { createHasher: nodeSha256 }) : null;
    if (this.bmapSink) sinks.push(this.bmapSink);
    try {
      if (this.paths.zstd) {
        const stage = stagePath(this.paths.zstd);
        this.zstdSink = new ZstdSink(stage, { sync: opts.sync, ...(typeof opts.zstd === 'object' ? opts.zstd : {}) });
        this.staged.push([stage, this.paths.zstd]);
        sinks.push(this.zstdSink);
      } else {
        this.zstdSink = null;
      }
      if (this.paths.image) {
        const stage = stagePath(this.paths.image);
        sinks.push(imageFileSink(stage, opts));
        this.staged.push([stage, this.paths.image]);
      }
    } catch (e) {
      void Promise.allSettled(sinks.map((s) => s.abort(e)));
      throw e;
    }
    this.tee = new TeeSink(sinks);
    this.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    await this.check();
    await this.guard(() => this.tee.write(offset, data));
  }

  async zero(offset: number, length: number): Promise<void> {
    await this.check();
    await this.guard(() => this.tee.zero(offset, length));
  }

  async finish(size: number): Promise<void> {
    await this.check();
    this.state = 'finishing';
    // Phase 1: complete every file under its stage name (the slow part).
    await this.guard(() => this.tee.finish(size));
    let bmapStage: string | null = null;
    const renamed: string[] = [];
    try {
      if (this.abortError) throw this.abortError;
      if (this.bmapSink && this.paths.bmap) {
        bmapStage = stagePath(this.paths.bmap);
        writeFileSynced(bmapStage, this.bmapSink.bmap().bytes, this.sync);
        this.staged.push([bmapStage, this.paths.bmap]);
      }
      if (this.signal?.aborted) throw abortedError(this.signal.reason);
      // Phase 2: rename into place, the block map last.
      for (const [stage, target] of this.staged) {
        try {
          fs.renameSync(stage, target);
        } catch (e) {
          throw ioError(e, target, 'rename');
        }
        renamed.push(target);
      }
    } catch (e) {
      // A partial set of outputs is worse than none: take back what was renamed.
      for (const t of renamed) try { fs.unlinkSync(t); } catch { /* gone */ }
      this.removeStages();
      this.state = 'aborted';
      this.signal?.removeEventListener('abort', this.onAbort);
      throw e;
    }
    this.state = 'done';
    this.signal?.removeEventListener('abort', this.onAbort);
    this.result = {
      paths: this.paths,
      size,
      ...(this.zstdSink ? { compressedSize: this.zstdSink.compressedSize } : {}),
      ...(this.bmapSink ? { bmap: this.bmapSink.bmap() } : {}),
    };
  }

  abort(reason?: unknown): Promise<void> {
    if (this.aborting) return this.aborting;
    if (this.state === 'done' || this.state === 'aborted') return Promise.resolve();
    this.state = 'aborted';
    this.abortError ??= reason instanceof DiskwrightError ? reason : abortedError(reason);
    this.signal?.removeEventListener('abort', this.onAbort);
    this.aborting = this.tee.abort(reason).then(() => this.removeStages());
    return this.aborting;
  }

  private async check(): Promise<void> {
    if (this.aborting) await this.aborting;
    if (this.abortError) throw this.abortError;
    if (this.state !== 'open') fail('SINK_CLOSED', `output ${Object.values(this.paths).join(', ')} is already closed`, { path: this.paths.image ?? this.paths.zstd });
  }

  /** Run a sink operation; on failure abort everything, leaving nothing behind. */
  private async guard(op: () => Promise<void>): Promise<void> {
    try {
      await op();
    } catch (e) {
      // Aborted first (the signal)? Then that is the error, not its echo from a closed sink.
      const first = this.abortError;
      await this.abort(e);
      throw first ?? e;
    }
    if (this.abortError) throw this.abortError;
  }

  private removeStages(): void {
    for (const [stage] of this.staged) try { fs.unlinkSync(stage); } catch { /* gone */ }
  }
}

/** Open the outputs for OUT: a Sink to emit the image into. */
export function openOutput(out: string, opts: OutputOptions = {}): OutputSink {
  return new OutputSink(out, opts);
}

function abortedError(reason: unknown): DiskwrightError {
  if (reason instanceof DiskwrightError) return reason;
  const why = reason instanceof Error ? reason.message : reason === undefined ? 'aborted' : String(reason);
  return new DiskwrightError('ABORTED', `output aborted: ${why}`, { reason: why }, { cause: reason });
}

function writeFileSynced(file: string, data: Uint8Array, sync: boolean): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(file, 'wx', 0o644);
    let done = 0;
    while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done);
    if (sync) fs.fsyncSync(fd);
  } catch (e) {
    throw ioError(e, file, 'write');
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}
