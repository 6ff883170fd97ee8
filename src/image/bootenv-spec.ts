// The spec's `bootenv` section: the boot environment file an image starts
// with, generated at build time and placed into a partition's filesystem.
//
//   "bootenv": { "grub": { "partition": 1, "path": "/EFI/BOOT/grubenv",
//                          "variables": { "boot_default": "A", … } } }
//   "bootenv": { "autoboot": { "partition": 1, "path": "/autoboot.txt",
//                              "committed": "A", "size": 256 } }
//
// grubenv is exactly 1024 bytes, in one contiguous run that never moves:
// GRUB's save_env rewrites its sectors in place. autoboot.txt is padded to a
// fixed size so `diskwright bootenv` can rewrite it in place later.
import { fail } from '../errors.js';
import { createGrubEnv, encodeGrubEnv } from '../bootenv/grubenv.js';
import { AUTOBOOT_DEFAULT_SIZE, AUTOBOOT_MAX_SIZE, formatAutoboot } from '../bootenv/autoboot.js';

export interface GrubBootenvSpec {
  partition: number;
  path: string;
  variables: Record<string, string>;
}

export interface AutobootBootenvSpec {
  partition: number;
  path: string;
  committed: 'A' | 'B';
  size: number;
}

export interface BootenvSpec {
  grub?: GrubBootenvSpec;
  autoboot?: AutobootBootenvSpec;
}

/** A file the bootenv section puts into partition `partition`. */
export interface BootenvFile {
  partition: number;
  path: string;
  bytes: Uint8Array;
  contiguous: boolean;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function keys(o: Record<string, unknown>, allowed: string[], path: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) fail('SPEC_UNKNOWN_KEY', `${path}.${k}: unknown key (expected one of ${allowed.join(', ')})`, { path: `${path}.${k}`, key: k });
  }
}

function partitionNumber(v: unknown, count: number, path: string): number {
  const n = v ?? 1;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > count) {
    fail('SPEC_BOOTENV', `${path}: must name a partition from 1 to ${count}, got ${JSON.stringify(v)}`, { path, actual: v });
  }
  return n;
}

function filePath(v: unknown, dflt: string, path: string): string {
  const p = v ?? dflt;
  if (typeof p !== 'string' || !p.startsWith('/') || p.endsWith('/')) {
    fail('SPEC_BOOTENV', `${path}: must be an absolute file path such as "${dflt}", got ${JSON.stringify(v)}`, { path, actual: v });
  }
  return p;
}

/** Check the section (`partitionCount` partitions in the spec). */
export function validateBootenvSpec(raw: unknown, partitionCount: number, path = 'bootenv'): BootenvSpec | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObject(raw)) fail('SPEC_TYPE_MISMATCH', `${path}: expected an object with "grub" or "autoboot"`, { path, actual: raw });
  keys(raw, ['grub', 'autoboot'], path);
  const out: BootenvSpec = {};
  if (raw.grub !== undefined) {
    const g = raw.grub;
    const p = `${path}.grub`;
    if (!isObject(g)) fail('SPEC_TYPE_MISMATCH', `${p}: expected an object`, { path: p, actual: g });
    keys(g, ['partition', 'path', 'variables'], p);
    const vars = g.variables ?? { boot_default: 'A', boot_counter: '0', boot_success: '1' };
    if (!isObject(vars)) fail('SPEC_TYPE_MISMATCH', `${p}.variables: expected an object of strings`, { path: `${p}.variables`, actual: vars });
    const variables: Record<string, string> = {};
    for (const [k, v] of Object.entries(vars)) {
      if (typeof v !== 'string' && typeof v !== 'number') {
        fail('SPEC_TYPE_MISMATCH', `${p}.variables.${k}: expected a string`, { path: `${p}.variables.${k}`, actual: v });
      }
      variables[k] = String(v);
    }
    out.grub = { partition: partitionNumber(g.partition, partitionCount, `${p}.partition`), path: filePath(g.path, '/EFI/BOOT/grubenv', `${p}.path`), variables };
  }
  if (raw.autoboot !== undefined) {
    const a = raw.autoboot;
    const p = `${path}.autoboot`;
    if (!isObject(a)) fail('SPEC_TYPE_MISMATCH', `${p}: expected an object`, { path: p, actual: a });
    keys(a, ['partition', 'path', 'committed', 'size'], p);
    const committed = a.committed ?? 'A';
    if (committed !== 'A' && committed !== 'B') fail('SPEC_BOOTENV', `${p}.committed: must be "A" or "B"`, { path: `${p}.committed`, actual: committed });
    const size = a.size ?? AUTOBOOT_DEFAULT_SIZE;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 64 || size > AUTOBOOT_MAX_SIZE) {
      fail('SPEC_BOOTENV', `${p}.size: must be a whole number of bytes from 64 to ${AUTOBOOT_MAX_SIZE}`, { path: `${p}.size`, actual: size });
    }
    out.autoboot = { partition: partitionNumber(a.partition, partitionCount, `${p}.partition`), path: filePath(a.path, '/autoboot.txt', `${p}.path`), committed, size };
  }
  return out;
}

/** The files the section generates (a GRUBENV_FULL error when the variables do not fit 1024 bytes). */
export function bootenvFiles(spec: BootenvSpec | undefined): BootenvFile[] {
  const files: BootenvFile[] = [];
  if (spec?.grub) {
    files.push({ partition: spec.grub.partition, path: spec.grub.path, bytes: encodeGrubEnv(createGrubEnv(spec.grub.variables)), contiguous: true });
  }
  if (spec?.autoboot) {
    files.push({ partition: spec.autoboot.partition, path: spec.autoboot.path, bytes: formatAutoboot({ committed: spec.autoboot.committed, size: spec.autoboot.size }), contiguous: false });
  }
  return files;
}
