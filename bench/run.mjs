// npm run bench: diskwright against the classic pipeline, in the same run.
//
//  1. The payload (../shared/bench/make-payload.sh, or bench/payload.mjs) in
//     .cache/bench-payload (DISKWRIGHT_BENCH_PAYLOAD overrides).
//  2. The classic pipeline for both KubeSolo layouts (GPT: ESP FAT32 + System
//     A/B ext4 + Data ext4; Raspberry Pi MBR: Control/Boot A/Boot B FAT32 +
//     Data ext4): truncate + sfdisk + mkfs.fat --offset + mcopy -i IMG@@OFF -s
//     + mke2fs -E offset= -d + sync, every step timed.
//  3. The same layouts with diskwright's presets (when src/image/presets.ts
//     and build.ts exist), raw and as .img.zst + .bmap.
//  4. The output layer alone on the payload laid out as an image
//     (bench/child.mjs synthetic): raw + .bmap and .img.zst + .bmap, at 4 GiB
//     and at 64 GiB.
// Every build runs as a child process under /usr/bin/time: wall time, CPU
// (user + sys, children included) and peak RSS (the largest process).
//
// Each build runs BENCH_RUNS times (default 3), the classic pipeline and
// diskwright taking turns; the report gives the median wall time with the
// range, the median CPU time and the largest peak RSS. One run alone is not
// worth much here: the same write with fdatasync takes 0.25 s or 1.4 s on
// this virtual disk, depending on what it is still discarding.
//
// Env: BENCH_SIZE (default 4G), BENCH_BIG (default 64G), BENCH_RUNS (default 3),
// BENCH_SKIP_CLASSIC=1, BENCH_KEEP=1 (keep images in .cache/bench-work).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePayload } from './payload.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const parseSize = (s) => {
  const m = /^(\d+)([KMGT]?)$/i.exec(s);
  if (!m) throw new Error(`bad size ${s}`);
  return Number(m[1]) * 1024 ** ' KMGT'.indexOf((m[2] || ' ').toUpperCase());
};
const SIZE = parseSize(process.env.BENCH_SIZE ?? '4G');
const BIG = parseSize(process.env.BENCH_BIG ?? '64G');
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const work = path.join(root, '.cache', 'bench-work');
const results = { date: null, machine: {}, payload: null, classic: {}, diskwright: {}, synthetic: {}, zstdCli: null };

function log(...a) {
  process.stderr.write(a.join(' ') + '\n');
}

/** Run a command under /usr/bin/time; returns wall, cpu, peak RSS and stdout. */
function measure(cmd, args, opts = {}) {
  const tf = path.join(work, '.time');
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', '-o', tf, cmd, ...args], {
    encoding: 'utf8', maxBuffer: 64 * MiB, env: { ...process.env, LC_ALL: 'C', MTOOLS_SKIP_CHECK: '1', ...opts.env }, cwd: opts.cwd,
  });
  const [wall, user, sys, rss] = fs.readFileSync(tf, 'utf8').trim().split('\n').pop().split(/\s+/).map(Number);
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { status: r.status, wall, cpu: user + sys, rssMiB: rss / 1024, stdout: r.stdout, stderr: r.stderr };
}

function fresh() {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
}

const entries = (d) => fs.readdirSync(d).sort().map((n) => path.join(d, n));

// --- the classic pipeline ----------------------------------------------------

