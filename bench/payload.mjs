// The benchmark payload: boot/ efi/ control/ data/ as ../shared/bench/make-payload.sh
// makes it (preferred), or — where that script is not present — a smaller
// deterministic stand-in generated here with the same shape (a 30 MiB kernel,
// a 40 MiB initramfs, DTBs and overlays, an EFI tree, a data tree of many
// small files and a few large ones, symlinks, hard links).
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Make sure the payload exists in `dir` (a cache); returns how it was made. */
export function ensurePayload(repoRoot, dir) {
  const shared = path.resolve(repoRoot, '../shared/bench/make-payload.sh');
  if (fs.existsSync(path.join(dir, '.payload-stamp')) || fs.existsSync(path.join(dir, '.bench-payload-stamp'))) {
    return { dir, generator: fs.existsSync(path.join(dir, '.payload-stamp')) ? shared : 'bench/payload.mjs', cached: true };
  }
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  if (fs.existsSync(shared)) {
    const r = spawnSync('bash', [shared, dir], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) throw new Error(`${shared} failed with ${r.status}`);
    return { dir, generator: shared, cached: false };
  }
  generate(dir);
  return { dir, generator: 'bench/payload.mjs', cached: false };
}

/** SHAKE-256 stream of `n` bytes for a tag: incompressible, like compiled code or compressed archives. */
function rbytes(tag, n) {
  return createHash('shake256', { outputLength: n }).update(`bench-v1:${tag}`).digest();
}

/** Text-like bytes (compressible), derived from the same stream. */
function text(tag, n) {
  const letters = 'eeeeeeetttttaaaaooooiiinnnsssshhrrdlcumwfgypbvkjxqz      \n\n.,=_';
  const r = rbytes(tag, n);
  for (let i = 0; i < n; i++) r[i] = letters.charCodeAt(r[i] % letters.length);
  return r;
}

function splitmix(seed) {
  let x = BigInt(seed);
  const M = (1n << 64n) - 1n;
  return () => {
    x = (x + 0x9e3779b97f4a7c15n) & M;
    let z = x;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M;
    return Number((z ^ (z >> 31n)) & 0xffffffffn);
  };
}

function put(root, rel, data, mode = 0o644) {
  const p = path.join(root, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, data, { mode });
  fs.chmodSync(p, mode);
}

function generate(out) {
  if (fs.existsSync(out) && fs.readdirSync(out).length) throw new Error(`refusing to overwrite non-empty ${out}`);
  fs.mkdirSync(out, { recursive: true });
  put(out, 'boot/Image', Buffer.concat([Buffer.alloc(56), Buffer.from('ARMd'), rbytes('boot/Image', 30 * MiB - 60)]));
  put(out, 'boot/initramfs.img', Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), rbytes('boot/initramfs', 40 * MiB - 4)]));
  for (let i = 0; i < 12; i++) put(out, `boot/bcm27${10 + (i % 3)}-board-${i}.dtb`, rbytes(`dtb${i}`, 20 * KiB + i * 3 * KiB));
  for (let i = 0; i < 200; i++) put(out, `boot/overlays/ovl-${i}.dtbo`, rbytes(`ovl${i}`, 1 * KiB + (i * 37) % 4000));
  put(out, 'boot/config.txt', '# config.txt\narm_64bit=1\nkernel=Image\ninitramfs initramfs.img followkernel\n');
  put(out, 'boot/cmdline.txt', 'console=tty1 root=LABEL=data rootfstype=ext4 rootwait quiet\n');
  put(out, 'efi/EFI/BOOT/BOOTX64.EFI', Buffer.concat([Buffer.from('MZ'), rbytes('efi', 1536 * KiB - 2)]));
  put(out, 'efi/grub/grub.cfg', 'set default=0\nload_env\nmenuentry "A" { linux /Image }\n');
  const env = Buffer.alloc(1024, '#');
  env.write('# GRUB Environment Block\nboot_default=A\nboot_counter=3\n');
  put(out, 'efi/grub/grubenv', env);
  put(out, 'control/config.txt', '[all]\nenable_uart=1\n');
  put(out, 'control/autoboot.txt', '[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n');
  // data/: ~20k entries, ~400 MiB.
  const rnd = splitmix(20240601);
  const dirs = ['data'];
  let total = 0;
  for (let i = 0; i < 1400; i++) {
    const parent = dirs[rnd() % dirs.length];
    if (parent.split('/').length > 8) continue;
    const d = `${parent}/d${i.toString(36)}`;
    fs.mkdirSync(path.join(out, d), { recursive: true });
    dirs.push(d);
  }
  for (let i = 0; i < 19000; i++) {
    const d = dirs[rnd() % dirs.length];
    const kind = rnd() % 100;
    let size;
    if (kind < 3) size = 0;
    else if (kind < 65) size = 1 + (rnd() % 4096);
    else if (kind < 98) size = 4096 + (rnd() % (96 * KiB));
    else size = 128 * KiB + (rnd() % (2 * MiB));
    const rel = `${d}/f${i.toString(36)}${kind % 2 ? '.txt' : '.bin'}`;
    put(out, rel, kind % 2 ? text(rel, size) : rbytes(rel, size));
    total += size;
  }
  for (let i = 0; total < 400 * MiB && i < 9; i++) {
    const n = Math.min(40 * MiB, 400 * MiB - total);
    put(out, `data/large/blob${i}.bin`, i % 2 ? text(`large${i}`, n) : rbytes(`large${i}`, n));
    total += n;
  }
  for (let i = 0; i < 300; i++) fs.symlinkSync(`../target-${i}`, path.join(out, dirs[rnd() % dirs.length], `link${i}`));
  fs.linkSync(path.join(out, 'boot/config.txt'), path.join(out, 'data/config-hardlink.txt'));
  spawnSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@1700000000', '-cf', path.join(out, 'data.tar'), '-C', out, 'data']);
  fs.writeFileSync(path.join(out, '.bench-payload-stamp'), 'bench/payload.mjs v1\n');
}
