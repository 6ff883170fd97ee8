// The ext4 driver for the image layer: validates a partition's `filesystem`
// spec ({ type: 'ext4', label, uuid, options: {…}, owner, contents }) and
// plans the filesystem with planExt4; recognises ext2/3/4 on a disk with the
// reader's probe. Errors name the JSON path.
import { DiskwrightError, fail } from '../errors.js';
import type { FilesystemDriver, PlanArgs } from '../fs/driver.js';
import type { FilesystemPlan } from '../fs/types.js';
import { isGuid } from '../codec/guid.js';
import { ext4GeometryOf, planExt4, type Ext4Features, type Ext4Options } from './build.js';
import { probeExt4 } from './probe.js';

const KNOWN_KEYS = ['type', 'label', 'uuid', 'options', 'owner', 'contents'];
const OPTION_KEYS = ['blockSize', 'inodeSize', 'inodeRatio', 'inodes', 'reservedPercent', 'journal', 'features', 'hashSeed', 'zeroInodeTables'];
const FEATURES: ReadonlyArray<keyof Ext4Features> = [
  'has_journal', 'metadata_csum', '64bit', 'flex_bg', 'dir_index', 'huge_file', 'dir_nlink', 'extra_isize', 'ext_attr', 'uninit_bg', 'resize_inode',
];

function unknownKeys(obj: Record<string, unknown>, known: readonly string[], path: string, what: string): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) {
      fail('SPEC_UNKNOWN_KEY', `${path}.${k}: unknown key for ${what} (known: ${known.join(', ')})`, { path: `${path}.${k}`, field: k });
    }
  }
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** The Ext4Options a spec asks for (without size, tree or seed). */
export function ext4OptionsFromSpec(spec: Record<string, unknown>, path: string): Omit<Ext4Options, 'size'> {
  unknownKeys(spec, KNOWN_KEYS, path, 'an ext4 filesystem');
  const out: Omit<Ext4Options, 'size'> = {};
  const bad = (p: string, msg: string, actual: unknown): never => fail('SPEC_INVALID', `${p}: ${msg}`, { path: p, actual });
  if (spec.label !== undefined && spec.label !== null) {
    if (typeof spec.label !== 'string') bad(`${path}.label`, 'must be a string', spec.label);
    if (new TextEncoder().encode(spec.label as string).length > 16) bad(`${path}.label`, 'must be at most 16 bytes', spec.label);
    out.label = spec.label as string;
  }
  if (spec.uuid !== undefined) {
    if (typeof spec.uuid !== 'string' || !isGuid(spec.uuid)) bad(`${path}.uuid`, 'must be a UUID', spec.uuid);
    out.uuid = (spec.uuid as string).toLowerCase();
  }
  if (spec.owner !== undefined) {
    if (isObject(spec.owner)) {
      // An id map ({"uid": {"1000": 0}, "gid": {…}}) is applied when the
      // contents are read (src/node/owner.ts); the tree already holds the
      // mapped ids, so they are kept as they are here.
      out.owner = 'keep';
    } else {
      if (spec.owner !== 'keep' && spec.owner !== 'root') bad(`${path}.owner`, 'must be "keep", "root" or an id map {"uid": {…}, "gid": {…}}', spec.owner);
      out.owner = spec.owner as 'keep' | 'root';
    }
  }
  const o = spec.options;
  if (o === undefined) return out;
  if (!isObject(o)) return bad(`${path}.options`, 'must be an object', o);
  const op = `${path}.options`;
  unknownKeys(o, OPTION_KEYS, op, 'ext4 options');
  const int = (k: string, min: number, max: number): number | undefined => {
    const x = o[k];
    if (x === undefined) return undefined;
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min || x > max) bad(`${op}.${k}`, `must be a whole number from ${min} to ${max}`, x);
    return x as number;
  };
  const bs = int('blockSize', 1024, 4096);
  if (bs !== undefined) {
    if (bs !== 1024 && bs !== 2048 && bs !== 4096) bad(`${op}.blockSize`, 'must be 1024, 2048 or 4096', bs);
    out.blockSize = bs as 1024 | 2048 | 4096;
  }
  const is = int('inodeSize', 256, 4096);
  if (is !== undefined) {
    if ((is & (is - 1)) !== 0) bad(`${op}.inodeSize`, 'must be a power of two', is);
    out.inodeSize = is;
  }
  out.inodeRatio = int('inodeRatio', 1024, 67108864);
  out.inodes = int('inodes', 16, 0xffffffff);
  if (o.reservedPercent !== undefined) {
    const r = o.reservedPercent;
    if (typeof r !== 'number' || !(r >= 0 && r <= 50)) bad(`${op}.reservedPercent`, 'must be a number from 0 to 50', r);
    out.reservedPercent = r as number;
  }
  if (o.journal !== undefined) {
    const j = o.journal;
    if (typeof j === 'boolean') out.journal = j;
    else if (typeof j === 'number' && Number.isSafeInteger(j) && j >= 1024) out.journal = j;
    else bad(`${op}.journal`, 'must be true, false or a number of blocks (≥ 1024)', j);
  }
  if (o.hashSeed !== undefined) {
    if (typeof o.hashSeed !== 'string' || !isGuid(o.hashSeed)) bad(`${op}.hashSeed`, 'must be a UUID', o.hashSeed);
    out.hashSeed = o.hashSeed as string;
  }
  if (o.zeroInodeTables !== undefined) {
    if (typeof o.zeroInodeTables !== 'boolean') bad(`${op}.zeroInodeTables`, 'must be true or false', o.zeroInodeTables);
    out.zeroInodeTables = o.zeroInodeTables as boolean;
  }
  if (o.features !== undefined) {
    const f = o.features;
    if (!isObject(f)) return bad(`${op}.features`, 'must be an object of feature names to true/false', f);
    unknownKeys(f, FEATURES as string[], `${op}.features`, 'ext4 features');
    const feats: Ext4Features = {};
    for (const [k, v] of Object.entries(f)) {
      if (typeof v !== 'boolean') bad(`${op}.features.${k}`, 'must be true or false', v);
      feats[k as keyof Ext4Features] = v as boolean;
    }
    out.features = feats;
  }
  return out;
}

/** Run `f`, naming the spec's path in EXT4_TOO_BIG (a partition too large for ext4 as diskwright writes it). */
function namingPath<T>(path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof DiskwrightError && e.code === 'EXT4_TOO_BIG') {
      throw new DiskwrightError(e.code, `${path}: ${e.message}`, { ...e.data, path });
    }
    throw e;
  }
}

function planFromSpec(a: PlanArgs): FilesystemPlan {
  const opts = ext4OptionsFromSpec(a.spec, a.path);
  return namingPath(a.path, () => planExt4(a.tree, {
    ...opts,
    size: a.size,
    seed: a.seed,
    seedLabels: [a.partitionIndex],
    time: a.defaultTime,
  }));
}

/** The options and the geometry, before any input is read. */
function checkSpec(a: Omit<PlanArgs, 'tree'>): void {
  const opts = ext4OptionsFromSpec(a.spec, a.path);
  namingPath(a.path, () => ext4GeometryOf({ ...opts, size: a.size }));
}

export const ext4Driver: FilesystemDriver = {
  types: ['ext4'],
  plan: planFromSpec,
  check: checkSpec,
  probe: probeExt4,
};
