// diskwright bootenv IMG|FILE list | get K | set K=V… | unset K… | slot A|B | try [N] | good | rollback | state
//   [--file pN:/path] [--tryboot]
// Edits a GRUB env block or a Raspberry Pi autoboot.txt in place: a bare
// file, or the file inside an image found as src/bootenv/locate.ts says.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskwrightError, fail } from '../../errors.js';
import type { Disk } from '../../io/disk.js';
import type { FilesystemReader } from '../../fs/types.js';
import { openImageDisk } from '../../node/vdisk.js';
import { openImage } from '../../image/open.js';
import { probeFilesystem } from '../../image/registry.js';
import {
  type BootenvPartition, decodeBootenv, detectBootenvKind, editBootenvInPlace, encodeBootenv, locateBootenv, parsePartPath, runBootenvCommand,
} from '../../bootenv/locate.js';
import { GRUBENV_SIGNATURE } from '../../bootenv/grubenv.js';
import type { TrybootFlag } from '../../bootenv/slots.js';

export const BOOTENV_HELP = `usage: diskwright bootenv IMG|FILE COMMAND [ARGS] [--file pN:/path] [--tryboot]

Read or edit a GRUB environment block (grubenv) or a Raspberry Pi
autoboot.txt in place, as a bare file or inside a disk image.

commands:
  list               every variable (grubenv: key=value as grub-editenv list
                     prints it; autoboot.txt: its sections and keys)
  get K              the value of K (exit 1, BOOTENV_UNSET, when unset);
                     autoboot.txt: "[tryboot]K" gives the tryboot-mode value
  set K=V [K=V…]     set variables (autoboot.txt: K or "[section]K")
  unset K [K…]       remove variables
  slot A|B           make A or B the committed slot
  try [N]            boot the other slot for at most N boots (GRUB: 1-9,
                     default 3; Raspberry Pi: 1, then reboot "0 tryboot")
  good               confirm the slot on trial
  rollback           cancel a trial: back to the committed slot
  state              print committed, trying, tries_left, confirmed

options:
  --file pN:/path    the env file's place in the image (default: /autoboot.txt
                     on p1, else /EFI/BOOT/grubenv, /boot/grub/grubenv,
                     /grub/grubenv on the ESP or first FAT partition)
  --tryboot          (Raspberry Pi) the running boot is a tryboot boot, so
                     good commits the [tryboot] slot
`;

export interface CliIo {
  stdout: (b: Uint8Array | string) => void;
  stderr: (s: string) => void;
  /** Where relative paths are resolved (default: the process's). */
  cwd?: string;
}

const defaultIo: CliIo = {
  stdout: (b) => { process.stdout.write(b); },
  stderr: (s) => { process.stderr.write(s); },
};

/** How an image's partitions are listed and their filesystems opened. */
export type OpenPartitions = (disk: Disk) => { partitions: BootenvPartition[]; probe: (d: Disk) => FilesystemReader | null };

/** The default: the image layer's openImage and the registered filesystem probes. */
export const openImagePartitions: OpenPartitions = (disk) => {
  const img = openImage(disk);
  return {
    partitions: img.partitions
      .filter((p) => !p.container && p.start + p.size <= disk.size)
      .map((p) => ({ index: p.index, type: p.type ?? '', disk: img.partitionDisk(p.index) })),
    probe: probeFilesystem,
  };
};

let imageOpener: OpenPartitions = openImagePartitions;

/** Replace how images are opened (tests, or another image layer). */
export function setBootenvImageOpener(fn: OpenPartitions): void {
  imageOpener = fn;
}

const VERBS = new Set(['list', 'get', 'set', 'unset', 'slot', 'try', 'good', 'rollback', 'state']);
const BARE_MAX = 64 * 1024;

/** A bare env file: it starts with the GRUB signature, or it is small text (autoboot.txt). */
function isBareFile(file: string, size: number): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(Math.min(size, BARE_MAX));
    fs.readSync(fd, head, 0, head.length, 0);
    if (head.subarray(0, GRUBENV_SIGNATURE.length).toString('latin1') === GRUBENV_SIGNATURE) return true;
    return size <= BARE_MAX && !head.includes(0);
  } finally {
    fs.closeSync(fd);
  }
}

export async function bootenvCommand(argv: string[], io: CliIo = defaultIo): Promise<number> {
  const pos: string[] = [];
  let fileOpt: string | undefined;
  let tryboot: TrybootFlag = 'none';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') { io.stdout(BOOTENV_HELP); return 0; }
    if (a === '--file') { fileOpt = argv[++i]; if (fileOpt === undefined) return usage(io, '--file needs pN:/path'); continue; }
    if (a.startsWith('--file=')) { fileOpt = a.slice(7); continue; }
    if (a === '--tryboot') { tryboot = 'booted'; continue; }
    if (a === '--') { pos.push(...argv.slice(i + 1)); break; }
    if (a.startsWith('--')) return usage(io, `unknown option ${a}`);
    pos.push(a);
  }
  if (pos.length < 2) return usage(io, 'expected IMG|FILE and a command');
  const [targetArg, verb, ...args] = pos;
  // Relative to the CLI's working directory, as every other command resolves its image.
  const target = path.resolve(io.cwd ?? process.cwd(), targetArg);
  if (!VERBS.has(verb)) return usage(io, `unknown command ${verb}`);
  try {
    let st: fs.Stats;
    try { st = fs.statSync(target); } catch {
      fail('IO_NOT_FOUND', `${target}: no such file`, { path: target });
    }
    const mutating = !['list', 'get', 'state'].includes(verb);
    const opts = { tryboot };
    if (!fileOpt && st.isFile() && isBareFile(target, st.size)) {
      const data = new Uint8Array(fs.readFileSync(target));
      const doc = decodeBootenv(data, detectBootenvKind(data, target));
      const res = runBootenvCommand(doc, verb, args, opts);
      if (res.changed) {
        const out = encodeBootenv(doc);
        if (out.some((b, i) => b !== data[i]) || out.length !== data.length) {
          // same size, written over the same bytes (the file keeps its blocks)
          const fd = fs.openSync(target, 'r+');
          try { fs.writeSync(fd, out, 0, out.length, 0); fs.ftruncateSync(fd, out.length); } finally { fs.closeSync(fd); }
        }
      }
      io.stdout(res.output);
      if (res.note) io.stderr(`diskwright: note: ${res.note}\n`);
      return 0;
    }
    const disk = openImageDisk(target, mutating);
    try {
      const { partitions, probe } = imageOpener(disk);
      const loc = locateBootenv(partitions, probe, { file: fileOpt ? parsePartPath(fileOpt) : undefined });
      const res = editBootenvInPlace(loc, verb, args, opts);
      io.stdout(res.output);
      if (res.note) io.stderr(`diskwright: note: ${res.note}\n`);
      return 0;
    } finally {
      disk.close();
    }
  } catch (e) {
    if (e instanceof DiskwrightError) {
      if (e.code === 'BOOTENV_USAGE' || e.code === 'BOOTENV_FILE_SPEC') return usage(io, e.message);
      io.stderr(`diskwright: ${e.code}: ${e.message}\n`);
      if (process.env.DISKWRIGHT_DEBUG === '1' && e.stack) io.stderr(e.stack + '\n');
      return 1;
    }
    throw e;
  }
}

function usage(io: CliIo, msg: string): number {
  io.stderr(`diskwright: USAGE: ${msg} (diskwright bootenv --help)\n`);
  return 2;
}
