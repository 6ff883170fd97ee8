// The two KubeSolo OS layouts as spec builders. Each returns a plain spec
// object (the same JSON `diskwright build` reads), so a preset can be saved,
// reviewed and diffed like any hand-written spec; fixtures/presets/ holds
// the two as files.
//
//   genericGpt   x86_64 and generic UEFI ARM64: GPT, 1 MiB aligned
//                1 EFI (FAT32: GRUB EFI binary, grub.cfg, grubenv)
//                2 SYSTEM-A · 3 SYSTEM-B (ext4: /boot/vmlinuz, /boot/initrd.img, rootfs)
//                4 DATA (ext4)
//                A/B: GRUB env block (boot_default, boot_counter, boot_success)
//   raspberryPi  Raspberry Pi 4/5: MBR, four primaries
//                1 0x0C Boot/Control (FAT32: firmware, fallback kernel, autoboot.txt)
//                2 0x0C Boot A · 3 0x0C Boot B (FAT32: kernel, DTBs, overlays, initramfs)
//                4 0x83 Data (ext4)
//                A/B: autoboot.txt (tryboot_a_b=1, boot_partition)
//
// Type GUIDs follow the Discoverable Partitions Specification where one fits
// (ESP; root-x86-64 / root-arm64 for the system slots); the data partition is
// generic Linux data, since KubeSolo mounts it by label, not by type.
// Kernels come in as KernelArtifacts (src/kernel): plain files, however built.
import type { KernelArtifacts } from '../kernel/artifacts.js';

export interface ContentItem {
  from: string;
  to: string;
}

export type Arch = 'x86_64' | 'arm64';

export interface GenericGptOptions {
  arch: Arch;
  kernel: KernelArtifacts;
  /** The ESP's files: the GRUB EFI binary (/EFI/BOOT/BOOTX64.EFI or BOOTAA64.EFI) and anything else. */
  efi: ContentItem[];
  /** Host path of the grub.cfg that implements the A/B counter (fixtures/grub/grub.cfg). Placed at /EFI/BOOT/grub.cfg. */
  grubCfg?: string;
  /** Root filesystem of System A (beside the kernel in /boot). */
  systemA?: ContentItem[];
  /** System B's contents; a copy of System A when absent. */
  systemB?: ContentItem[];
  data: ContentItem[];
  sizes?: { image?: string | number; efi?: string | number; system?: string | number; data?: string | number | 'rest' };
  /** Filesystem of the system slots (default ext4; GRUB reads both). */
  systemFilesystem?: 'ext4' | 'fat32';
  /** GRUB env variables beyond the A/B ones (which default to boot_default=A, boot_counter=0, boot_success=1). */
  grubenv?: Record<string, string>;
  seed?: string;
  sourceDateEpoch?: number;
  /** Ownership in the ext4 filesystems: "root" (default, for rootless builds) or "keep". */
  owner?: 'root' | 'keep';
}

export interface RaspberryPiOptions {
  kernel: KernelArtifacts;
  /** Control partition files: firmware (start4.elf, fixup4.dat…), config.txt. A fallback kernel is added from `kernel`. */
  control: ContentItem[];
  /** Boot A's files besides the kernel, DTBs, overlays and initramfs (config.txt, cmdline.txt). */
  bootA?: ContentItem[];
  /** Boot B's extra files; a copy of Boot A when absent. */
  bootB?: ContentItem[];
  data: ContentItem[];
  /** Name of the kernel on the boot partitions (default kernel8.img; kernel_2712.img for a Pi 5-only image). */
  kernelName?: string;
  sizes?: { image?: string | number; control?: string | number; boot?: string | number; data?: string | number | 'rest' };
  /** The committed slot (default A). */
  committed?: 'A' | 'B';
  seed?: string;
  sourceDateEpoch?: number;
  owner?: 'root' | 'keep';
}

/** Type GUID aliases of the system slots per architecture (DPS root partitions). */
const ROOT_TYPE: Record<Arch, string> = { x86_64: 'linux-root-x86-64', arm64: 'linux-root-arm64' };

function kernelFiles(k: KernelArtifacts, kernelTo: string, initrdTo: string): ContentItem[] {
  const items: ContentItem[] = [{ from: k.kernel.path, to: kernelTo }];
  if (k.initramfs) items.push({ from: k.initramfs.path, to: initrdTo });
  return items;
}

