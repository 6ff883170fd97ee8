// Finding and editing a boot environment file: a GRUB env block or a
// Raspberry Pi autoboot.txt, either as a bare file or inside a partition,
// rewritten in place through FilesystemReader.rewriteFile (same size, same
// blocks, nothing else on the disk changes).
import { DiskwrightError, fail } from '../errors.js';
import type { Disk } from '../io/disk.js';
import type { FilesystemReader } from '../fs/types.js';
import { GRUBENV_SIGNATURE, GRUBENV_SIZE, GrubEnv, listGrubEnv } from './grubenv.js';
import { Autoboot } from './autoboot.js';
import { GrubSlots, RpiSlots, parseSlot, type AbSlots, type SlotState, type TrybootFlag } from './slots.js';

/** Where GRUB's env file is looked for on the ESP (or the first FAT partition), in order. */
export const GRUBENV_PATHS = ['/EFI/BOOT/grubenv', '/boot/grub/grubenv', '/grub/grubenv'];
export const AUTOBOOT_PATH = '/autoboot.txt';
const ESP_TYPE_GUID = 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B';

export type BootenvKind = 'grubenv' | 'autoboot';

/** What the locator needs to know of a partition (the image layer's partition list maps onto this). */
export interface BootenvPartition {
  /** 1-based; 0 for a bare filesystem without a partition table. */
  index: number;
  /** GPT type GUID (upper case) or MBR type as "0x0c". */
  type: string;
  disk: Disk;
}

export interface BootenvLocation {
  kind: BootenvKind;
  partition: number;
  path: string;
  reader: FilesystemReader;
}

const enc = new TextEncoder();
const SIG = enc.encode(GRUBENV_SIGNATURE);

/** Parse "pN:/path". */
export function parsePartPath(s: string): { partition: number; path: string } {
  const m = /^p(\d+):(\/.*)$/.exec(s);
  if (!m) fail('BOOTENV_FILE_SPEC', `expected pN:/path, got ${JSON.stringify(s)}`, { field: 'file', actual: s });
  return { partition: Number(m[1]), path: m[2] };
}

/** A grubenv starts with the GRUB signature; anything else is taken as autoboot.txt. */
export function detectBootenvKind(data: Uint8Array, path = ''): BootenvKind {
  if (data.length >= SIG.length && SIG.every((b, i) => data[i] === b)) return 'grubenv';
  if (/grubenv$/i.test(path)) return 'grubenv';
  return 'autoboot';
}

function fileExists(r: FilesystemReader, path: string): boolean {
  try {
    return r.stat(path).type === 'file';
  } catch (e) {
    if (e instanceof DiskwrightError) return false;
    throw e;
  }
}

/**
 * Find the boot environment file of an image:
 *   - `file` (from --file pN:/path) names it outright;
 *   - Raspberry Pi: /autoboot.txt on partition 1;
 *   - GRUB: /EFI/BOOT/grubenv, /boot/grub/grubenv, /grub/grubenv on the ESP,
 *     or else on the first FAT partition.
 * BOOTENV_NOT_FOUND (data.looked: the places tried) when none is there.
 */
export function locateBootenv(
  partitions: BootenvPartition[],
  probe: (disk: Disk) => FilesystemReader | null,
  opts: { file?: { partition: number; path: string } } = {},
): BootenvLocation {
  const readers = new Map<number, FilesystemReader | null>();
  const readerOf = (p: BootenvPartition): FilesystemReader | null => {
    if (!readers.has(p.index)) readers.set(p.index, probe(p.disk));
    return readers.get(p.index)!;
  };
  // While searching, a partition whose filesystem is broken is skipped.
  const tryReader = (p: BootenvPartition): FilesystemReader | null => {
    try { return readerOf(p); } catch (e) { if (e instanceof DiskwrightError) return null; throw e; }
  };
  if (opts.file) {
    const part = partitions.find((p) => p.index === opts.file!.partition);
    if (!part) fail('BOOTENV_NO_PARTITION', `the image has no partition ${opts.file.partition}`, { partition: opts.file.partition });
    const r = readerOf(part);
    if (!r) fail('BOOTENV_NO_FILESYSTEM', `partition ${part.index} holds no filesystem diskwright reads`, { partition: part.index });
    const data = r.readFile(opts.file.path);
    return { kind: detectBootenvKind(data, opts.file.path), partition: part.index, path: opts.file.path, reader: r };
  }
  const looked: string[] = [];
  const first = partitions.find((p) => p.index === 1) ?? partitions.find((p) => p.index === 0);
  if (first) {
    const r = tryReader(first);
    looked.push(`p${first.index}:${AUTOBOOT_PATH}`);
    if (r && fileExists(r, AUTOBOOT_PATH)) return { kind: 'autoboot', partition: first.index, path: AUTOBOOT_PATH, reader: r };
  }
  const isFat = (p: BootenvPartition) => {
    const r = tryReader(p);
    return r !== null && /^fat/.test(r.info().type);
  };
  const esp = partitions.find((p) => p.type.toUpperCase() === ESP_TYPE_GUID || p.type.toLowerCase() === '0xef');
  const candidates = esp && tryReader(esp) ? [esp] : [];
  if (candidates.length === 0) {
    const fat = partitions.find(isFat);
    if (fat) candidates.push(fat);
  }
  for (const p of candidates) {
    const r = readerOf(p)!;
    for (const path of GRUBENV_PATHS) {
      looked.push(`p${p.index}:${path}`);
      if (fileExists(r, path)) return { kind: 'grubenv', partition: p.index, path, reader: r };
    }
  }
  fail('BOOTENV_NOT_FOUND', `no boot environment file found (looked at ${looked.join(', ') || 'no FAT partition'})`, { looked });
}

