// `diskwright update` on the host: the target (an image file or a block
// device) opened writable, the new content from a spec (its slot partition,
// planned as a fresh build plans it), a directory or tar (planned with the
// filesystem type, label and UUID found in the slot now), or a slot payload
// (a filesystem image made by `build --slot-payload`, checked against the
// SHA-256 in its .json beside it); then updateSlot, and an fsync.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { fail } from '../errors.js';
import type { Sha256Hasher } from '../codec/sha256.js';
import { planPartition } from '../image/build.js';
import { driverFor } from '../image/registry.js';
import { openImage } from '../image/open.js';
import { SLOT_PARTITION, slotPartition, updateSlot, type SlotContent, type UpdateSlotReport } from '../image/update.js';
import type { Slot } from '../bootenv/slots.js';
import { parseSpecJson } from '../image/spec.js';
import { hostTreeLoader, parseSourceDateEpoch } from './build-file.js';
import { treeFromContents } from './inputs.js';
import { openImageDisk } from './vdisk.js';
import { ioError } from './file-sink.js';
import type { Disk } from '../io/disk.js';

export interface UpdateSlotFileOptions {
  slot: Slot;
  /** A spec file (.json), a directory, a tar archive, or a slot payload file. */
  from: string;
  tries?: number;
  force?: boolean;
  /** Seed for the new filesystem's ids when `from` is not a spec (default "diskwright"). */
  seed?: string;
  sourceDateEpoch?: string | number;
  /** "root" forces 0:0 on a directory or tar input. */
  owner?: 'root' | 'keep';
}

export function nodeSha256(): Sha256Hasher {
  const h = createHash('sha256');
  return { update: (d) => void h.update(d), digest: () => new Uint8Array(h.digest()) };
}

/** The payload's description written beside it by `build --slot-payload`. */
export interface SlotPayloadInfo {
  slot: Slot;
  partition: number;
  size: number;
  sha256: string;
  filesystem: { type: string; label: string | null; uuid: string | null };
}

const ARCHIVE = /\.(tar|tar\.gz|tgz)$/i;

async function contentFrom(disk: Disk, opts: UpdateSlotFileOptions): Promise<SlotContent> {
  const from = path.resolve(opts.from);
  let st: fs.Stats;
  try {
    st = fs.statSync(from);
  } catch (e) {
    throw ioError(e, from, 'stat');
  }
  const epoch = parseSourceDateEpoch(opts.sourceDateEpoch);
  if (st.isFile() && from.endsWith('.json')) {
    const spec = parseSpecJson(fs.readFileSync(from, 'utf8'), from);
    const { filesystem } = await planPartition(spec, SLOT_PARTITION[opts.slot], {
      seed: opts.seed, sourceDateEpoch: epoch, loadTree: hostTreeLoader(path.dirname(from)),
    });
    return { kind: 'plan', plan: filesystem };
  }
  const img = openImage(disk);
  const part = slotPartition(img, opts.slot);
  if (st.isDirectory() || ARCHIVE.test(from)) {
    // The slot's filesystem as it is now says what to build: type, label, UUID.
    const info = img.filesystemInfo(part.index);
    if (!info) fail('SLOT_NO_FILESYSTEM', `slot ${opts.slot} (partition ${part.index}) holds no filesystem to take the type and label from; use a spec (--from SPEC.json)`, { slot: opts.slot, partition: part.index });
    const fsSpec: Record<string, unknown> = info.type.startsWith('fat')
      ? { type: 'fat', fat: info.type, label: info.label ?? undefined, ...(info.uuid ? { volumeId: info.uuid } : {}) }
      : { type: 'ext4', label: info.label ?? undefined, ...(info.uuid ? { uuid: info.uuid } : {}) };
    const defaultTime = { sec: epoch ?? 0, nsec: 0 };
    const tree = await treeFromContents([{ from, to: '/' }], { baseDir: process.cwd(), defaultTime, path: 'from', owner: opts.owner ?? 'keep' });
    const plan = driverFor(fsSpec.type as string)!.plan({
      tree, spec: fsSpec, path: 'from', size: part.size, partitionOffset: part.start, sectorSize: img.sectorSize,
      seed: `${opts.seed ?? 'diskwright'}/partition-${part.index}`, defaultTime, partitionIndex: part.index,
    });
    return { kind: 'plan', plan };
  }
  if (!st.isFile()) fail('SLOT_SOURCE', `${from} is neither a spec, a directory, a tar archive nor a slot payload`, { path: from });
  if (/\.zst$/i.test(from)) fail('SLOT_SOURCE', `${from}: a compressed slot payload; decompress it first (zstd -d)`, { path: from });
  // A slot payload: check its SHA-256 against the .json beside it before writing anything.
  const infoFile = `${from}.json`;
  if (fs.existsSync(infoFile)) {
    const info = JSON.parse(fs.readFileSync(infoFile, 'utf8')) as SlotPayloadInfo;
    const h = createHash('sha256');
    const fd = fs.openSync(from, 'r');
    try {
      const buf = Buffer.alloc(1 << 22);
      for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
    } finally {
      fs.closeSync(fd);
    }
    const got = h.digest('hex');
    if (info.size !== st.size || info.sha256 !== got) fail('SLOT_PAYLOAD_CORRUPT', `${from} has SHA-256 ${got} and ${st.size} bytes; ${path.basename(infoFile)} says ${info.sha256} and ${info.size}`, { path: from, expected: info.sha256, actual: got });
    if (info.slot !== opts.slot) fail('SLOT_PAYLOAD_SLOT', `${from} was built for slot ${info.slot}, not ${opts.slot}`, { path: from, expected: opts.slot, actual: info.slot });
  }
  return {
    kind: 'bytes', size: st.size,
    async emit(sink, base) {
      const fd = fs.openSync(from, 'r');
      try {
        const buf = new Uint8Array(1 << 22);
        for (let o = 0; o < st.size;) {
          const n = fs.readSync(fd, buf, 0, Math.min(buf.length, st.size - o), o);
          if (n === 0) fail('IO_SOURCE_CHANGED', `${from} shrank while it was copied`, { path: from });
          await sink.write(base + o, buf.subarray(0, n));
          o += n;
        }
      } finally {
        fs.closeSync(fd);
      }
    },
  };
}

/** Update a slot of an image file or block device; the target is fsynced before this returns. */
export async function updateSlotFile(target: string, opts: UpdateSlotFileOptions): Promise<UpdateSlotReport> {
  const disk = openImageDisk(target, true);
  try {
    if (disk.format !== 'raw') fail('SLOT_TARGET_FORMAT', `${target} is a ${disk.format} image; slot updates write raw images and block devices (rewriting a partition needs clusters a ${disk.format} file may not have)`, { path: target, actual: disk.format });
    const content = await contentFrom(disk, opts);
    const report = await updateSlot(disk, content, { slot: opts.slot, tries: opts.tries, force: opts.force, createHasher: nodeSha256 });
    disk.sync();
    return report;
  } finally {
    disk.close();
  }
}
