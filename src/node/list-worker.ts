// Directory listings on a worker thread. listDirectory() is nearly all
// system calls (an lstat per entry, readdir, readlink); on a worker they run
// while the main thread plans and writes the partitions that come before the
// one being listed, so a root filesystem's walk costs the build little wall
// time. One worker serves the requests in order, and ends as soon as none
// is left, so its memory is gone before the filesystems are planned.
//
// The module is its own worker script. Run from TypeScript sources (a test
// runner), there is no compiled script to start, and listings run on the
// calling thread instead; the result is the same data either way.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { DiskwrightError } from '../errors.js';
import { listDirectory, type DirListing } from './directory.js';

const ROLE = 'diskwright-list-worker';

interface Request { id: number; dir: string }
type Reply =
  | { id: number; listing: DirListing }
  | { id: number; error: { code: string; message: string; data: Record<string, unknown> } };

if (!isMainThread && (workerData as { role?: string } | null)?.role === ROLE) {
  parentPort!.on('message', ({ id, dir }: Request) => {
    let reply: Reply;
    try {
      reply = { id, listing: listDirectory(dir) };
    } catch (e) {
      reply = {
        id,
        error: e instanceof DiskwrightError
          ? { code: e.code, message: e.message, data: e.data as Record<string, unknown> }
          : { code: 'INTERNAL', message: `directory listing failed: ${(e as Error)?.stack ?? String(e)}`, data: { path: dir } },
      };
    }
    if ('listing' in reply) {
      const l = reply.listing;
      parentPort!.postMessage(reply, [l.parent.buffer, l.kind.buffer, l.nums.buffer, l.sparse.buffer, l.linkOf.buffer] as ArrayBuffer[]);
    } else {
      parentPort!.postMessage(reply);
    }
  });
}

let worker: Worker | null = null;
let nextId = 1;
const waiting = new Map<number, { resolve: (l: DirListing) => void; reject: (e: unknown) => void }>();

function failAll(e: DiskwrightError): void {
  worker = null;
  for (const w of waiting.values()) w.reject(e);
  waiting.clear();
}

function listWorker(): Worker | null {
  if (worker) return worker;
  if (!import.meta.url.endsWith('.js')) return null;
  // A small young generation: a listing makes an lstat result per entry and
  // drops it at once, and the default semi-spaces would hold megabytes of
  // that garbage in the process's resident memory.
  const w = new Worker(new URL(import.meta.url), { workerData: { role: ROLE }, resourceLimits: { maxYoungGenerationSizeMb: Number(process.env.DW_YG ?? 2) } });
  w.on('message', (m: Reply) => {
    const p = waiting.get(m.id);
    if (!p) return;
    waiting.delete(m.id);
    if (waiting.size === 0) {
      worker = null;
      void w.terminate();
    }
    if ('error' in m) p.reject(new DiskwrightError(m.error.code, m.error.message, m.error.data));
    else p.resolve(m.listing);
  });
  w.on('error', (e) => failAll(new DiskwrightError('INPUT_LIST_FAILED', `the directory-listing thread failed: ${e.message}`, {}, { cause: e })));
  w.on('exit', (code) => {
    if (worker === w && waiting.size > 0) failAll(new DiskwrightError('INPUT_LIST_FAILED', `the directory-listing thread exited (${code})`, { actual: code }));
  });
  worker = w;
  return w;
}

/** listDirectory(dir) on the listing thread (or, from sources, on this one). */
export function listDirectoryAsync(dir: string): Promise<DirListing> {
  const w = listWorker();
  if (!w) return Promise.resolve().then(() => listDirectory(dir));
  const id = nextId++;
  return new Promise<DirListing>((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    w.postMessage({ id, dir } satisfies Request);
  });
}