/** A decoded boot environment file with the size it must keep. */
export type BootenvDoc =
  | { kind: 'grubenv'; env: GrubEnv; size: number }
  | { kind: 'autoboot'; doc: Autoboot; size: number };

export function decodeBootenv(data: Uint8Array, kind: BootenvKind = detectBootenvKind(data)): BootenvDoc {
  if (kind === 'grubenv') return { kind, env: GrubEnv.decode(data), size: GRUBENV_SIZE };
  return { kind, doc: Autoboot.decode(data), size: data.length };
}

/** The bytes to write back: exactly `doc.size` bytes. */
export function encodeBootenv(doc: BootenvDoc): Uint8Array {
  return doc.kind === 'grubenv' ? doc.env.encode() : doc.doc.encodeFitted(doc.size);
}

export function slotsOf(doc: BootenvDoc, opts: { tryboot?: TrybootFlag } = {}): AbSlots {
  return doc.kind === 'grubenv' ? new GrubSlots(doc.env) : new RpiSlots(doc.doc, opts);
}

/** Split an autoboot key "[section]key" (plain "key" = [all]). */
function autobootKey(k: string): { section: string; key: string } {
  const m = /^\[([^\]]+)\](.+)$/.exec(k);
  return m ? { section: m[1], key: m[2] } : { section: 'all', key: k };
}

export interface BootenvCommandResult {
  /** What to print on stdout. */
  output: Uint8Array;
  /** True when the file must be written back. */
  changed: boolean;
  /** Slot state after the command, for slot commands. */
  state?: SlotState;
  /** A note for stderr (e.g. the Raspberry Pi tryboot reminder). */
  note?: string;
}

export function formatState(s: SlotState): string {
  return `committed=${s.committed}\ntrying=${s.trying ?? ''}\ntries_left=${s.triesLeft}\nconfirmed=${s.confirmed ? 1 : 0}\n`;
}

/**
 * Run one bootenv command on a decoded file (the CLI's verbs):
 * list | get K | set K=V… | unset K… | slot A|B | try [N] | good | rollback | state.
 * For autoboot.txt a key may be written "[tryboot]boot_partition"; get reads
 * the value the bootloader ends with ("[tryboot]K": in tryboot mode).
 */
