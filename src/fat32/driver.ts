// The FAT driver for the image layer: plans a volume from a partition's
// `filesystem` spec and recognises FAT volumes on a disk.
import { fail } from '../errors.js';
import type { FilesystemDriver, PlanArgs } from '../fs/driver.js';
import type { FilesystemReader } from '../fs/types.js';
import type { Disk } from '../io/disk.js';
import { encodeFatLabel, planFat, type FatBuildOptions } from './build.js';
import { planFatGeometry, type FatChoice } from './geometry.js';
import { looksLikeFat, openFat } from './read.js';

const KNOWN_KEYS = ['type', 'label', 'fat', 'clusterSize', 'contents', 'owner', 'volumeId', 'rootEntries'];

/** The spec's options for planFat (all but the tree), checked. */
function fatOptionsFromSpec(a: Omit<PlanArgs, 'tree'>): Omit<FatBuildOptions, 'tree'> {
  const s = a.spec;
  for (const k of Object.keys(s)) {
    if (!KNOWN_KEYS.includes(k)) {
      fail('SPEC_UNKNOWN_KEY', `${a.path}.${k}: unknown key for a FAT filesystem (known: ${KNOWN_KEYS.join(', ')})`, { path: `${a.path}.${k}`, field: k });
    }
  }
  const type = String(s.type ?? 'fat32').toLowerCase();
  // type "fat32" without `fat` is auto: FAT32 where the volume holds 65,525
  // clusters, FAT16 below (the Raspberry Pi firmware and UEFI read both);
  // `fat: "fat32"` insists and fails on a small volume.
  let fat: FatChoice = type === 'fat16' ? 'fat16' : 'auto';
  if (s.fat !== undefined) {
    if (s.fat !== 'auto' && s.fat !== 'fat32' && s.fat !== 'fat16') {
      fail('SPEC_INVALID', `${a.path}.fat: must be "auto", "fat32" or "fat16"`, { path: `${a.path}.fat`, field: 'fat', actual: s.fat });
    }
    fat = s.fat;
  }
  if (type === 'fat12') fail('SPEC_INVALID', `${a.path}.type: FAT12 volumes are read, not built; use fat16 or fat32`, { path: `${a.path}.type`, actual: type });
  const label = s.label;
  if (label !== undefined && label !== null && typeof label !== 'string') {
    fail('SPEC_INVALID', `${a.path}.label: must be a string`, { path: `${a.path}.label`, actual: label });
  }
  const num = (k: string) => {
    const x = s[k];
    if (x === undefined) return undefined;
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) fail('SPEC_INVALID', `${a.path}.${k}: must be a whole number`, { path: `${a.path}.${k}`, actual: x });
    return x;
  };
  let volumeId: number | undefined;
  if (typeof s.volumeId === 'string') {
    const m = /^([0-9a-fA-F]{4})-?([0-9a-fA-F]{4})$/.exec(s.volumeId);
    if (!m) fail('SPEC_INVALID', `${a.path}.volumeId: expected "ABCD-1234"`, { path: `${a.path}.volumeId`, actual: s.volumeId });
    volumeId = parseInt(m[1] + m[2], 16);
  } else if (s.volumeId !== undefined) {
    volumeId = num('volumeId');
    if (volumeId! > 0xffffffff) fail('SPEC_INVALID', `${a.path}.volumeId: must fit 32 bits`, { path: `${a.path}.volumeId`, actual: volumeId });
  }
  return {
    size: a.size,
    sectorSize: a.sectorSize,
    fat,
    clusterSize: num('clusterSize'),
    rootEntries: num('rootEntries'),
    label: (label as string | null | undefined) ?? null,
    volumeId,
    seed: a.seed,
    seedLabels: [a.partitionIndex],
    partitionOffset: a.partitionOffset,
    path: a.path,
  };
}

function planFromSpec(a: PlanArgs) {
  return planFat({ ...fatOptionsFromSpec(a), tree: a.tree });
}

/** The options, the label and the geometry (with the smallest root directory), before any input is read. */
function checkSpec(a: Omit<PlanArgs, 'tree'>): void {
  const o = fatOptionsFromSpec(a);
  if (o.label !== null && o.label !== undefined) encodeFatLabel(o.label, a.path);
  planFatGeometry({ size: o.size, sectorSize: o.sectorSize ?? 512, fat: o.fat, clusterSize: o.clusterSize, rootEntries: o.rootEntries, path: a.path });
}

function probeFat(disk: Disk): FilesystemReader | null {
  if (disk.size < 512) return null;
  if (!looksLikeFat(disk.read(0, 512))) return null;
  return openFat(disk);
}

export const fat32Driver: FilesystemDriver = {
  types: ['fat32', 'fat16', 'fat12', 'fat', 'vfat'],
  plan: planFromSpec,
  check: checkSpec,
  probe: probeFat,
};
