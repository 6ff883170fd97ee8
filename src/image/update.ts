// Updating one slot of a deployed A/B system in place: the inactive slot's
// partition is rewritten whole (its new filesystem, planned exactly as a
// fresh build of that partition, zeros everywhere else), read back and
// checked against the SHA-256 of what was written, and only then is the boot
// environment asked to try it (GRUB: boot_default/boot_counter/boot_success;
// Raspberry Pi: [tryboot] boot_partition), as `bootenv try` does.
//
// Order of writes: only bytes inside the slot's partition until the
// read-back matches; then the boot environment file, in place (one sector's
// worth on the ESP or CONTROL partition). An update interrupted anywhere
// before that leaves the running slot and the boot environment as they were:
// the worst case is a half-written inactive slot that nothing boots.
import { fail } from '../errors.js';
import { createSha256, type Sha256Hasher } from '../codec/sha256.js';
import type { Disk } from '../io/disk.js';
import { hashRange, RangeWriter } from '../io/range-writer.js';
import type { Sink } from '../io/sink.js';
import type { FilesystemPlan } from '../fs/types.js';
import { decodeBootenv, editBootenvInPlace, locateBootenv, runBootenvCommand, slotsOf } from '../bootenv/locate.js';
import type { Slot, SlotState } from '../bootenv/slots.js';
import { openImage, type ImagePartition, type OpenedImage } from './open.js';
import { probeFilesystem } from './registry.js';

/** The partition that holds each slot, on both tracks (GPT System A/B, Pi Boot A/B). */
export const SLOT_PARTITION: Record<Slot, number> = { A: 2, B: 3 };

/** What goes into the slot: a planned filesystem, or the bytes of a slot payload (a filesystem image). */
export type SlotContent =
  | { kind: 'plan'; plan: FilesystemPlan }
  | { kind: 'bytes'; size: number; emit(sink: Sink, base: number): Promise<void> };

export interface UpdateSlotOptions {
  slot: Slot;
  /** Arm a trial of the slot with this many tries (GRUB; the Pi has one); no trial when absent. */
  tries?: number;
  /** Write the slot even when the boot environment says it is running or committed. */
  force?: boolean;
  /** A faster SHA-256 (node:crypto's) than the built-in one. */
  createHasher?: () => Sha256Hasher;
}

export interface UpdateSlotReport {
  slot: Slot;
  partition: number;
  /** Bytes from the start of the disk, and the partition's size. */
  offset: number;
  size: number;
  /** SHA-256 of the partition's bytes as written, and as read back (equal). */
  sha256: string;
  filesystem: { type: string; label: string | null; uuid: string | null } | null;
  /** The slot state before and after (after = before when no trial was armed). */
  before: SlotState;
  after: SlotState;
  armed: boolean;
}

function bootenvOf(img: OpenedImage) {
  const partitions = img.partitions.filter((p) => !p.container).map((p) => ({ index: p.index, type: p.type ?? '', disk: img.partitionDisk(p.index) }));
  return locateBootenv(partitions, probeFilesystem);
}

/** The slot partition of an opened image, checked against what is to be written there. */
export function slotPartition(img: OpenedImage, slot: Slot): ImagePartition {
  const index = SLOT_PARTITION[slot];
  const p = img.partitions.find((q) => q.index === index);
  if (!p) fail('SLOT_NO_PARTITION', `the image has no partition ${index} for slot ${slot}`, { slot, partition: index });
  return p;
}

/** The slot state the image's boot environment gives, and refuse (SLOT_ACTIVE) to touch the running or committed slot. */
export function checkSlotWritable(img: OpenedImage, slot: Slot, force = false): SlotState {
  const loc = bootenvOf(img);
  const state = slotsOf(decodeBootenv(loc.reader.readFile(loc.path), loc.kind)).state();
  if (!force && (state.committed === slot || state.trying === slot)) {
    fail('SLOT_ACTIVE', `slot ${slot} is ${state.committed === slot ? 'the committed slot' : 'on trial'} (the boot environment at p${loc.partition}:${loc.path}); update the other slot, or pass --force`, { slot, committed: state.committed, trying: state.trying });
  }
  return state;
}

export async function updateSlot(disk: Disk, content: SlotContent, options: UpdateSlotOptions): Promise<UpdateSlotReport> {
  if (!disk.write) fail('IMAGE_READ_ONLY', 'the target must be opened writable to update a slot', {});
  const img = openImage(disk);
  const part = slotPartition(img, options.slot);
  const need = content.kind === 'plan' ? content.plan.size : content.size;
  if (need > part.size) fail('SLOT_TOO_SMALL', `slot ${options.slot}'s partition ${part.index} has ${part.size} bytes; the new filesystem needs ${need}`, { slot: options.slot, partition: part.index, expected: part.size, actual: need });
  const before = checkSlotWritable(img, options.slot, options.force);
  if (options.tries !== undefined) {
    // Rehearse the trial on a copy first: a tries count the boot loader cannot take fails before anything is written.
    const loc = bootenvOf(img);
    runBootenvCommand(decodeBootenv(loc.reader.readFile(loc.path), loc.kind), 'try', [String(options.tries)]);
  }
  const hasher = options.createHasher ?? createSha256;

  // 1. The partition, every byte of it, hashed as written.
  const writer = new RangeWriter(disk, part.start, part.size, hasher());
  if (content.kind === 'plan') await content.plan.emit(writer, part.start);
  else await content.emit(writer, part.start);
  await writer.finish();
  // 2. Read back.
  const back = hashRange(disk, part.start, part.size, hasher());
  if (back !== writer.sha256) fail('SLOT_VERIFY_FAILED', `slot ${options.slot} reads back as ${back}, not the ${writer.sha256} that was written; the boot environment was not changed`, { slot: options.slot, expected: writer.sha256, actual: back });
  // 3. Only now the boot environment.
  let after = before;
  if (options.tries !== undefined) {
    const res = editBootenvInPlace(bootenvOf(openImage(disk)), 'try', [String(options.tries)]);
    after = res.state!;
    if (after.trying !== options.slot) fail('SLOT_NOT_ARMED', `the boot environment now tries slot ${after.trying ?? 'none'}, not ${options.slot}`, { slot: options.slot, actual: after.trying });
  }
  const fsInfo = openImage(disk).filesystemInfo(part.index);
  return {
    slot: options.slot, partition: part.index, offset: part.start, size: part.size, sha256: writer.sha256!,
    filesystem: fsInfo ? { type: fsInfo.type, label: fsInfo.label, uuid: fsInfo.uuid } : null,
    before, after, armed: options.tries !== undefined,
  };
}
