// Spec → plan → emission. Every partition's place and every filesystem's
// metadata are computed first; then the image goes to the sink in increasing
// offset order: the (protective) MBR, the primary GPT, each filesystem, the
// backup GPT. Arrays that must read as zeros are given as zero ranges, so an
// image flashed over old data is still right. An AbortSignal is honoured
// between extents: the sink is aborted and nothing is left behind.
import { deriveGuid, deriveU32 } from '../codec/derive.js';
import { DiskwrightError, fail } from '../errors.js';
import type { FilesystemPlan } from '../fs/types.js';
import type { Sink } from '../io/sink.js';
import { FileTree, type Timestamp } from '../tree/tree.js';
import { createGptTable, encodeGpt, gptGeometry, usedArrayLength, type GptTable } from '../gpt/table.js';
import { resolveGptType } from '../gpt/types.js';
import { encodeMbr, type MbrPartition, type MbrTable } from '../mbr/table.js';
import { formatMbrType, resolveMbrType } from '../mbr/types.js';
import { planLayout } from './layout.js';
import { bootenvFiles } from './bootenv-spec.js';
import { bytesSource } from '../io/source.js';
import { driverFor } from './registry.js';
import { gptAttributeList, gptAttributeMask, parseMbrDiskId, validateSpec, type FilesystemSpec, type ImageSpec } from './spec.js';

export interface BuildProgress {
  /** Bytes handed to the sink so far (data, not zero ranges). */
  bytes: number;
  files: number;
  /** Partition being written (1-based), or 0 for the tables. */
  partition: number;
  /** Files in the filesystems planned so far (the whole image once `planned`). */
  totalFiles: number;
  /** Bytes of file data in the filesystems planned so far; `bytes` also counts metadata, so it may pass this a little. */
  totalDataBytes: number;
  /**
   * True once every filesystem is planned. buildImage plans each one just
   * before writing it (the next partitions' inputs are read meanwhile), so
   * early on the totals cover only the first partitions.
   */
  planned: boolean;
}

export interface BuildOptions {
  onProgress?: (p: BuildProgress) => void;
  signal?: AbortSignal;
  /** Resolve a filesystem's `contents` into a tree (the node edge supplies one that reads host files). */
  loadTree?: (fsSpec: FilesystemSpec, path: string, defaultTime: Timestamp) => Promise<FileTree>;
  /** Overrides the spec's seed. */
  seed?: string;
  /** SOURCE_DATE_EPOCH from the environment: used when the spec has no sourceDateEpoch (default 0). */
  sourceDateEpoch?: number;
}

export interface PlannedPartition {
  index: number;
  name: string | null;
  start: number;
  size: number;
  /** Upper-case GUID (GPT) or "0x0c" (MBR). */
  type: string;
  uuid: string | null;
  bootable: boolean;
  attributes: (string | number)[];
  filesystem: FilesystemPlan | null;
}

export interface ImagePlan {
  spec: ImageSpec;
  size: number;
  sectorSize: number;
  table: 'gpt' | 'mbr';
  diskId: string;
  partitions: PlannedPartition[];
  gpt?: GptTable;
  mbr?: MbrTable;
}

export interface BuildReport {
  table: 'gpt' | 'mbr';
  size: number;
  sectorSize: number;
  diskId: string;
  partitions: {
    index: number; name: string | null; start: number; size: number; type: string; uuid: string | null; bootable: boolean; attributes: (string | number)[];
    filesystem: { type: string; label: string | null; uuid: string | null; files: number; dataBytes: number } | null;
  }[];
  /** Files written into filesystems. */
  files: number;
  /** Bytes of data handed to the sink (zero ranges not counted). */
  bytes: number;
}

/** Bytes cleared at each end of a partition that has no filesystem. */
export const WIPE_BYTES = 1024 * 1024;

function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) {
    throw new DiskwrightError('ABORTED', 'build aborted', { reason: signal.reason instanceof Error ? signal.reason.message : signal.reason });
  }
}