export function genericGpt(o: GenericGptOptions): Record<string, unknown> {
  if (o.arch !== 'x86_64' && o.arch !== 'arm64') throw new TypeError(`arch must be "x86_64" or "arm64", got ${String(o.arch)}`);
  const s = o.sizes ?? {};
  const sysFs = o.systemFilesystem ?? 'ext4';
  const owner = o.owner ?? 'root';
  const system = (extra: ContentItem[] | undefined, label: string) => ({
    type: sysFs,
    label,
    ...(sysFs === 'ext4' ? { owner } : {}),
    contents: [...kernelFiles(o.kernel, '/boot/vmlinuz', '/boot/initrd.img'), ...(extra ?? [])],
  });
  const efi = [...o.efi];
  if (o.grubCfg) efi.push({ from: o.grubCfg, to: '/EFI/BOOT/grub.cfg' });
  return {
    description: `KubeSolo OS, generic UEFI ${o.arch}: ESP, System A, System B, Data`,
    table: 'gpt',
    size: s.image ?? '4GiB',
    seed: o.seed ?? `kubesolo-${o.arch}`,
    ...(o.sourceDateEpoch !== undefined ? { sourceDateEpoch: o.sourceDateEpoch } : {}),
    partitions: [
      { name: 'EFI', type: 'esp', size: s.efi ?? '128MiB', filesystem: { type: 'fat32', label: 'EFI', contents: efi } },
      { name: 'SYSTEM-A', type: ROOT_TYPE[o.arch], size: s.system ?? '1GiB', filesystem: system(o.systemA, 'SYSTEM-A') },
      { name: 'SYSTEM-B', type: ROOT_TYPE[o.arch], size: s.system ?? '1GiB', filesystem: system(o.systemB ?? o.systemA, 'SYSTEM-B') },
      { name: 'DATA', type: 'linux', size: s.data ?? 'rest', filesystem: { type: 'ext4', label: 'DATA', owner, contents: o.data } },
    ],
    bootenv: {
      grub: {
        partition: 1,
        path: '/EFI/BOOT/grubenv',
        variables: { boot_default: 'A', boot_counter: '0', boot_success: '1', ...(o.grubenv ?? {}) },
      },
    },
  };
}

export function raspberryPi(o: RaspberryPiOptions): Record<string, unknown> {
  const s = o.sizes ?? {};
  const owner = o.owner ?? 'root';
  const kernelName = o.kernelName ?? 'kernel8.img';
  const boot = (extra: ContentItem[] | undefined): ContentItem[] => [
    ...kernelFiles(o.kernel, `/${kernelName}`, `/${o.kernel.initramfs?.name ?? 'initramfs.img'}`),
    ...o.kernel.dtbs.map((d) => ({ from: d.path, to: `/${d.name}` })),
    ...o.kernel.overlays.map((d) => ({ from: d.path, to: `/${d.name}` })),
    ...(extra ?? []),
  ];
  return {
    description: 'KubeSolo OS, Raspberry Pi 4/5: Boot/Control, Boot A, Boot B, Data',
    table: 'mbr',
    size: s.image ?? '4GiB',
    seed: o.seed ?? 'kubesolo-rpi',
    ...(o.sourceDateEpoch !== undefined ? { sourceDateEpoch: o.sourceDateEpoch } : {}),
    partitions: [
      // The control partition carries the firmware and a fallback kernel, so a
      // card whose autoboot.txt is lost still boots something.
      { name: 'CONTROL', type: '0x0c', size: s.control ?? '64MiB', bootable: true,
        filesystem: { type: 'fat32', label: 'CONTROL', contents: [...o.control, ...kernelFiles(o.kernel, `/${kernelName}`, `/${o.kernel.initramfs?.name ?? 'initramfs.img'}`)] } },
      { name: 'BOOT-A', type: '0x0c', size: s.boot ?? '256MiB', filesystem: { type: 'fat32', label: 'BOOT-A', contents: boot(o.bootA) } },
      { name: 'BOOT-B', type: '0x0c', size: s.boot ?? '256MiB', filesystem: { type: 'fat32', label: 'BOOT-B', contents: boot(o.bootB ?? o.bootA) } },
      { name: 'DATA', type: '0x83', size: s.data ?? 'rest', filesystem: { type: 'ext4', label: 'DATA', owner, contents: o.data } },
    ],
    bootenv: { autoboot: { partition: 1, path: '/autoboot.txt', committed: o.committed ?? 'A' } },
  };
}
