// Raspberry Pi MBR image under `qemu-system-aarch64 -M raspi3b`. The
// VideoCore firmware cannot be emulated, so the test plays its part: it reads
// autoboot.txt from partition 1 (with our reader), takes the kernel, DTB and
// initramfs from the partition that `boot_partition` names, and hands them to
// QEMU directly, with the image as the SD card. The kernel (Debian arm64,
// bcm2837-rpi-3-b.dtb) must then see the four MBR partitions, mount ext4 p4
// by label and FAT p2/p3, and read autoboot.txt from p1. Two image sources:
// the library (buildImage with an MBR spec, formatAutoboot, slot changes with
// `diskwright bootenv IMG slot B`) and the classic tools.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAutoboot, formatAutoboot } from '../../src/bootenv/autoboot.js';
import { FileTree } from '../../src/tree/tree.js';
import { bytesSource, textSource } from '../../src/io/source.js';
import { fileSource } from '../../src/node/file-source.js';
import { PRESETS_READY, buildLibraryImage, buildPresetImage, diskwrightCli, readWithOurExt4 } from './library.js';
import { haveTools } from '../helpers/oracle.js';
import { Timings, buildInitramfs, fetchPackages, findKernel, markers, resolveModules, runQemu, type QemuRun } from './harness.js';
import { buildClassicImage, debugfsCat, e2fsckAt, readFatFile, writeFatFile, type PlacedPartition } from './classic.js';

const HELLO = 'hello from the build: placed in DATA before the first boot';
const DTB = 'bcm2837-rpi-3-b.dtb';
const autobootText = (slotPartition: number) =>
  `[all]\ntryboot_a_b=1\nboot_partition=${slotPartition}\n[tryboot]\nboot_partition=${slotPartition === 2 ? 3 : 2}\n`;

