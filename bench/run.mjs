// npm run bench: diskwright against the classic pipeline, in the same run,
// taking turns, as a user would meet it (issue 12).
//
//  1. The payload (../shared/bench/make-payload.sh, or bench/payload.mjs) in
//     .cache/bench-payload (DISKWRIGHT_BENCH_PAYLOAD overrides), its page
//     cache warmed once for both sides.
//  2. Both KubeSolo layouts (GPT: ESP FAT32 + System A/B ext4 + Data ext4;
//     Raspberry Pi MBR: Control/Boot A/Boot B FAT32 + Data ext4), built by
//     the classic pipeline (truncate + sfdisk + mkfs.fat --offset + mcopy -s
//     + mke2fs -E offset=,nodiscard -d: its fastest form) and by diskwright
//     (bench/child.mjs preset), on two targets: tmpfs (BENCH_TMPFS, default
//     /dev/shm) and the disk the checkout is on (.cache/bench-work).
//  3. Each with the same durability on both sides:
//       sync:    diskwright --sync (fsync before the rename); the classic
//                tools as they are (mke2fs and mkfs.fat fsync the image
//                file) plus a final `sync IMG`;
//       no-sync: diskwright --no-sync; the classic tools under eatmydata
//                (their fsyncs made no-ops) and no final sync.
//  4. One ext4 partition from the payload's data/ tree: `truncate` +
//     `mke2fs -E nodiscard -d` against diskwright (a GPT image whose one
//     partition is that ext4: slightly more work than mke2fs does).
//  5. The floor: `find <inputs> -type f -print0 | xargs -0 cat > /dev/null`
//     (warm cache) over the directories a preset build reads, in the same
//     turns.
//  6. diskwright at BENCH_BIG (64 GiB) against BENCH_SIZE (4 GiB): wall and
//     peak RSS; and .img.zst + .bmap throughput (full mode only).
// Every build runs as a child process under /usr/bin/time: wall time, CPU
// (user + sys, children included) and peak RSS (the largest process). Each
// cell is the median of BENCH_RUNS runs (default 3) with its range; the goal
// ratios are printed with met / MISSED.
//
// Env: BENCH_SIZE (default 4G), BENCH_BIG (default 64G), BENCH_RUNS (default
// 3; 1 in quick mode), BENCH_QUICK=1 (Raspberry Pi preset, ext4 alone and
// the floor, on tmpfs, no-sync only: for development), BENCH_TARGETS
// (tmpfs,disk), BENCH_TMPFS (a tmpfs directory, default /dev/shm),
// BENCH_SKIP_CLASSIC=1, BENCH_KEEP=1 (keep the last images).
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
const QUICK = process.env.BENCH_QUICK === '1';
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? (QUICK ? 1 : 3)));
const KINDS = QUICK ? ['rpi'] : ['gpt', 'rpi'];
const DURABILITY = QUICK ? ['no-sync'] : ['sync', 'no-sync'];
const EXT4_SIZE = 2 * GiB;
const diskWork = path.join(root, '.cache', 'bench-work');
const tmpfsWork = path.join(process.env.BENCH_TMPFS ?? '/dev/shm', `diskwright-bench-${process.pid}`);
const TARGETS = (process.env.BENCH_TARGETS ?? (QUICK ? 'tmpfs' : 'tmpfs,disk')).split(',').filter(Boolean);
const targetDir = (t) => (t === 'tmpfs' ? tmpfsWork : diskWork);
// Scratch files of the bench itself (the sfdisk script), never timed.
const work = diskWork;
const results = { date: null, machine: {}, payload: null, cells: {}, floor: null, synthetic: {}, zstdCli: null };
const haveEatmydata = spawnSync('sh', ['-c', 'command -v eatmydata'], { encoding: 'utf8' }).status === 0;

function log(...a) {
  process.stderr.write(a.join(' ') + '\n');
}

/** Run a command under /usr/bin/time; returns wall, cpu, peak RSS and stdout. */
function measure(cmd, args, opts = {}) {
  const tf = path.join(diskWork, '.time');
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', '-o', tf, cmd, ...args], {
    encoding: 'utf8', maxBuffer: 64 * MiB, env: { ...process.env, LC_ALL: 'C', MTOOLS_SKIP_CHECK: '1', ...opts.env }, cwd: opts.cwd,
  });
  const [wall, user, sys, rss] = fs.readFileSync(tf, 'utf8').trim().split('\n').pop().split(/\s+/).map(Number);
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return { status: r.status, wall, cpu: user + sys, rssMiB: rss / 1024, stdout: r.stdout, stderr: r.stderr };
}

