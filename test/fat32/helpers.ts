// Shared helpers for the FAT tests: build a tree into a host file, run the
// oracles (fsck.fat, mtools) and read what they print.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileTree } from '../../src/tree/tree.js';
import { bytesSource } from '../../src/io/source.js';
import { FileSink } from '../../src/node/file-sink.js';
import { MemorySink } from '../../src/io/memory-sink.js';
import { planFat, type FatBuildOptions, type FatPlan } from '../../src/fat32/build.js';
import { run } from '../helpers/oracle.js';

export const T0 = { sec: 1_700_000_000, nsec: 0 };

/** Build into a host file; returns the plan. */
export async function buildFile(file: string, o: FatBuildOptions): Promise<FatPlan> {
  const plan = planFat(o);
  const sink = new FileSink(file);
  await plan.emit(sink, 0);
  await sink.finish(plan.size);
  return plan;
}

export async function buildBytes(o: FatBuildOptions): Promise<{ plan: FatPlan; bytes: Uint8Array; sink: MemorySink }> {
  const plan = planFat(o);
  const sink = new MemorySink();
  await plan.emit(sink, 0);
  await sink.finish(plan.size);
  return { plan, bytes: sink.bytes(), sink };
}

/** fsck.fat -n -V output; `clean` only when it exits 0 and prints nothing beyond its banner and summary lines. */
export function fsckFat(file: string): { clean: boolean; output: string; problems: string[] } {
  const r = run('fsck.fat', ['-n', '-V', file]);
  const output = r.stdout + r.stderr;
  const problems = output.split('\n').filter((l) => l.trim() !== '' && !/^fsck\.fat \d|^Checking we can access|^Starting check\/repair pass|^Starting verification pass|^\/.+: \d+ files, \d+\/\d+ clusters$/.test(l));
  return { clean: r.status === 0 && problems.length === 0, output, problems };
}

/** A file tree from a record of path → content (string or bytes); directories end with '/'. */
export function treeOf(files: Record<string, string | Uint8Array>, time = T0): FileTree {
  const t = new FileTree({ defaultTime: time });
  for (const [p, c] of Object.entries(files)) {
    if (p.endsWith('/')) t.addDir(p, { mtime: time });
    else t.addFile(p, bytesSource(typeof c === 'string' ? new TextEncoder().encode(c) : c), { mtime: time });
  }
  return t;
}

/** Every file and directory under `dir` on the host: relative path → bytes (null for directories). */
export function readHostTree(dir: string): Map<string, Uint8Array | null> {
  const out = new Map<string, Uint8Array | null>();
  const walk = (d: string, rel: string) => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(p);
      if (st.isDirectory()) { out.set(r, null); walk(p, r); } else if (st.isFile()) out.set(r, new Uint8Array(fs.readFileSync(p)));
    }
  };
  walk(dir, '');
  return out;
}

/** Paths and bytes of a FileTree (files as bytes, directories as null), root excluded. */
export function treeContents(t: FileTree): Map<string, Uint8Array | null> {
  const out = new Map<string, Uint8Array | null>();
  for (const [p, n] of t.walk()) {
    if (p === '/') continue;
    if (n.kind === 'dir') out.set(p.slice(1), null);
    else if (n.kind === 'file') out.set(p.slice(1), n.source.read(0, n.source.size));
  }
  return out;
}

export const MTOOLS_ENV = { MTOOLS_SKIP_CHECK: '1', mtools_skip_check: '1', MTOOLSRC: '/dev/null', LC_ALL: 'C.UTF-8' };

/** Byte equality without vitest's slow element-wise diff on big arrays. */
export function sameBytes(a: Uint8Array | null | undefined, b: Uint8Array | null | undefined): boolean {
  if (a == null || b == null) return a == b;
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}
