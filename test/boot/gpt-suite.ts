// The UEFI boot test, shared by x86_64 (OVMF) and arm64 (AAVMF): a GPT image
// with ESP (GRUB EFI + grub.cfg + grubenv), SYSTEM-A, SYSTEM-B (kernel +
// busybox initramfs) and DATA (ext4), booted under QEMU (TCG) again and again
// while the slot state in grubenv changes.
//
// Image source: the classic tools (sfdisk, mkfs.fat, mtools, mke2fs -d). The
// library path (src/image presets + buildImage) replaces it once it exists;
// see fixtures/boot/README.md.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeGrubEnv } from '../../src/bootenv/grubenv.js';
import { haveTools } from '../helpers/oracle.js';
import {
  FIXTURES, Timings, buildInitramfs, fetchPackages, findKernel, makeGrubEfi, markers, resolveModules, runQemu, sh,
  type QemuRun,
} from './harness.js';
import { GPT_ESP, GPT_LINUX, buildClassicImage, debugfsCat, e2fsckAt, readFatFile, type PlacedPartition } from './classic.js';

export interface GptArch {
  name: 'x86_64' | 'arm64';
  deb: 'amd64' | 'arm64';
  qemu: string;
  grubTarget: 'x86_64-efi' | 'arm64-efi';
  efiName: string;
  /** Top-level modules; their dependencies are found from .modinfo. */
  modules: string[];
  qemuArgs(image: string, work: string): string[];
  bootTimeoutMs: number;
  tools: string[];
}

export const X86_64: GptArch = {
  name: 'x86_64',
  deb: 'amd64',
  qemu: 'qemu-system-x86_64',
  grubTarget: 'x86_64-efi',
  efiName: 'BOOTX64.EFI',
  modules: ['virtio_pci', 'virtio_blk', 'ext4', 'vfat', 'nls_cp437', 'nls_ascii'],
  qemuArgs: (image) => [
    '-machine', 'q35', '-accel', 'tcg', '-m', '512', '-smp', '1', '-display', 'none', '-monitor', 'none',
    '-no-reboot', '-nic', 'none', '-bios', '/usr/share/ovmf/OVMF.fd',
    '-drive', `file=${image},format=raw,if=virtio`,
  ],
  bootTimeoutMs: 120_000,
  tools: ['qemu-system-x86_64', 'grub-mkstandalone', 'grub-editenv', 'sfdisk', 'mkfs.fat', 'mcopy', 'mke2fs', 'e2fsck', 'debugfs', 'dpkg', 'apt-get'],
};

export const ARM64: GptArch = {
  name: 'arm64',
  deb: 'arm64',
  qemu: 'qemu-system-aarch64',
  grubTarget: 'arm64-efi',
  efiName: 'BOOTAA64.EFI',
  modules: ['virtio_mmio', 'virtio_blk', 'ext4', 'vfat', 'nls_cp437', 'nls_ascii'],
  qemuArgs: (image, work) => {
    const vars = path.join(work, 'AAVMF_VARS.fd');
    fs.copyFileSync('/usr/share/AAVMF/AAVMF_VARS.fd', vars);
    return [
      '-M', 'virt', '-cpu', 'cortex-a57', '-accel', 'tcg', '-m', '512', '-smp', '1', '-display', 'none', '-monitor', 'none',
      '-no-reboot', '-nic', 'none',
      '-drive', 'if=pflash,format=raw,readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd',
      '-drive', `if=pflash,format=raw,file=${vars}`,
      '-drive', `if=none,id=hd0,format=raw,file=${image}`, '-device', 'virtio-blk-device,drive=hd0',
    ];
  },
  bootTimeoutMs: 180_000,
  tools: ['qemu-system-aarch64', 'grub-mkstandalone', 'grub-editenv', 'sfdisk', 'mkfs.fat', 'mcopy', 'mke2fs', 'e2fsck', 'debugfs', 'dpkg', 'apt-get'],
};

const HELLO = 'hello from the build: placed in DATA before the first boot';

