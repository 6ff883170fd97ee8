// A deterministic tree shaped like the boot/ and efi/ trees of
// bench/make-payload.sh (kernel, initramfs, DTBs, 200 overlays, GRUB files),
// scaled down so that a test run stays short.
import { FileTree } from '../../src/tree/tree.js';
import { bytesSource } from '../../src/io/source.js';
import { T0 } from './helpers.js';

function fill(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

const text = (s: string) => new TextEncoder().encode(s);

export function payloadTree(scale = 1): FileTree {
  const t = new FileTree({ defaultTime: T0 });
  const add = (p: string, data: Uint8Array, contiguous = false) => t.addFile(p, bytesSource(data), { mtime: T0, contiguous });
  let seed = 1;
  add('/boot/Image', fill(seed++, Math.round(3 * scale * 1024 * 1024) + 123));
  add('/boot/initramfs.img', fill(seed++, Math.round(4 * scale * 1024 * 1024) + 4567));
  const boards = ['bcm2711-rpi-4-b', 'bcm2711-rpi-400', 'bcm2711-rpi-cm4', 'bcm2711-rpi-cm4s', 'bcm2712-rpi-5-b', 'bcm2712-rpi-cm5-cm5io',
    'bcm2712d0-rpi-5-b', 'bcm2710-rpi-3-b', 'bcm2710-rpi-3-b-plus', 'bcm2710-rpi-zero-2-w', 'bcm2712-rpi-500', 'bcm2711-rpi-cm4-io'];
  for (const b of boards) add(`/boot/${b}.dtb`, fill(seed++, 20_000 + (seed * 3331) % 40_000));
  add('/boot/config.txt', text('arm_64bit=1\nkernel=Image\ninitramfs initramfs.img followkernel\n[all]\n'));
  add('/boot/cmdline.txt', text('console=serial0,115200 console=tty1 root=LABEL=KSOLO-DATA rootwait\n'));
  const kinds = ['vc4-kms-v3d', 'vc4-kms-dsi', 'i2c-gpio', 'spi0-1cs', 'uart', 'disable-bt', 'gpio-fan', 'pwm-2chan', 'dwc2', 'w1-gpio'];
  for (let i = 0; i < 200; i++) add(`/boot/overlays/${kinds[i % kinds.length]}-${Math.floor(i / kinds.length)}.dtbo`, fill(seed++, 600 + (i * 977) % 7000));
  add('/boot/overlays/README', text('Overlays for the Raspberry Pi.\n'.repeat(200)));
  add('/efi/EFI/BOOT/BOOTX64.EFI', fill(seed++, Math.round(1.5 * scale * 1024 * 1024)));
  add('/efi/grub/grub.cfg', text('set default=0\nload_env\nmenuentry "KubeSolo A" { linux /vmlinuz-a }\n'));
  const env = '# GRUB Environment Block\nboot_default=A\nboot_counter=3\n';
  add('/efi/grub/grubenv', text(env + '#'.repeat(1024 - env.length)), true);
  return t;
}