interface PlanContext {
  seed: string;
  defaultTime: Timestamp;
}

/** The table and every partition's place; no filesystem planned yet. */
function planTable(rawSpec: unknown, options: BuildOptions): { plan: ImagePlan; ctx: PlanContext } {
  const spec = validateSpec(rawSpec);
  const seed = options.seed ?? spec.seed;
  const epoch = spec.sourceDateEpoch ?? options.sourceDateEpoch ?? 0;
  const defaultTime: Timestamp = { sec: epoch, nsec: 0 };
  const ss = spec.sectorSize;
  let usableStart: number;
  let usableEnd: number;
  let maxPartitions: number;
  if (spec.table === 'gpt') {
    const g = gptGeometry(spec.size, ss, spec.entryCount);
    usableStart = g.firstUsableLba * ss;
    usableEnd = (g.lastUsableLba + 1) * ss;
    maxPartitions = spec.entryCount;
  } else {
    if (spec.size < 2 * ss) fail('SPEC_SIZE', `size: ${spec.size} bytes cannot hold an MBR and a partition`, { path: 'size', actual: spec.size });
    usableStart = ss;
    usableEnd = spec.size;
    maxPartitions = 4;
  }
  const placed = planLayout({
    table: spec.table, sectorSize: ss, alignment: spec.alignment, usableStart, usableEnd, maxPartitions,
    partitions: spec.partitions.map((p) => ({ size: p.size, start: p.start })),
  });

  const partitions: PlannedPartition[] = [];
  let gpt: GptTable | undefined;
  let mbr: MbrTable | undefined;
  let diskId: string;
  if (spec.table === 'gpt') {
    diskId = spec.diskId ?? deriveGuid(seed, 'gpt-disk-guid');
    spec.partitions.forEach((p, i) => {
      const mask = gptAttributeMask(p.attributes ?? [], `partitions[${i}].attributes`) | (p.bootable ? 4n : 0n);
      partitions.push({
        index: i + 1, name: p.name ?? '', start: placed[i].start, size: placed[i].size,
        type: resolveGptType(p.type, `partitions[${i}].type`), uuid: p.uuid ?? deriveGuid(seed, 'gpt-partition-guid', i + 1),
        bootable: (mask & 4n) !== 0n, attributes: gptAttributeList(mask), filesystem: null,
      });
    });
    gpt = createGptTable({
      diskSize: spec.size, sectorSize: ss, entryCount: spec.entryCount, diskGuid: diskId,
      partitions: partitions.map((p) => ({
        index: p.index, typeGuid: p.type, uniqueGuid: p.uuid!, startLba: p.start / ss, endLba: (p.start + p.size) / ss - 1,
        attributes: gptAttributeMask(p.attributes), name: p.name ?? '',
      })),
    });
  } else {
    const sig = spec.diskId !== undefined ? parseMbrDiskId(spec.diskId) : deriveU32(seed, 'mbr-disk-signature');
    diskId = `0x${sig.toString(16).padStart(8, '0')}`;
    const primaries: (MbrPartition | null)[] = [null, null, null, null];
    spec.partitions.forEach((p, i) => {
      const type = resolveMbrType(p.type, `partitions[${i}].type`);
      partitions.push({
        index: i + 1, name: p.name ?? null, start: placed[i].start, size: placed[i].size, type: formatMbrType(type),
        uuid: `${sig.toString(16).padStart(8, '0')}-${String(i + 1).padStart(2, '0')}`, bootable: p.bootable ?? false, attributes: [], filesystem: null,
      });
      primaries[i] = { index: i + 1, type, bootable: p.bootable ?? false, startLba: placed[i].start / ss, sizeLba: placed[i].size / ss };
    });
    mbr = { diskSignature: sig, primaries, logicals: [] };
    encodeMbr(mbr); // range checks now, not half-way through emission
  }

  // Each filesystem's options against its partition's size, before any
  // input is read: a bad option or an impossible size fails at once.
  spec.partitions.forEach((part, i) => {
    if (!part.filesystem) return;
    const p = partitions[i];
    driverFor(part.filesystem.type)!.check?.({
      spec: part.filesystem, path: `partitions[${i}].filesystem`, size: p.size, partitionOffset: p.start, sectorSize: ss,
      seed: `${seed}/partition-${p.index}`, defaultTime, partitionIndex: p.index,
    });
  });
  return { plan: { spec, size: spec.size, sectorSize: ss, table: spec.table, diskId, partitions, gpt, mbr }, ctx: { seed, defaultTime } };
}

