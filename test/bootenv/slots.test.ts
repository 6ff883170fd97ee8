import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  GRUB_MAX_TRIES, GrubSlots, RpiSlots, createGrubSlotEnv, otherSlot, simulateGrubBoot, simulateRpiBoot,
  type AbSlots, type Slot,
} from '../../src/bootenv/slots.js';
import { Autoboot, formatAutoboot } from '../../src/bootenv/autoboot.js';
import { GrubEnv } from '../../src/bootenv/grubenv.js';
import { isDiskwrightError } from '../../src/errors.js';
import { haveTools, run } from '../helpers/oracle.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const grubCfg = path.resolve(here, '../../fixtures/grub/grub.cfg');

type Op =
  | { op: 'try'; n: number }
  | { op: 'good' }
  | { op: 'rollback' }
  | { op: 'boot' }
  | { op: 'commit'; slot: Slot };

const opArb = (maxTries: number): fc.Arbitrary<Op> => fc.oneof(
  { weight: 2, arbitrary: fc.integer({ min: 0, max: maxTries + 1 }).map((n) => ({ op: 'try' as const, n })) },
  { weight: 2, arbitrary: fc.constant({ op: 'good' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'rollback' as const }) },
  { weight: 4, arbitrary: fc.constant({ op: 'boot' as const }) },
  { weight: 1, arbitrary: fc.constantFrom<Slot>('A', 'B').map((slot) => ({ op: 'commit' as const, slot })) },
);

/** An independent reference model of the A/B machine (no env, no file). */
class Reference {
  committed: Slot = 'A';
  trial: Slot | null = null;
  left = 0;
  booted: Slot = 'A';
  /** The current boot came through the trial path (the Pi can only confirm then). */
  trialBoot = false;
  constructor(readonly strict: boolean) {}
  step(o: Op, maxTries: number): void {
    switch (o.op) {
      case 'try':
        if (o.n < 1 || o.n > maxTries) return;
        this.trial = otherSlot(this.committed); this.left = o.n; this.trialBoot = false; return;
      case 'good':
        if (this.trial !== null && this.booted === this.trial && (this.trialBoot || !this.strict)) { this.committed = this.trial; this.trial = null; this.left = 0; }
        return;
      case 'rollback': this.trial = null; this.left = 0; return;
      case 'commit': this.committed = o.slot; this.trial = null; this.left = 0; return;
      case 'boot':
        if (this.trial !== null && this.left > 0) { this.left--; this.booted = this.trial; this.trialBoot = true; return; }
        this.trial = null; this.left = 0; this.booted = this.committed; this.trialBoot = false; return;
    }
  }
}

function apply(s: AbSlots, o: Op, booted: Slot, boot: () => Slot): Slot {
  switch (o.op) {
    case 'try':
      try { s.tryNext(o.n); } catch (e) {
        expect(isDiskwrightError(e, 'BOOTENV_TRIES')).toBe(true);
        expect(o.n < 1 || o.n > s.maxTries).toBe(true);
      }
      return booted;
    case 'good': s.markGood(booted); return booted;
    case 'rollback': s.rollback(); return booted;
    case 'commit': s.setCommitted(o.slot); return booted;
    case 'boot': return boot();
  }
}

function checkInvariants(s: AbSlots, ref: Reference): void {
  const st = s.state();
  expect(['A', 'B']).toContain(st.committed);
  expect(st.trying === null || st.trying !== st.committed).toBe(true);
  expect(st.triesLeft).toBeGreaterThanOrEqual(0);
  expect(st.confirmed).toBe(st.trying === null);
  expect(st.committed).toBe(ref.committed);
  expect(st.trying).toBe(ref.trial);
  expect(st.triesLeft).toBe(ref.left);
}

