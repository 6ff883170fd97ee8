#!/usr/bin/env node
// npm run fuzz -- --target gpt|mbr|fat|ext4|grubenv|autoboot|tar|spec|vdisk|all --runs N [--seed S]
//                 [--time-limit MS] [--heap-mb MB] [--corpus-limit N] [--corpus-mb MB]
//                 [--max-seed-ms MS] [--crash-dir DIR] [--json]
//
// Seeds whose unmutated run takes longer than --max-seed-ms (default 300) are
// left out, so that the time bound measures the mutation, not the seed.
//
// Mutates seeds (our own small builds and $DISKWRIGHT_CORPUS files of the
// target's kinds) and runs the target's reader on each input in a worker
// thread. Success or a DiskwrightError with a stable code is fine; anything
// else is a crash, saved under fuzz/crashes/ with a .txt beside it:
//   exception  any other exception (TypeError, RangeError, …)
//   memory     a typed array above the bound, or the worker's heap limit hit
//   slow       one execution over --time-limit (measured twice)
//   hang       no answer within 5 × --time-limit: the worker is terminated
// Exit status: 0 no crash, 1 crashes, 2 usage.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { TARGETS } from './engine.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

function usage(msg) {
  if (msg) console.error(`fuzz: ${msg}`);
  console.error('usage: npm run fuzz -- --target ' + TARGETS.join('|') + '|all --runs N [--seed S] [--time-limit MS] [--heap-mb MB] [--corpus-limit N] [--corpus-mb MB] [--max-seed-ms MS] [--crash-dir DIR] [--json]');
  process.exit(2);
}

const opts = { target: null, runs: 1000, seed: '1', timeLimit: 2000, heapMb: 512, corpusLimit: 400, corpusMb: 1024, maxSeedMs: 300, json: false, crashDir: null };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const val = () => { if (i + 1 >= argv.length) usage(`${a} needs a value`); return argv[++i]; };
  if (a === '--target') opts.target = val();
  else if (a === '--runs') opts.runs = Number(val());
  else if (a === '--seed') opts.seed = val();
  else if (a === '--time-limit') opts.timeLimit = Number(val());
  else if (a === '--heap-mb') opts.heapMb = Number(val());
  else if (a === '--corpus-limit') opts.corpusLimit = Number(val());
  else if (a === '--corpus-mb') opts.corpusMb = Number(val());
  else if (a === '--max-seed-ms') opts.maxSeedMs = Number(val());
  else if (a === '--json') opts.json = true;
  else if (a === '--crash-dir') opts.crashDir = val();
  else if (a === '--help' || a === '-h') usage();
  else usage(`unknown argument ${a}`);
}
if (!opts.target) usage('--target is required');
const targets = opts.target === 'all' ? TARGETS : opts.target.split(',');
for (const t of targets) if (!TARGETS.includes(t) && !t.startsWith('selftest-')) usage(`unknown target ${t}`);
if (!Number.isSafeInteger(opts.runs) || opts.runs < 1) usage('--runs must be a positive whole number');
if (!(opts.timeLimit > 0) || !(opts.heapMb > 0)) usage('--time-limit and --heap-mb must be positive');

const crashDir = opts.crashDir ? path.resolve(opts.crashDir) : path.join(HERE, 'crashes');

let exclude = null;

function startWorker(target, from, to, extra = {}) {
  const sab = new SharedArrayBuffer(16);
  const w = new Worker(path.join(HERE, 'worker.mjs'), {
    workerData: { target, runSeed: opts.seed, from, to, sab, timeLimitMs: opts.timeLimit, corpusLimit: opts.corpusLimit, corpusBudget: opts.corpusMb * 1024 * 1024, maxSeedMs: target.startsWith('selftest-') ? 0 : opts.maxSeedMs, exclude, ...extra },
    resourceLimits: { maxOldGenerationSizeMb: opts.heapMb, maxYoungGenerationSizeMb: 64 },
    stdout: false, stderr: false,
  });
  return { w, state: new Float64Array(sab) };
}

/** The input of iteration `iter`, rebuilt in a fresh worker (after a hang or heap overflow). */
function materialize(target, iter) {
  return new Promise((resolve) => {
    const { w } = startWorker(target, 0, 0, { materialize: iter });
    w.on('message', (m) => { if (m.type === 'input') resolve(m); });
    w.on('error', () => resolve(null));
    w.on('exit', () => resolve(null));
  });
}

function saveCrash(target, c) {
  fs.mkdirSync(crashDir, { recursive: true });
  const base = path.join(crashDir, `${target}-s${opts.seed}-i${c.iter}-${c.kind}`);
  if (c.bytes) fs.writeFileSync(`${base}.bin`, c.bytes);
  fs.writeFileSync(`${base}.txt`, `target: ${target}\nrun seed: ${opts.seed}\niteration: ${c.iter}\nseed input: ${c.seed}\nkind: ${c.kind}\n${c.name}: ${c.message}\n${c.stack}\n`);
  return `${base}.bin`;
}

