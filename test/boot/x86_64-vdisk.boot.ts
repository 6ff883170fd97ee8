// The genericGpt preset built straight to qcow2 and to VHD by `build -o`
// (no raw image), booted by OVMF, GRUB and Linux from the container
// directly (QEMU's -drive format=qcow2 / format=vpc). The kernel writes into
// DATA through QEMU's qcow2 driver; our reader then finds its file, and
// qemu-img check finds the image clean.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveTools } from '../helpers/oracle.js';
import { Timings, markers, runQemu, sh } from './harness.js';
import { HELLO, stageX86Preset } from './stage-preset.js';
import { X86_64 } from './gpt-suite.js';
import { buildPresetImage } from './library.js';
import { openImageFile } from '../../src/node/open-image-file.js';

describe.skipIf(!haveTools(...X86_64.tools, 'qemu-img'))('boots the genericGpt preset from qcow2 and VHD on x86_64', () => {
  const timings = new Timings();
  let work = '';
  const images: Record<'qcow2' | 'vpc', string> = { qcow2: '', vpc: '' };

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), 'dw-boot-vdisk-'));
    const { options } = stageX86Preset(work, timings, 'diskwright vdisk boot test');
    images.qcow2 = path.join(work, 'disk.qcow2');
    images.vpc = path.join(work, 'disk.vhd');
    await timings.timeAsync('build the preset straight to qcow2', () => buildPresetImage(images.qcow2, 'genericGpt', options));
    await timings.timeAsync('build the preset straight to VHD (fixed)', () => buildPresetImage(images.vpc, 'genericGpt', options));
  }, 30 * 60_000);

  afterAll(() => {
    console.log(timings.report('boot test x86_64 (qcow2, VHD)'));
    if (work && !process.env.DISKWRIGHT_KEEP_BOOT) fs.rmSync(work, { recursive: true, force: true });
  });

  for (const format of ['qcow2', 'vpc'] as const) {
    it(`boots slot A from the ${format} image, and the kernel's write lands in it`, async () => {
      const args = X86_64.qemuArgs(images[format], work).map((a) => a.replace(/format=raw/, `format=${format}`));
      expect(args.some((a) => a.includes(`format=${format}`))).toBe(true);
      const run = await timings.timeAsync(`boot from ${format}`, () => runQemu(X86_64.qemu, args, path.join(work, `console-${format}.log`), X86_64.bootTimeoutMs));
      const lines = markers(run.console);
      if (!lines.includes('DW-BOOT done')) console.log(run.console.slice(-6000));
      expect(run.timedOut).toBe(false);
      expect(lines).toContain('DW-BOOT slot=A');
      expect(lines).toContain('DW-BOOT data-mounted ext4');
      expect(lines).toContain(`DW-BOOT build-file: ${HELLO}`);
      expect(lines).toContain('DW-BOOT marker-written boot=1');
      expect(lines[lines.length - 1]).toBe('DW-BOOT done');
      if (format === 'qcow2') expect(sh('qemu-img', ['check', images.qcow2]).stdout).toMatch(/No errors were found/);
      const img = openImageFile(images[format]);
      try {
        expect(new TextDecoder().decode(img.filesystem(4).readFile('/marker-A'))).toBe('written by the kernel booted from slot A\n');
      } finally {
        img.close();
      }
    }, 10 * 60_000);
  }
});