/**
 * Start reading every filesystem's inputs at once (host directories are
 * listed on a worker thread, see node/list-worker.ts); each tree is awaited
 * when its filesystem is planned. A failure surfaces there, in partition
 * order, whatever order the reads end in.
 */
function startTrees(plan: ImagePlan, ctx: PlanContext, options: BuildOptions): Array<Promise<FileTree> | null> {
  return plan.spec.partitions.map((part, i) => {
    const fsSpec = part.filesystem;
    if (!fsSpec || fsSpec.contents === undefined || (fsSpec.contents as unknown[]).length === 0) return null;
    const path = `partitions[${i}].filesystem`;
    if (!options.loadTree) {
      const p = Promise.reject(new DiskwrightError('BUILD_NO_INPUTS', `${path}.contents: this build has no way to read input files`, { path: `${path}.contents` }));
      p.catch(() => undefined);
      return p;
    }
    const p = options.loadTree(fsSpec, path, ctx.defaultTime);
    p.catch(() => undefined); // observed when the partition is planned
    return p;
  });
}

/** Plan partition `i`'s filesystem (bootenv files added) into plan.partitions[i].filesystem. */
async function planFilesystem(plan: ImagePlan, i: number, treeLoad: Promise<FileTree> | null, ctx: PlanContext): Promise<FilesystemPlan | null> {
  const fsSpec = plan.spec.partitions[i].filesystem;
  if (!fsSpec) return null;
  const path = `partitions[${i}].filesystem`;
  const driver = driverFor(fsSpec.type)!;
  const tree = treeLoad ? await treeLoad : new FileTree({ defaultTime: ctx.defaultTime });
  const p = plan.partitions[i];
  for (const f of bootenvFiles(plan.spec.bootenv)) {
    if (f.partition !== p.index) continue;
    tree.addFile(f.path, bytesSource(f.bytes, `bootenv ${f.path}`), {
      mode: 0o644, mtime: ctx.defaultTime, contiguous: f.contiguous, origin: `bootenv (${f.path})`,
    });
  }
  const fsPlan = driver.plan({
    tree, spec: fsSpec, path, size: p.size, partitionOffset: p.start, sectorSize: plan.sectorSize,
    seed: `${ctx.seed}/partition-${p.index}`, defaultTime: ctx.defaultTime, partitionIndex: p.index,
  });
  if (fsPlan.size > p.size) {
    fail('BUILD_FS_TOO_BIG', `${path}: the ${fsPlan.type} filesystem needs ${fsPlan.size} bytes, the partition has ${p.size}`, { path, expected: p.size, actual: fsPlan.size, missing: fsPlan.size - p.size });
  }
  p.filesystem = fsPlan;
  return fsPlan;
}

/** Compute the whole image: table, partition places and every filesystem's plan. */
export async function planImage(rawSpec: unknown, options: BuildOptions = {}): Promise<ImagePlan> {
  const { plan, ctx } = planTable(rawSpec, options);
  const trees = startTrees(plan, ctx, options);
  for (let i = 0; i < plan.partitions.length; i++) {
    checkAborted(options.signal);
    await planFilesystem(plan, i, trees[i], ctx);
  }
  return plan;
}

