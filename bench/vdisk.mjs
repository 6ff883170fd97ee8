// npm run bench:vdisk — virtual disk formats written straight from the plan
// against building raw and then converting with qemu-img, in the same run,
// taking turns, BENCH_RUNS times (default 3): wall time (median and range),
// CPU, peak RSS and file size. Then the memory of a qcow2 build at 64 GiB
// virtual size (BENCH_BIG) against the same at 4 GiB (BENCH_SIZE).
//
//   qcow2            diskwright build -o disk.qcow2
//                    vs diskwright build -o disk.img + qemu-img convert -O qcow2
//   qcow2, deflate   build --compress vs qemu-img convert -c -O qcow2
//   VMDK             build -o disk.vmdk vs qemu-img convert -O vmdk -o subformat=streamOptimized
//
// Targets (from the issue): wall ≤ 0.5× and size ≤ 1.01× of qemu-img's; RSS ≤ 200 MiB.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePayload } from './payload.mjs';
import { benchSpec } from './specs.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));
const SIZE = process.env.BENCH_SIZE ?? '4GiB';
const BIG = process.env.BENCH_BIG ?? '64GiB';
const work = path.join(root, '.cache', 'bench-vdisk');
const cli = path.join(root, 'bin', 'diskwright.js');

function measure(cmds) {
  // Several commands in sequence count as one job: wall and CPU add up, RSS is the largest.
  let wall = 0; let cpu = 0; let rss = 0;
  for (const [cmd, ...args] of cmds) {
    const tf = path.join(work, '.time');
    const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', '-o', tf, cmd, ...args], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
    const [w, u, s, m] = fs.readFileSync(tf, 'utf8').trim().split('\n').pop().split(/\s+/).map(Number);
    wall += w; cpu += u + s; rss = Math.max(rss, m / 1024);
  }
  return { wall, cpu, rss };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs) => `${median(xs).toFixed(2)} s (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;

fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(work, { recursive: true });
const payload = ensurePayload(root, process.env.DISKWRIGHT_BENCH_PAYLOAD ?? path.join(root, '.cache', 'bench-payload')).dir;
const spec = path.join(work, 'gpt.json');
fs.writeFileSync(spec, JSON.stringify(benchSpec('gpt', payload, SIZE)));
const raw = path.join(work, 'raw.img');
const out = (n) => path.join(work, n);

const cases = [
  { name: 'qcow2', ours: ['-o', out('ours.qcow2')], ourFile: out('ours.qcow2'), convert: ['-O', 'qcow2'], theirFile: out('theirs.qcow2') },
  { name: 'qcow2, deflate', ours: ['-o', out('ours-c.qcow2'), '--compress'], ourFile: out('ours-c.qcow2'), convert: ['-c', '-O', 'qcow2'], theirFile: out('theirs-c.qcow2') },
  { name: 'VMDK streamOptimized', ours: ['-o', out('ours.vmdk')], ourFile: out('ours.vmdk'), convert: ['-O', 'vmdk', '-o', 'subformat=streamOptimized'], theirFile: out('theirs.vmdk') },
];

const lines = [];
const say = (s) => { lines.push(s); process.stderr.write(s + '\n'); };
say(`bench:vdisk — GPT preset of the payload (${SIZE}), ${RUNS} runs each, taking turns; ${new Date().toISOString()}; node ${process.version}; ${(await import('node:os')).cpus().length} cores`);
let missed = 0;
for (const c of cases) {
  const ours = []; const theirs = [];
  for (let i = 0; i < RUNS; i++) {
    for (const f of [c.ourFile, c.theirFile, raw]) fs.rmSync(f, { force: true });
    theirs.push(measure([[process.execPath, cli, 'build', spec, '-o', raw], ['qemu-img', 'convert', '-f', 'raw', ...c.convert, raw, c.theirFile]]));
    ours.push(measure([[process.execPath, cli, 'build', spec, ...c.ours]]));
  }
  const ratio = median(ours.map((m) => m.wall)) / median(theirs.map((m) => m.wall));
  const sizeRatio = fs.statSync(c.ourFile).size / fs.statSync(c.theirFile).size;
  const rss = Math.max(...ours.map((m) => m.rss));
  const ok = ratio <= 0.5 && sizeRatio <= 1.01 && rss <= 200;
  if (!ok) missed++;
  say(`${c.name.padEnd(22)} diskwright ${fmt(ours.map((m) => m.wall))}, CPU ${median(ours.map((m) => m.cpu)).toFixed(2)} s, ${rss.toFixed(0)} MiB | raw + qemu-img ${fmt(theirs.map((m) => m.wall))}, CPU ${median(theirs.map((m) => m.cpu)).toFixed(2)} s`);
  say(`${''.padEnd(22)} wall ${ratio.toFixed(2)}× (target ≤ 0.5), size ${(fs.statSync(c.ourFile).size / 2 ** 20).toFixed(1)} MiB vs ${(fs.statSync(c.theirFile).size / 2 ** 20).toFixed(1)} MiB = ${sizeRatio.toFixed(3)}× (≤ 1.01): ${ok ? 'met' : 'MISSED'}`);
}
// Memory at 64 GiB virtual size, same payload.
const bigSpec = path.join(work, 'gpt-big.json');
fs.writeFileSync(bigSpec, JSON.stringify(benchSpec('gpt', payload, BIG)));
const small = measure([[process.execPath, cli, 'build', spec, '-o', out('mem.qcow2')]]);
const big = measure([[process.execPath, cli, 'build', bigSpec, '-o', out('mem-big.qcow2')]]);
const memOk = big.rss <= 200;
if (!memOk) missed++;
say(`qcow2 peak RSS: ${small.rss.toFixed(0)} MiB at ${SIZE}, ${big.rss.toFixed(0)} MiB at ${BIG} (≤ 200): ${memOk ? 'met' : 'MISSED'}; wall ${small.wall.toFixed(2)} s vs ${big.wall.toFixed(2)} s`);
fs.writeFileSync(path.join(work, 'report.txt'), lines.join('\n') + '\n');
if (!process.env.BENCH_KEEP) for (const f of fs.readdirSync(work)) if (!f.endsWith('.txt')) fs.rmSync(path.join(work, f), { force: true });
process.exitCode = missed ? 1 : 0;
