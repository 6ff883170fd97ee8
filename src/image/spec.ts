// The image spec: the JSON document `diskwright build` reads. Parsing gives
// line and column for syntax errors; validation checks every key (unknown
// keys are errors, with a suggestion) and reports the JSON path of each
// problem ("partitions[2].size: …"). Filesystem objects are checked here only
// for `type`; the filesystem's driver checks the rest.
import { isGuid } from '../codec/guid.js';
import { parseSize } from '../codec/units.js';
import { DiskwrightError, fail } from '../errors.js';
import { GPT_ATTRIBUTE_BITS } from '../gpt/entry.js';
import { resolveGptType } from '../gpt/types.js';
import { resolveMbrType } from '../mbr/types.js';
import { driverFor, drivers } from './registry.js';
import { validateBootenvSpec, type BootenvSpec } from './bootenv-spec.js';

export type TableKind = 'gpt' | 'mbr';

export interface FilesystemSpec {
  type: string;
  [key: string]: unknown;
}

export interface PartitionSpec {
  /** GPT partition name (MBR: shown in reports only). */
  name?: string;
  /** As written in the spec (alias, GUID, or MBR byte). */
  type: string | number;
  size: number | 'rest';
  start?: number;
  /** GPT unique partition GUID. */
  uuid?: string;
  bootable?: boolean;
  /** GPT attribute names or bit numbers. */
  attributes?: (string | number)[];
  filesystem?: FilesystemSpec | null;
}

export interface ImageSpec {
  table: TableKind;
  size: number;
  sectorSize: 512 | 4096;
  alignment: number;
  seed: string;
  /** GPT: disk GUID; MBR: disk signature ("0x1234abcd"). */
  diskId?: string;
  /** GPT entry-array slots (default 128). */
  entryCount: number;
  sourceDateEpoch?: number;
  partitions: PartitionSpec[];
  /** The boot environment file the image starts with (GRUB env block or autoboot.txt). */
  bootenv?: BootenvSpec;
}

export const DEFAULT_ALIGNMENT = 1024 * 1024;
export const DEFAULT_SEED = 'diskwright';

const TOP_KEYS = ['table', 'size', 'sectorSize', 'alignment', 'seed', 'diskId', 'entryCount', 'sourceDateEpoch', 'partitions', 'bootenv', 'description'];
const PART_KEYS = ['name', 'type', 'size', 'start', 'uuid', 'bootable', 'attributes', 'filesystem'];

/** Parse spec text; a syntax error gives SPEC_JSON with line and column. */
export function parseSpecJson(text: string, file = 'spec'): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    let pos: number | undefined;
    const m = /position (\d+)/.exec(msg);
    if (m) pos = Number(m[1]);
    else if (/Unexpected end of JSON input/.test(msg)) pos = text.length;
    let line: number | undefined;
    let column: number | undefined;
    if (pos !== undefined) {
      const before = text.slice(0, pos);
      line = before.split('\n').length;
      column = pos - before.lastIndexOf('\n');
    }
    const where = line !== undefined ? `${file}:${line}:${column}` : file;
    const detail = msg.replace(/^JSON\.parse: /, '').replace(/ in JSON at position \d+.*$/, '').replace(/ \(line \d+ column \d+\)$/, '');
    throw new DiskwrightError('SPEC_JSON', `${where}: invalid JSON: ${detail}`, { path: file, line, column, offset: pos });
  }
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

function checkKeys(obj: Record<string, unknown>, allowed: string[], path: string): void {
  for (const k of Object.keys(obj)) {
    if (allowed.includes(k)) continue;
    const best = allowed.map((a) => [a, editDistance(k, a)] as const).sort((x, y) => x[1] - y[1])[0];
    const hint = best && best[1] <= 2 ? ` (did you mean "${best[0]}"?)` : '';
    const p = path ? `${path}.${k}` : k;
    fail('SPEC_UNKNOWN_KEY', `${p}: unknown key${hint}`, { path: p, key: k, suggestion: best && best[1] <= 2 ? best[0] : undefined });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function wrongType(path: string, expected: string, value: unknown): never {
  return fail('SPEC_TYPE_MISMATCH', `${path}: expected ${expected}, got ${JSON.stringify(value)}`, { path, expected, actual: value });
}

/** Parse a GPT attribute list into a 64-bit mask. */
export function gptAttributeMask(list: readonly (string | number)[], path = 'attributes'): bigint {
  let mask = 0n;
  list.forEach((a, i) => {
    const p = `${path}[${i}]`;
    let bit: number | undefined;
    if (typeof a === 'number') bit = a;
    else if (typeof a === 'string') bit = GPT_ATTRIBUTE_BITS[a.toLowerCase()] ?? (/^(?:bit)?(\d+)$/.test(a) ? Number(/(\d+)$/.exec(a)![1]) : undefined);
    if (bit === undefined || !Number.isInteger(bit) || bit < 0 || bit > 63 || (bit > 2 && bit < 48)) {
      fail('SPEC_ATTRIBUTE', `${p}: not a GPT attribute: ${JSON.stringify(a)} (use "required", "no-block-io-protocol", "legacy-bios-bootable" or a bit number 48-63)`, { path: p, actual: a });
    }
    mask |= 1n << BigInt(bit);
  });
  return mask;
}

/** The attribute list of a mask, in the form the spec accepts (names, then bit numbers). */
export function gptAttributeList(mask: bigint): (string | number)[] {
  const out: (string | number)[] = [];
  const names = Object.entries(GPT_ATTRIBUTE_BITS);
  for (let b = 0; b < 64; b++) {
    if (!(mask & (1n << BigInt(b)))) continue;
    const n = names.find(([, v]) => v === b);
    out.push(n ? n[0] : b);
  }
  return out;
}

/** Parse an MBR disk signature: "0x1234abcd", "1234abcd" or a number. */
export function parseMbrDiskId(v: unknown, path = 'diskId'): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff) return v;
  if (typeof v === 'string' && /^(0x)?[0-9a-fA-F]{1,8}$/.test(v)) return parseInt(v.replace(/^0x/i, ''), 16);
  return fail('SPEC_DISK_ID', `${path}: an MBR disk id is a 32-bit number such as "0x1234abcd", got ${JSON.stringify(v)}`, { path, actual: v });
}

