// The genericGpt preset's inputs for x86_64 boot tests: Debian's kernel, a
// busybox initramfs (fixtures/boot/init.sh), a GRUB EFI binary with
// fixtures/grub/grub.cfg, and DATA's hello.txt; the preset's options for
// buildPresetImage.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildInitramfs, fetchPackages, findKernel, makeGrubEfi, resolveModules, GRUB_CFG, type Timings } from './harness.js';
import { X86_64 } from './gpt-suite.js';

export const HELLO = 'hello from the build: placed in DATA before the first boot';

export interface StagedPreset {
  options: Record<string, unknown>;
  /** A system tree (boot/vmlinuz, boot/initrd.img) such as a slot update brings. */
  systemDir: string;
}

export function stageX86Preset(work: string, timings: Timings, seed: string): StagedPreset {
  const root = timings.time('fetch Debian packages (amd64)', () => fetchPackages('amd64'));
  const kernel = findKernel(root);
  const modules = resolveModules(kernel, X86_64.modules);
  const initrd = buildInitramfs({ busybox: path.join(root, 'bin/busybox'), modules, conf: { DATA_PARTNAME: 'DATA', ESP_PARTNAME: 'EFI', OFF: 'poweroff', SERIAL: X86_64.serial } });
  const efi = path.join(work, X86_64.efiName);
  makeGrubEfi(X86_64.grubTarget, efi, GRUB_CFG);
  const k = path.join(work, 'kernel');
  fs.mkdirSync(k, { recursive: true });
  fs.copyFileSync(kernel.vmlinuz, path.join(k, 'vmlinuz'));
  fs.writeFileSync(path.join(k, 'initrd.img'), initrd);
  fs.mkdirSync(path.join(work, 'data'), { recursive: true });
  fs.writeFileSync(path.join(work, 'data/hello.txt'), HELLO + '\n');
  const systemDir = path.join(work, 'system-v2');
  fs.mkdirSync(path.join(systemDir, 'boot'), { recursive: true });
  fs.copyFileSync(kernel.vmlinuz, path.join(systemDir, 'boot/vmlinuz'));
  fs.writeFileSync(path.join(systemDir, 'boot/initrd.img'), initrd);
  fs.writeFileSync(path.join(systemDir, 'os-release'), 'VERSION_ID=2\n');
  return {
    systemDir,
    options: {
      arch: 'x86_64',
      kernel: { kernel: { path: path.join(k, 'vmlinuz'), name: 'vmlinuz' }, initramfs: { path: path.join(k, 'initrd.img'), name: 'initrd.img' }, dtbs: [], overlays: [] },
      efi: [{ from: efi, to: `/EFI/BOOT/${X86_64.efiName}` }],
      grubCfg: GRUB_CFG,
      data: [{ from: path.join(work, 'data'), to: '/' }],
      sizes: { image: '258MiB', efi: '64MiB', system: '64MiB', data: 'rest' },
      seed,
      sourceDateEpoch: 1_700_000_000,
    },
  };
}