export function runBootenvCommand(doc: BootenvDoc, verb: string, args: string[], opts: { tryboot?: TrybootFlag } = {}): BootenvCommandResult {
  const text = (s: string) => enc.encode(s);
  switch (verb) {
    case 'list':
      if (doc.kind === 'grubenv') return { output: listGrubEnv(doc.env), changed: false };
      return { output: text(doc.doc.listLines().map((l) => l + '\n').join('')), changed: false };
    case 'get': {
      if (args.length !== 1) fail('BOOTENV_USAGE', 'get takes one name', { verb });
      let v: string | undefined;
      if (doc.kind === 'grubenv') {
        v = doc.env.get(args[0]);
        if (v !== undefined) {
          const last = doc.env.entries().filter((e) => e.name === args[0]).pop()!;
          const out = new Uint8Array(last.valueBytes.length + 1);
          out.set(last.valueBytes);
          out[out.length - 1] = 0x0a;
          return { output: out, changed: false };
        }
      } else {
        const { section, key } = autobootKey(args[0]);
        v = doc.doc.effective(key, section.toLowerCase() === 'tryboot');
        if (v !== undefined) return { output: text(v + '\n'), changed: false };
      }
      fail('BOOTENV_UNSET', `${args[0]} is not set`, { field: args[0] });
    }
    case 'set': {
      if (args.length === 0) fail('BOOTENV_USAGE', 'set takes NAME=VALUE arguments', { verb });
      for (const a of args) {
        const eq = a.indexOf('=');
        if (eq <= 0) fail('BOOTENV_USAGE', `expected NAME=VALUE, got ${JSON.stringify(a)}`, { verb, actual: a });
        const k = a.slice(0, eq);
        const v = a.slice(eq + 1);
        if (doc.kind === 'grubenv') doc.env.set(k, v);
        else { const { section, key } = autobootKey(k); doc.doc.set(section, key, v); }
      }
      encodeBootenv(doc); // fail now (AUTOBOOT_FULL) rather than at write time
      return { output: new Uint8Array(0), changed: true };
    }
    case 'unset': {
      if (args.length === 0) fail('BOOTENV_USAGE', 'unset takes names', { verb });
      for (const k of args) {
        if (doc.kind === 'grubenv') doc.env.unset(k);
        else { const { section, key } = autobootKey(k); doc.doc.unset(section, key); }
      }
      return { output: new Uint8Array(0), changed: true };
    }
    case 'slot':
    case 'try':
    case 'good':
    case 'rollback':
    case 'state': {
      const s = slotsOf(doc, opts);
      let note: string | undefined;
      if (verb === 'slot') {
        if (args.length !== 1) fail('BOOTENV_USAGE', 'slot takes A or B', { verb });
        s.setCommitted(parseSlot(args[0]));
      } else if (verb === 'try') {
        if (args.length > 1 || (args.length === 1 && !/^\d+$/.test(args[0]))) fail('BOOTENV_USAGE', 'try takes an optional number of tries', { verb, actual: args });
        s.tryNext(args.length ? Number(args[0]) : undefined);
        if (s.variant === 'rpi') note = 'autoboot.txt is ready; the trial itself starts with the firmware\'s one-shot flag: reboot "0 tryboot"';
      } else if (verb === 'good') {
        s.markGood();
        if (s.variant === 'rpi' && opts.tryboot !== 'booted') note = 'nothing to confirm: only a tryboot boot (--tryboot) can be confirmed on a Raspberry Pi';
      } else if (verb === 'rollback') {
        s.rollback();
      } else if (args.length) {
        fail('BOOTENV_USAGE', 'state takes no arguments', { verb });
      }
      const st = s.state();
      return { output: text(formatState(st)), changed: verb !== 'state', state: st, note };
    }
    default:
      fail('BOOTENV_USAGE', `unknown bootenv command ${JSON.stringify(verb)}`, { verb });
  }
}

/**
 * GRUB's save_env writes into the sectors the file already has, so a grubenv
 * inside an image must be exactly 1024 bytes in one contiguous run.
 * GRUBENV_SIZE or GRUBENV_FRAGMENTED (data.extents) when it is not.
 */
export function checkGrubenvPlacement(reader: FilesystemReader, path: string): void {
  const size = reader.stat(path).size;
  if (size !== GRUBENV_SIZE) {
    fail('GRUBENV_SIZE', `${path} is ${size} bytes; GRUB needs exactly ${GRUBENV_SIZE}`, { path, structure: 'grubenv', field: 'size', expected: GRUBENV_SIZE, actual: size });
  }
  const extents = reader.fileExtents(path);
  if (extents.length !== 1) {
    fail('GRUBENV_FRAGMENTED', `${path} lies in ${extents.length} separate runs; GRUB's save_env needs one`, { path, structure: 'grubenv', extents });
  }
}

/** Read, edit and write back a boot environment file inside a filesystem. Returns the command's result. */
export function editBootenvInPlace(loc: BootenvLocation, verb: string, args: string[], opts: { tryboot?: TrybootFlag } = {}): BootenvCommandResult {
  const data = loc.reader.readFile(loc.path);
  const doc = decodeBootenv(data, loc.kind);
  const res = runBootenvCommand(doc, verb, args, opts);
  if (loc.kind === 'grubenv') {
    try {
      checkGrubenvPlacement(loc.reader, loc.path);
    } catch (e) {
      if (!(e instanceof DiskwrightError)) throw e;
      // Still edited (the file is fine for grub-editenv), but GRUB itself cannot save into it.
      res.note = [res.note, `${e.code}: ${e.message}`].filter(Boolean).join('; ');
    }
  }
  if (res.changed) {
    const out = encodeBootenv(doc);
    if (out.length !== data.length) {
      fail('BOOTENV_SIZE', `${loc.path} must keep its ${data.length} bytes`, { path: loc.path, expected: data.length, actual: out.length });
    }
    // unchanged bytes: leave the disk untouched
    if (out.some((b, i) => b !== data[i])) loc.reader.rewriteFile(loc.path, out);
  }
  return res;
}