/** Check a spec object and fill in defaults. */
export function validateSpec(raw: unknown): ImageSpec {
  if (!isObject(raw)) wrongType('(spec)', 'an object', raw);
  checkKeys(raw, TOP_KEYS, '');
  const table = raw.table;
  if (table !== 'gpt' && table !== 'mbr') fail('SPEC_TABLE', `table: must be "gpt" or "mbr", got ${JSON.stringify(table)}`, { path: 'table', actual: table, expected: ['gpt', 'mbr'] });
  if (raw.size === undefined) fail('SPEC_MISSING', 'size: the image size is required (e.g. "2GiB")', { path: 'size' });
  const size = parseSize(raw.size, 'size');
  const sectorSize = raw.sectorSize ?? 512;
  if (sectorSize !== 512 && sectorSize !== 4096) fail('SPEC_SECTOR_SIZE', `sectorSize: must be 512 or 4096, got ${JSON.stringify(sectorSize)}`, { path: 'sectorSize', actual: sectorSize, expected: [512, 4096] });
  if (table === 'mbr' && sectorSize !== 512) {
    // Nothing in an MBR records its sector size; readers (the kernel, sfdisk, ours) assume 512 for an image file.
    fail('SPEC_NOT_FOR_TABLE', 'sectorSize: MBR images are written with 512-byte sectors', { path: 'sectorSize', actual: sectorSize, expected: 512 });
  }
  if (size % sectorSize !== 0) fail('SPEC_SIZE', `size: ${size} bytes is not a whole number of ${sectorSize}-byte sectors`, { path: 'size', actual: size, expected: sectorSize });
  const alignment = raw.alignment === undefined ? DEFAULT_ALIGNMENT : parseSize(raw.alignment, 'alignment');
  if (alignment % sectorSize !== 0) fail('SPEC_ALIGNMENT', `alignment: ${alignment} is not a multiple of the ${sectorSize}-byte sector`, { path: 'alignment', actual: alignment, expected: sectorSize });
  if (raw.seed !== undefined && typeof raw.seed !== 'string') wrongType('seed', 'a string', raw.seed);
  const seed = (raw.seed as string | undefined) ?? DEFAULT_SEED;
  let diskId: string | undefined;
  if (raw.diskId !== undefined) {
    if (table === 'gpt') {
      if (typeof raw.diskId !== 'string' || !isGuid(raw.diskId)) fail('SPEC_DISK_ID', `diskId: a GPT disk id is a GUID, got ${JSON.stringify(raw.diskId)}`, { path: 'diskId', actual: raw.diskId });
      diskId = raw.diskId.toUpperCase();
    } else {
      diskId = `0x${parseMbrDiskId(raw.diskId).toString(16).padStart(8, '0')}`;
    }
  }
  let entryCount = 128;
  if (raw.entryCount !== undefined) {
    if (table !== 'gpt') fail('SPEC_NOT_FOR_TABLE', 'entryCount: only a GPT has an entry array', { path: 'entryCount' });
    if (typeof raw.entryCount !== 'number' || !Number.isInteger(raw.entryCount) || raw.entryCount < 1 || raw.entryCount > 16384) {
      fail('SPEC_ENTRY_COUNT', `entryCount: must be a whole number from 1 to 16384, got ${JSON.stringify(raw.entryCount)}`, { path: 'entryCount', actual: raw.entryCount });
    }
    entryCount = raw.entryCount;
  }
  let sourceDateEpoch: number | undefined;
  if (raw.sourceDateEpoch !== undefined) {
    if (typeof raw.sourceDateEpoch !== 'number' || !Number.isSafeInteger(raw.sourceDateEpoch)) wrongType('sourceDateEpoch', 'whole seconds since the epoch', raw.sourceDateEpoch);
    sourceDateEpoch = raw.sourceDateEpoch;
  }
  if (raw.description !== undefined && typeof raw.description !== 'string') wrongType('description', 'a string', raw.description);
  if (!Array.isArray(raw.partitions)) {
    if (raw.partitions === undefined) fail('SPEC_MISSING', 'partitions: the partition list is required', { path: 'partitions' });
    wrongType('partitions', 'an array', raw.partitions);
  }
  const partitions = raw.partitions.map((p, i) => validatePartition(p, `partitions[${i}]`, table));
  const bootenv = validateBootenvSpec(raw.bootenv, partitions.length);
  for (const [kind, b] of Object.entries(bootenv ?? {})) {
    if (b && !partitions[b.partition - 1].filesystem) {
      fail('SPEC_BOOTENV', `bootenv.${kind}.partition: partition ${b.partition} has no filesystem to hold ${b.path}`, { path: `bootenv.${kind}.partition`, actual: b.partition });
    }
  }
  return { table, size, sectorSize, alignment, seed, diskId, entryCount, sourceDateEpoch, partitions, bootenv };
}

