// The fuzzing engine: seeds, mutations and one execution per target. It takes
// the library as an argument (`lib`: the compiled dist/ for `npm run fuzz`,
// the TypeScript sources for the CI pass in test/hostile), so the same code
// runs in a worker thread and inside vitest.
//
// Outcome of one execution: success, or DiskwrightError with a stable code.
// Anything else is a crash: another exception (TypeError, RangeError…), an
// allocation above the memory bound, or a run over the time bound.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

export const TARGETS = ['gpt', 'mbr', 'fat', 'ext4', 'grubenv', 'autoboot', 'tar', 'spec', 'vdisk'];

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MiB = 1024 * 1024;
/** Largest decoded corpus image used as a seed. */
const MAX_SEED_BYTES = 32 * MiB;
/** Walk bounds for one execution. */
const MAX_ENTRIES = 64;
const MAX_READS = 12;
const MAX_DEPTH = 16;

// ---------------------------------------------------------------- random

/** A small deterministic PRNG (mulberry32) from a string seed and an index. */
export function rngFor(seed, index) {
  let h = 2166136261 >>> 0;
  const s = `${seed}#${index}`;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  let a = h;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    float: next,
    int: (n) => Math.floor(next() * n),
    pick: (arr) => arr[Math.floor(next() * arr.length)],
    chance: (p) => next() < p,
  };
}

// ---------------------------------------------------------------- seeds

export function corpusDir() {
  const c = process.env.DISKWRIGHT_CORPUS ?? path.resolve(ROOT, '../shared/corpus');
  return fs.existsSync(path.join(c, 'INDEX.tsv')) ? c : null;
}

const CACHE = path.join(os.tmpdir(), 'diskwright-corpus-cache');

/** The decoded file of a corpus entry (xz, gz, bz2, xxd decoded into the shared cache) and its size; null when it cannot be. */
function corpusFile(dir, rel) {
  const src = path.join(dir, rel);
  let ext = '';
  for (const e of ['.xz', '.gz', '.bz2', '.xxd', '.fsck']) if (rel.endsWith(e)) ext = e;
  let file = src;
  if (ext) {
    fs.mkdirSync(CACHE, { recursive: true });
    file = path.join(CACHE, rel.replace(/[/]/g, '__') + '.img');
    if (!fs.existsSync(file)) {
      const tmp = `${file}.${process.pid}.fuzz.tmp`;
      let r;
      if (ext === '.xxd' || ext === '.fsck') r = spawnSync('xxd', ['-r', src, tmp]);
      else {
        const fd = fs.openSync(tmp, 'w');
        r = spawnSync(ext === '.xz' ? 'xz' : ext === '.gz' ? 'gzip' : 'bzip2', ['-dc', src], { stdio: ['ignore', fd, 'pipe'] });
        fs.closeSync(fd);
      }
      if (r.status !== 0) { fs.rmSync(tmp, { force: true }); return null; }
      fs.renameSync(tmp, file);
    }
  }
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (!st || !st.isFile() || st.size === 0 || st.size > MAX_SEED_BYTES) return null;
  return { file, size: st.size };
}

const CORPUS_KINDS = {
  gpt: ['gpt', 'hybrid'], mbr: ['mbr', 'hybrid', 'other'], fat: ['fat12', 'fat16', 'fat32'],
  ext4: ['ext2', 'ext3', 'ext4'], grubenv: ['grubenv'],
};