async function fuzzTarget(target) {
  const started = Date.now();
  const codes = {};
  const crashes = [];
  let execs = 0;
  let slowest = 0;
  let seedInfo = null;
  let next = 0;
  let fatal = null;
  let lastReport = Date.now();
  exclude = null;
  while (next < opts.runs && !fatal) {
    const from = next;
    const { w, state } = startWorker(target, from, opts.runs);
    const outcome = await new Promise((resolve) => {
      let settled = false;
      const settle = (v) => { if (!settled) { settled = true; clearInterval(timer); resolve(v); } };
      const timer = setInterval(() => {
        const t0 = state[1];
        if (t0 > 0 && Date.now() - t0 > opts.timeLimit * 5) {
          const iter = state[0];
          w.terminate();
          settle({ kind: 'hang', iter, message: `no answer after ${Date.now() - t0} ms` });
        }
      }, 250);
      w.on('message', (m) => {
        if (m.type === 'ready') { seedInfo = { seeds: m.seeds, own: m.own, corpus: m.corpus, dropped: m.dropped.length }; exclude = m.dropped; }
        else if (m.type === 'progress') {
          execs += m.done;
          if (!opts.json && Date.now() - lastReport > 60_000) {
            lastReport = Date.now();
            console.error(`  ${target}: ${execs} execs, ${((Date.now() - started) / 1000).toFixed(0)} s, ${Object.keys(codes).length} outcomes, ${crashes.length} crashes`);
          }
          slowest = Math.max(slowest, m.slowest);
          for (const [k, v] of Object.entries(m.codes)) codes[k] = (codes[k] ?? 0) + v;
        } else if (m.type === 'crash') {
          const file = saveCrash(target, m);
          crashes.push({ iter: m.iter, kind: m.kind, name: m.name, message: m.message, seed: m.seed, file });
          if (!opts.json) console.error(`  crash ${m.kind} at iteration ${m.iter} (${m.seed}): ${m.name}: ${m.message.slice(0, 200)} → ${file}`);
        } else if (m.type === 'fatal') { fatal = m.message; settle({ kind: 'fatal' }); } else if (m.type === 'done') settle({ kind: 'done' });
      });
      w.on('error', (e) => settle({ kind: e?.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'memory' : 'worker-error', iter: state[0], message: String(e?.message ?? e) }));
      w.on('exit', () => settle({ kind: 'exit', iter: state[0], message: 'worker exited' }));
    });
    if (outcome.kind === 'done') execs = opts.runs;
    if (outcome.kind === 'done' || outcome.kind === 'fatal') break;
    // The worker died on iteration `iter`: record it, rebuild its input, go on after it.
    const iter = outcome.iter;
    const inp = await materialize(target, iter);
    const c = { iter, kind: outcome.kind, name: outcome.kind, message: outcome.message, stack: '', seed: inp?.seed ?? '?', bytes: inp?.bytes };
    const file = saveCrash(target, c);
    crashes.push({ iter, kind: c.kind, name: c.name, message: c.message, seed: c.seed, file });
    if (!opts.json) console.error(`  crash ${c.kind} at iteration ${iter} (${c.seed}): ${c.message} → ${file}`);
    next = iter + 1;
    execs = next;
  }
  const secs = (Date.now() - started) / 1000;
  return { target, execs, seconds: Number(secs.toFixed(1)), execPerSec: Number((execs / secs).toFixed(1)), slowestMs: Math.round(slowest), seeds: seedInfo, codes, crashes, fatal };
}

let anyCrash = false;
const results = [];
for (const t of targets) {
  if (!opts.json) console.error(`fuzz ${t}: ${opts.runs} runs, seed ${opts.seed}`);
  const r = await fuzzTarget(t);
  results.push(r);
  if (r.crashes.length || r.fatal) anyCrash = true;
  if (opts.json) continue;
  const codeList = Object.entries(r.codes).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}×${v}`).join(' ');
  console.log(`${t}: ${r.execs} execs in ${r.seconds} s (${r.execPerSec} exec/s, slowest ${r.slowestMs} ms), seeds ${r.seeds ? `${r.seeds.own} own + ${r.seeds.corpus} corpus (${r.seeds.dropped} slow left out)` : '?'}, ${Object.keys(r.codes).length} outcomes, ${r.crashes.length} crashes${r.fatal ? `, FATAL: ${r.fatal}` : ''}`);
  console.log(`  outcomes: ${codeList}`);
}
if (opts.json) console.log(JSON.stringify({ seed: opts.seed, runs: opts.runs, results }, null, 1));
process.exit(anyCrash ? 1 : 0);