function validatePartition(p: unknown, path: string, table: TableKind): PartitionSpec {
  if (!isObject(p)) wrongType(path, 'an object', p);
  checkKeys(p, PART_KEYS, path);
  const out: PartitionSpec = { type: '', size: 0 };
  if (p.name !== undefined) {
    if (typeof p.name !== 'string') wrongType(`${path}.name`, 'a string', p.name);
    if (table === 'gpt') {
      if (p.name.length > 36) fail('GPT_NAME_TOO_LONG', `${path}.name: a GPT name holds at most 36 UTF-16 code units, ${JSON.stringify(p.name)} has ${p.name.length}`, { path: `${path}.name`, expected: 36, actual: p.name.length });
      if (p.name.includes('\u0000')) fail('GPT_NAME_INVALID', `${path}.name: a GPT name cannot contain NUL`, { path: `${path}.name` });
    }
    out.name = p.name;
  }
  if (p.type === undefined) fail('SPEC_MISSING', `${path}.type: the partition type is required`, { path: `${path}.type` });
  if (table === 'gpt') resolveGptType(p.type, `${path}.type`);
  else resolveMbrType(p.type, `${path}.type`);
  out.type = p.type as string | number;
  if (p.size === undefined) fail('SPEC_MISSING', `${path}.size: the partition size is required ("64MiB", bytes or "rest")`, { path: `${path}.size` });
  out.size = p.size === 'rest' ? 'rest' : parseSize(p.size, `${path}.size`);
  if (p.start !== undefined) out.start = parseSize(p.start, `${path}.start`);
  if (p.uuid !== undefined) {
    if (table !== 'gpt') fail('SPEC_NOT_FOR_TABLE', `${path}.uuid: only GPT partitions have a unique GUID`, { path: `${path}.uuid` });
    if (typeof p.uuid !== 'string' || !isGuid(p.uuid)) fail('SPEC_UUID', `${path}.uuid: not a GUID: ${JSON.stringify(p.uuid)}`, { path: `${path}.uuid`, actual: p.uuid });
    out.uuid = p.uuid.toUpperCase();
  }
  if (p.bootable !== undefined) {
    if (typeof p.bootable !== 'boolean') wrongType(`${path}.bootable`, 'true or false', p.bootable);
    out.bootable = p.bootable;
  }
  if (p.attributes !== undefined) {
    if (table !== 'gpt') fail('SPEC_NOT_FOR_TABLE', `${path}.attributes: only GPT partitions have attribute bits`, { path: `${path}.attributes` });
    if (!Array.isArray(p.attributes)) wrongType(`${path}.attributes`, 'an array', p.attributes);
    gptAttributeMask(p.attributes, `${path}.attributes`);
    out.attributes = p.attributes as (string | number)[];
  }
  if (p.filesystem !== undefined && p.filesystem !== null) {
    const f = p.filesystem;
    const fp = `${path}.filesystem`;
    if (!isObject(f)) wrongType(fp, 'an object', f);
    if (typeof f.type !== 'string') fail('SPEC_MISSING', `${fp}.type: the filesystem type is required`, { path: `${fp}.type` });
    if (!driverFor(f.type)) {
      const known = drivers.flatMap((d) => d.types);
      fail('SPEC_FS_TYPE', `${fp}.type: no filesystem driver for ${JSON.stringify(f.type)}${known.length ? ` (known: ${known.join(', ')})` : ''}`, { path: `${fp}.type`, actual: f.type, expected: known });
    }
    if (f.contents !== undefined && !Array.isArray(f.contents)) wrongType(`${fp}.contents`, 'an array of {"from", "to"}', f.contents);
    out.filesystem = f as FilesystemSpec;
  }
  return out;
}
