// The UEFI boot test, shared by x86_64 (OVMF) and arm64 (AAVMF): a GPT image
// with ESP (GRUB EFI + grub.cfg + grubenv), SYSTEM-A, SYSTEM-B (kernel +
// busybox initramfs) and DATA (ext4), booted under QEMU (TCG) again and again
// while the slot state in grubenv changes.
//
// GRUB runs the library's fixtures/grub/grub.cfg, embedded with
// grub-mkstandalone. Two image sources, same boots and assertions:
//   classic: sfdisk, mkfs.fat, mtools, mke2fs -d; env edits with grub-editenv;
//   library: our GPT, FAT32, ext4 and grubenv; env edits with the library's
//            in-place bootenv command (test/boot/library.ts).
// The presets path (src/image/presets.ts + buildImage) is pending: see
// fixtures/boot/README.md.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGrubEnv, decodeGrubEnv } from '../../src/bootenv/grubenv.js';
import { FileTree } from '../../src/tree/tree.js';
import { bytesSource } from '../../src/io/source.js';
import { fileSource } from '../../src/node/file-source.js';
import { haveTools } from '../helpers/oracle.js';
import {
  GRUB_CFG, Timings, buildInitramfs, fetchPackages, findKernel, makeGrubEfi, markers, resolveModules, runQemu, sh,
  type QemuRun,
} from './harness.js';
import { GPT_ESP, GPT_LINUX, buildClassicImage, debugfsCat, e2fsckAt, readFatFile, type PlacedPartition } from './classic.js';
import { PRESETS_READY, PRESET_MODULES, buildLibraryImage, buildPresetImage, diskwrightCli, readWithOurExt4, withFat } from './library.js';

export type ImageSource = 'classic' | 'library' | 'preset';

export interface GptArch {
  name: 'x86_64' | 'arm64';
  deb: 'amd64' | 'arm64';
  qemu: string;
  grubTarget: 'x86_64-efi' | 'arm64-efi';
  efiName: string;
  /** The serial port the init script writes to (grub.cfg passes no console=). */
  serial: string;
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
  serial: 'ttyS0',
  modules: ['virtio_pci', 'virtio_blk', 'ext4', 'vfat', 'nls_cp437', 'nls_ascii'],
  qemuArgs: (image) => [
    '-machine', 'q35', '-accel', 'tcg', '-m', '512', '-smp', '1', '-display', 'none', '-monitor', 'none',
    '-no-reboot', '-nic', 'none', '-bios', '/usr/share/ovmf/OVMF.fd',
    '-drive', `file=${image},format=raw,if=virtio`,
  ],
  bootTimeoutMs: 180_000,
  tools: ['qemu-system-x86_64', 'grub-mkstandalone', 'grub-editenv', 'sfdisk', 'mkfs.fat', 'mcopy', 'mke2fs', 'e2fsck', 'debugfs', 'dpkg', 'apt-get'],
};

