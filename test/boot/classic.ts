// Images made with the classic tools (sfdisk, mkfs.fat, mtools, mke2fs -d),
// all rootless, so the QEMU side of the boot tests stands on its own before
// the library builds the images itself. Filesystems are written straight into
// the image file at their partition's offset (mkfs.fat --offset, mke2fs -E
// offset=, mtools img@@offset, e2fsprogs img?offset=).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sh } from './harness.js';

export const MiB = 1024 * 1024;

export interface ClassicPartition {
  name: string;
  /** GPT type GUID, or an MBR type byte ("c", "83"). */
  type: string;
  sizeMiB: number;
  fs: 'fat32' | 'ext4';
  label: string;
  /** Host directory copied in (ext4: mke2fs -d; FAT: mcopy -s). */
  from?: string;
}

export interface ClassicLayout {
  table: 'gpt' | 'mbr';
  partitions: ClassicPartition[];
  /** Total size; default: the partitions plus 1 MiB in front and 1 MiB behind. */
  totalMiB?: number;
}

export interface PlacedPartition extends ClassicPartition {
  index: number;
  offset: number;
  size: number;
}

export const GPT_ESP = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';
export const GPT_LINUX = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';

export function buildClassicImage(image: string, layout: ClassicLayout): PlacedPartition[] {
  const placed: PlacedPartition[] = [];
  let at = 1;
  for (const [i, p] of layout.partitions.entries()) {
    placed.push({ ...p, index: i + 1, offset: at * MiB, size: p.sizeMiB * MiB });
    at += p.sizeMiB;
  }
  const total = (layout.totalMiB ?? at + 1) * MiB;
  if (at * MiB > total - (layout.table === 'gpt' ? 33 * 512 : 0)) throw new Error('partitions do not fit');
  fs.rmSync(image, { force: true });
  fs.closeSync(fs.openSync(image, 'w'));
  fs.truncateSync(image, total);

  const lines = [`label: ${layout.table === 'gpt' ? 'gpt' : 'dos'}`, 'unit: sectors'];
  if (layout.table === 'mbr') lines.push('label-id: 0x5eed0001');
  for (const p of placed) {
    const name = layout.table === 'gpt' ? `, name="${p.name}"` : '';
    lines.push(`start=${p.offset / 512}, size=${p.size / 512}, type=${p.type}${name}`);
  }
  sh('sfdisk', ['--no-reread', '--no-tell-kernel', '-q', image], { input: lines.join('\n') + '\n' });

  for (const p of placed) {
    if (p.fs === 'fat32') {
      // 64 MiB needs one sector per cluster to reach FAT32's 65525 clusters.
      sh('mkfs.fat', ['-F', '32', '-s', '1', '-n', p.label, '-i', '5eed0000', `--offset=${p.offset / 512}`, image, String(p.size / 1024)]);
      if (p.from) copyIntoFat(image, p.offset, p.from);
    } else {
      const args = ['-q', '-F', '-t', 'ext4', '-L', p.label, '-U', 'clear', '-E', `offset=${p.offset},root_owner=0:0`];
      if (p.from) args.push('-d', p.from);
      sh('mke2fs', [...args, image, `${p.size / 1024}k`], { input: '' });
    }
  }
  return placed;
}

function mtoolsEnv(): void {
  process.env.MTOOLS_SKIP_CHECK = '1';
}

/** Copy a host directory's contents into the FAT file system at `offset`. */
export function copyIntoFat(image: string, offset: number, from: string): void {
  mtoolsEnv();
  const target = `${image}@@${offset}`;
  const walk = (dir: string, rel: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) {
        sh('mmd', ['-i', target, `::${r}`]);
        walk(path.join(dir, e.name), r);
      } else {
        sh('mcopy', ['-i', target, '-o', path.join(dir, e.name), `::${r}`]);
      }
    }
  };
  walk(from, '');
}

/** A file's bytes from the FAT file system at `offset` (mtools). */
export function readFatFile(image: string, offset: number, file: string): Buffer {
  mtoolsEnv();
  const tmp = `${image}.mcopy-out`;
  fs.rmSync(tmp, { force: true });
  sh('mcopy', ['-i', `${image}@@${offset}`, '-n', `::${file}`, tmp]);
  const data = fs.readFileSync(tmp);
  fs.rmSync(tmp, { force: true });
  return data;
}

/** Replace a file in the FAT file system at `offset` (mtools). */
export function writeFatFile(image: string, offset: number, file: string, data: Uint8Array): void {
  mtoolsEnv();
  const tmp = `${image}.mcopy-in`;
  fs.writeFileSync(tmp, data);
  sh('mcopy', ['-i', `${image}@@${offset}`, '-o', tmp, `::${file}`]);
  fs.rmSync(tmp, { force: true });
}

/** e2fsck -fn over the ext4 at `offset`: its exit status and output. */
export function e2fsckAt(image: string, offset: number): { status: number; output: string } {
  const r = sh('e2fsck', ['-fn', `${image}?offset=${offset}`], { allowFail: true });
  return { status: r.status, output: r.stdout + r.stderr };
}

/** debugfs -R "cat PATH" over the ext4 at `offset`. */
export function debugfsCat(image: string, offset: number, file: string): string {
  return sh('debugfs', ['-R', `cat ${file}`, `${image}?offset=${offset}`]).stdout;
}

/** Copy a partition out into its own file (for tools with no offset option, and for our readers). */
export function extractPartition(image: string, p: { offset: number; size: number }, out: string): void {
  const fd = fs.openSync(image, 'r');
  const od = fs.openSync(out, 'w');
  try {
    fs.ftruncateSync(od, p.size);
    const buf = Buffer.alloc(4 * MiB);
    for (let o = 0; o < p.size; o += buf.length) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, p.size - o), p.offset + o);
      if (buf.subarray(0, n).some((b) => b !== 0)) fs.writeSync(od, buf, 0, n, o);
    }
  } finally {
    fs.closeSync(fd);
    fs.closeSync(od);
  }
}
