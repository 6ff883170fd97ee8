// `diskwright verify`: our own structural checks of a whole image, in the
// order a reader meets them — the partition table (both GPT copies), every
// filesystem (opened, walked, and for FAT the fsck-like consistency check),
// and the boot environment (the GRUB env block's size and single run, or
// autoboot.txt pointing at FAT partitions). Each check gives a finding;
// problems carry the error code of the structure that failed.
import { DiskwrightError } from '../errors.js';
import type { Disk } from '../io/disk.js';
import type { FilesystemReader } from '../fs/types.js';
import { openImage, type OpenedImage } from './open.js';
import { checkFat } from '../fat32/check.js';
import type { FatReader } from '../fat32/read.js';
import { locateBootenv, checkGrubenvPlacement, decodeBootenv } from '../bootenv/locate.js';
import { probeFilesystem } from './registry.js';

export interface VerifyFinding {
  ok: boolean;
  /** Short name of the check: "table", "p2 filesystem", "bootenv"… */
  check: string;
  message: string;
  code?: string;
  partition?: number;
}

export interface VerifyReport {
  ok: boolean;
  findings: VerifyFinding[];
}

/** Bounds of the filesystem walk (a hostile image cannot make verify run forever). */
const MAX_ENTRIES = 2_000_000;
const MAX_DEPTH = 256;

function errorFinding(check: string, e: unknown, partition?: number): VerifyFinding {
  if (e instanceof DiskwrightError) return { ok: false, check, message: e.message, code: e.code, partition };
  throw e;
}

/** Walk every directory, stat every entry, map every file's extents: exercises inodes, extent trees, chains. */
function walkFilesystem(r: FilesystemReader, size: number): { files: number; dirs: number; problems: DiskwrightError[] } {
  let files = 0;
  let dirs = 0;
  let seen = 0;
  const problems: DiskwrightError[] = [];
  const visit = (path: string, depth: number): void => {
    if (depth > MAX_DEPTH) {
      problems.push(new DiskwrightError('VERIFY_TOO_DEEP', `${path}: directories nest deeper than ${MAX_DEPTH}`, { path }));
      return;
    }
    dirs++;
    for (const e of r.list(path)) {
      if (++seen > MAX_ENTRIES) throw new DiskwrightError('VERIFY_TOO_MANY', `more than ${MAX_ENTRIES} entries`, { limit: MAX_ENTRIES });
      const p = path === '/' ? `/${e.name}` : `${path}/${e.name}`;
      try {
        if (e.type === 'dir') visit(p, depth + 1);
        else if (e.type === 'file') {
          files++;
          let total = 0;
          for (const x of r.fileExtents(p)) {
            if (x.offset < 0 || x.offset + x.length > size) {
              throw new DiskwrightError('VERIFY_EXTENT_OUTSIDE', `${p}: data at ${x.offset}+${x.length} lies outside the ${size}-byte filesystem`, { path: p, offset: x.offset, length: x.length, size });
            }
            total += x.length;
          }
          if (total > e.size + 65536 * 16 && e.size >= 0) {
            // Extents may cover a partial last block, never far more than the size.
            throw new DiskwrightError('VERIFY_EXTENT_SIZE', `${p}: ${total} bytes mapped for a ${e.size}-byte file`, { path: p, expected: e.size, actual: total });
          }
        } else if (e.type === 'symlink') {
          r.readlink(p);
        }
      } catch (err) {
        if (err instanceof DiskwrightError) problems.push(err);
        else throw err;
      }
    }
  };
  try {
    visit('/', 0);
  } catch (err) {
    if (err instanceof DiskwrightError) problems.push(err);
    else throw err;
  }
  return { files, dirs, problems };
}

