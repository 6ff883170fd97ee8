// Volume geometry: fatgen103 §3.5 "Determination of FAT type" (by cluster
// count: < 4085 FAT12, < 65525 FAT16, else FAT32) and the sizes mkfs.fat
// (dosfstools 4.2) chooses. Pure arithmetic, no I/O.
import { fail } from '../errors.js';
import { fatBytesFor, type FatBits } from './fat.js';

export const FAT12_MAX_CLUSTERS = 4084;
export const FAT16_MIN_CLUSTERS = 4085;
export const FAT16_MAX_CLUSTERS = 65524;
export const FAT32_MIN_CLUSTERS = 65525;
/** Cluster numbers must stay below 0x0FFFFFF7 (the bad-cluster mark). */
export const FAT32_MAX_CLUSTERS = 0x0ffffff5 - 2;

export type FatChoice = 'auto' | 'fat32' | 'fat16';

export interface FatGeometryOptions {
  /** Volume bytes. */
  size: number;
  sectorSize: number;
  fat?: FatChoice;
  /** Bytes per cluster; chosen from the size when absent. */
  clusterSize?: number;
  /** FAT12/16 root directory entries (default 512, as mkfs.fat). */
  rootEntries?: number;
  /** JSON path for errors. */
  path?: string;
}

export interface FatGeometry {
  bits: FatBits;
  sectorSize: number;
  totalSectors: number;
  sectorsPerCluster: number;
  clusterSize: number;
  reservedSectors: number;
  numFats: number;
  /** Sectors per FAT copy. */
  fatSectors: number;
  rootEntries: number;
  rootDirSectors: number;
  firstDataSector: number;
  /** Data clusters, numbered 2 … clusterCount+1. */
  clusterCount: number;
}

const isPow2 = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

/**
 * mkfs.fat's FAT32 cluster size (after Microsoft's format table, fatgen103
 * p. 20): ≤ 260 MiB 512 B, ≤ 8 GiB 4 KiB, ≤ 16 GiB 8 KiB, ≤ 32 GiB 16 KiB,
 * beyond 32 KiB. Never smaller than a sector.
 */
export function defaultFat32ClusterSize(size: number, sectorSize: number): number {
  const mib = Math.ceil(size / (1024 * 1024));
  const c = mib > 32 * 1024 ? 32768 : mib > 16 * 1024 ? 16384 : mib > 8 * 1024 ? 8192 : mib > 260 ? 4096 : 512;
  return Math.max(c, sectorSize);
}

/** Lay out a volume of `totalSectors` with a given FAT width and cluster size. */
export function layoutFat(totalSectors: number, sectorSize: number, bits: FatBits, clusterSize: number, rootEntries: number): FatGeometry {
  const spc = clusterSize / sectorSize;
  const align = (n: number) => Math.ceil(n / spc) * spc;
  // The reserved area and each FAT are whole clusters long, so that the data
  // area starts on a cluster boundary (mkfs.fat's align_structures).
  const rootDirSectors = bits === 32 ? 0 : Math.ceil((rootEntries * 32) / sectorSize);
  const reservedSectors = bits === 32 ? align(32) : align(1 + rootDirSectors) - rootDirSectors;
  const numFats = 2;
  const clustersWith = (fatSectors: number) =>
    Math.max(0, Math.floor((totalSectors - reservedSectors - numFats * fatSectors - rootDirSectors) / spc));
  const fatFor = (clusters: number) => align(Math.ceil(fatBytesFor(clusters + 2, bits) / sectorSize));
  // Start from a FAT big enough for every sector as data, then shrink while
  // the smaller FAT still covers the clusters it leaves (a few steps).
  let fatSectors = fatFor(clustersWith(0));
  for (let i = 0; i < 64; i++) {
    const next = fatFor(clustersWith(fatSectors));
    if (next >= fatSectors) break;
    if (fatFor(clustersWith(next)) > next) break;
    fatSectors = next;
  }
  const clusterCount = clustersWith(fatSectors);
  return {
    bits, sectorSize, totalSectors, sectorsPerCluster: spc, clusterSize, reservedSectors, numFats, fatSectors,
    rootEntries: bits === 32 ? 0 : rootEntries, rootDirSectors,
    firstDataSector: reservedSectors + numFats * fatSectors + rootDirSectors, clusterCount,
  };
}

/** Smallest volume (bytes) that holds FAT32 with this cluster size. */
export function minFat32Size(clusterSize: number, sectorSize: number): number {
  let lo = 1, hi = 1;
  while (layoutFat(hi, sectorSize, 32, clusterSize, 0).clusterCount < FAT32_MIN_CLUSTERS) hi *= 2;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (layoutFat(mid, sectorSize, 32, clusterSize, 0).clusterCount >= FAT32_MIN_CLUSTERS) hi = mid; else lo = mid + 1;
  }
  return lo * sectorSize;
}