/** A sink guard: checks the signal before each extent, keeps extents inside a range, counts bytes. */
class GuardSink implements Sink {
  bytes = 0;
  lo = 0;
  hi = Infinity;
  what = 'image';
  constructor(private readonly inner: Sink, private readonly signal: AbortSignal | undefined, private readonly tick: () => void) {}
  private check(offset: number, length: number): void {
    checkAborted(this.signal);
    if (offset < this.lo || offset + length > this.hi) {
      fail('BUILD_EMIT_RANGE', `${this.what}: extent ${offset}+${length} lies outside ${this.lo}..${this.hi}`, { offset, length, expected: [this.lo, this.hi] });
    }
  }
  async write(offset: number, data: Uint8Array): Promise<void> {
    this.check(offset, data.length);
    await this.inner.write(offset, data);
    this.bytes += data.length;
    this.tick();
  }
  async zero(offset: number, length: number): Promise<void> {
    this.check(offset, length);
    await this.inner.zero(offset, length);
  }
  async finish(size: number): Promise<void> {
    checkAborted(this.signal);
    await this.inner.finish(size);
  }
  async abort(reason?: unknown): Promise<void> {
    await this.inner.abort(reason);
  }
}

/** Write a planned image to a sink, in offset order. */
export async function emitImage(plan: ImagePlan, sink: Sink, options: Pick<BuildOptions, 'onProgress' | 'signal'> = {}): Promise<BuildReport> {
  return emitPlanned(plan, sink, options, async (p) => p.filesystem);
}

/**
 * Write the image in offset order; `filesystemOf` gives each partition's
 * filesystem plan when its turn comes (already planned, or planned then).
 */
async function emitPlanned(
  plan: ImagePlan, sink: Sink, options: Pick<BuildOptions, 'onProgress' | 'signal'>,
  filesystemOf: (p: PlannedPartition) => Promise<FilesystemPlan | null>,
): Promise<BuildReport> {
  let files = 0;
  let partition = 0;
  let totalFiles = 0;
  let totalDataBytes = 0;
  let planned = false;
  /** Totals over the filesystems planned so far; whether that is all of them. */
  const count = () => {
    totalFiles = plan.partitions.reduce((n, p) => n + (p.filesystem?.files ?? 0), 0);
    totalDataBytes = plan.partitions.reduce((n, p) => n + (p.filesystem?.dataBytes ?? 0), 0);
    planned = plan.partitions.every((p) => p.filesystem !== null || !plan.spec.partitions[p.index - 1].filesystem);
  };
  count();
  const guard: GuardSink = new GuardSink(sink, options.signal, () => options.onProgress?.({ bytes: guard.bytes, files, partition, totalFiles, totalDataBytes, planned }));
  try {
    const ss = plan.sectorSize;
    let backup: (() => Promise<void>) | null = null;
    if (plan.gpt) {
      const e = encodeGpt(plan.gpt);
      await guard.write(0, e.protectiveMbr);
      if (ss > 512) await guard.zero(512, ss - 512);
      await guard.write(e.primaryHeaderOffset, e.primaryHeader);
      const used = usedArrayLength(e.entries, ss);
      const writeArray = async (at: number) => {
        if (used > 0) await guard.write(at, e.entries.subarray(0, used));
        if (used < e.entries.length) await guard.zero(at + used, e.entries.length - used);
      };
      await writeArray(e.primaryEntriesOffset);
      backup = async () => {
        await writeArray(e.backupEntriesOffset);
        await guard.write(e.backupHeaderOffset, e.backupHeader);
      };
    } else {
      await guard.write(0, encodeMbr(plan.mbr!));
    }
    const order = [...plan.partitions].sort((a, b) => a.start - b.start);
    for (const p of order) {
      checkAborted(options.signal);
      const fsPlan = await filesystemOf(p);
      if (!planned) count();
      if (!fsPlan) {
        // An empty partition: its first and last MiB must read as zero, so a
        // flash over old data leaves no stale filesystem or RAID signature
        // there for blkid or the kernel to find (as systemd-repart and
        // `wipefs` clear signatures on new partitions).
        const head = Math.min(p.size, WIPE_BYTES);
        await guard.zero(p.start, head);
        const tail = Math.min(p.size - head, WIPE_BYTES);
        if (tail > 0) await guard.zero(p.start + p.size - tail, tail);
        continue;
      }
      partition = p.index;
      guard.lo = p.start;
      guard.hi = p.start + p.size;
      guard.what = `partition ${p.index}`;
      const before = files;
      await fsPlan.emit(guard, p.start, (_b, f) => { files = before + f; });
      files = before + fsPlan.files;
      guard.lo = 0;
      guard.hi = Infinity;
      guard.what = 'image';
    }
    partition = 0;
    if (backup) await backup();
    await guard.finish(plan.size);
    options.onProgress?.({ bytes: guard.bytes, files, partition: 0, totalFiles, totalDataBytes, planned });
  } catch (e) {
    try { await sink.abort(e); } catch { /* the first error is the one to report */ }
    throw e;
  }
  return reportOf(plan, guard.bytes);
}