describe('GRUB A/B slots', () => {
  it('any sequence of operations and boots follows the reference model and keeps the invariants', () => {
    fc.assert(fc.property(fc.array(opArb(GRUB_MAX_TRIES), { maxLength: 40 }), (ops) => {
      const env = createGrubSlotEnv('A');
      const s = new GrubSlots(env);
      const ref = new Reference(false);
      let booted: Slot = 'A';
      for (const o of ops) {
        booted = apply(s, o, booted, () => simulateGrubBoot(env));
        ref.step(o, GRUB_MAX_TRIES);
        expect(booted).toBe(ref.booted);
        // the counter is always a plain non-negative number GRUB's chain knows
        expect(env.get('boot_counter')).toMatch(/^[0-9]$/);
        expect(['0', '1']).toContain(env.get('boot_success'));
        expect(['A', 'B']).toContain(env.get('boot_default'));
        checkInvariants(s, ref);
      }
    }), { numRuns: 300 });
  });

  it('a failed try ends on the last good slot after exactly N trial boots', () => {
    fc.assert(fc.property(fc.constantFrom<Slot>('A', 'B'), fc.integer({ min: 1, max: GRUB_MAX_TRIES }), (start, n) => {
      const env = createGrubSlotEnv(start);
      const s = new GrubSlots(env);
      s.tryNext(n);
      expect(s.state()).toEqual({ committed: start, trying: otherSlot(start), triesLeft: n, confirmed: false });
      for (let i = 0; i < n; i++) expect(simulateGrubBoot(env)).toBe(otherSlot(start));
      expect(simulateGrubBoot(env)).toBe(start);
      expect(s.state()).toEqual({ committed: start, trying: null, triesLeft: 0, confirmed: true });
      expect(simulateGrubBoot(env)).toBe(start);
    }));
  });

  it('a confirmed try becomes the committed slot', () => {
    const env = createGrubSlotEnv('A');
    const s = new GrubSlots(env);
    s.tryNext(2);
    s.markGood('A'); // the old slot cannot confirm the new one
    expect(s.state().trying).toBe('B');
    expect(simulateGrubBoot(env)).toBe('B');
    s.markGood('B');
    expect(s.state()).toEqual({ committed: 'B', trying: null, triesLeft: 0, confirmed: true });
    for (let i = 0; i < 4; i++) expect(simulateGrubBoot(env)).toBe('B');
    expect(env.get('boot_default')).toBe('B');
  });

  it('an unreadable counter or slot falls back safely', () => {
    const env = GrubEnv.create();
    env.set('boot_default', 'B');
    env.set('boot_success', '0');
    env.set('boot_counter', '-1');
    const s = new GrubSlots(env);
    expect(s.state()).toEqual({ committed: 'A', trying: 'B', triesLeft: 0, confirmed: false });
    expect(simulateGrubBoot(env)).toBe('A');
    expect(s.state().confirmed).toBe(true);
    const empty = GrubEnv.create();
    expect(new GrubSlots(empty).state()).toEqual({ committed: 'A', trying: null, triesLeft: 0, confirmed: true });
    expect(simulateGrubBoot(empty)).toBe('A');
  });

  it('fixtures/grub/grub.cfg decrements exactly 1..GRUB_MAX_TRIES, as the model does', () => {
    const cfg = fs.readFileSync(grubCfg, 'utf8');
    const pairs = [...cfg.matchAll(/"\$\{boot_counter\}" = "(\d+)" \]; then\s+set boot_counter=(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(pairs.length).toBe(GRUB_MAX_TRIES);
    expect(new Set(pairs.map((p) => p[0]))).toEqual(new Set(Array.from({ length: GRUB_MAX_TRIES }, (_, i) => i + 1)));
    for (const [from, to] of pairs) expect(to).toBe(from - 1);
    expect(cfg).toMatch(/load_env -f \$envfile boot_default boot_counter boot_success/);
    expect(cfg).toMatch(/save_env -f \$envfile boot_default boot_counter boot_success/);
    expect(cfg).toMatch(/if \[ "\$\{boot_success\}" = "0" \]; then/);
  });

  it.skipIf(!haveTools('grub-script-check'))('fixtures/grub/grub.cfg parses with grub-script-check', () => {
    const r = run('grub-script-check', ['-v', grubCfg]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/menuentry/);
  });
});

describe('Raspberry Pi A/B slots', () => {
  it('any sequence of operations and boots follows the reference model, and the file keeps its size', () => {
    const base = formatAutoboot({ committed: 'A' });
    fc.assert(fc.property(fc.array(opArb(1), { maxLength: 40 }), (ops) => {
      const s = new RpiSlots(Autoboot.decode(base));
      const ref = new Reference(true);
      let booted: Slot = 'A';
      for (const o of ops) {
        booted = apply(s, o, booted, () => simulateRpiBoot(s));
        ref.step(o, 1);
        expect(booted).toBe(ref.booted);
        checkInvariants(s, ref);
        const bytes = s.doc.encodeFitted(base.length);
        expect(bytes.length).toBe(base.length);
        const again = Autoboot.decode(bytes);
        expect(again.effective('boot_partition', false)).toBe(ref.committed === 'A' ? '2' : '3');
        expect(again.effective('boot_partition', true)).toBe(ref.committed === 'A' ? '3' : '2');
        expect(again.effective('tryboot_a_b', false)).toBe('1');
      }
    }), { numRuns: 300 });
  });

  it('tryboot is one-shot: a failed try returns to the committed partition', () => {
    const s = new RpiSlots(Autoboot.decode(formatAutoboot({ committed: 'B' })));
    expect(() => s.tryNext(2)).toThrow(expect.objectContaining({ code: 'BOOTENV_TRIES' }));
    s.tryNext();
    expect(s.state()).toEqual({ committed: 'B', trying: 'A', triesLeft: 1, confirmed: false });
    expect(simulateRpiBoot(s)).toBe('A');
    expect(s.state()).toEqual({ committed: 'B', trying: 'A', triesLeft: 0, confirmed: false });
    expect(simulateRpiBoot(s)).toBe('B');
    expect(s.state()).toEqual({ committed: 'B', trying: null, triesLeft: 0, confirmed: true });
  });

  it('a confirmed try swaps [all] and [tryboot], keeping every other line', () => {
    const text = '# my notes\n[all]\ntryboot_a_b=1\nboot_partition=2\n[pi5]\nfoo=bar\n[all]\n[tryboot]\nboot_partition=3\n########\n';
    const s = new RpiSlots(Autoboot.parse(text), { tryboot: 'booted' });
    s.markGood('B');
    const out = new TextDecoder().decode(s.doc.encodeFitted(text.length));
    expect(out).toBe(text.replace('boot_partition=2', 'boot_partition=X').replace('boot_partition=3', 'boot_partition=2').replace('boot_partition=X', 'boot_partition=3'));
  });

  it('a file whose boot_partition lines override each other the wrong way is refused, not silently miswritten', () => {
    const s = new RpiSlots(Autoboot.parse('[tryboot]\nboot_partition=3\n[all]\nboot_partition=2\n'));
    expect(() => s.setCommitted('B')).toThrow(expect.objectContaining({ code: 'AUTOBOOT_LAYOUT' }));
  });

  it('a boot_partition that names neither slot is a coded error', () => {
    const s = new RpiSlots(Autoboot.parse('[all]\nboot_partition=5\n'));
    expect(() => s.state()).toThrow(expect.objectContaining({ code: 'AUTOBOOT_SLOT' }));
  });
});
