// diskwright verify IMG [--oracles] [--json]: our structural checks of a
// whole image; with --oracles, the reference tools' verdict as well.
import * as path from 'node:path';
import { openImage } from '../../image/open.js';
import { verifyImage, type VerifyFinding, type VerifyReport } from '../../image/verify.js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { openImageDisk } from '../../node/vdisk.js';
import { isZero } from '../../vdisk/zero.js';
import type { Disk } from '../../io/disk.js';
import { runOracles } from '../../node/oracles.js';
import { parseArgs, usageError, type CliIo, type Command } from '../io.js';

/** The virtual disk's bytes in a sparse temporary file (chunks of zeros stay holes). */
function rawCopy(disk: Disk): { path: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'diskwright-raw-'));
  const file = path.join(dir, 'image.raw');
  const fd = fs.openSync(file, 'w');
  try {
    const chunk = 1 << 20;
    for (let o = 0; o < disk.size; o += chunk) {
      const b = disk.read(o, Math.min(chunk, disk.size - o));
      if (!isZero(b)) fs.writeSync(fd, b, 0, b.length, o);
    }
    fs.ftruncateSync(fd, disk.size);
  } finally {
    fs.closeSync(fd);
  }
  return { path: file, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Verify an image file: our checks, plus the oracles when asked. */
export function verifyImageFile(file: string, opts: { oracles?: boolean } = {}): VerifyReport {
  const disk = openImageDisk(file);
  try {
    const report = verifyImage(disk);
    if (opts.oracles) {
      let img;
      try {
        img = openImage(disk);
      } catch {
        return report; // the table finding already says why
      }
      // The oracles read raw images: a qcow2 or VHD is first copied out raw (sparse).
      const raw = disk.format === 'raw' ? null : rawCopy(disk);
      let extra;
      try {
        extra = runOracles(raw?.path ?? file, img);
      } finally {
        raw?.cleanup();
      }
      report.findings.push(...extra);
      report.ok = report.findings.every((f) => f.ok);
    }
    return report;
  } finally {
    disk.close();
  }
}

export function formatFindings(findings: VerifyFinding[]): string {
  const w = Math.max(...findings.map((f) => f.check.length));
  return findings.map((f) => `${f.ok ? 'ok  ' : 'FAIL'}  ${f.check.padEnd(w)}  ${f.code ? `${f.code}: ` : ''}${f.message}\n`).join('');
}

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'check an image: table, filesystems, boot environment (--oracles: also sgdisk, fsck.fat, e2fsck)',
  help: `usage: diskwright verify IMG [--oracles] [--json]

Check an image with diskwright's own readers: both GPT copies (or the MBR),
every filesystem (opened, every directory walked, every file's blocks mapped;
FAT volumes get an fsck-like consistency check), and the boot environment
(the GRUB env block must be 1024 bytes in one run; autoboot.txt must point at
FAT partitions). Exit status 1 when anything fails.

options:
  --oracles  also run sgdisk -v / sfdisk --verify, fsck.fat -n and e2fsck -fn
             where installed, reading what they print
  --json     print {ok, findings: [{ok, check, message, code, partition}]}
`,
  async run(argv: string[], io: CliIo): Promise<number> {
    const a = parseArgs(argv, ['--oracles', '--json'], []);
    if (a.positional.length !== 1) throw usageError('verify takes one image');
    const file = path.resolve(io.cwd, a.positional[0]);
    const report = verifyImageFile(file, { oracles: a.flags.has('--oracles') });
    if (a.flags.has('--json')) io.stdout(JSON.stringify(report, null, 2) + '\n');
    else {
      io.stdout(formatFindings(report.findings));
      io.stdout(report.ok ? `${a.positional[0]}: ok\n` : `${a.positional[0]}: FAILED\n`);
    }
    return report.ok ? 0 : 1;
  },
};