function reportOf(plan: ImagePlan, bytes: number): BuildReport {
  return {
    table: plan.table, size: plan.size, sectorSize: plan.sectorSize, diskId: plan.diskId,
    partitions: plan.partitions.map((p) => ({
      index: p.index, name: p.name, start: p.start, size: p.size, type: p.type, uuid: p.uuid, bootable: p.bootable, attributes: p.attributes,
      filesystem: p.filesystem ? { type: p.filesystem.type, label: p.filesystem.label, uuid: p.filesystem.uuid, files: p.filesystem.files, dataBytes: p.filesystem.dataBytes } : null,
    })),
    files: plan.partitions.reduce((n, p) => n + (p.filesystem?.files ?? 0), 0),
    bytes,
  };
}

/**
 * Build an image from a spec into a sink. The table is planned first; then
 * each filesystem is planned just before it is written, while the inputs of
 * the ones after it are still being read (a root filesystem's directory walk
 * overlaps with writing the boot partitions). On any failure the sink is
 * aborted, so a bad input found late still leaves nothing behind.
 */
export async function buildImage(spec: unknown, sink: Sink, options: BuildOptions = {}): Promise<BuildReport> {
  let plan: ImagePlan;
  let ctx: PlanContext;
  try {
    ({ plan, ctx } = planTable(spec, options));
  } catch (e) {
    try { await sink.abort(e); } catch { /* keep the first error */ }
    throw e;
  }
  const trees = startTrees(plan, ctx, options);
  return emitPlanned(plan, sink, options, (p) => planFilesystem(plan, p.index - 1, trees[p.index - 1], ctx));
}

/**
 * One partition's filesystem, planned exactly as a whole build of the spec
 * plans it (the same seed, times, options and boot environment files), with
 * only that partition's inputs read: for slot updates and slot payloads.
 */
export async function planPartition(rawSpec: unknown, index: number, options: BuildOptions = {}): Promise<{ partition: PlannedPartition; filesystem: FilesystemPlan; sectorSize: number }> {
  const { plan, ctx } = planTable(rawSpec, options);
  const i = plan.partitions.findIndex((p) => p.index === index);
  if (i < 0) fail('SPEC_NO_PARTITION', `the spec has no partition ${index} (it has ${plan.partitions.map((p) => p.index).join(', ')})`, { partition: index });
  const trees = startTrees({ ...plan, spec: { ...plan.spec, partitions: plan.spec.partitions.map((p, j) => (j === i ? p : { ...p, filesystem: undefined })) } }, ctx, options);
  const fsPlan = await planFilesystem(plan, i, trees[i], ctx);
  if (!fsPlan) fail('SPEC_NO_FILESYSTEM', `partitions[${i}] has no filesystem to build`, { partition: index, path: `partitions[${i}]` });
  return { partition: plan.partitions[i], filesystem: fsPlan, sectorSize: plan.sectorSize };
}