const LAYOUTS = {
  // start/size in MiB; the last partition takes the rest (sfdisk leaves the GPT backup room).
  gpt: {
    label: 'gpt',
    parts: [
      { name: 'EFI', size: 128, type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', fs: 'fat32', from: ['efi'] },
      { name: 'SYSTEM-A', size: 512, type: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', fs: 'ext4', from: ['boot'] },
      { name: 'SYSTEM-B', size: 512, type: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', fs: 'ext4', from: ['boot'] },
      { name: 'DATA', size: null, type: '0FC63DAF-8483-4772-8E79-3D69D8477DE4', fs: 'ext4', from: ['data'] },
    ],
  },
  rpi: {
    label: 'dos',
    parts: [
      { name: 'CONTROL', size: 256, type: 'c', fs: 'fat32', from: ['control'] },
      { name: 'BOOT-A', size: 512, type: 'c', fs: 'fat32', from: ['boot'] },
      { name: 'BOOT-B', size: 512, type: 'c', fs: 'fat32', from: ['boot'] },
      { name: 'DATA', size: null, type: '83', fs: 'ext4', from: ['data'] },
    ],
  },
};

function classic(kind, payload, size) {
  const L = LAYOUTS[kind];
  const img = path.join(work, `classic-${kind}.img`);
  const steps = [];
  const step = (name, cmd, args, opts) => {
    const m = measure(cmd, args, opts);
    steps.push({ name, wall: m.wall, cpu: m.cpu, rssMiB: m.rssMiB });
    return m;
  };
  settleDisk();
  step('truncate', 'truncate', ['-s', String(size), img]);
  const script = [`label: ${L.label}`, ...L.parts.map((p) => {
    const sz = p.size ? `size=${p.size}MiB, ` : '';
    const nm = L.label === 'gpt' ? `, name="${p.name}"` : '';
    return `${sz}type=${p.type}${nm}`;
  })].join('\n') + '\n';
  fs.writeFileSync(path.join(work, 'sfdisk.txt'), script);
  step('sfdisk', 'bash', ['-c', `sfdisk -q "${img}" < "${path.join(work, 'sfdisk.txt')}"`]);
  const table = JSON.parse(spawnSync('sfdisk', ['-J', img], { encoding: 'utf8' }).stdout).partitiontable;
  table.partitions.forEach((part, i) => {
    const p = L.parts[i];
    const off = part.start * 512;
    const bytes = part.size * 512;
    if (p.fs === 'fat32') {
      // Below 260 MiB, FAT32 needs 512-byte clusters to reach its minimum
      // cluster count (mkfs.fat -F 32 would pick 4 KiB and warn, and mtools
      // then takes the volume for FAT16).
      const small = bytes < 260 * MiB ? ['-s', '1'] : [];
      step(`mkfs.fat p${i + 1}`, 'mkfs.fat', ['-F', '32', ...small, '-n', p.name.slice(0, 11), '--offset', String(part.start), img, String(bytes / 1024)]);
      const src = p.from.flatMap((d) => entries(path.join(payload, d)));
      step(`mcopy p${i + 1}`, 'mcopy', ['-s', '-Q', '-i', `${img}@@${off}`, ...src, '::/']);
    } else {
      step(`mke2fs -d p${i + 1}`, 'mke2fs', ['-q', '-F', '-t', 'ext4', '-L', p.name, '-E', `offset=${off}`, '-d', path.join(payload, p.from[0]), img, `${bytes / 1024}k`]);
    }
  });
  step('sync', 'sync', [img]);
  const total = {
    wall: steps.reduce((a, s) => a + s.wall, 0),
    cpu: steps.reduce((a, s) => a + s.cpu, 0),
    rssMiB: Math.max(...steps.map((s) => s.rssMiB)),
  };
  return { img, steps, total };
}

// --- diskwright ------------------------------------------------------------------

/**
 * Before each measured build (both sides alike, untimed): write back what
 * earlier builds left dirty in the page cache, so that one build's writeback
 * is not charged to the next (it made the 64 GiB run, which follows two
 * others, look 1.4-1.5x slower than the 4 GiB one).
 */
function settleDisk() {
  spawnSync('sync', []);
}

function child(args) {
  settleDisk();
  const m = measure(process.execPath, ['--expose-gc', path.join(root, 'bench', 'child.mjs'), ...args], { allowFail: true });
  let out = null;
  try { out = JSON.parse(m.stdout.trim().split('\n').pop()); } catch { /* none */ }
  if (m.status === 3) return { unavailable: out?.unavailable ?? 'unavailable' };
  if (m.status !== 0) return { error: (m.stderr || '').trim().split('\n').slice(-3).join(' | ') };
  return { wall: m.wall, cpu: m.cpu, rssMiB: m.rssMiB, ...out };
}

/** Several runs of one build: the median wall (with its range), the median CPU, the largest peak RSS. */
function summarize(runs) {
  const bad = runs.find((r) => r.wall == null);
  if (bad) return bad;
  const by = (k) => [...runs].sort((a, b) => a[k] - b[k]);
  const mid = (xs) => xs[Math.floor((xs.length - 1) / 2)];
  const med = mid(by('wall'));
  return {
    ...med, runs: runs.length, wallMin: by('wall')[0].wall, wallMax: by('wall').at(-1).wall,
    cpu: mid(by('cpu')).cpu, rssMiB: Math.max(...runs.map((r) => r.rssMiB)),
  };
}

// --- report ------------------------------------------------------------------------

const f1 = (x) => (x == null ? '—' : x.toFixed(2));
const mb = (x) => (x == null ? '—' : x.toFixed(0));
function row(label, m) {
  if (!m || m.unavailable || m.error) return `  ${label.padEnd(38)} ${m?.unavailable ? 'not available: ' + m.unavailable : 'FAILED: ' + m?.error}`;
  const range = m.runs > 1 ? `  (${f1(m.wallMin)}–${f1(m.wallMax)} s over ${m.runs} runs)` : '';
  return `  ${label.padEnd(38)} wall ${f1(m.wall).padStart(7)} s   cpu ${f1(m.cpu).padStart(7)} s   peak RSS ${mb(m.rssMiB).padStart(5)} MiB${range}`;
}

async function main() {
  fresh();
  // Build dist/ (the benchmark runs the compiled library).
  const tsc = spawnSync(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' });
  if (!fs.existsSync(path.join(root, 'dist', 'node', 'output.js'))) throw new Error(`build failed: ${tsc.stdout}${tsc.stderr}`);
  if (tsc.status !== 0) log('bench: tsc reported errors (using what it emitted):', tsc.stdout.split('\n')[0]);

  const payloadDir = process.env.DISKWRIGHT_BENCH_PAYLOAD ?? path.join(root, '.cache', 'bench-payload');
  const payload = ensurePayload(root, payloadDir);
  // Warm the page cache for both sides alike.
  spawnSync('bash', ['-c', `find "${payloadDir}" -type f -exec cat {} + > /dev/null`]);
  const du = spawnSync('du', ['-sb', '--exclude=data.tar', payloadDir], { encoding: 'utf8' }).stdout.split(/\s/)[0];
  results.payload = { ...payload, bytes: Number(du) };
  results.date = new Date().toISOString();
  results.machine = { cpus: (await import('node:os')).cpus().length, node: process.version };
  log(`payload: ${payloadDir} (${(Number(du) / MiB).toFixed(0)} MiB, from ${payload.generator})`);

  const lines = [];
  for (const kind of ['gpt', 'rpi']) {
    // Each build's outputs go before the next one starts (a gigabyte of
    // them in the page cache made whichever build came next pay for
    // reclaiming it); BENCH_KEEP=1 keeps them.
    const dropOutputs = () => {
      if (process.env.BENCH_KEEP === '1') return;
      for (const f of fs.readdirSync(work)) if (f.startsWith(`dw-${kind}`) || f.startsWith(`classic-${kind}`)) fs.rmSync(path.join(work, f), { force: true });
    };
    const runs = { classic: [], raw: [], zstd: [], big: [] };
    for (let r = 0; r < RUNS; r++) {
      if (process.env.BENCH_SKIP_CLASSIC !== '1') {
        log(`classic ${kind} (run ${r + 1}/${RUNS}) …`);
        const c = classic(kind, payloadDir, SIZE);
        runs.classic.push(c);
        if (kind === 'gpt' && !results.zstdCli) {
          // Context: the zstd CLI (2 threads, level 3) on the finished raw image.
          const z = measure('zstd', ['-q', '-3', '-T2', '-f', '-o', `${c.img}.zst`, c.img]);
          results.zstdCli = { ...z, mbPerS: SIZE / 1e6 / z.wall };
        }
        dropOutputs();
      }
      log(`diskwright ${kind} (run ${r + 1}/${RUNS}) …`);
      runs.raw.push(child(['preset', kind, payloadDir, String(SIZE), path.join(work, `dw-${kind}.img`)]));
      dropOutputs();
      runs.zstd.push(child(['preset', kind, payloadDir, String(SIZE), path.join(work, `dw-${kind}.img`), '--zstd', '--bmap']));
      dropOutputs();
      runs.big.push(child(['preset', kind, payloadDir, String(BIG), path.join(work, `dw-${kind}-big.img`)]));
      dropOutputs();
    }
    if (runs.classic.length) {
      const totals = summarize(runs.classic.map((c) => c.total));
      // The steps shown are those of the run whose total is the median.
      const median = runs.classic.find((c) => c.total.wall === totals.wall);
      results.classic[kind] = { img: median.img, steps: median.steps, total: totals, runs: runs.classic.map((c) => c.total) };
    }
    results.diskwright[kind] = { raw: summarize(runs.raw), zstd: summarize(runs.zstd), big: summarize(runs.big) };
    if (process.env.BENCH_KEEP !== '1') fresh();
  }
  log('synthetic output layer …');
  for (const [label, size, extra] of [
    ['raw+bmap', SIZE, ['--bmap']], ['raw+bmap', BIG, ['--bmap']],
    ['zstd+bmap', SIZE, ['--zstd', '--bmap']], ['zstd+bmap', BIG, ['--zstd', '--bmap']],
  ]) {
    const r = child(['synthetic', payloadDir, String(size), path.join(work, 'syn.img'), ...extra]);
    if (r.wall) r.imageMbPerS = size / 1e6 / r.wall;
    results.synthetic[`${label} ${size / GiB}G`] = r;
    fresh();
  }

  // --- print ---
  lines.push(`diskwright benchmark — ${results.machine.cpus} CPUs, node ${results.machine.node}, payload ${(results.payload.bytes / MiB).toFixed(0)} MiB (${results.payload.generator})`);
  lines.push(`image size ${SIZE / GiB} GiB (big: ${BIG / GiB} GiB); ${RUNS} runs of each build, medians`);
  for (const kind of ['gpt', 'rpi']) {
    lines.push('', `${kind === 'gpt' ? 'GPT (ESP + System A/B + Data)' : 'Raspberry Pi MBR (Control + Boot A/B + Data)'}:`);
    const c = results.classic[kind];
    if (c) {
      lines.push(row('classic pipeline (total)', c.total));
      for (const s of c.steps) lines.push(`      ${s.name.padEnd(34)} wall ${f1(s.wall).padStart(7)} s   cpu ${f1(s.cpu).padStart(7)} s   peak RSS ${mb(s.rssMiB).padStart(5)} MiB`);
    }
    const d = results.diskwright[kind];
    lines.push(row('diskwright raw .img', d.raw));
    lines.push(row('diskwright .img.zst + .bmap', d.zstd));
    lines.push(row(`diskwright raw .img at ${BIG / GiB} GiB`, d.big));
    if (c && d.raw.wall) {
      const ratio = d.raw.wall / c.total.wall;
      lines.push(`  ratio diskwright/classic: wall ${ratio.toFixed(2)}× (target ≤ 0.60 ${ratio <= 0.6 ? 'met' : 'MISSED'}), cpu ${(d.raw.cpu / c.total.cpu).toFixed(2)}×, peak RSS ${(d.raw.rssMiB / c.total.rssMiB).toFixed(2)}×`);
      lines.push(`  peak RSS ${d.raw.rssMiB.toFixed(0)} MiB (target ≤ 200 ${d.raw.rssMiB <= 200 ? 'met' : 'MISSED'}); ${BIG / GiB} GiB vs ${SIZE / GiB} GiB: wall ${(d.big.wall / d.raw.wall).toFixed(2)}×, RSS ${(d.big.rssMiB / d.raw.rssMiB).toFixed(2)}×`);
      if (d.zstd.wall) lines.push(`  .img.zst: ${(SIZE / 1e6 / d.zstd.wall).toFixed(0)} MB/s of image (target ≥ 150 ${SIZE / 1e6 / d.zstd.wall >= 150 ? 'met' : 'MISSED'})`);
    }
  }
  lines.push('', 'Output layer alone (payload bytes laid out as an image, bench/child.mjs synthetic):');
  for (const [k, r] of Object.entries(results.synthetic)) {
    lines.push(row(k, r) + (r.imageMbPerS ? `   ${r.imageMbPerS.toFixed(0)} MB/s of image` : ''));
  }
  const s = results.synthetic;
  const sm = `zstd+bmap ${SIZE / GiB}G`, bg = `zstd+bmap ${BIG / GiB}G`, rs = `raw+bmap ${SIZE / GiB}G`, rb = `raw+bmap ${BIG / GiB}G`;
  if (s[sm]?.wall && s[bg]?.wall) {
    lines.push(`  .img.zst at ${SIZE / GiB} GiB: ${s[sm].imageMbPerS.toFixed(0)} MB/s of image (target ≥ 150 ${s[sm].imageMbPerS >= 150 ? 'met' : 'MISSED'}); ${(s[sm].dataBytes / 1e6 / s[sm].wall).toFixed(0)} MB/s of payload data; ${(s[sm].compressedSize / MiB).toFixed(0)} MiB compressed`);
    lines.push(`  ${BIG / GiB} GiB vs ${SIZE / GiB} GiB: raw wall ${(s[rb].wall / s[rs].wall).toFixed(2)}× RSS ${(s[rb].rssMiB / s[rs].rssMiB).toFixed(2)}×; zstd wall ${(s[bg].wall / s[sm].wall).toFixed(2)}× RSS ${(s[bg].rssMiB / s[sm].rssMiB).toFixed(2)}×`);
  }
  if (results.zstdCli) lines.push(`  for context, zstd CLI -3 -T2 on the classic raw image: ${results.zstdCli.wall.toFixed(2)} s, ${results.zstdCli.mbPerS.toFixed(0)} MB/s of image`);
  const text = lines.join('\n');
  process.stdout.write(text + '\n');
  fs.writeFileSync(path.join(root, '.cache', 'bench-result.json'), JSON.stringify(results, null, 2));
  if (process.env.BENCH_KEEP !== '1') fs.rmSync(work, { recursive: true, force: true });
}

await main();