export function verifyImage(disk: Disk): VerifyReport {
  const findings: VerifyFinding[] = [];
  let img: OpenedImage;
  try {
    img = openImage(disk);
  } catch (e) {
    findings.push(errorFinding('table', e));
    return { ok: false, findings };
  }
  const tableName = img.table ? img.table.toUpperCase() : 'no partition table';
  findings.push({ ok: img.warnings.length === 0, check: 'table', message: img.warnings.length ? `${tableName}: ${img.warnings.join('; ')}` : `${tableName}, ${img.partitions.length} partition(s)` });
  if (img.table === 'gpt' && img.gpt) {
    // The reader is content with one good copy; verify wants both.
    findings.push({ ok: img.gptUsed === 'primary' && img.warnings.length === 0, check: 'gpt copies', message: img.gptUsed === 'primary' && img.warnings.length === 0 ? 'primary and backup agree' : `primary not usable (${img.gptUsed} used)` });
  }

  for (const p of img.partitions) {
    if (p.container) continue;
    const check = p.index === 0 ? 'filesystem' : `p${p.index} filesystem`;
    let r: FilesystemReader | null;
    try {
      r = probeFilesystem(img.partitionDisk(p.index));
    } catch (e) {
      findings.push(errorFinding(check, e, p.index));
      continue;
    }
    if (!r) {
      findings.push({ ok: true, check, message: 'no filesystem (empty or unknown)', partition: p.index });
      continue;
    }
    const info = r.info();
    if (info.size > p.size) {
      findings.push({ ok: false, check, code: 'VERIFY_FS_TOO_BIG', message: `${info.type} spans ${info.size} bytes, the partition has ${p.size}`, partition: p.index });
    }
    const walk = walkFilesystem(r, info.size);
    const fat = /^fat/.test(info.type) && 'volume' in r ? checkFat(r as FatReader) : [];
    const problems = [...walk.problems, ...fat];
    if (problems.length === 0) {
      findings.push({ ok: true, check, message: `${info.type}${info.label ? ` "${info.label}"` : ''}: ${walk.files} files, ${walk.dirs} directories, consistent`, partition: p.index });
    } else {
      for (const e of problems.slice(0, 20)) findings.push({ ok: false, check, message: e.message, code: e.code, partition: p.index });
      if (problems.length > 20) findings.push({ ok: false, check, message: `… and ${problems.length - 20} more problems`, partition: p.index });
    }
  }

  // The boot environment, when the image has one.
  try {
    const loc = locateBootenv(
      img.partitions.filter((p) => !p.container).map((p) => ({ index: p.index, type: p.type ?? '', disk: img.partitionDisk(p.index) })),
      probeFilesystem,
    );
    const where = `p${loc.partition}:${loc.path}`;
    const doc = decodeBootenv(loc.reader.readFile(loc.path), loc.kind);
    if (doc.kind === 'grubenv') {
      checkGrubenvPlacement(loc.reader, loc.path);
      const vars = doc.env.entries().map((e) => e.name).join(', ');
      findings.push({ ok: true, check: 'bootenv', message: `${where}: GRUB env block, 1024 bytes in one run (${vars || 'empty'})` });
    } else {
      const targets = [...new Set(doc.doc.entries().filter((e) => e.key === 'boot_partition').map((e) => Number(e.value)))];
      const bad = targets.filter((n) => {
        const part = img.partitions.find((p) => p.index === n);
        if (!part) return true;
        try {
          const fr = probeFilesystem(img.partitionDisk(n));
          return !fr || !/^fat/.test(fr.info().type);
        } catch {
          return true;
        }
      });
      findings.push(bad.length === 0
        ? { ok: true, check: 'bootenv', message: `${where}: autoboot.txt, boot_partition ${targets.join(', ') || '(none)'} on FAT` }
        : { ok: false, check: 'bootenv', code: 'VERIFY_AUTOBOOT_TARGET', message: `${where}: boot_partition ${bad.join(', ')} is not a FAT partition of this image` });
    }
  } catch (e) {
    if (e instanceof DiskwrightError && e.code === 'BOOTENV_NOT_FOUND') {
      findings.push({ ok: true, check: 'bootenv', message: 'no boot environment file' });
    } else {
      findings.push(errorFinding('bootenv', e));
    }
  }
  return { ok: findings.every((f) => f.ok), findings };
}
