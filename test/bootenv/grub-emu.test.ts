// fixtures/grub/grub.cfg run by real GRUB 2.06 (grub-emu, the userspace
// build of GRUB) against a FAT image holding /EFI/BOOT/grubenv: each "boot"
// must pick the slot simulateGrubBoot picks and leave the very bytes our
// model writes (GRUB's save_env goes through the same envblk.c edits).
// grub-emu finds no GPT partitions, so the ESP is a bare FAT disk (hd0);
// the slot choice and the env logic are what is checked here, the partition
// lookup is left to the QEMU boot tests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { GrubEnv } from '../../src/bootenv/grubenv.js';
import { GrubSlots, simulateGrubBoot, type Slot } from '../../src/bootenv/slots.js';
import { openFileDisk } from '../../src/node/file-source.js';
import { openFat } from '../../src/fat32/read.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = path.resolve(here, '../../fixtures/grub/grub.cfg');
const ENV_PATH = '/EFI/BOOT/grubenv';

const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const stateArb = fc.record({
  boot_default: maybe(fc.constantFrom('A', 'B', '', 'b', 'C')),
  boot_success: maybe(fc.constantFrom('0', '0', '0', '1', '', 'x')),
  boot_counter: maybe(fc.constantFrom('0', '1', '2', '3', '5', '9', '10', '-1', 'abc', '')),
  other: maybe(fc.constantFrom('saved_entry=0', 'note=a\\b c')),
});

describe.skipIf(!haveTools('grub-emu', 'mkfs.fat', 'mmd', 'mcopy'))('grub.cfg under real GRUB (grub-emu)', () => {
  const { dir, cleanup } = tempDir('dw-grub-emu-');
  const img = path.join(dir, 'esp.img');
  const grubDir = path.join(dir, 'boot/grub');

  function setup(): void {
    fs.mkdirSync(grubDir, { recursive: true });
    fs.writeFileSync(path.join(grubDir, 'grub.cfg'),
      `source "(host)${FIXTURE}"\necho "DW-SLOT=\${boot_default}"\nhalt\n`);
    fs.writeFileSync(path.join(dir, 'device.map'), `(hd0) ${img}\n`);
    expect(run('mkfs.fat', ['-F', '32', '-s', '1', '-C', img, String(64 * 1024)]).status).toBe(0);
    const env = path.join(dir, 'grubenv');
    fs.writeFileSync(env, GrubEnv.create().encode());
    expect(run('mmd', ['-i', img, '::/EFI', '::/EFI/BOOT']).status).toBe(0);
    expect(run('mcopy', ['-i', img, env, `::${ENV_PATH}`]).status).toBe(0);
  }

  function writeEnv(env: GrubEnv): void {
    const disk = openFileDisk(img, true);
    try { openFat(disk).rewriteFile(ENV_PATH, env.encode()); } finally { disk.close(); }
  }

  function readEnv(): Uint8Array {
    const disk = openFileDisk(img, false);
    try { return openFat(disk).readFile(ENV_PATH); } finally { disk.close(); }
  }

  /** One boot: GRUB runs the fixture and reports the slot it would load. */
  function grubBoot(): Slot {
    const r = spawnSync('grub-emu', ['-d', grubDir, '-m', path.join(dir, 'device.map')], { input: '', timeout: 30_000 });
    const out = r.stdout.toString('latin1') + r.stderr.toString('latin1');
    const m = /DW-SLOT=([^\s\x1b]*)/.exec(out);
    if (!m) throw new Error(`grub-emu printed no slot: ${out}`);
    expect(out).not.toMatch(/error:(?! no such device| disk `,gpt| no server)/);
    return m[1] as Slot;
  }

  beforeAll(setup);
  afterAll(cleanup);

  it('every boot picks the slot the model picks and saves the bytes the model saves', () => {
    {
      let runs = 0;
      const st0 = { boot_default: 'B' as string | undefined, boot_success: '0' as string | undefined, boot_counter: undefined as string | undefined, other: undefined as string | undefined };
      fc.assert(fc.property(stateArb, fc.integer({ min: 1, max: 4 }), (st, boots) => {
        const env = GrubEnv.create();
        if (st.other) env.set(st.other.split('=')[0], st.other.slice(st.other.indexOf('=') + 1));
        for (const k of ['boot_default', 'boot_counter', 'boot_success'] as const) if (st[k] !== undefined) env.set(k, st[k]!);
        writeEnv(env);
        for (let i = 0; i < boots; i++) {
          const slot = grubBoot();
          const want = simulateGrubBoot(env);
          expect(slot).toBe(want);
          expect(Buffer.from(readEnv()).equals(Buffer.from(env.encode()))).toBe(true);
        }
        runs++;
      }), {
        numRuns: 40,
        // the edges, always: counters the if/elif chain does not know, odd slots, nothing set
        examples: [
          ...['10', '-1', 'abc', '', '9', '1', '0'].map((c): [typeof st0, number] => [{ ...st0, boot_counter: c }, 2]),
          [{ boot_default: 'C', boot_success: '0', boot_counter: '1', other: undefined }, 3],
          [{ boot_default: 'B', boot_success: undefined, boot_counter: '2', other: 'saved_entry=0' }, 1],
          [{ boot_default: undefined, boot_success: undefined, boot_counter: undefined, other: undefined }, 1],
        ],
      });
      expect(runs).toBe(40); // the examples count among the 40 runs
    }
  });

  it('try 3 from A: B, B, B, then A for good; a confirmed try stays', () => {
    {
      const env = GrubEnv.create();
      const s = new GrubSlots(env);
      s.setCommitted('A');
      s.tryNext(3);
      writeEnv(env);
      expect([grubBoot(), grubBoot(), grubBoot(), grubBoot(), grubBoot()]).toEqual(['B', 'B', 'B', 'A', 'A']);
      const after = new GrubSlots(GrubEnv.decode(readEnv()));
      expect(after.state()).toEqual({ committed: 'A', trying: null, triesLeft: 0, confirmed: true });

      after.tryNext(2);
      writeEnv(after.env);
      expect(grubBoot()).toBe('B');
      const running = new GrubSlots(GrubEnv.decode(readEnv()));
      running.markGood('B');
      writeEnv(running.env);
      expect([grubBoot(), grubBoot(), grubBoot()]).toEqual(['B', 'B', 'B']);
      expect(new GrubSlots(GrubEnv.decode(readEnv())).state()).toEqual({ committed: 'B', trying: null, triesLeft: 0, confirmed: true });
    }
  });

  it("the fixture's regexp takes the disk out of the ESP's device name", () => {
    const line = fs.readFileSync(FIXTURE, 'utf8').split('\n').find((l) => l.trim().startsWith('regexp '));
    expect(line).toBeDefined();
    const cfg = path.join(dir, 'regexp');
    fs.mkdirSync(path.join(cfg, 'boot/grub'), { recursive: true });
    fs.writeFileSync(path.join(cfg, 'boot/grub/grub.cfg'),
      ['hd0,gpt1', 'hd1,gpt3', 'ahci0,gpt1'].map((e) => `set esp=${e}\n${line!.trim()}\necho "DW-DISK=[\${disk}]"\n`).join('') + 'halt\n');
    const r = spawnSync('grub-emu', ['-d', path.join(cfg, 'boot/grub'), '-m', path.join(dir, 'device.map')], { input: '', timeout: 30_000 });
    const got = [...r.stdout.toString('latin1').matchAll(/DW-DISK=\[([^\]]*)\]/g)].map((m) => m[1]);
    expect(got).toEqual(['hd0', 'hd1', 'ahci0']);
  });
});
