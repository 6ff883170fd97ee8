// The shared third-party corpus ($DISKWRIGHT_CORPUS): INDEX.tsv rows, and
// images decoded (xz, gz, bz2, xxd) into a cache directory on demand.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { REQUIRE_ORACLES } from './oracle.js';

export interface CorpusRow {
  path: string;
  kind: string;
  status: string;
  size: number;
  note: string;
  expected: string;
}

export function corpusDir(): string | null {
  const candidates = [process.env.DISKWRIGHT_CORPUS, path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/corpus')];
  for (const c of candidates) {
    if (c && fs.existsSync(path.join(c, 'INDEX.tsv'))) return path.resolve(c);
  }
  if (REQUIRE_ORACLES || process.env.DISKWRIGHT_CORPUS) {
    throw new Error(`corpus not found (DISKWRIGHT_CORPUS=${process.env.DISKWRIGHT_CORPUS ?? ''})`);
  }
  return null;
}

export function corpusRows(): CorpusRow[] {
  const dir = corpusDir();
  if (!dir) return [];
  const lines = fs.readFileSync(path.join(dir, 'INDEX.tsv'), 'utf8').split('\n');
  const rows: CorpusRow[] = [];
  for (const line of lines) {
    if (!line || line.startsWith('#')) continue;
    const [p, kind, status, size, note, expected] = line.split('\t');
    rows.push({ path: p, kind, status, size: Number(size), note: note ?? '', expected: expected ?? '' });
  }
  return rows;
}

/** Paths listed under `[name]` in SETS.txt. */
export function corpusSet(name: string): string[] {
  const dir = corpusDir();
  if (!dir) return [];
  const out: string[] = [];
  let inSet = false;
  for (const line of fs.readFileSync(path.join(dir, 'SETS.txt'), 'utf8').split('\n')) {
    const m = /^\[(\w+)\]/.exec(line);
    if (m) { inSet = m[1] === name; continue; }
    if (!inSet || !line.trim() || line.startsWith('#')) continue;
    const first = line.trim().split(/\s+/)[0];
    for (const p of first.split(',')) if (p) out.push(p.trim());
  }
  return out;
}

const cacheDir = path.join(os.tmpdir(), 'diskwright-corpus-cache');

/** The decoded image of a corpus path (a file in a cache directory). */
export function corpusImage(rel: string): string {
  const dir = corpusDir();
  if (!dir) throw new Error('no corpus');
  const src = path.join(dir, rel);
  let ext = '';
  for (const e of ['.xz', '.gz', '.bz2', '.xxd', '.fsck']) if (rel.endsWith(e)) ext = e;
  if (!ext) return src;
  fs.mkdirSync(cacheDir, { recursive: true });
  const out = path.join(cacheDir, rel.replace(/[/]/g, '__') + '.img');
  if (fs.existsSync(out)) return out;
  const tmp = `${out}.${process.pid}.tmp`;
  let r;
  if (ext === '.xxd' || ext === '.fsck') r = spawnSync('xxd', ['-r', src, tmp]);
  else {
    const tool = ext === '.xz' ? 'xz' : ext === '.gz' ? 'gzip' : 'bzip2';
    const fd = fs.openSync(tmp, 'w');
    r = spawnSync(tool, ['-dc', src], { stdio: ['ignore', fd, 'pipe'] });
    fs.closeSync(fd);
  }
  if (r.status !== 0) throw new Error(`decoding ${rel} failed: ${r.stderr?.toString()}`);
  fs.renameSync(tmp, out);
  return out;
}