function nameHash(s) {
  let h = 2166136261 >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/**
 * Corpus seeds of the target's kinds: at most `limit` files and `budget`
 * bytes held in memory. When there are more, a fixed pseudo-random choice
 * (by a hash of the name) is taken, so every kind of image stays in.
 */
function corpusSeeds(target, limit, budget) {
  const dir = corpusDir();
  const kinds = CORPUS_KINDS[target];
  if (!dir || !kinds) return [];
  const cands = [];
  for (const line of fs.readFileSync(path.join(dir, 'INDEX.tsv'), 'utf8').split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const [rel, kind, status] = line.split('\t');
    if (!kinds.includes(kind) || status.startsWith('spec-')) continue;
    const f = corpusFile(dir, rel);
    if (f) cands.push({ rel, ...f, order: cands.length });
  }
  let chosen = cands;
  if (cands.length > limit || cands.reduce((a, c) => a + c.size, 0) > budget) {
    chosen = [];
    let total = 0;
    for (const c of [...cands].sort((a, b) => nameHash(a.rel) - nameHash(b.rel))) {
      if (chosen.length >= limit) break;
      if (total + c.size > budget) continue;
      chosen.push(c);
      total += c.size;
    }
    chosen.sort((a, b) => a.order - b.order);
  }
  return chosen.map((c) => ({ name: `corpus:${c.rel}`, bytes: new Uint8Array(fs.readFileSync(c.file)) }));
}

const utf8 = new TextEncoder();

/** Files for our own builds: long names, many entries, a 70 KB file; `links`: symlinks (a loop) and a hard link (not on FAT). */
function smallTree(lib, { links = true, autoboot = true, grubenv = true } = {}) {
  const t = new lib.FileTree({ defaultTime: { sec: 1700000000, nsec: 0 } });
  t.addDir('/boot', { mode: 0o755 });
  t.addFile('/boot/config.txt', lib.textSource('arm_64bit=1\nkernel=Image\n'));
  t.addFile('/boot/cmdline.txt', lib.textSource('console=ttyAMA0 root=LABEL=data\n'));
  t.addFile('/big.bin', lib.bytesSource(new Uint8Array(70000).map((_, i) => (i * 7) & 0xff)));
  t.addDir('/EFI/BOOT');
  if (grubenv) t.addFile('/EFI/BOOT/grubenv', lib.bytesSource(lib.encodeGrubEnv(lib.createGrubEnv({ boot_default: 'A', boot_counter: '3' }))));
  if (autoboot) t.addFile('/autoboot.txt', lib.bytesSource(lib.formatAutoboot({ committed: 'A' })));
  for (let i = 0; i < 40; i++) t.addFile(`/many/file-${String(i).padStart(3, '0')}.txt`, lib.textSource(`file ${i}\n`.repeat(i + 1)));
  t.addFile(`/many/${'long name with spaces '.repeat(5)}.data`, lib.textSource('x'));
  if (links) {
    t.addSymlink('/link', 'boot/config.txt');
    t.addSymlink('/loop-a', 'loop-b');
    t.addSymlink('/loop-b', 'loop-a');
    t.addHardlink('/boot/hard', '/boot/config.txt');
  }
  return t;
}

async function emitBare(lib, plan) {
  const sink = new lib.MemorySink();
  await plan.emit(sink, 0);
  await sink.finish(plan.size);
  return sink.bytes().slice();
}

async function buildSpec(lib, spec) {
  const sink = new lib.MemorySink();
  await lib.buildImage(spec, sink, {
    loadTree: async (fsSpec) => smallTree(lib, { links: !String(fsSpec.type).startsWith('fat'), autoboot: spec.table === 'mbr' }),
  });
  return sink.bytes().slice();
}

const GPT_SPEC = {
  table: 'gpt', size: '12MiB', seed: 'fuzz', alignment: '64KiB', partitions: [
    { name: 'EFI System', type: 'esp', size: '3MiB', filesystem: { type: 'fat', label: 'EFI', contents: [{ from: 'x', to: '/' }] } },
    { name: 'System A', type: 'linux', size: '512KiB', attributes: ['required', 60] },
    { name: 'Data', type: 'linux', size: 'rest', filesystem: { type: 'ext4', label: 'data', contents: [{ from: 'x', to: '/' }] } },
  ],
};
const MBR_SPEC = {
  table: 'mbr', size: '12MiB', seed: 'fuzz', alignment: '64KiB', partitions: [
    { type: 'fat32', size: '3MiB', bootable: true, filesystem: { type: 'fat', label: 'BOOT', contents: [{ from: 'x', to: '/' }] } },
    { type: 'fat32', size: '3MiB', filesystem: { type: 'fat', label: 'BOOTA' } },
    { type: 'linux', size: 'rest', filesystem: { type: 'ext4', label: 'data', contents: [{ from: 'x', to: '/' }] } },
  ],
};

async function ownSeeds(lib, target) {
  const out = [];
  const add = async (name, f) => {
    try {
      out.push({ name: `own:${name}`, bytes: await f() });
    } catch (e) {
      if (process.env.DISKWRIGHT_FUZZ_DEBUG) console.error(`seed ${name}: ${e?.code ?? ''} ${e?.message}`);
    }
  };
  switch (target) {
    case 'gpt':
      await add('gpt-12MiB', () => buildSpec(lib, GPT_SPEC));
      await add('gpt-4k', () => buildSpec(lib, { table: 'gpt', size: '4MiB', sectorSize: 4096, seed: 'fuzz4k', partitions: [{ name: 'a', type: 'linux', size: '1MiB' }, { name: 'b', type: 'linux', size: 'rest' }] }));
      break;
    case 'mbr':
      await add('mbr-12MiB', () => buildSpec(lib, MBR_SPEC));
      break;
    case 'fat':
      await add('fat-3MiB', async () => emitBare(lib, lib.planFat({ tree: smallTree(lib, { links: false }), size: 3 * MiB, label: 'SMALL', seed: 'fuzz' })));
      await add('fat32-33MiB', async () => emitBare(lib, lib.planFat({ tree: smallTree(lib, { links: false }), size: 33 * MiB, label: 'F32', seed: 'fuzz', fat: 'fat32', clusterSize: 512 })));
      break;
    case 'ext4':
      await add('ext4-2MiB', async () => emitBare(lib, lib.planExt4(smallTree(lib), { size: 2 * MiB, seed: 'fuzz', time: { sec: 1700000000, nsec: 0 } })));
      await add('ext4-4MiB-nojournal', async () => emitBare(lib, lib.planExt4(smallTree(lib), { size: 4 * MiB, seed: 'fuzz2', journal: false, blockSize: 1024, time: { sec: 1700000000, nsec: 0 } })));
      break;
    case 'vdisk': {
      // Our MBR build in each container format (small clusters, so the tables are many).
      const raw = await buildSpec(lib, MBR_SPEC);
      const wrap = async (name, make) => add(name, async () => {
        const mem = new lib.MemorySink();
        const sink = make(mem);
        await sink.write(0, raw);
        await sink.finish(raw.length);
        return mem.bytes().slice();
      });
      await wrap('qcow2-4k', (m) => new lib.Qcow2Sink(m, { clusterSize: 4096 }));
      await wrap('qcow2-4k-deflate', (m) => new lib.Qcow2Sink(m, { clusterSize: 4096, compress: true, codec: lib.nodeDeflate }));
      await wrap('vhd-fixed', (m) => new lib.VhdFixedSink(m));
      await wrap('vhd-dynamic-64k', (m) => new lib.VhdDynamicSink(m, { blockSize: 65536 }));
      await wrap('vmdk-stream-4k', (m) => new lib.VmdkStreamSink(m, { codec: lib.nodeDeflate, grainSize: 4096 }));
      break;
    }
    case 'grubenv':
      out.push({ name: 'own:empty', bytes: lib.encodeGrubEnv(lib.createGrubEnv({})) });
      out.push({ name: 'own:slots', bytes: lib.encodeGrubEnv(lib.createGrubEnv({ boot_default: 'A', boot_counter: '3', boot_success: '1', 'weird\\key': 'a\nb\\c' })) });
      break;
    case 'autoboot':
      out.push({ name: 'own:A', bytes: lib.formatAutoboot({ committed: 'A' }) });
      out.push({ name: 'own:B', bytes: lib.formatAutoboot({ committed: 'B', size: 512 }) });
      out.push({ name: 'own:filters', bytes: utf8.encode('[all]\ntryboot_a_b=1\nboot_partition=2\n[pi4]\nboot_partition=3\r\n[tryboot]\nboot_partition=3\n[none]\n#comment\n') });
      break;
    case 'selftest-hang': case 'selftest-heap': case 'selftest-throw':
      out.push({ name: 'own:even', bytes: new Uint8Array(2) }, { name: 'own:odd', bytes: new Uint8Array(3) });
      break;
    case 'tar':
      for (const f of fs.readdirSync(path.join(ROOT, 'fixtures/tar')).sort()) {
        if (f.endsWith('.tar')) out.push({ name: `fixture:${f}`, bytes: new Uint8Array(fs.readFileSync(path.join(ROOT, 'fixtures/tar', f))) });
      }
      // a gzip stream (spooled by the reader)
      if (out.length) out.push({ name: `gzip:${out[0].name}`, bytes: new Uint8Array(zlib.gzipSync(out[0].bytes, { level: 9 })) });
      break;
    case 'spec':
      for (const dir of ['fixtures/specs', 'fixtures/presets']) {
        const d = path.join(ROOT, dir);
        if (!fs.existsSync(d)) continue;
        for (const f of fs.readdirSync(d).sort()) if (f.endsWith('.json')) out.push({ name: `fixture:${dir}/${f}`, bytes: new Uint8Array(fs.readFileSync(path.join(d, f))) });
      }
      out.push({ name: 'own:gpt', bytes: utf8.encode(JSON.stringify(GPT_SPEC, null, 2)) });
      out.push({ name: 'own:mbr', bytes: utf8.encode(JSON.stringify(MBR_SPEC, null, 2)) });
      break;
  }
  return out;
}

/**
 * Seeds for a target: our own builds first, then corpus files of the right
 * kinds. With `maxSeedMs`, seeds whose unmutated run takes longer are left
 * out (a 47,000-entry htree directory is a fine input but a slow one).
 */
export async function loadSeeds(lib, target, { corpusLimit = 400, corpusBudget = 1024 * MiB, maxSeedMs = 0, exclude = null } = {}) {
  let own = await ownSeeds(lib, target);
  let corpus = corpusSeeds(target, corpusLimit, corpusBudget);
  const dropped = [];
  if (exclude) {
    own = own.filter((s) => !exclude.includes(s.name));
    corpus = corpus.filter((s) => !exclude.includes(s.name));
    dropped.push(...exclude);
  } else if (maxSeedMs > 0) {
    const fast = async (list) => {
      const keep = [];
      for (const s of list) {
        let ms = Infinity;
        try { ms = (await execute(lib, target, { seedBytes: s.bytes, mutation: { patches: [], size: s.bytes.length } })).ms; } catch { ms = 0; /* a crashing seed stays: the fuzzer will report it */ }
        if (ms <= maxSeedMs) keep.push(s); else dropped.push(s.name);
      }
      return keep;
    };
    own = await fast(own);
    corpus = await fast(corpus);
  }
  return { own, corpus, all: [...own, ...corpus], dropped };
}

// ---------------------------------------------------------------- mutation

const EXTREMES = [
  [0x00], [0x01], [0x7f], [0x80], [0xff],
];

function hotBlocks(bytes) {
  const hot = [];
  for (let b = 0; b * 512 < bytes.length; b++) {
    const end = Math.min(bytes.length, b * 512 + 512);
    for (let i = b * 512; i < end; i++) if (bytes[i] !== 0) { hot.push(b); break; }
  }
  return hot;
}

const hotCache = new WeakMap();

/**
 * The mutation for iteration `iter`: a list of patches and an optional new
 * size, as plain data (so a crash can be rebuilt from (seed, iter) alone).
 */
export function mutationFor(seedBytes, rng, kind) {
  let hot = hotCache.get(seedBytes);
  if (!hot) { hot = hotBlocks(seedBytes); hotCache.set(seedBytes, hot); }
  const size = seedBytes.length;
  const patches = [];
  let newSize = size;
  const offset = () => {
    if (hot.length && rng.chance(0.85)) return Math.min(size - 1, hot[rng.int(hot.length)] * 512 + rng.int(512));
    return rng.int(Math.max(1, size));
  };
  const n = 1 + Math.floor(-Math.log(1 - rng.float() * 0.999) * 2);
  for (let k = 0; k < Math.min(n, 16); k++) {
    const op = rng.int(100);
    if (size === 0) break;
    if (op < 30) {
      const o = offset();
      patches.push({ op: 'flip', offset: o, bit: rng.int(8) });
    } else if (op < 50) {
      patches.push({ op: 'set', offset: offset(), bytes: [rng.int(256)] });
    } else if (op < 85) {
      const w = rng.pick([2, 4, 4, 8]);
      const o = Math.floor(offset() / w) * w;
      const which = rng.int(7);
      const b = new Array(w).fill(0);
      if (which === 0) { /* zero */ } else if (which === 1) b[0] = 1;
      else if (which === 2) { b.fill(0xff); b[w - 1] = 0x7f; } else if (which === 3) b[w - 1] = 0x80;
      else if (which === 4) b.fill(0xff);
      else if (which === 5) for (let i = 0; i < w; i++) b[i] = rng.int(256);
      else { const v = (seedBytes[o] ?? 0) + rng.pick([-1, 1, 2, -2, 16, 255]); b[0] = v & 0xff; for (let i = 1; i < w; i++) b[i] = seedBytes[o + i] ?? 0; }
      patches.push({ op: 'set', offset: o, bytes: b });
    } else if (op < 93 && kind === 'text') {
      // text: insert or delete a byte run (JSON structure breaks)
      patches.push({ op: rng.chance(0.5) ? 'insert' : 'delete', offset: offset(), bytes: [rng.pick([0x22, 0x2c, 0x7b, 0x7d, 0x5b, 0x5d, 0x30, 0x2d, 0x3a, 0x0a, 0x5c])], length: 1 + rng.int(8) });
    } else if (op < 96) {
      // splice: copy a block over another (makes cycles and cross-links)
      const from = offset() & ~511;
      const to = offset() & ~511;
      const len = Math.max(0, Math.min(512, size - from, size - to));
      patches.push({ op: 'set', offset: to, bytes: Array.from(seedBytes.subarray(from, from + len)) });
    } else {
      newSize = rng.chance(0.8) ? rng.int(size) & ~(rng.chance(0.5) ? 511 : 0) : size + 512 * (1 + rng.int(8));
    }
  }
  return { patches, size: newSize };
}

/** The mutated bytes (a fresh array). */
export function applyMutation(seedBytes, m) {
  let out = new Uint8Array(Math.max(seedBytes.length, m.size));
  out.set(seedBytes);
  let len = seedBytes.length;
  for (const p of m.patches) {
    if (p.op === 'flip') { if (p.offset < len) out[p.offset] ^= 1 << p.bit; } else if (p.op === 'set') {
      for (let i = 0; i < p.bytes.length && p.offset + i < len; i++) out[p.offset + i] = p.bytes[i];
    } else if (p.op === 'copy') {
      if (p.length > 0) out.copyWithin(p.offset, p.from, p.from + p.length);
    } else if (p.op === 'insert') {
      const o = Math.min(p.offset, len);
      const ins = new Uint8Array(p.length).fill(p.bytes[0]);
      const next = new Uint8Array(out.length + ins.length);
      next.set(out.subarray(0, o)); next.set(ins, o); next.set(out.subarray(o), o + ins.length);
      out = next; len += ins.length;
    } else if (p.op === 'delete') {
      const o = Math.min(p.offset, len);
      const e = Math.min(len, o + p.length);
      out.copyWithin(o, e, len); len -= e - o;
    }
  }
  const finalLen = m.size === seedBytes.length ? len : Math.min(m.size, out.length);
  return out.slice(0, finalLen);
}

// ---------------------------------------------------------------- execution

export class FuzzBoundError extends Error {
  constructor(message) { super(message); this.name = 'FuzzBoundError'; }
}

/**
 * Run `fn` with typed-array allocations above `limit` bytes refused (a
 * FuzzBoundError, counted as a crash): a reader must check a size read from
 * a header against the container before allocating it.
 */
export async function withAllocationBound(limit, fn) {
  const U8 = globalThis.Uint8Array;
  const AB = globalThis.ArrayBuffer;
  const check = (args, per) => {
    const a = args[0];
    if (typeof a === 'number' && a * per > limit) throw new FuzzBoundError(`allocation of ${a * per} bytes (bound ${limit})`);
  };
  globalThis.Uint8Array = new Proxy(U8, { construct(t, args, nt) { check(args, 1); return Reflect.construct(t, args, nt === globalThis.Uint8Array ? t : nt); } });
  globalThis.ArrayBuffer = new Proxy(AB, { construct(t, args, nt) { check(args, 1); return Reflect.construct(t, args, nt === globalThis.ArrayBuffer ? t : nt); } });
  try {
    return await fn();
  } finally {
    globalThis.Uint8Array = U8;
    globalThis.ArrayBuffer = AB;
  }
}

/** Calls `f`; a DiskwrightError is recorded in `codes` and gives undefined; anything else propagates (a crash). */
function guard(lib, codes, f) {
  try {
    return f();
  } catch (e) {
    if (lib.isDiskwrightError(e) && typeof e.code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(e.code)) { codes.add(e.code); return undefined; }
    throw e;
  }
}

async function guardAsync(lib, codes, f) {
  try {
    return await f();
  } catch (e) {
    if (lib.isDiskwrightError(e) && typeof e.code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(e.code)) { codes.add(e.code); return undefined; }
    throw e;
  }
}

/** List, stat, read every entry of a filesystem, breadth first, within bounds. */
function walkFilesystem(lib, codes, reader) {
  guard(lib, codes, () => reader.info());
  const queue = [['/', 0]];
  let entries = 0;
  let reads = 0;
  let firstFile = null;
  while (queue.length && entries < MAX_ENTRIES) {
    const [dir, depth] = queue.shift();
    const list = guard(lib, codes, () => reader.list(dir));
    if (!list) continue;
    for (const e of list) {
      if (++entries > MAX_ENTRIES) break;
      const p = dir === '/' ? `/${e.name}` : `${dir}/${e.name}`;
      const st = guard(lib, codes, () => reader.stat(p));
      const type = st?.type ?? e.type;
      if (type === 'dir') { if (depth < MAX_DEPTH) queue.push([p, depth + 1]); } else if (type === 'symlink') guard(lib, codes, () => reader.readlink(p));
      else if (type === 'file' && reads++ < MAX_READS) {
        const data = guard(lib, codes, () => reader.readFile(p));
        guard(lib, codes, () => reader.fileExtents(p));
        if (data && data.length > 0 && !firstFile) firstFile = { path: p, size: data.length };
      }
    }
  }
  // a few lookups that do not exist or go through files
  guard(lib, codes, () => reader.stat('/no/such/file'));
  guard(lib, codes, () => reader.list('/EFI/BOOT/grubenv'));
  return firstFile;
}

/**
 * rewriteFile on a writable copy: when it succeeds, the file must read back
 * as the new bytes (anything else is reported as a crash).
 */
function rewriteInPlace(lib, codes, input, open, file) {
  if (!file) return;
  const disk = overlayDisk(lib, input, true);
  const w = guard(lib, codes, () => open(disk));
  if (!w) return;
  const data = new Uint8Array(file.size).map((_, i) => (i * 13 + 7) & 0xff);
  if (guard(lib, codes, () => { w.rewriteFile(file.path, data); return true; })) {
    const back = guard(lib, codes, () => open(disk).readFile(file.path));
    if (back && (back.length !== data.length || back.some((b, i) => b !== data[i]))) throw new Error(`rewriteFile(${file.path}) succeeded but the file does not read back as written`);
  }
}

/** The bootenv CLI's in-place edits on a writable copy of an image. */
function bootenvInPlace(lib, codes, input) {
  if (!lib.locateBootenv) return;
  for (const [verb, args] of [['slot', ['B']]]) {
    const disk = overlayDisk(lib, input, true);
    const img = guard(lib, codes, () => lib.openImage(disk));
    if (!img) return;
    const parts = guard(lib, codes, () => img.partitions.filter((p) => !p.container).slice(0, 16).map((p) => ({ index: p.index, type: p.type ?? '', disk: img.partitionDisk(p.index) })));
    if (!parts) return;
    const loc = guard(lib, codes, () => lib.locateBootenv(parts, lib.probeFilesystem));
    if (!loc) return;
    const r = guard(lib, codes, () => lib.editBootenvInPlace(loc, verb, args));
    if (r?.changed) {
      // what was written reads back through a fresh open and decodes
      const again = guard(lib, codes, () => lib.openImage(disk).filesystem(loc.partition).readFile(loc.path));
      if (again) guard(lib, codes, () => lib.decodeBootenv(again, loc.kind));
    }
  }
}

/**
 * openImage and every partition's filesystem: info, and the root directory
 * (the deep walk is the fat and ext4 targets' part; here the tables are).
 */
function walkImage(lib, codes, disk, deep = false) {
  const img = guard(lib, codes, () => lib.openImage(disk));
  if (!img) return;
  for (const p of img.partitions.slice(0, 16)) {
    if (p.container) continue;
    guard(lib, codes, () => img.filesystemInfo(p.index));
    const fsr = guard(lib, codes, () => img.filesystem(p.index));
    if (!fsr) continue;
    if (deep) walkFilesystem(lib, codes, fsr);
    else {
      const list = guard(lib, codes, () => fsr.list('/')) ?? [];
      for (const e of list.slice(0, 8)) guard(lib, codes, () => (e.type === 'file' ? fsr.readFile(`/${e.name}`) : fsr.stat(`/${e.name}`)));
    }
  }
}

/**
 * A read-only disk of the mutated input without copying the seed: reads take
 * the seed's bytes and apply the patches over them (IO_RANGE outside, as
 * memoryDisk).
 */
function overlayDisk(lib, input, writable = false) {
  if (input.bytes) return lib.memoryDisk(writable ? input.bytes.slice() : input.bytes, writable);
  const { seedBytes, mutation } = input;
  const size = mutation.size;
  const patches = writable ? [...mutation.patches] : mutation.patches;
  const disk = {
    size,
    read(offset, length) {
      lib.checkRange(size, offset, length, 'image');
      const out = new Uint8Array(length);
      if (offset < seedBytes.length) out.set(seedBytes.subarray(offset, Math.min(seedBytes.length, offset + length)));
      for (const p of patches) {
        if (p.op === 'flip') { if (p.offset >= offset && p.offset < offset + length) out[p.offset - offset] ^= 1 << p.bit; continue; }
        const s = Math.max(offset, p.offset);
        // mutations stop at the seed's end (as applyMutation); writes reach the disk's end
        const e = Math.min(offset + length, p.offset + p.bytes.length, p.op === 'write' ? size : seedBytes.length);
        for (let i = s; i < e; i++) out[i - offset] = p.bytes[i - p.offset];
      }
      return out;
    },
  };
  if (writable) {
    // copy on write: the seed is shared and never changes
    disk.write = (offset, data) => {
      lib.checkRange(size, offset, data.length, 'image');
      patches.push({ op: 'write', offset, bytes: data.slice() });
    };
  }
  return disk;
}

/** A fresh temporary file name for a tar input (in /dev/shm when there is one); the runner removes the file after each input. */
function tarTmpFile() {
  const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  return path.join(base, `dw-fuzz-${process.pid}-${Math.random().toString(36).slice(2)}.tar`);
}

const dec = new TextDecoder();

/** A sink that keeps nothing and checks the order of extents. */
function discardSink(lib) {
  let end = 0;
  const put = (offset, length) => {
    if (offset < end) throw new lib.DiskwrightError('SINK_ORDER', `extent at ${offset} before ${end}`, { offset });
    end = offset + length;
  };
  return {
    async write(offset, data) { put(offset, data.length); },
    async zero(offset, length) { put(offset, length); },
    async finish() {},
    async abort() {},
  };
}

/** Targets: bytes → set of codes seen (a crash throws). */
const RUNNERS = {
  // The harness's own checks (not in TARGETS): every other input hangs, runs
  // out of heap, or throws, so fuzz/run.mjs must report each as a crash.
  'selftest-hang'(lib, codes, input) { if (inputBytes(input).length % 2) for (;;) { /* never returns */ } },
  'selftest-heap'(lib, codes, input) { if (inputBytes(input).length % 2) { const a = []; for (;;) a.push({ x: new Array(1000).fill(a.length) }); } },
  'selftest-throw'(lib, codes, input) { if (inputBytes(input).length % 2) return null.x; codes.add('SELFTEST_OK'); },
  gpt(lib, codes, input) {
    const disk = overlayDisk(lib, input);
    for (const strict of [true, false]) {
      const r = guard(lib, codes, () => lib.readGpt(disk, { strict }));
      if (r) guard(lib, codes, () => lib.validateGptTable(r.table));
    }
    guard(lib, codes, () => lib.detectGptSectorSize(disk));
    walkImage(lib, codes, disk);
    bootenvInPlace(lib, codes, input);
  },
  mbr(lib, codes, input) {
    const disk = overlayDisk(lib, input);
    for (const strict of [true, false]) {
      const r = guard(lib, codes, () => lib.readMbr(disk, { strict }));
      if (r) guard(lib, codes, () => lib.mbrPartitions(r.table));
    }
    walkImage(lib, codes, disk);
    bootenvInPlace(lib, codes, input);
  },
  fat(lib, codes, input) {
    const disk = overlayDisk(lib, input);
    const r = guard(lib, codes, () => lib.openFat(disk));
    if (r) {
      guard(lib, codes, () => lib.checkFat(r).forEach((e) => codes.add(e.code)));
      const file = walkFilesystem(lib, codes, r);
      rewriteInPlace(lib, codes, input, (d) => lib.openFat(d), file);
    }
    const img = guard(lib, codes, () => lib.openImage(disk));
    if (img) guard(lib, codes, () => img.partitions.forEach((p) => img.filesystemInfo(p.index)));
  },
  ext4(lib, codes, input) {
    const disk = overlayDisk(lib, input);
    const r = guard(lib, codes, () => lib.openExt4(disk));
    if (r) {
      const file = walkFilesystem(lib, codes, r);
      rewriteInPlace(lib, codes, input, (d) => lib.openExt4(d), file);
    }
    const img = guard(lib, codes, () => lib.openImage(disk));
    if (img) guard(lib, codes, () => img.partitions.forEach((p) => img.filesystemInfo(p.index)));
  },
  vdisk(lib, codes, input) {
    const file = overlayDisk(lib, input);
    const v = guard(lib, codes, () => lib.openVirtualDisk(file, lib.nodeDeflate));
    if (v) walkImage(lib, codes, v.disk);
  },
  grubenv(lib, codes, input) {
    const bytes = inputBytes(input);
    guard(lib, codes, () => lib.detectBootenvKind(bytes));
    const env = guard(lib, codes, () => lib.decodeGrubEnv(bytes));
    if (!env) return;
    const entries = guard(lib, codes, () => env.entries()) ?? [];
    guard(lib, codes, () => env.toRecord());
    guard(lib, codes, () => lib.listGrubEnv(env));
    guard(lib, codes, () => env.freeSpace());
    for (const e of entries.slice(0, 8)) guard(lib, codes, () => env.get(e.name));
    runBootenv(lib, codes, () => ({ kind: 'grubenv', env: env.clone(), size: bytes.length }), bytes.length);
    guard(lib, codes, () => lib.simulateGrubBoot(env.clone()));
  },
  autoboot(lib, codes, input) {
    const bytes = inputBytes(input);
    guard(lib, codes, () => lib.detectBootenvKind(bytes, '/autoboot.txt'));
    const doc = guard(lib, codes, () => lib.decodeAutoboot(bytes));
    if (!doc) return;
    guard(lib, codes, () => doc.entries());
    guard(lib, codes, () => doc.listLines());
    guard(lib, codes, () => doc.effective('boot_partition', false));
    guard(lib, codes, () => doc.effective('boot_partition', true));
    guard(lib, codes, () => lib.fitAutoboot(doc.clone(), 512));
    runBootenv(lib, codes, () => ({ kind: 'autoboot', doc: doc.clone(), size: bytes.length }), bytes.length);
  },
  async tar(lib, codes, input) {
    const bytes = inputBytes(input);
    const file = tarTmpFile();
    fs.writeFileSync(file, bytes);
    try {
      const tree = await guardAsync(lib, codes, () => lib.treeFromTar(file, new lib.FileTree({ defaultTime: { sec: 0, nsec: 0 } }), '/in'));
      if (!tree) return;
      let n = 0;
      for (const [, node] of tree.walk()) {
        if (++n > MAX_ENTRIES) break;
        if (node.kind === 'file' && node.source) guard(lib, codes, () => node.source.read(0, Math.min(node.source.size, 1 << 20)));
      }
    } finally {
      fs.rmSync(file, { force: true });
    }
  },
  async spec(lib, codes, input) {
    const text = dec.decode(inputBytes(input));
    const raw = guard(lib, codes, () => lib.parseSpecJson(text, 'fuzz.json'));
    if (raw === undefined) return;
    await runSpecValue(lib, codes, raw);
  },
};

const BOOTENV_COMMANDS = [
  ['list', []], ['get', ['boot_default']], ['get', ['boot_partition']], ['state', []], ['slot', ['B']], ['slot', ['A']],
  ['try', []], ['try', ['3']], ['good', []], ['rollback', []], ['set', ['boot_counter=2', 'x=y']], ['unset', ['boot_success', 'boot_partition']],
];

/** The CLI's verbs on a fresh copy each; an edit that succeeds must keep the file's size. */
function runBootenv(lib, codes, fresh, size) {
  for (const [verb, args] of BOOTENV_COMMANDS) {
    const doc = fresh();
    const r = guard(lib, codes, () => lib.runBootenvCommand(doc, verb, args));
    if (r === undefined) continue;
    const out = guard(lib, codes, () => lib.encodeBootenv(doc));
    if (out && out.length !== size) throw new Error(`bootenv ${verb}: the file changed size ${size} → ${out.length}`);
  }
}

const SPEC_VALUES = [0, -1, 1, 0.5, 1e300, -1e300, 2 ** 53, 2 ** 64, '', 'rest', '0', '-1MiB', '1e999MiB', '999999PiB', '1 KiB', 'NaN', null, true, [], {}, [[]], 'a'.repeat(300), 'fat32', 'ext4', 'gpt', 'mbr', 4096, 512, 7, 128, 1 << 30, '1MiB', '0x1234abcd', '00000000-0000-0000-0000-000000000000'];
const SPEC_KEYS = ['sise', 'size', 'start', 'type', 'name', 'table', 'alignment', 'sectorSize', 'entryCount', 'filesystem', 'partitions', 'contents', 'options', 'label', 'uuid', 'inodes', 'blockSize', 'clusterSize', 'fat', 'bootenv', '__proto__', 'constructor'];

function mutateJson(doc, rng) {
  const paths = [];
  const visit = (v, parent, key, depth) => {
    if (parent !== null) paths.push([parent, key]);
    if (depth > 8 || v === null || typeof v !== 'object') return;
    for (const k of Object.keys(v)) visit(v[k], v, k, depth + 1);
  };
  visit(doc, null, null, 0);
  if (!paths.length) return rng.pick(SPEC_VALUES);
  const [parent, key] = rng.pick(paths);
  const r = rng.int(10);
  if (r < 6) parent[key] = structuredClone(rng.pick(SPEC_VALUES));
  else if (r < 7 && !Array.isArray(parent)) { parent[rng.pick(SPEC_KEYS)] = parent[key]; delete parent[key]; } else if (r < 8 && !Array.isArray(parent)) parent[rng.pick(SPEC_KEYS)] = structuredClone(rng.pick(SPEC_VALUES));
  else if (r < 9) delete parent[key];
  else if (Array.isArray(parent[key])) parent[key].push(structuredClone(parent[key][0] ?? {}));
  else parent[key] = [parent[key], parent[key]];
  return doc;
}

async function runSpecValue(lib, codes, raw) {
  guard(lib, codes, () => lib.validateSpec(raw));
  const plan = await guardAsync(lib, codes, () => lib.planImage(raw, {
    // files the filesystem can hold; the boot environment files come from the spec's `bootenv`
    loadTree: async (fsSpec) => smallTree(lib, { links: !String(fsSpec?.type).toLowerCase().startsWith('fat'), autoboot: false, grubenv: false }),
  }));
  if (plan && plan.size <= 64 * MiB) await guardAsync(lib, codes, () => lib.emitImage(plan, discardSink(lib)));
}

/** The input's bytes: given, or the seed with the mutation applied. */
export function inputBytes(input) {
  if (!input.bytes) input.bytes = applyMutation(input.seedBytes, input.mutation);
  return input.bytes;
}

/**
 * Run one input ({ bytes } or { seedBytes, mutation }) through a target.
 * Returns { codes: string[], ms } or throws the crash (any non-DiskwrightError,
 * FuzzBoundError included).
 */
export async function execute(lib, target, input) {
  const codes = new Set();
  const t0 = performance.now();
  const size = input.bytes ? input.bytes.length : input.mutation.size;
  const limit = Math.max(64 * MiB, 4 * size);
  await withAllocationBound(limit, () => RUNNERS[target](lib, codes, input));
  return { codes: [...codes], ms: performance.now() - t0 };
}

/** The input for iteration `iter` of a run: which seed, what mutation, the bytes. */
export function inputFor(seeds, target, runSeed, iter) {
  const rng = rngFor(`${runSeed}/${target}`, iter);
  // our own builds are few but cover the features we write: half the time
  const pool = seeds.own.length && (rng.chance(0.5) || !seeds.corpus.length) ? seeds.own : seeds.corpus.length ? seeds.corpus : seeds.own;
  const seed = rng.pick(pool);
  const kind = target === 'spec' || target === 'autoboot' ? 'text' : 'binary';
  if (target === 'spec' && iter > 0 && rng.chance(0.6)) {
    // structured: values in the document replaced by extreme ones, keys renamed or dropped
    let doc;
    try { doc = JSON.parse(dec.decode(seed.bytes)); } catch { doc = {}; }
    const n = 1 + rng.int(3);
    for (let k = 0; k < n; k++) doc = mutateJson(doc, rng);
    return { seed: seed.name, bytes: utf8.encode(JSON.stringify(doc, null, 1) ?? 'null') };
  }
  const m = iter === 0 ? { patches: [], size: seed.bytes.length } : mutationFor(seed.bytes, rng, kind);
  return { seed: seed.name, seedBytes: seed.bytes, mutation: m };
}

/** Load the library for the engine: the compiled dist/ (npm run fuzz). */
export async function loadDistLibrary() {
  // DISKWRIGHT_FUZZ_DIST: a copy of dist/ to fuzz while dist/ is being rebuilt (a long run)
  const dist = process.env.DISKWRIGHT_FUZZ_DIST ? path.resolve(process.env.DISKWRIGHT_FUZZ_DIST) : path.join(ROOT, 'dist');
  const lib = { ...(await import(path.join(dist, 'index.js'))) };
  await addExtras(lib, (p) => import(path.join(dist, `${p}.js`)));
  return lib;
}

/** Modules the public index does not (yet) export; `imp('ext4/read')` imports one. */
export async function addExtras(lib, imp) {
  const tryImport = async (p) => { try { return await imp(p); } catch { return null; } };
  const read = await tryImport('ext4/read');
  if (read && !lib.openExt4) lib.openExt4 = read.openExt4;
  const build = await tryImport('ext4/build');
  if (build && !lib.planExt4) lib.planExt4 = build.planExt4;
  const probe = await tryImport('ext4/probe');
  const driver = await tryImport('ext4/driver');
  // the image layer's ext4 probe, as the library wires it (harmless when it already is)
  if (probe && driver?.setExt4Probe) driver.setExt4Probe(probe.probeExt4);
  if (!lib.emitImage) lib.emitImage = (await tryImport('image/build'))?.emitImage;
  return lib;
}