export const ARM64: GptArch = {
  name: 'arm64',
  deb: 'arm64',
  qemu: 'qemu-system-aarch64',
  grubTarget: 'arm64-efi',
  efiName: 'BOOTAA64.EFI',
  serial: 'ttyAMA0',
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
const SEED = 'diskwright boot test';

export function gptBootSuite(arch: GptArch, source: ImageSource): void {
  const enabled = haveTools(...arch.tools) && (source !== 'preset' || PRESETS_READY);
  const by = source === 'classic' ? 'the classic tools' : source === 'library' ? 'the library (buildImage, spec)'
    : `the genericGpt preset${PRESETS_READY ? '' : ` (pending: ${PRESET_MODULES.join(', ')} not in the tree)`}`;
  describe.skipIf(!enabled)(`boots a GPT A/B image on ${arch.name} (UEFI, GRUB, Linux), image by ${by}`, () => {
    const timings = new Timings();
    let work = '';
    let image = '';
    let parts: PlacedPartition[] = [];
    const esp = () => parts[0];
    const data = () => parts[3];

    beforeAll(async () => {
      work = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), `dw-boot-${arch.name}-${source}-`));
      image = path.join(work, 'disk.img');
      const root = timings.time(`fetch Debian packages (${arch.deb}, cached in .cache/boot)`, () => fetchPackages(arch.deb));
      const kernel = findKernel(root);
      const modules = timings.time('resolve kernel modules from .modinfo', () => resolveModules(kernel, arch.modules));
      const initrd = timings.time('build the busybox initramfs (our cpio writer)', () => buildInitramfs({
        busybox: path.join(root, 'bin/busybox'),
        modules,
        conf: { DATA_PARTNAME: 'DATA', ESP_PARTNAME: 'EFI', OFF: 'poweroff', SERIAL: arch.serial },
      }));
      const efi = path.join(work, arch.efiName);
      timings.time('grub-mkstandalone (fixtures/grub/grub.cfg embedded)', () => makeGrubEfi(arch.grubTarget, efi, GRUB_CFG,
        arch.grubTarget === 'arm64-efi' ? path.join(root, 'usr/lib/grub/arm64-efi') : undefined));
      const initialEnv = createGrubEnv({ boot_default: 'A', boot_counter: '0', boot_success: '1' }).encode();
      if (source === 'preset') {
        const stage = (d: string) => { const p = path.join(work, d); fs.mkdirSync(p, { recursive: true }); return p; };
        const k = stage('kernel');
        fs.copyFileSync(kernel.vmlinuz, path.join(k, 'vmlinuz'));
        fs.writeFileSync(path.join(k, 'initrd.img'), initrd);
        fs.writeFileSync(path.join(stage('data'), 'hello.txt'), HELLO + '\n');
        ({ parts } = await timings.timeAsync('build the image (library: genericGpt preset, buildImageFile)', () => buildPresetImage(image, 'genericGpt', {
          arch: arch.name,
          kernel: { kernel: { path: path.join(k, 'vmlinuz'), name: 'vmlinuz' }, initramfs: { path: path.join(k, 'initrd.img'), name: 'initrd.img' }, dtbs: [], overlays: [] },
          efi: [{ from: efi, to: `/EFI/BOOT/${arch.efiName}` }],
          grubCfg: GRUB_CFG,
          data: [{ from: path.join(work, 'data'), to: '/' }],
          sizes: { image: '258MiB', efi: '64MiB', system: '64MiB', data: 'rest' },
          seed: SEED,
          sourceDateEpoch: 1_700_000_000,
        })));
      } else if (source === 'classic') {
        const stage = (d: string) => { const p = path.join(work, d); fs.mkdirSync(p, { recursive: true }); return p; };
        const espDir = stage('esp/EFI/BOOT');
        fs.copyFileSync(efi, path.join(espDir, arch.efiName));
        sh('grub-editenv', [path.join(espDir, 'grubenv'), 'create']);
        sh('grub-editenv', [path.join(espDir, 'grubenv'), 'set', 'boot_default=A', 'boot_counter=0', 'boot_success=1']);
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
      } else {
        const t = { sec: 1_700_000_000, nsec: 0 };
        const espTree = new FileTree({ defaultTime: t });
        espTree.addFile(`/EFI/BOOT/${arch.efiName}`, fileSource(efi));
        espTree.addFile('/EFI/BOOT/grubenv', bytesSource(initialEnv), { contiguous: true });
        const system = () => {
          const s = new FileTree({ defaultTime: t });
          s.addFile('/boot/vmlinuz', fileSource(kernel.vmlinuz));
          s.addFile('/boot/initrd.img', bytesSource(initrd));
          return s;
        };
        const dataTree = new FileTree({ defaultTime: t });
        dataTree.addFile('/hello.txt', bytesSource(new TextEncoder().encode(HELLO + '\n')));
        ({ parts } = await timings.timeAsync('build the image (library: buildImage from a spec)', () => buildLibraryImage(image, 'gpt', [
          { name: 'EFI', type: 'esp', sizeMiB: 64, fs: 'fat32', label: 'EFI', tree: espTree },
          { name: 'SYSTEM-A', type: 'linux', sizeMiB: 64, fs: 'ext4', label: 'SYSTEM-A', tree: system() },
          { name: 'SYSTEM-B', type: 'linux', sizeMiB: 64, fs: 'ext4', label: 'SYSTEM-B', tree: system() },
          { name: 'DATA', type: 'linux', sizeMiB: 32, fs: 'ext4', label: 'DATA', tree: dataTree },
        ], SEED, 1_700_000_000)));
      }
    }, 30 * 60_000);

    afterAll(() => {
      console.log(timings.report(`boot test ${arch.name} (${source})`));
      if (work && !process.env.DISKWRIGHT_KEEP_BOOT) fs.rmSync(work, { recursive: true, force: true });
      else if (work) console.log(`boot test ${arch.name} (${source}): kept ${work}`);
    });

    let bootCount = 0;
    async function boot(label: string): Promise<{ run: QemuRun; lines: string[] }> {
      bootCount++;
      const run = await timings.timeAsync(`boot: ${label}`, () =>
        runQemu(arch.qemu, arch.qemuArgs(image, work), path.join(work, `console-${bootCount}.log`), arch.bootTimeoutMs));
      const lines = markers(run.console);
      if (!lines.includes('DW-BOOT done') || run.timedOut) {
        console.log(`--- console of "${label}" (${run.timedOut ? 'timed out' : `exit ${run.exitCode}`}) ---\n${run.console.slice(-6000)}`);
      }
      return { run, lines };
    }

    /** The grubenv as our reader, grub-editenv (and, for library images, our FAT reader vs mtools) see it. */
    function grubenvNow(): { ours: Record<string, string>; editenv: string } {
      const viaMtools = readFatFile(image, esp().offset, '/EFI/BOOT/grubenv');
      if (source === 'library') {
        const viaOurFat = withFat(image, esp(), false, (r) => r.readFile('/EFI/BOOT/grubenv'));
        expect(Buffer.from(viaOurFat).equals(viaMtools)).toBe(true);
      }
      const file = path.join(work, 'grubenv.now');
      fs.writeFileSync(file, viaMtools);
      return { ours: decodeGrubEnv(new Uint8Array(viaMtools)).toRecord(), editenv: sh('grub-editenv', [file, 'list']).stdout };
    }

    /** `slot X` / `try N` the way each source's users would run them. */
    async function bootenv(verb: 'slot' | 'try', arg: string): Promise<void> {
      if (source === 'library') {
        const r = await diskwrightCli(['bootenv', image, verb, arg]);
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        return;
      }
      const vars = verb === 'slot'
        ? [`boot_default=${arg}`, 'boot_counter=0', 'boot_success=1']
        : ['boot_default=B', `boot_counter=${arg}`, 'boot_success=0'];
      const file = path.join(work, 'grubenv.edit');
      fs.writeFileSync(file, readFatFile(image, esp().offset, '/EFI/BOOT/grubenv'));
      sh('grub-editenv', [file, 'set', ...vars]);
      sh('mcopy', ['-i', `${image}@@${esp().offset}`, '-o', file, '::/EFI/BOOT/grubenv']);
    }

    /** DATA's file as debugfs and (once it exists) our ext4 reader read it. */
    async function dataFile(file: string): Promise<string> {
      const viaDebugfs = debugfsCat(image, data().offset, file);
      const ours = await readWithOurExt4(image, data(), file);
      if (ours === null) console.log(`boot test ${arch.name}: our ext4 reader is not there yet; ${file} read with debugfs only`);
      else expect(ours).toBe(viaDebugfs);
      return viaDebugfs;
    }

    function expectCleanData(): void {
      const fsck = timings.time('e2fsck -fn DATA', () => e2fsckAt(image, data().offset));
      expect(fsck.output).not.toMatch(/fix|error|corrupt|inconsistent|unattached|wrong/i);
      expect(fsck.status).toBe(0);
    }

    function expectClean(lines: string[]): void {
      expect(lines.filter((l) => l.startsWith('DW-BOOT insmod-failed'))).toEqual([]);
      expect(lines.filter((l) => l.startsWith('DW-BOOT FAIL'))).toEqual([]);
      expect(lines[lines.length - 1]).toBe('DW-BOOT done');
    }

    it('boots slot A: GRUB reads grubenv, the kernel mounts DATA, writes a marker and powers off', async () => {
      const { run, lines } = await boot('slot A');
      expect(run.timedOut).toBe(false);
      expect(lines).toContain('DW-BOOT slot=A');
      expect(lines).toContain('DW-BOOT data-dev=vda4');
      expect(lines).toContain('DW-BOOT data-mounted ext4');
      expect(lines).toContain(`DW-BOOT build-file: ${HELLO}`);
      expect(lines).toContain('DW-BOOT marker-written boot=1');
      expect(lines).toContain('DW-BOOT grubenv: boot_default=A');
      expectClean(lines);
      expectCleanData();
      expect(await dataFile('/marker-A')).toBe('written by the kernel booted from slot A\n');
      expect(await dataFile('/boot-log')).toBe('slot=A boot=1\n');
      // A committed slot: GRUB wrote nothing.
      expect(grubenvNow().ours).toEqual({ boot_default: 'A', boot_counter: '0', boot_success: '1' });
    }, 10 * 60_000);

    it('boots slot B after `bootenv slot B`', async () => {
      await bootenv('slot', 'B');
      expect(grubenvNow().ours).toEqual({ boot_default: 'B', boot_counter: '0', boot_success: '1' });
      const { lines } = await boot('slot B');
      expect(lines).toContain('DW-BOOT slot=B');
      expect(lines).toContain('DW-BOOT marker-written boot=2');
      expectClean(lines);
      expectCleanData();
      expect(await dataFile('/marker-B')).toBe('written by the kernel booted from slot B\n');
      await bootenv('slot', 'A');
    }, 10 * 60_000);

    it('counts down an unconfirmed try of B with save_env, then falls back to A', async () => {
      await bootenv('try', '2');
      expect(grubenvNow().ours).toEqual({ boot_default: 'B', boot_counter: '2', boot_success: '0' });
      const first = await boot('try B (2 tries)');
      expect(first.lines).toContain('DW-BOOT slot=B');
      // GRUB's save_env wrote into the FAT file in place: the kernel, our reader and grub-editenv all see it.
      expect(first.lines).toContain('DW-BOOT grubenv: boot_counter=1');
      let env = grubenvNow();
      expect(env.ours).toEqual({ boot_default: 'B', boot_counter: '1', boot_success: '0' });
      expect(env.editenv).toContain('boot_counter=1\n');

      const second = await boot('try B (1 try left)');
      expect(second.lines).toContain('DW-BOOT slot=B');
      expect(grubenvNow().ours).toEqual({ boot_default: 'B', boot_counter: '0', boot_success: '0' });

      const third = await boot('tries used up');
      expect(third.lines).toContain('DW-BOOT slot=A');
      expectClean(third.lines);
      env = grubenvNow();
      expect(env.ours).toEqual({ boot_default: 'A', boot_counter: '0', boot_success: '1' });
      expect(env.editenv.split('\n').filter(Boolean).sort()).toEqual(Object.entries(env.ours).map(([k, v]) => `${k}=${v}`).sort());

      expectCleanData();
      expect(await dataFile('/boot-log')).toBe(
        ['slot=A boot=1', 'slot=B boot=2', 'slot=B boot=3', 'slot=B boot=4', 'slot=A boot=5'].join('\n') + '\n');
    }, 15 * 60_000);
  });
}