export function gptBootSuite(arch: GptArch): void {
  const enabled = haveTools(...arch.tools);
  describe.skipIf(!enabled)(`boots a GPT A/B image on ${arch.name} (UEFI, GRUB, Linux)`, () => {
    const timings = new Timings();
    let work = '';
    let image = '';
    let parts: PlacedPartition[] = [];
    const boots: Array<{ label: string; run: QemuRun }> = [];
    const esp = () => parts[0];
    const data = () => parts[3];

    beforeAll(() => {
      work = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), `dw-boot-${arch.name}-`));
      image = path.join(work, 'disk.img');
      const root = timings.time(`fetch Debian packages (${arch.deb}, cached in .cache/boot)`, () => fetchPackages(arch.deb));
      const kernel = findKernel(root);
      const modules = timings.time('resolve kernel modules from .modinfo', () => resolveModules(kernel, arch.modules));
      const initrd = timings.time('build the busybox initramfs (our cpio writer)', () => buildInitramfs({
        busybox: path.join(root, 'bin/busybox'),
        modules,
        conf: { DATA_PARTNAME: 'DATA', ESP_PARTNAME: 'EFI', OFF: 'poweroff' },
      }));
      const stage = (d: string) => { const p = path.join(work, d); fs.mkdirSync(p, { recursive: true }); return p; };
      const espDir = stage('esp/EFI/BOOT');
      timings.time('grub-mkstandalone', () => makeGrubEfi(arch.grubTarget, path.join(espDir, arch.efiName),
        arch.grubTarget === 'arm64-efi' ? path.join(root, 'usr/lib/grub/arm64-efi') : undefined));
      fs.copyFileSync(path.join(FIXTURES, 'grub-ab.cfg'), path.join(espDir, 'grub.cfg'));
      sh('grub-editenv', [path.join(espDir, 'grubenv'), 'create']);
      sh('grub-editenv', [path.join(espDir, 'grubenv'), 'set', 'boot_default=A', 'boot_success=1', 'boot_counter=0']);
      for (const s of ['A', 'B']) {
        const b = stage(`system-${s}/boot`);
        fs.copyFileSync(kernel.vmlinuz, path.join(b, 'vmlinuz'));
        fs.writeFileSync(path.join(b, 'initrd.img'), initrd);
      }
      fs.writeFileSync(path.join(stage('data'), 'hello.txt'), HELLO + '\n');
      parts = timings.time('build the image (classic tools)', () => buildClassicImage(image, {
        table: 'gpt',
        partitions: [
          { name: 'EFI', type: GPT_ESP, sizeMiB: 64, fs: 'fat32', label: 'EFI', from: path.join(work, 'esp') },
          { name: 'SYSTEM-A', type: GPT_LINUX, sizeMiB: 64, fs: 'ext4', label: 'SYSTEM-A', from: path.join(work, 'system-A') },
          { name: 'SYSTEM-B', type: GPT_LINUX, sizeMiB: 64, fs: 'ext4', label: 'SYSTEM-B', from: path.join(work, 'system-B') },
          { name: 'DATA', type: GPT_LINUX, sizeMiB: 32, fs: 'ext4', label: 'DATA', from: path.join(work, 'data') },
        ],
      }));
    }, 30 * 60_000);

    afterAll(() => {
      console.log(timings.report(`boot test ${arch.name}`));
      if (work && !process.env.DISKWRIGHT_KEEP_BOOT) fs.rmSync(work, { recursive: true, force: true });
      else if (work) console.log(`boot test ${arch.name}: kept ${work}`);
    });

    async function boot(label: string): Promise<{ run: QemuRun; lines: string[] }> {
      const run = await timings.timeAsync(`boot: ${label}`, () =>
        runQemu(arch.qemu, arch.qemuArgs(image, work), path.join(work, `console-${boots.length + 1}.log`), arch.bootTimeoutMs));
      boots.push({ label, run });
      const lines = markers(run.console);
      if (!lines.includes('DW-BOOT done') || run.timedOut) {
        console.log(`--- console of "${label}" (${run.timedOut ? 'timed out' : `exit ${run.exitCode}`}) ---\n${run.console.slice(-6000)}`);
      }
      return { run, lines };
    }

    function grubenvNow(): { ours: Record<string, string>; editenv: string } {
      const bytes = readFatFile(image, esp().offset, '/EFI/BOOT/grubenv');
      const file = path.join(work, 'grubenv.now');
      fs.writeFileSync(file, bytes);
      return { ours: decodeGrubEnv(new Uint8Array(bytes)).toRecord(), editenv: sh('grub-editenv', [file, 'list']).stdout };
    }

    function setGrubenv(vars: string[]): void {
      const file = path.join(work, 'grubenv.edit');
      fs.writeFileSync(file, readFatFile(image, esp().offset, '/EFI/BOOT/grubenv'));
      sh('grub-editenv', [file, 'set', ...vars]);
      sh('mcopy', ['-i', `${image}@@${esp().offset}`, '-o', file, '::/EFI/BOOT/grubenv']);
    }

    function expectCleanData(): void {
      const fsck = timings.time('e2fsck -fn DATA', () => e2fsckAt(image, data().offset));
      expect(fsck.output).not.toMatch(/fix|error|corrupt|inconsistent|unattached|wrong/i);
      expect(fsck.status).toBe(0);
    }

    it('boots slot A: GRUB reads grubenv, the kernel mounts DATA, writes a marker and powers off', async () => {
      const { run, lines } = await boot('slot A');
      expect(run.timedOut).toBe(false);
      expect(lines).toContain('DW-GRUB slot=A counter=0 success=1 disk=hd0');
      expect(lines).toContain('DW-BOOT slot=A');
      expect(lines.filter((l) => l.startsWith('DW-BOOT insmod-failed'))).toEqual([]);
      expect(lines).toContain('DW-BOOT data-mounted ext4');
      expect(lines).toContain(`DW-BOOT build-file: ${HELLO}`);
      expect(lines).toContain('DW-BOOT marker-written boot=1');
      expect(lines).toContain('DW-BOOT grubenv: boot_default=A');
      expect(lines.filter((l) => l.startsWith('DW-BOOT FAIL'))).toEqual([]);
      expect(lines[lines.length - 1]).toBe('DW-BOOT done');
      expectCleanData();
      expect(debugfsCat(image, data().offset, '/marker-A')).toBe('written by the kernel booted from slot A\n');
      expect(debugfsCat(image, data().offset, '/boot-log')).toBe('slot=A boot=1\n');
    }, 10 * 60_000);

    it('boots slot B after boot_default=B', async () => {
      setGrubenv(['boot_default=B']);
      const { lines } = await boot('slot B');
      expect(lines).toContain('DW-GRUB slot=B counter=0 success=1 disk=hd0');
      expect(lines).toContain('DW-BOOT slot=B');
      expect(lines).toContain('DW-BOOT marker-written boot=2');
      expectCleanData();
      expect(debugfsCat(image, data().offset, '/marker-B')).toBe('written by the kernel booted from slot B\n');
    }, 10 * 60_000);

    it('counts down an unconfirmed try of B with save_env, then falls back to A', async () => {
      setGrubenv(['boot_default=B', 'boot_success=0', 'boot_counter=2']);
      const first = await boot('try B (counter 2)');
      expect(first.lines).toContain('DW-GRUB slot=B counter=1 success=0 disk=hd0');
      expect(first.lines).toContain('DW-BOOT slot=B');
      // GRUB's save_env wrote into the FAT file in place: the kernel, our reader and grub-editenv all see it.
      expect(first.lines).toContain('DW-BOOT grubenv: boot_counter=1');
      let env = grubenvNow();
      expect(env.ours).toMatchObject({ boot_default: 'B', boot_success: '0', boot_counter: '1' });
      expect(env.editenv).toContain('boot_counter=1\n');

      const second = await boot('try B (counter 1)');
      expect(second.lines).toContain('DW-GRUB slot=B counter=0 success=0 disk=hd0');
      expect(second.lines).toContain('DW-BOOT slot=B');
      env = grubenvNow();
      expect(env.ours.boot_counter).toBe('0');

      const third = await boot('tries used up');
      expect(third.lines).toContain('DW-GRUB tries of B used up: falling back');
      expect(third.lines).toContain('DW-GRUB slot=A counter=0 success=1 disk=hd0');
      expect(third.lines).toContain('DW-BOOT slot=A');
      env = grubenvNow();
      expect(env.ours).toMatchObject({ boot_default: 'A', boot_success: '1', boot_counter: '0' });
      expect(env.editenv.split('\n').filter(Boolean).sort()).toEqual(Object.entries(env.ours).map(([k, v]) => `${k}=${v}`).sort());

      expectCleanData();
      expect(debugfsCat(image, data().offset, '/boot-log')).toBe(
        ['slot=A boot=1', 'slot=B boot=2', 'slot=B boot=3', 'slot=B boot=4', 'slot=A boot=5'].join('\n') + '\n');
    }, 15 * 60_000);
  });
}
