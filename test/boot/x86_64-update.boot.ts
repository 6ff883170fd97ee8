// A slot update booted: the genericGpt preset is built, slot B is rewritten
// with another system by `diskwright update --try 1`, and OVMF + GRUB +
// Linux boot it: GRUB takes B (its kernel and initramfs come from the
// rewritten partition), uses the one try, and the next boot falls back to A.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveTools } from '../helpers/oracle.js';
import { Timings, markers, runQemu } from './harness.js';
import { X86_64 } from './gpt-suite.js';
import { buildPresetImage, diskwrightCli } from './library.js';
import { stageX86Preset } from './stage-preset.js';
import { openImageFile } from '../../src/node/open-image-file.js';
import { decodeGrubEnv } from '../../src/bootenv/grubenv.js';

describe.skipIf(!haveTools(...X86_64.tools))('boots slot B after diskwright update --try 1, then falls back to A (x86_64)', () => {
  const timings = new Timings();
  let work = '';
  let image = '';
  let systemDir = '';

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'dw-boot-update-'));
    const staged = stageX86Preset(work, timings, 'diskwright update boot test');
    systemDir = staged.systemDir;
    image = path.join(work, 'disk.img');
    await timings.timeAsync('build the preset', () => buildPresetImage(image, 'genericGpt', staged.options));
  }, 30 * 60_000);

  afterAll(() => {
    console.log(timings.report('boot test x86_64 (slot update)'));
    if (work && !process.env.DISKWRIGHT_KEEP_BOOT) fs.rmSync(work, { recursive: true, force: true });
  });

  const env = () => {
    const img = openImageFile(image);
    try {
      return decodeGrubEnv(img.filesystem(1).readFile('/EFI/BOOT/grubenv')).toRecord();
    } finally {
      img.close();
    }
  };
  const boot = async (label: string) => {
    const run = await timings.timeAsync(`boot: ${label}`, () => runQemu(X86_64.qemu, X86_64.qemuArgs(image, work), path.join(work, `console-${label.replace(/\W+/g, '-')}.log`), X86_64.bootTimeoutMs));
    const lines = markers(run.console);
    if (!lines.includes('DW-BOOT done')) console.log(run.console.slice(-6000));
    expect(run.timedOut).toBe(false);
    expect(lines[lines.length - 1]).toBe('DW-BOOT done');
    return lines;
  };

  it('update --try 1 rewrites slot B and arms one try; GRUB boots B; the next boot is A again', async () => {
    const u = await diskwrightCli(['update', image, '--slot', 'B', '--from', systemDir, '--try', '1', '--json']);
    expect(u.status, u.stderr).toBe(0);
    const report = JSON.parse(u.stdout);
    expect(report).toMatchObject({ slot: 'B', partition: 3, armed: true, after: { trying: 'B' } });
    expect(env()).toMatchObject({ boot_default: 'B', boot_counter: '1', boot_success: '0' });
    const img = openImageFile(image);
    expect(new TextDecoder().decode(img.filesystem(3).readFile('/os-release'))).toBe('VERSION_ID=2\n');
    img.close();

    const first = await boot('trial of B');
    expect(first).toContain('DW-BOOT slot=B');
    expect(first).toContain('DW-BOOT marker-written boot=1');
    expect(env()).toMatchObject({ boot_default: 'B', boot_counter: '0', boot_success: '0' });

    const second = await boot('after the try');
    expect(second).toContain('DW-BOOT slot=A');
    expect(env()).toEqual({ boot_default: 'A', boot_counter: '0', boot_success: '1' });
  }, 15 * 60_000);
});
