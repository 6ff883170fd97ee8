// One fuzzing worker: runs iterations [from, to) of one target and reports
// codes, crashes and progress to fuzz/run.mjs. The iteration in progress and
// its start time sit in a shared buffer, so the parent can see a hang and
// terminate the worker; a heap overflow ends the worker (resourceLimits).
import { parentPort, workerData } from 'node:worker_threads';
import { execute, inputBytes, inputFor, loadDistLibrary, loadSeeds } from './engine.mjs';

const { target, runSeed, from, to, sab, timeLimitMs, materialize, corpusLimit, corpusBudget, maxSeedMs, exclude } = workerData;
const state = new Float64Array(sab);

const lib = await loadDistLibrary();
const seeds = await loadSeeds(lib, target, { corpusLimit, corpusBudget, maxSeedMs, exclude });
if (seeds.all.length === 0) {
  parentPort.postMessage({ type: 'fatal', message: `no seeds for target ${target}` });
  process.exit(0);
}

if (materialize !== undefined) {
  const inp = inputFor(seeds, target, runSeed, materialize);
  parentPort.postMessage({ type: 'input', iter: materialize, seed: inp.seed, bytes: inputBytes(inp) });
  process.exit(0);
}

parentPort.postMessage({ type: 'ready', seeds: seeds.all.length, own: seeds.own.length, corpus: seeds.corpus.length, dropped: seeds.dropped });

// A process warning during a run (a descriptor closed twice, a listener
// leak…) is a crash too; Node's notices about its own APIs are not.
let warning = null;
process.on('warning', (w) => {
  if (w.name !== 'ExperimentalWarning' && w.name !== 'DeprecationWarning' && !warning) warning = w;
});

let codes = {};
let done = 0;
let slowest = 0;
let lastPost = Date.now();
const flush = () => {
  parentPort.postMessage({ type: 'progress', done, codes, slowest });
  codes = {};
  done = 0;
  lastPost = Date.now();
};

for (let iter = from; iter < to; iter++) {
  const inp = inputFor(seeds, target, runSeed, iter);
  state[0] = iter;
  state[1] = Date.now();
  let crash = null;
  try {
    let r = await execute(lib, target, inp);
    if (r.ms > timeLimitMs) {
      // a loaded machine can stall one run: measure it again before calling it slow
      state[1] = Date.now();
      r = await execute(lib, target, inputFor(seeds, target, runSeed, iter));
      if (r.ms > timeLimitMs) crash = { kind: 'slow', name: 'Slow', message: `${r.ms.toFixed(0)} ms (bound ${timeLimitMs} ms)`, stack: '' };
    }
    slowest = Math.max(slowest, r.ms);
    for (const c of r.codes) codes[c] = (codes[c] ?? 0) + 1;
    if (r.codes.length === 0) codes.OK = (codes.OK ?? 0) + 1;
  } catch (e) {
    crash = { kind: e?.name === 'FuzzBoundError' ? 'memory' : 'exception', name: e?.name ?? typeof e, message: String(e?.message ?? e), stack: String(e?.stack ?? '') };
  }
  // warnings are emitted on a later tick: let them arrive before the next input
  await new Promise((r) => setImmediate(r));
  if (warning && !crash) crash = { kind: 'warning', name: warning.name, message: warning.message, stack: String(warning.stack ?? '') };
  warning = null;
  state[1] = 0;
  done++;
  if (crash) parentPort.postMessage({ type: 'crash', iter, seed: inp.seed, bytes: inputBytes(inp), ...crash });
  if (Date.now() - lastPost > 1000) flush();
}
flush();
parentPort.postMessage({ type: 'done' });