function fresh() {
  for (const d of [diskWork, tmpfsWork]) {
    fs.rmSync(d, { recursive: true, force: true });
    fs.mkdirSync(d, { recursive: true });
  }
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

function classic(kind, payload, size, dir, sync) {
  if (!sync && !haveEatmydata) return { unavailable: 'eatmydata is not installed (apt-get install eatmydata): the classic tools fsync by themselves' };
  const L = LAYOUTS[kind];
  const img = path.join(dir, `classic-${kind}.img`);
  const steps = [];
  const step = (name, cmd, args, opts) => {
    // no-sync: mke2fs and mkfs.fat fsync the image file themselves; eatmydata makes that a no-op.
    const m = sync ? measure(cmd, args, opts) : measure('eatmydata', [cmd, ...args], opts);
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
      step(`mke2fs -d p${i + 1}`, 'mke2fs', ['-q', '-F', '-t', 'ext4', '-L', p.name, '-E', `offset=${off},nodiscard`, '-d', path.join(payload, p.from[0]), img, `${bytes / 1024}k`]);
    }
  });
  if (sync) step('sync', 'sync', [img]);
  const total = {
    wall: steps.reduce((a, s) => a + s.wall, 0),
    cpu: steps.reduce((a, s) => a + s.cpu, 0),
    rssMiB: Math.max(...steps.map((s) => s.rssMiB)),
  };
  return { img, steps, total };
}