/** The autoboot.txt lines that carry content (formatAutoboot pads with '#' lines). */
const contentLines = (lines: string[]) => lines.filter((l) => !/^#*$/.test(l.trim()));

for (const source of [PRESETS_READY ? 'preset' : 'library', 'classic'] as const) {
describe.skipIf(!haveTools('qemu-system-aarch64', 'sfdisk', 'mkfs.fat', 'mcopy', 'mke2fs', 'e2fsck', 'debugfs', 'dpkg', 'apt-get'))(
  `boots a Raspberry Pi MBR image on raspi3b (kernel handed over directly), image by ${source === 'classic' ? 'the classic tools' : source === 'preset' ? 'the raspberryPi preset' : 'the library (buildImage, spec)'}`, () => {
    const timings = new Timings();
    let work = '';
    let image = '';
    let parts: PlacedPartition[] = [];

    beforeAll(async () => {
      work = fs.mkdtempSync(path.join(fs.realpathSync('/tmp'), `dw-boot-raspi3b-${source}-`));
      image = path.join(work, 'sd.img');
      const root = timings.time('fetch Debian packages (arm64, cached in .cache/boot)', () => fetchPackages('arm64'));
      const kernel = findKernel(root);
      const modules = timings.time('resolve kernel modules from .modinfo', () =>
        resolveModules(kernel, ['bcm2835', 'mmc_block', 'ext4', 'vfat', 'nls_cp437', 'nls_ascii', 'bcm2835_wdt']));
      const initrd = timings.time('build the busybox initramfs (our cpio writer)', () => buildInitramfs({
        busybox: path.join(root, 'bin/busybox'),
        modules,
        conf: { DATA_LABEL: 'DATA', FAT_DEVS: 'p2 p3', AUTOBOOT_PART: 'p1', OFF: 'reboot' },
      }));
      const dtbs = fs.readdirSync(path.join(root, 'usr/lib')).filter((d) => d.startsWith('linux-image-'));
      const dtb = path.join(root, 'usr/lib', dtbs[0], 'broadcom', DTB);
      if (source === 'preset') {
        const stage = (d: string) => { const p = path.join(work, d); fs.mkdirSync(p, { recursive: true }); return p; };
        const k = stage('kernel');
        fs.copyFileSync(kernel.vmlinuz, path.join(k, 'kernel8.img'));
        fs.writeFileSync(path.join(k, 'initramfs'), initrd);
        fs.writeFileSync(path.join(k, 'config.txt'), 'arm_64bit=1\n');
        for (const s of ['A', 'B']) fs.writeFileSync(path.join(k, `cmdline-${s}.txt`), `console=ttyAMA0 kubesolo.slot=${s} panic=-1\n`);
        fs.writeFileSync(path.join(stage('data'), 'hello.txt'), HELLO + '\n');
        ({ parts } = await timings.timeAsync('build the image (library: raspberryPi preset, buildImageFile)', () => buildPresetImage(image, 'raspberryPi', {
          kernel: {
            kernel: { path: path.join(k, 'kernel8.img'), name: 'kernel8.img' },
            initramfs: { path: path.join(k, 'initramfs'), name: 'initramfs' },
            dtbs: [{ path: dtb, name: DTB }],
            overlays: [],
          },
          control: [{ from: path.join(k, 'config.txt'), to: '/config.txt' }],
          bootA: [{ from: path.join(k, 'cmdline-A.txt'), to: '/cmdline.txt' }],
          bootB: [{ from: path.join(k, 'cmdline-B.txt'), to: '/cmdline.txt' }],
          data: [{ from: path.join(work, 'data'), to: '/' }],
          // The SD card's size must be a power of two for QEMU.
          sizes: { image: '256MiB', control: '64MiB', boot: '64MiB', data: 'rest' },
          seed: 'diskwright boot test',
          sourceDateEpoch: 1_700_000_000,
        })));
        return;
      }
      if (source === 'library') {
        const t = { sec: 1_700_000_000, nsec: 0 };
        const control = new FileTree({ defaultTime: t });
        control.addFile('/autoboot.txt', bytesSource(formatAutoboot({ committed: 'A' })));
        control.addFile('/config.txt', textSource('arm_64bit=1\n'));
        const bootTree = (s: string) => {
          const b = new FileTree({ defaultTime: t });
          b.addFile('/kernel8.img', fileSource(kernel.vmlinuz));
          b.addFile(`/${DTB}`, fileSource(dtb));
          b.addFile('/initramfs', bytesSource(initrd));
          b.addFile('/cmdline.txt', textSource(`console=ttyAMA0 kubesolo.slot=${s} panic=-1\n`));
          return b;
        };
        const dataTree = new FileTree({ defaultTime: t });
        dataTree.addFile('/hello.txt', textSource(HELLO + '\n'));
        ({ parts } = await timings.timeAsync('build the image (library: buildImage from an MBR spec)', () => buildLibraryImage(image, 'mbr', [
          { name: 'control', type: '0x0c', sizeMiB: 64, fs: 'fat32', label: 'CONTROL', tree: control },
          { name: 'boot-a', type: '0x0c', sizeMiB: 64, fs: 'fat32', label: 'BOOT-A', tree: bootTree('A') },
          { name: 'boot-b', type: '0x0c', sizeMiB: 64, fs: 'fat32', label: 'BOOT-B', tree: bootTree('B') },
          { name: 'data', type: '0x83', sizeMiB: 32, fs: 'ext4', label: 'DATA', tree: dataTree },
          // The SD card's size must be a power of two for QEMU.
        ], 'diskwright boot test', 1_700_000_000, 256)));
        return;
      }
      const stage = (d: string) => { const p = path.join(work, d); fs.mkdirSync(p, { recursive: true }); return p; };
      const control = stage('control');
      fs.writeFileSync(path.join(control, 'autoboot.txt'), autobootText(2));
      fs.writeFileSync(path.join(control, 'config.txt'), 'arm_64bit=1\n');
      for (const s of ['A', 'B']) {
        const d = stage(`boot-${s}`);
        fs.copyFileSync(kernel.vmlinuz, path.join(d, 'kernel8.img'));
        fs.copyFileSync(dtb, path.join(d, DTB));
        fs.writeFileSync(path.join(d, 'initramfs'), initrd);
        fs.writeFileSync(path.join(d, 'cmdline.txt'), `console=ttyAMA0 kubesolo.slot=${s} panic=-1\n`);
      }
      fs.writeFileSync(path.join(stage('data'), 'hello.txt'), HELLO + '\n');
      parts = timings.time('build the image (classic tools)', () => buildClassicImage(image, {
        table: 'mbr',
        // The SD card's size must be a power of two for QEMU.
        totalMiB: 256,
        partitions: [
          { name: 'control', type: 'c', sizeMiB: 64, fs: 'fat32', label: 'CONTROL', from: control },
          { name: 'boot-a', type: 'c', sizeMiB: 64, fs: 'fat32', label: 'BOOT-A', from: path.join(work, 'boot-A') },
          { name: 'boot-b', type: 'c', sizeMiB: 64, fs: 'fat32', label: 'BOOT-B', from: path.join(work, 'boot-B') },
          { name: 'data', type: '83', sizeMiB: 32, fs: 'ext4', label: 'DATA', from: path.join(work, 'data') },
        ],
      }));
    }, 30 * 60_000);

    afterAll(() => {
      console.log(timings.report(`boot test raspi3b (${source})`));
      if (work && !process.env.DISKWRIGHT_KEEP_BOOT) fs.rmSync(work, { recursive: true, force: true });
      else if (work) console.log(`boot test raspi3b (${source}): kept ${work}`);
    });

    /** What the firmware would do: autoboot.txt → boot partition → kernel, DTB, initramfs and cmdline from it. */
    async function boot(label: string): Promise<{ run: QemuRun; lines: string[]; partition: number }> {
      const autoboot = decodeAutoboot(new Uint8Array(readFatFile(image, parts[0].offset, '/autoboot.txt')));
      const partition = Number(autoboot.effective('boot_partition', false));
      const p = parts[partition - 1];
      const n = fs.readdirSync(work).filter((f) => f.startsWith('console-')).length + 1;
      const take = (f: string) => { const out = path.join(work, `fw-${n}-${f}`); fs.writeFileSync(out, readFatFile(image, p.offset, `/${f}`)); return out; };
      const [k, d, i] = [take('kernel8.img'), take(DTB), take('initramfs')];
      const cmdline = readFatFile(image, p.offset, '/cmdline.txt').toString('utf8').trim();
      const run = await timings.timeAsync(`boot: ${label}`, () => runQemu('qemu-system-aarch64', [
        '-M', 'raspi3b', '-m', '1G', '-accel', 'tcg,thread=single', '-display', 'none', '-monitor', 'none', '-no-reboot',
        '-kernel', k, '-dtb', d, '-initrd', i, '-append', cmdline,
        '-drive', `if=sd,format=raw,file=${image}`,
      ], path.join(work, `console-${n}.log`), 180_000));
      const lines = markers(run.console);
      if (!lines.includes('DW-BOOT done') || run.timedOut) {
        console.log(`--- console of "${label}" (${run.timedOut ? 'timed out' : `exit ${run.exitCode}`}) ---\n${run.console.slice(-6000)}`);
      }
      return { run, lines, partition };
    }

    it('boots Boot A: sees the MBR partitions, mounts ext4 p4 by label and FAT p2/p3, reads autoboot.txt from p1', async () => {
      const { run, lines, partition } = await boot('Boot A (boot_partition=2)');
      expect(partition).toBe(2);
      expect(run.timedOut).toBe(false);
      expect(lines).toContain('DW-BOOT slot=A');
      expect(lines.filter((l) => l.startsWith('DW-BOOT insmod-failed'))).toEqual([]);
      expect(lines).toContain('DW-BOOT data-dev=mmcblk0p4');
      expect(lines).toContain('DW-BOOT partitions: 4');
      expect(lines).toContain('DW-BOOT data-mounted ext4');
      expect(lines).toContain(`DW-BOOT build-file: ${HELLO}`);
      expect(lines).toContain('DW-BOOT marker-written boot=1');
      expect(lines.find((l) => l.startsWith('DW-BOOT fat-p2:'))).toMatch(/bcm2837-rpi-3-b\.dtb .*cmdline\.txt .*initramfs .*kernel8\.img/);
      expect(lines.find((l) => l.startsWith('DW-BOOT fat-p3:'))).toMatch(/kernel8\.img/);
      expect(contentLines(lines.filter((l) => l.startsWith('DW-BOOT autoboot: ')).map((l) => l.slice('DW-BOOT autoboot: '.length)))).toEqual(
        autobootText(2).trim().split('\n'));
      expect(lines.filter((l) => l.startsWith('DW-BOOT FAIL'))).toEqual([]);
      expect(lines[lines.length - 1]).toBe('DW-BOOT done');
      const fsck = e2fsckAt(image, parts[3].offset);
      expect(fsck.output).not.toMatch(/fix|error|corrupt|inconsistent|unattached|wrong/i);
      expect(fsck.status).toBe(0);
      expect(debugfsCat(image, parts[3].offset, '/marker-A')).toBe('written by the kernel booted from slot A\n');
      const ours = await readWithOurExt4(image, parts[3], '/marker-A');
      if (ours !== null) expect(ours).toBe('written by the kernel booted from slot A\n');
    }, 10 * 60_000);

    it('boots Boot B after `bootenv slot B` (boot_partition=3 under [all])', async () => {
      if (source !== 'classic') {
        const r = await diskwrightCli(['bootenv', image, 'slot', 'B']);
        expect([r.status, r.stderr]).toEqual([0, '']);
      } else {
        writeFatFile(image, parts[0].offset, '/autoboot.txt', new TextEncoder().encode(autobootText(3)));
      }
      const { lines, partition } = await boot('Boot B (boot_partition=3)');
      expect(partition).toBe(3);
      expect(lines).toContain('DW-BOOT slot=B');
      expect(contentLines(lines.filter((l) => l.startsWith('DW-BOOT autoboot: ')).map((l) => l.slice('DW-BOOT autoboot: '.length)))).toEqual(
        autobootText(3).trim().split('\n'));
      expect(lines).toContain('DW-BOOT marker-written boot=2');
      expect(lines[lines.length - 1]).toBe('DW-BOOT done');
      expect(e2fsckAt(image, parts[3].offset).status).toBe(0);
      expect(debugfsCat(image, parts[3].offset, '/boot-log')).toBe('slot=A boot=1\nslot=B boot=2\n');
    }, 10 * 60_000);
  });
}
