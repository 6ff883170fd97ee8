// A consistency check of a FAT volume, in the spirit of fsck.fat -n: the
// media entries FAT[0]/FAT[1], every chain (loops, free or bad clusters,
// clusters outside the volume, length against the file size), clusters
// owned twice, "." and ".." entries, short names and duplicates, directory
// cycles. Decoding stays lenient; this is the strict step. Bounded: every
// directory is read once, every cluster is owned once.
import { DiskwrightError } from '../errors.js';
import { ATTR_DIRECTORY } from './dir-entry.js';
import { endOfChainMin } from './fat.js';
import type { FatDirRecord, FatReader } from './read.js';

const MAX_PROBLEMS = 1000;
const SHORT_FORBIDDEN = '"*+,./:;<=>?[\\]|';

function shortNameProblem(raw: Uint8Array): string | null {
  if (raw[0] === 0x20) return 'starts with a space';
  for (let i = 0; i < 11; i++) {
    const c = raw[i];
    if (i === 0 && c === 0x05) continue;
    if (c < 0x20) return `holds the control character 0x${c.toString(16)}`;
    if (c >= 0x61 && c <= 0x7a) return 'holds a lower-case letter';
    if (SHORT_FORBIDDEN.includes(String.fromCharCode(c))) return `holds ${JSON.stringify(String.fromCharCode(c))}`;
  }
  return null;
}

const isDot = (r: FatDirRecord, dots: string) => String.fromCharCode(...r.raw) === dots.padEnd(11, ' ');

/** Every problem found (empty for a consistent volume), as coded errors. */
export function checkFat(reader: FatReader): DiskwrightError[] {
  const v = reader.volume;
  const problems: DiskwrightError[] = [];
  const add = (code: string, message: string, data: Record<string, unknown>) => {
    if (problems.length < MAX_PROBLEMS) problems.push(new DiskwrightError(code, message, data));
  };
  const guard = (f: () => void) => {
    try { f(); } catch (e) { if (e instanceof DiskwrightError) add(e.code, e.message, e.data); else throw e; }
  };

  // FAT[0] carries the media byte in its low 8 bits, the rest set; FAT[1] is
  // an end-of-chain value (FAT32/16 may clear the two top "clean" bits).
  guard(() => {
    const mask = v.bits === 32 ? 0x0fffffff : v.bits === 16 ? 0xffff : 0xfff;
    const f0 = reader.fatEntry(0);
    if (f0 !== ((mask & ~0xff) | v.media)) {
      add('FAT_BAD_FAT_ID', `FAT[0] is 0x${f0.toString(16)}, expected the media byte 0x${v.media.toString(16)} with the other bits set`,
        { structure: 'FAT', field: 'FAT[0]', actual: f0, expected: (mask & ~0xff) | v.media });
    }
    const flags = v.bits === 32 ? 0x0c000000 : v.bits === 16 ? 0xc000 : 0;
    const f1 = reader.fatEntry(1) | flags;
    if (f1 < endOfChainMin(v.bits)) {
      add('FAT_BAD_FAT_ID', `FAT[1] is 0x${reader.fatEntry(1).toString(16)}, expected an end-of-chain value`, { structure: 'FAT', field: 'FAT[1]', actual: reader.fatEntry(1) });
    }
  });

  const owner = new Uint8Array(Math.ceil((v.clusterCount + 2) / 8));
  const claim = (runs: Array<{ start: number; count: number }>, path: string) => {
    for (const r of runs) {
      for (let c = r.start; c < r.start + r.count; c++) {
        if (owner[c >> 3] & (1 << (c & 7))) {
          add('FAT_CROSS_LINKED', `${path}: cluster ${c} also belongs to another file or directory`, { path, cluster: c });
          return;
        }
        owner[c >> 3] |= 1 << (c & 7);
      }
    }
  };

  interface Job { cluster: number; path: string; ancestors: Set<number> }
  const rootCluster = v.bits === 32 ? v.rootCluster : 0;
  if (v.bits === 32) guard(() => claim(reader.chain(v.rootCluster, null, '/', Math.ceil((65536 * 32) / v.clusterSize)), '/'));
  const stack: Job[] = [{ cluster: 0, path: '', ancestors: new Set([rootCluster]) }];
  while (stack.length > 0 && problems.length < MAX_PROBLEMS) {
    const job = stack.pop()!;
    let records: FatDirRecord[] = [];
    guard(() => { records = reader.readDirRecords(job.cluster, job.path || '/').records; });
    const here = job.cluster === 0 ? rootCluster : job.cluster;
    if (job.cluster !== 0) {
      const parent = [...job.ancestors][job.ancestors.size - 2] ?? 0;
      const dot = records[0];
      const dotdot = records[1];
      if (!dot || !isDot(dot, '.') || dot.firstCluster !== here) {
        add('FAT_BAD_DOT_ENTRY', `${job.path}: the first entry is not "." pointing at the directory itself`, { path: job.path });
      }
      const expectedUp = parent === rootCluster ? [0, rootCluster] : [parent];
      if (!dotdot || !isDot(dotdot, '..') || !expectedUp.includes(dotdot.firstCluster)) {
        add('FAT_BAD_DOT_ENTRY', `${job.path}: the second entry is not ".." pointing at the parent`, { path: job.path });
      }
    }
    const seen = new Set<string>();
    records.forEach((r, i) => {
      const dotEntry = isDot(r, '.') || isDot(r, '..');
      const path = `${job.path}/${r.name}`;
      if (dotEntry) {
        if (job.cluster === 0 || i > 1) add('FAT_BAD_DOT_ENTRY', `${job.path || '/'}: a "${r.shortName}" entry where none belongs`, { path: job.path || '/' });
        return;
      }
      const bad = shortNameProblem(r.raw);
      if (bad) add('FAT_BAD_SHORT_NAME', `${path}: the short name ${bad}`, { path, actual: String.fromCharCode(...r.raw) });
      const key = String.fromCharCode(...r.raw);
      if (seen.has(key)) add('FAT_DUPLICATE_NAME', `${path}: the short name ${JSON.stringify(key)} appears twice in the directory`, { path, actual: key });
      seen.add(key);
      if (r.attr & ATTR_DIRECTORY) {
        if (r.firstCluster === 0 || job.ancestors.has(r.firstCluster)) {
          add('FAT_DIR_CYCLE', `${path}: the directory contains one of its ancestors`, { path, cluster: r.firstCluster });
          return;
        }
        let ok = false;
        guard(() => { claim(reader.chain(r.firstCluster, null, path, Math.ceil((65536 * 32) / v.clusterSize)), path); ok = true; });
        if (ok) stack.push({ cluster: r.firstCluster, path, ancestors: new Set([...job.ancestors, r.firstCluster]) });
        return;
      }
      if (r.size === 0) {
        if (r.firstCluster !== 0) add('FAT_CHAIN_TOO_LONG', `${path}: an empty file owns cluster ${r.firstCluster}`, { path, cluster: r.firstCluster });
        return;
      }
      guard(() => {
        if (r.firstCluster === 0) {
          add('FAT_CHAIN_SHORT', `${path}: ${r.size} bytes but no clusters`, { path });
          return;
        }
        claim(reader.chain(r.firstCluster, Math.ceil(r.size / v.clusterSize), path), path);
      });
    });
  }
  return problems;
}