/** One ext4 filesystem from the payload's data/ tree, the classic way: truncate + mke2fs -E nodiscard -d. */
function classicExt4(payload, dir, sync) {
  if (!sync && !haveEatmydata) return { unavailable: 'eatmydata is not installed' };
  const img = path.join(dir, 'classic-ext4.img');
  settleDisk();
  const wrap = (cmd, args) => (sync ? measure(cmd, args) : measure('eatmydata', [cmd, ...args]));
  const steps = [
    wrap('truncate', ['-s', String(EXT4_SIZE), img]),
    wrap('mke2fs', ['-q', '-F', '-t', 'ext4', '-L', 'DATA', '-E', 'nodiscard', '-d', path.join(payload, 'data'), img]),
    ...(sync ? [measure('sync', [img])] : []),
  ];
  return { img, total: { wall: steps.reduce((a, x) => a + x.wall, 0), cpu: steps.reduce((a, x) => a + x.cpu, 0), rssMiB: Math.max(...steps.map((x) => x.rssMiB)) } };
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
  if (!runs.length) return null;
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
  if (!m) return `  ${label.padEnd(38)} not run`;
  if (m.unavailable || m.error) return `  ${label.padEnd(38)} ${m?.unavailable ? 'not available: ' + m.unavailable : 'FAILED: ' + m?.error}`;
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
  const os = await import('node:os');
  results.machine = { cpus: os.cpus().length, node: process.version, load: os.loadavg().map((x) => x.toFixed(2)).join(' ') };
  if (TARGETS.includes('tmpfs')) {
    const t = spawnSync('stat', ['-f', '-c', '%T', path.dirname(tmpfsWork)], { encoding: 'utf8' }).stdout.trim();
    if (t !== 'tmpfs') log(`bench: ${path.dirname(tmpfsWork)} is ${t || 'missing'}, not tmpfs`);
  }
  log(`payload: ${payloadDir} (${(Number(du) / MiB).toFixed(0)} MiB, from ${payload.generator})`);

  const inputs = ['control', 'boot', 'efi', 'data'].map((d) => `"${path.join(payloadDir, d)}"`).join(' ');
  const floorRuns = [];
  const cells = results.cells; // key: `${kind} ${target} ${durability}` → { classic: [], dw: [] } (kind also ext4, big, zstd)
  const cell = (k) => (cells[k] ??= { classic: [], dw: [] });
  const drop = (dir) => {
    if (process.env.BENCH_KEEP === '1') return;
    for (const f of fs.readdirSync(dir)) if (f.startsWith('dw-') || f.startsWith('classic-') || f.startsWith('.dw-')) fs.rmSync(path.join(dir, f), { force: true });
  };
  const skipClassic = process.env.BENCH_SKIP_CLASSIC === '1';
  for (let r = 0; r < RUNS; r++) {
    floorRuns.push(measure('bash', ['-c', `find ${inputs} -type f -print0 | xargs -0 cat > /dev/null`]));
    for (const target of TARGETS) {
      const dir = targetDir(target);
      for (const dur of DURABILITY) {
        const sync = dur === 'sync';
        const syncFlag = sync ? [] : ['--no-sync'];
        for (const kind of KINDS) {
          log(`${kind} on ${target}, ${dur} (run ${r + 1}/${RUNS}) …`);
          const c = cell(`${kind} ${target} ${dur}`);
          if (!skipClassic) {
            const k = classic(kind, payloadDir, SIZE, dir, sync);
            c.classic.push(k.unavailable ? k : k.total);
            if (!k.unavailable) (c.steps ??= []).push(k.steps);
            if (kind === 'gpt' && !results.zstdCli && !k.unavailable && !QUICK) {
              // Context: the zstd CLI (2 threads, level 3) on the finished raw image.
              const z = measure('zstd', ['-q', '-3', '-T2', '-f', '-o', `${k.img}.zst`, k.img]);
              results.zstdCli = { ...z, mbPerS: SIZE / 1e6 / z.wall };
            }
            drop(dir);
          }
          c.dw.push(child(['preset', kind, payloadDir, String(SIZE), path.join(dir, `dw-${kind}.img`), ...syncFlag]));
          drop(dir);
        }
        log(`ext4 alone on ${target}, ${dur} (run ${r + 1}/${RUNS}) …`);
        const e = cell(`ext4 ${target} ${dur}`);
        if (!skipClassic) {
          const k = classicExt4(payloadDir, dir, sync);
          e.classic.push(k.unavailable ? k : k.total);
          drop(dir);
        }
        e.dw.push(child(['preset', 'ext4', payloadDir, String(EXT4_SIZE + 2 * MiB), path.join(dir, 'dw-ext4.img'), ...syncFlag]));
        drop(dir);
      }
      if (!QUICK) {
        for (const kind of KINDS) {
          log(`${kind} on ${target} at ${BIG / GiB} GiB, and .img.zst + .bmap (run ${r + 1}/${RUNS}) …`);
          cell(`${kind} ${target} sync big`).dw.push(child(['preset', kind, payloadDir, String(BIG), path.join(dir, `dw-${kind}-big.img`)]));
          drop(dir);
          cell(`${kind} ${target} sync zstd`).dw.push(child(['preset', kind, payloadDir, String(SIZE), path.join(dir, `dw-${kind}.img`), '--zstd', '--bmap']));
          drop(dir);
        }
      }
    }
  }
  results.floor = summarize(floorRuns);
  for (const c of Object.values(cells)) {
    const med = summarize(c.classic);
    if (med && c.steps) c.medianSteps = c.steps[c.classic.findIndex((t) => t.wall === med.wall)] ?? c.steps[0];
    c.classicSummary = med;
    c.dwSummary = summarize(c.dw);
  }
  if (!QUICK) {
    log('synthetic output layer …');
    for (const [label, size, extra] of [
      ['raw+bmap', SIZE, ['--bmap']], ['raw+bmap', BIG, ['--bmap']],
      ['zstd+bmap', SIZE, ['--zstd', '--bmap']], ['zstd+bmap', BIG, ['--zstd', '--bmap']],
    ]) {
      const r = child(['synthetic', payloadDir, String(size), path.join(diskWork, 'syn.img'), ...extra]);
      if (r.wall) r.imageMbPerS = size / 1e6 / r.wall;
      results.synthetic[`${label} ${size / GiB}G`] = r;
      fresh();
    }
  }

  // --- print ---
  const lines = [];
  const verdict = (ok) => (ok ? 'met' : 'MISSED');
  const goals = [];
  const goal = (text, value, limit, unit = '×') => {
    if (value == null || !Number.isFinite(value)) { goals.push(`  ${text}: not measured`); return; }
    goals.push(`  ${text}: ${value.toFixed(2)}${unit} (goal ≤ ${limit}${unit}) ${verdict(value <= limit)}`);
  };
  lines.push(`diskwright benchmark — ${results.machine.cpus} CPUs, node ${results.machine.node}, load average at start ${results.machine.load}, payload ${(results.payload.bytes / MiB).toFixed(0)} MiB (${results.payload.generator})`);
  lines.push(`image size ${SIZE / GiB} GiB (big: ${BIG / GiB} GiB); ${RUNS} run(s) of each cell taking turns, median wall (range), median CPU, largest peak RSS`);
  lines.push(`targets: ${TARGETS.map((t) => `${t} = ${targetDir(t)}`).join(', ')}; classic no-sync via eatmydata: ${haveEatmydata ? 'yes' : 'not installed'}`);
  lines.push('', row('floor: cat every input file once', results.floor));
  const kindName = { gpt: 'GPT preset (ESP + System A/B + Data)', rpi: 'Raspberry Pi preset (Control + Boot A/B + Data)', ext4: `ext4 alone (data/ tree, ${EXT4_SIZE / GiB} GiB)` };
  for (const kind of [...KINDS, 'ext4']) {
    lines.push('', `${kindName[kind]}:`);
    for (const target of TARGETS) {
      for (const dur of DURABILITY) {
        const c = cells[`${kind} ${target} ${dur}`];
        if (!c) continue;
        lines.push(`  on ${target}, ${dur}:`);
        lines.push(row('  classic pipeline' + (kind === 'ext4' ? ' (mke2fs -d)' : ''), c.classicSummary));
        if (c.medianSteps) for (const st of c.medianSteps) lines.push(`        ${st.name.padEnd(32)} wall ${f1(st.wall).padStart(7)} s   cpu ${f1(st.cpu).padStart(7)} s   peak RSS ${mb(st.rssMiB).padStart(5)} MiB`);
        lines.push(row('  diskwright', c.dwSummary));
        const k = c.classicSummary, d = c.dwSummary;
        if (k?.wall && d?.wall) {
          const ratio = d.wall / k.wall;
          lines.push(`    ratio diskwright/classic: wall ${ratio.toFixed(2)}× (goal ≤ 0.60 ${verdict(ratio <= 0.6)}), cpu ${(d.cpu / k.cpu).toFixed(2)}×`);
          goal(`${kind} on ${target}, ${dur}: diskwright / classic wall`, ratio, 0.6);
        } else goal(`${kind} on ${target}, ${dur}: diskwright / classic wall`, null, 0.6);
        if (d?.rssMiB) goal(`${kind} on ${target}, ${dur}: diskwright peak RSS`, d.rssMiB, 200, ' MiB');
      }
      const big = cells[`${kind} ${target} sync big`]?.dwSummary, small = cells[`${kind} ${target} sync`]?.dwSummary;
      if (big) {
        lines.push(row(`  on ${target}, sync, at ${BIG / GiB} GiB`, big));
        if (big.wall && small?.wall) {
          lines.push(`    ${BIG / GiB} GiB vs ${SIZE / GiB} GiB: wall ${(big.wall / small.wall).toFixed(2)}×, peak RSS ${(big.rssMiB / small.rssMiB).toFixed(2)}×`);
          goal(`${kind} on ${target}: peak RSS ${BIG / GiB} GiB / ${SIZE / GiB} GiB (flat)`, big.rssMiB / small.rssMiB, 1.1);
          goal(`${kind} on ${target}: peak RSS at ${BIG / GiB} GiB`, big.rssMiB, 200, ' MiB');
        }
      }
      const z = cells[`${kind} ${target} sync zstd`]?.dwSummary;
      if (z) lines.push(row(`  on ${target}, sync, .img.zst + .bmap`, z) + (z.wall ? `   ${(SIZE / 1e6 / z.wall).toFixed(0)} MB/s of image` : ''));
    }
  }
  if (results.floor?.wall) {
    for (const kind of KINDS) {
      const d = cells[`${kind} tmpfs no-sync`]?.dwSummary ?? cells[`${kind} tmpfs sync`]?.dwSummary;
      if (d?.wall) goal(`${kind} on tmpfs: diskwright / floor (cat every input once)`, d.wall / results.floor.wall, 1.5);
    }
  }
  if (Object.keys(results.synthetic).length) {
    lines.push('', 'Output layer alone (payload bytes laid out as an image, bench/child.mjs synthetic, on the disk):');
    for (const [k, r] of Object.entries(results.synthetic)) lines.push(row(k, r) + (r.imageMbPerS ? `   ${r.imageMbPerS.toFixed(0)} MB/s of image` : ''));
  }
  if (results.zstdCli) lines.push(`  for context, zstd CLI -3 -T2 on the classic GPT raw image: ${results.zstdCli.wall.toFixed(2)} s, ${results.zstdCli.mbPerS.toFixed(0)} MB/s of image`);
  lines.push('', 'Goals (issue 12):', ...goals);
  const text = lines.join('\n');
  process.stdout.write(text + '\n');
  fs.writeFileSync(path.join(root, '.cache', 'bench-result.json'), JSON.stringify(results, null, 2));
  if (process.env.BENCH_KEEP !== '1') for (const d of [diskWork, tmpfsWork]) fs.rmSync(d, { recursive: true, force: true });
  else fs.rmSync(path.join(diskWork, '.time'), { force: true });
}

await main();