/** Choose FAT width, cluster size and layout for a volume, as mkfs.fat would; errors name `path`. */
export function planFatGeometry(o: FatGeometryOptions): FatGeometry {
  const path = o.path ?? 'filesystem';
  const fat = o.fat ?? 'auto';
  const ss = o.sectorSize;
  if (![512, 1024, 2048, 4096].includes(ss)) {
    fail('FAT_SECTOR_SIZE', `${path}: FAT needs a sector size of 512, 1024, 2048 or 4096 bytes, not ${ss}`, { path, field: 'sectorSize', actual: ss });
  }
  const totalSectors = Math.floor(o.size / ss);
  if (totalSectors > 0xffffffff) {
    fail('FAT_VOLUME_TOO_LARGE', `${path}: ${o.size} bytes is more than FAT's 2^32 sectors`, { path, size: o.size });
  }
  const rootEntries = o.rootEntries ?? 512;
  if (o.clusterSize !== undefined) {
    const c = o.clusterSize;
    if (!isPow2(c) || c < ss || c / ss > 128) {
      fail('FAT_CLUSTER_SIZE', `${path}.clusterSize: must be a power of two from the sector size (${ss}) to 128 sectors, got ${c}`,
        { path: `${path}.clusterSize`, field: 'clusterSize', actual: c });
    }
  }

  const fat32 = (): FatGeometry => {
    const cs = o.clusterSize ?? defaultFat32ClusterSize(o.size, ss);
    const g = layoutFat(totalSectors, ss, 32, cs, 0);
    if (g.clusterCount < FAT32_MIN_CLUSTERS) {
      const min = minFat32Size(cs, ss);
      fail('FAT32_TOO_SMALL', `${path}: FAT32 needs at least ${FAT32_MIN_CLUSTERS} clusters; with ${cs}-byte clusters that is a volume of at least ${min} bytes, this one has ${o.size}`,
        { path, size: o.size, minimum: min, clusterSize: cs, clusters: g.clusterCount });
    }
    if (g.clusterCount > FAT32_MAX_CLUSTERS) {
      fail('FAT_CLUSTER_SIZE', `${path}: ${g.clusterCount} clusters of ${cs} bytes are too many for FAT32; use larger clusters`, { path, clusterSize: cs, clusters: g.clusterCount });
    }
    return g;
  };

  const fat16 = (): FatGeometry => {
    let g: FatGeometry;
    if (o.clusterSize !== undefined) {
      g = layoutFat(totalSectors, ss, 16, o.clusterSize, rootEntries);
    } else {
      // mkfs.fat starts FAT16 at 4 sectors per cluster and doubles until the
      // count fits; below FAT16's minimum it goes back to smaller clusters.
      let cs = Math.max(2048, ss);
      g = layoutFat(totalSectors, ss, 16, cs, rootEntries);
      while (g.clusterCount > FAT16_MAX_CLUSTERS && cs < 128 * ss && cs < 65536) {
        cs *= 2;
        g = layoutFat(totalSectors, ss, 16, cs, rootEntries);
      }
      while (g.clusterCount < FAT16_MIN_CLUSTERS && cs > ss) {
        cs /= 2;
        g = layoutFat(totalSectors, ss, 16, cs, rootEntries);
      }
    }
    if (g.clusterCount < FAT16_MIN_CLUSTERS) {
      fail('FAT_VOLUME_TOO_SMALL', `${path}: ${o.size} bytes give ${g.clusterCount} clusters of ${g.clusterSize} bytes; FAT16 needs at least ${FAT16_MIN_CLUSTERS}`,
        { path, size: o.size, clusters: g.clusterCount, minimum: FAT16_MIN_CLUSTERS });
    }
    if (g.clusterCount > FAT16_MAX_CLUSTERS) {
      fail('FAT16_TOO_LARGE', `${path}: ${g.clusterCount} clusters of ${g.clusterSize} bytes are more than FAT16's ${FAT16_MAX_CLUSTERS}; use FAT32 or larger clusters`,
        { path, size: o.size, clusters: g.clusterCount, maximum: FAT16_MAX_CLUSTERS });
    }
    return g;
  };

  if (fat === 'fat32') return fat32();
  if (fat === 'fat16') return fat16();
  // auto: FAT32 where the volume is big enough for it, FAT16 below.
  const cs = o.clusterSize ?? defaultFat32ClusterSize(o.size, ss);
  if (layoutFat(totalSectors, ss, 32, cs, 0).clusterCount >= FAT32_MIN_CLUSTERS) return fat32();
  return fat16();
}
