// The A/B slot state machine, one interface over the two boot environments:
// the GRUB env block (boot_default / boot_counter / boot_success, driven at
// boot by fixtures/grub/grub.cfg) and the Raspberry Pi autoboot.txt with the
// firmware's one-shot tryboot flag.
//
// GRUB semantics (what fixtures/grub/grub.cfg does on every boot):
//   boot_default  "A" or "B": the slot GRUB boots (anything but "B" means A).
//   boot_success  "0": boot_default is on trial and not yet confirmed;
//                 anything else (normally "1"): boot_default is committed.
//   boot_counter  trial boots left, "0".."9".
//   On a boot with boot_success=0: counter N in 1..9 → N-1 (saved), boot the
//   trial slot; counter 0 or unreadable → the tries are used up: switch
//   boot_default to the other slot (the last good one), boot_success=1,
//   boot_counter=0 (saved), boot that. With boot_success≠0 nothing is saved.
//   So tryNext(N) gives the new slot N boots to call markGood().
//
// Raspberry Pi semantics: `[all] boot_partition` names the committed slot
// (A = partition 2, B = partition 3), `[tryboot] boot_partition` the other,
// `tryboot_a_b=1`. A trial is not in the file: the running system reboots
// with `reboot "0 tryboot"`, which sets the firmware's one-shot tryboot flag;
// the firmware clears the flag and boots the [tryboot] partition once, so a
// crash or plain reboot returns to the [all] partition. The tried system sees
// /proc/device-tree/chosen/bootloader/tryboot = 1, and commits by swapping
// the two boot_partition values. Hence at most one try.
import { DiskwrightError, fail } from '../errors.js';
import { GrubEnv, createGrubEnv } from './grubenv.js';
import { Autoboot, RPI_SLOT_PARTITION } from './autoboot.js';

export type Slot = 'A' | 'B';

export interface SlotState {
  /** The last good slot: where a failed try ends. */
  committed: Slot;
  /** The slot on trial, or null. */
  trying: Slot | null;
  /** Trial boots not yet started. */
  triesLeft: number;
  /** True when no trial is pending or running (the booted slot is the committed one). */
  confirmed: boolean;
}

export interface AbSlots {
  readonly variant: 'grub' | 'rpi';
  /** Tries `tryNext()` gives when none are named. */
  readonly defaultTries: number;
  readonly maxTries: number;
  state(): SlotState;
  /** Boot the other slot for at most `tries` boots, then fall back to the committed one. */
  tryNext(tries?: number): void;
  /** Confirm the slot on trial (when `current` is given, only if that is the slot on trial). */
  markGood(current?: Slot): void;
  /** Cancel a trial: back to the committed slot. */
  rollback(): void;
  /** Make `slot` the committed slot outright, no trial. */
  setCommitted(slot: Slot): void;
}

export function otherSlot(s: Slot): Slot {
  return s === 'A' ? 'B' : 'A';
}

export function parseSlot(s: string): Slot {
  const u = s.trim().toUpperCase();
  if (u !== 'A' && u !== 'B') fail('BOOTENV_SLOT', `a slot is A or B, not ${JSON.stringify(s)}`, { field: 'slot', expected: 'A|B', actual: s });
  return u;
}

function checkTries(tries: number, max: number): void {
  if (!Number.isInteger(tries) || tries < 1 || tries > max) {
    throw new DiskwrightError('BOOTENV_TRIES', `tries must be a whole number from 1 to ${max}, not ${tries}`, { field: 'tries', expected: `1..${max}`, actual: tries, max });
  }
}

/** Highest boot_counter the if/elif chain in fixtures/grub/grub.cfg decrements. */
export const GRUB_MAX_TRIES = 9;

/** The variables a GRUB A/B image starts with: slot A committed. */
export function createGrubSlotEnv(committed: Slot = 'A'): GrubEnv {
  return createGrubEnv([['boot_default', committed], ['boot_counter', '0'], ['boot_success', '1']]);
}

export class GrubSlots implements AbSlots {
  readonly variant = 'grub' as const;
  readonly defaultTries = 3;
  readonly maxTries = GRUB_MAX_TRIES;
  readonly env: GrubEnv;

  constructor(env: GrubEnv) {
    this.env = env;
  }

  state(): SlotState {
    const d: Slot = this.env.get('boot_default') === 'B' ? 'B' : 'A';
    if (this.env.get('boot_success') === '0') {
      const c = this.env.get('boot_counter') ?? '';
      const n = /^[0-9]$/.test(c) ? Number(c) : 0;
      return { committed: otherSlot(d), trying: d, triesLeft: n, confirmed: false };
    }
    return { committed: d, trying: null, triesLeft: 0, confirmed: true };
  }

  private write(def: Slot, counter: number, success: '0' | '1'): void {
    this.env.set('boot_default', def);
    this.env.set('boot_counter', String(counter));
    this.env.set('boot_success', success);
  }

  tryNext(tries: number = this.defaultTries): void {
    checkTries(tries, this.maxTries);
    this.write(otherSlot(this.state().committed), tries, '0');
  }

  markGood(current?: Slot): void {
    const s = this.state();
    if (s.trying === null || (current !== undefined && current !== s.trying)) return;
    this.write(s.trying, 0, '1');
  }

  rollback(): void {
    this.write(this.state().committed, 0, '1');
  }

  setCommitted(slot: Slot): void {
    this.write(slot, 0, '1');
  }
}

