// The command provider: runs an external kernel build (for example
// `make kernel-arm64` in the KubeSolo tree) and collects its output.
// No shell, no root: argv is spawned directly, with the cwd and env given.
// Results are cached by a key of the inputs (argv, cwd, env, and the size,
// mtime and path of every file under `inputs`), so a second image build with
// the same inputs does not rebuild the kernel.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskwrightError, fail } from '../errors.js';
import type { ArtifactGlobs, KernelArtifacts } from './artifacts.js';
import { listFiles, prebuiltKernel, readManifest } from './prebuilt.js';

export interface CommandKernelOptions {
  /** The build command, e.g. ['make', 'kernel-arm64']. argv[0] is looked up in PATH; no shell. */
  argv: string[];
  cwd?: string;
  /** Extra environment; the build sees process.env overlaid with this. */
  env?: Record<string, string>;
  /** Where the build leaves its artifacts (relative to cwd). */
  outputDir: string;
  globs?: ArtifactGlobs;
  /** Files or directories whose content decides whether a cached build is still good. */
  inputs?: string[];
  /** Cache directory; no caching when absent. */
  cacheDir?: string;
  /** Each line the build prints (stdout and stderr). */
  onLog?: (line: string, stream: 'stdout' | 'stderr') => void;
  signal?: AbortSignal;
  /** Give up after this long (default: no limit). */
  timeoutMs?: number;
}

const LOG_TAIL = 40;

/** The cache key of a build: argv, cwd, env and the identity of every input file. */
export function buildKey(opts: CommandKernelOptions): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ argv: opts.argv, cwd: path.resolve(opts.cwd ?? '.'), env: Object.entries(opts.env ?? {}).sort(), outputDir: opts.outputDir }));
  for (const input of [...(opts.inputs ?? [])].sort()) {
    const full = path.resolve(opts.cwd ?? '.', input);
    const st = fs.statSync(full, { throwIfNoEntry: false });
    if (!st) { h.update(`missing ${input}\n`); continue; }
    const files = st.isDirectory() ? listFiles(full).map((f) => path.join(full, f)) : [full];
    for (const f of files) {
      const s = fs.statSync(f);
      h.update(`${path.relative(full, f)}\0${s.size}\0${s.mtimeMs}\n`);
    }
  }
  return h.digest('hex').slice(0, 32);
}

function copyInto(a: KernelArtifacts, dest: string): void {
  fs.mkdirSync(dest, { recursive: true });
  const manifest: Record<string, unknown> = { version: a.version };
  const put = (p: string, name: string): string => {
    const target = path.join(dest, name);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(p, target);
    return name;
  };
  manifest.kernel = put(a.kernel.path, a.kernel.name);
  if (a.initramfs) manifest.initramfs = put(a.initramfs.path, a.initramfs.name);
  manifest.dtbs = a.dtbs.map((d) => put(d.path, `dtbs/${d.name}`));
  manifest.overlays = a.overlays.map((o) => put(o.path, o.name));
  if (a.modulesDir) {
    fs.cpSync(a.modulesDir, path.join(dest, 'modules'), { recursive: true, verbatimSymlinks: true });
    manifest.modulesDir = 'modules';
  }
  fs.writeFileSync(path.join(dest, 'kernel.json'), JSON.stringify(manifest, null, 2));
}

/** Run the build (or reuse its cached output) and return its artifacts. */
export async function commandKernel(opts: CommandKernelOptions): Promise<KernelArtifacts & { cached: boolean }> {
  if (!Array.isArray(opts.argv) || opts.argv.length === 0 || opts.argv.some((a) => typeof a !== 'string')) {
    fail('KERNEL_COMMAND_INVALID', 'the kernel build command must be a non-empty argv array of strings', { argv: opts.argv });
  }
  const cwd = path.resolve(opts.cwd ?? '.');
  let cacheEntry: string | undefined;
  if (opts.cacheDir) {
    cacheEntry = path.join(opts.cacheDir, buildKey(opts));
    if (fs.existsSync(path.join(cacheEntry, 'kernel.json'))) return { ...readManifest(cacheEntry), cached: true };
  }

  const tail: string[] = [];
  const log = (stream: 'stdout' | 'stderr') => {
    let pending = '';
    return (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        tail.push(line);
        if (tail.length > LOG_TAIL) tail.shift();
        opts.onLog?.(line, stream);
      }
    };
  };

  const status = await new Promise<number | string>((resolve, reject) => {
    const child = spawn(opts.argv[0], opts.argv.slice(1), {
      cwd, env: { ...process.env, ...opts.env }, shell: false, stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', log('stdout'));
    child.stderr.on('data', log('stderr'));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGTERM'), opts.timeoutMs) : undefined;
    const onAbort = () => child.kill('SIGTERM');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new DiskwrightError('KERNEL_COMMAND_NOT_FOUND', `cannot run ${opts.argv[0]}: ${e.message}`, { argv: opts.argv, cwd }));
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve(code ?? `signal ${sig}`);
    });
  });
  if (opts.signal?.aborted) fail('ABORTED', 'kernel build interrupted', { argv: opts.argv });
  if (status !== 0) {
    fail('KERNEL_BUILD_FAILED', `kernel build ${opts.argv.join(' ')} exited with ${status}`, { argv: opts.argv, cwd, status, logTail: tail.slice(-10) });
  }
  const artifacts = prebuiltKernel(path.resolve(cwd, opts.outputDir), opts.globs);
  if (cacheEntry) {
    const tmp = `${cacheEntry}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    copyInto(artifacts, tmp);
    fs.rmSync(cacheEntry, { recursive: true, force: true });
    fs.renameSync(tmp, cacheEntry);
    return { ...readManifest(cacheEntry), cached: false };
  }
  return { ...artifacts, cached: false };
}