/**
 * One boot as fixtures/grub/grub.cfg performs it: reads the env, saves what
 * the cfg saves, returns the slot whose kernel it loads. Kept line by line
 * in step with the cfg (test/bootenv/slots.test.ts checks the cfg's chain).
 */
export function simulateGrubBoot(env: GrubEnv): Slot {
  let bootDefault = env.get('boot_default');
  const bootCounter = env.get('boot_counter');
  if (bootDefault !== 'B') bootDefault = 'A';
  if (env.get('boot_success') === '0') {
    let counter: string;
    let success = '0';
    const n = bootCounter !== undefined && /^[1-9]$/.test(bootCounter) ? Number(bootCounter) : 0;
    if (n >= 1) {
      counter = String(n - 1);
    } else {
      bootDefault = bootDefault === 'A' ? 'B' : 'A';
      success = '1';
      counter = '0';
    }
    // save_env -f $envfile boot_default boot_counter boot_success
    env.set('boot_default', bootDefault);
    env.set('boot_counter', counter);
    env.set('boot_success', success);
  }
  return bootDefault as Slot;
}

/** The firmware's one-shot tryboot flag, as the slot machine models it. */
export type TrybootFlag =
  /** No trial. */
  | 'none'
  /** `reboot "0 tryboot"` is due: the next boot is the trial. */
  | 'armed'
  /** This boot is the trial (device tree chosen/bootloader/tryboot = 1). */
  | 'booted';

function partitionSlot(v: string | undefined, where: string): Slot {
  if (v === String(RPI_SLOT_PARTITION.A)) return 'A';
  if (v === String(RPI_SLOT_PARTITION.B)) return 'B';
  fail('AUTOBOOT_SLOT', `autoboot.txt: ${where} boot_partition is ${v === undefined ? 'not set' : JSON.stringify(v)}, not ${RPI_SLOT_PARTITION.A} (A) or ${RPI_SLOT_PARTITION.B} (B)`, {
    structure: 'autoboot.txt', field: 'boot_partition', expected: `${RPI_SLOT_PARTITION.A}|${RPI_SLOT_PARTITION.B}`, actual: v ?? null, section: where,
  });
}

export class RpiSlots implements AbSlots {
  readonly variant = 'rpi' as const;
  readonly defaultTries = 1;
  readonly maxTries = 1;
  readonly doc: Autoboot;
  tryboot: TrybootFlag;

  constructor(doc: Autoboot, opts: { tryboot?: TrybootFlag } = {}) {
    this.doc = doc;
    this.tryboot = opts.tryboot ?? 'none';
  }

  /** The committed slot as the firmware sees it in a normal boot. */
  committed(): Slot {
    return partitionSlot(this.doc.effective('boot_partition', false), '[all]');
  }

  state(): SlotState {
    const committed = this.committed();
    if (this.tryboot === 'none') return { committed, trying: null, triesLeft: 0, confirmed: true };
    return { committed, trying: otherSlot(committed), triesLeft: this.tryboot === 'armed' ? 1 : 0, confirmed: false };
  }

  /** Write `[all] boot_partition` = committed, `[tryboot]` = the other, tryboot_a_b=1; and check the firmware would read it so. */
  private write(committed: Slot): void {
    if (this.doc.get('all', 'tryboot_a_b') !== '1') this.doc.set('all', 'tryboot_a_b', '1');
    this.doc.set('all', 'boot_partition', String(RPI_SLOT_PARTITION[committed]));
    this.doc.set('tryboot', 'boot_partition', String(RPI_SLOT_PARTITION[otherSlot(committed)]));
    const normal = this.doc.effective('boot_partition', false);
    const trial = this.doc.effective('boot_partition', true);
    if (normal !== String(RPI_SLOT_PARTITION[committed]) || trial !== String(RPI_SLOT_PARTITION[otherSlot(committed)]) || this.doc.effective('tryboot_a_b', false) !== '1') {
      fail('AUTOBOOT_LAYOUT', 'autoboot.txt has lines that override boot_partition in an unexpected order; fix it by hand', {
        structure: 'autoboot.txt', field: 'boot_partition', expected: { normal: RPI_SLOT_PARTITION[committed], tryboot: RPI_SLOT_PARTITION[otherSlot(committed)] }, actual: { normal, tryboot: trial },
      });
    }
  }

  tryNext(tries: number = this.defaultTries): void {
    checkTries(tries, this.maxTries);
    this.write(this.committed());
    this.tryboot = 'armed';
  }

  markGood(current?: Slot): void {
    const s = this.state();
    // Only the trial boot itself may commit: while merely armed the new slot has not run yet.
    if (this.tryboot !== 'booted' || s.trying === null || (current !== undefined && current !== s.trying)) return;
    this.write(s.trying);
    this.tryboot = 'none';
  }

  rollback(): void {
    this.tryboot = 'none';
  }

  setCommitted(slot: Slot): void {
    this.write(slot);
    this.tryboot = 'none';
  }
}

/** One boot as the Raspberry Pi firmware performs it with tryboot_a_b=1. */
export function simulateRpiBoot(slots: RpiSlots): Slot {
  if (slots.tryboot === 'armed') {
    // the firmware clears the one-shot flag before it boots the [tryboot] partition
    slots.tryboot = 'booted';
    return partitionSlot(slots.doc.effective('boot_partition', true), '[tryboot]');
  }
  slots.tryboot = 'none';
  return partitionSlot(slots.doc.effective('boot_partition', false), '[all]');
}
