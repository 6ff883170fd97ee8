// The boot tests' machinery: fetch Debian's packages (cached), pick kernel
// modules in dependency order, build a busybox initramfs with our cpio
// writer, make a GRUB EFI binary, and run QEMU with a bounded timeout.
// Every step is timed; `timings.report()` says where the time went.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCpio } from '../../src/image/cpio.js';
import { FileTree } from '../../src/tree/tree.js';
import { bytesSource, textSource } from '../../src/io/source.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = path.join(REPO, 'fixtures/boot');
export const BOOT_CACHE = process.env.DISKWRIGHT_BOOT_CACHE ?? path.join(REPO, '.cache/boot');

export class Timings {
  readonly steps: Array<[string, number]> = [];
  private readonly t0 = Date.now();

  time<T>(label: string, fn: () => T): T {
    const t = Date.now();
    try {
      return fn();
    } finally {
      this.steps.push([label, Date.now() - t]);
    }
  }

  async timeAsync<T>(label: string, fn: () => Promise<T>): Promise<T> {
    const t = Date.now();
    try {
      return await fn();
    } finally {
      this.steps.push([label, Date.now() - t]);
    }
  }

  report(title: string): string {
    const lines = this.steps.map(([l, ms]) => `  ${(ms / 1000).toFixed(1).padStart(7)} s  ${l}`);
    return `${title}: where the time went (total ${((Date.now() - this.t0) / 1000).toFixed(1)} s)\n${lines.join('\n')}`;
  }
}

/** Run a command synchronously with a timeout; throw with its output when it fails. */
export function sh(cmd: string, args: string[], opts: { cwd?: string; input?: string | Uint8Array; timeoutMs?: number; allowFail?: boolean } = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd, input: opts.input, encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000,
    env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  const out = { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  if (!opts.allowFail && out.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${out.status}${r.signal ? ` (${r.signal})` : ''}\n${out.stdout}\n${out.stderr}`);
  }
  return out;
}

export type DebArch = 'amd64' | 'arm64';

/** Download and unpack (once; cached in .cache/boot/<arch>) the kernel, busybox-static and, for arm64, GRUB. */
export function fetchPackages(arch: DebArch): string {
  const r = sh(path.join(REPO, 'scripts/boot/fetch.sh'), [arch], { timeoutMs: 20 * 60_000 });
  return r.stdout.trim().split('\n').pop()!;
}

export interface KernelTree {
  root: string;
  version: string;
  vmlinuz: string;
  modulesDir: string;
}

export function findKernel(root: string): KernelTree {
  const boot = path.join(root, 'boot');
  const vm = fs.readdirSync(boot).filter((f) => f.startsWith('vmlinuz-'));
  if (vm.length !== 1) throw new Error(`expected one vmlinuz in ${boot}, found ${vm.join(', ') || 'none'}`);
  const version = vm[0].slice('vmlinuz-'.length);
  let modulesDir = path.join(root, 'lib/modules', version);
  if (!fs.existsSync(modulesDir)) modulesDir = path.join(root, 'usr/lib/modules', version);
  return { root, version, vmlinuz: path.join(boot, vm[0]), modulesDir };
}

const norm = (n: string) => n.replace(/-/g, '_');

/** The strings of a module's .modinfo section that start with `key=` (no ELF parsing: they are NUL-separated). */
function modinfo(bytes: Uint8Array, key: string): string[] {
  const out: string[] = [];
  const needle = Buffer.from(`\0${key}=`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = buf.indexOf(needle);
  while (at >= 0) {
    const start = at + needle.length;
    const end = buf.indexOf(0, start);
    out.push(buf.subarray(start, end < 0 ? buf.length : end).toString('latin1'));
    at = buf.indexOf(needle, start);
  }
  return out;
}

export function readModule(file: string): Uint8Array {
  if (file.endsWith('.ko.xz')) return new Uint8Array(spawnSync('xz', ['-dc', file], { maxBuffer: 256 << 20 }).stdout);
  if (file.endsWith('.ko.zst')) return new Uint8Array(spawnSync('zstd', ['-dc', file], { maxBuffer: 256 << 20 }).stdout);
  return new Uint8Array(fs.readFileSync(file));
}

export interface ModuleFile {
  name: string;
  file: string;
}

/**
 * The modules to insmod, dependencies first: `depends=` and the `pre:` part of
 * `softdep=` from each module's .modinfo (the deb ships no modules.dep), what
 * modules.builtin lists being skipped. A softdep that names an algorithm
 * rather than a module (ext4's "crypto-crc32c") is taken as its generic
 * implementation ("crc32c_generic"), which any CPU can run.
 */
export function resolveModules(k: KernelTree, wanted: string[]): ModuleFile[] {
  const index = new Map<string, string>();
  const walk = (dir: string, depth: number) => {
    if (depth > 12) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (/\.ko(\.xz|\.zst)?$/.test(e.name)) index.set(norm(e.name.replace(/\.ko(\.xz|\.zst)?$/, '')), p);
    }
  };
  walk(path.join(k.modulesDir, 'kernel'), 0);
  const builtin = new Set<string>();
  const bfile = path.join(k.modulesDir, 'modules.builtin');
  if (fs.existsSync(bfile)) {
    for (const l of fs.readFileSync(bfile, 'utf8').split('\n')) if (l) builtin.add(norm(path.basename(l).replace(/\.ko$/, '')));
  }
  const order: ModuleFile[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (raw: string, chain: string[]) => {
    let name = norm(raw);
    const known = (n: string) => index.has(n) || builtin.has(n);
    if (!known(name) && name.startsWith('crypto_')) name = name.slice('crypto_'.length);
    if (!known(name) && known(`${name}_generic`)) name = `${name}_generic`;
    if (state.get(name) === 'done' || builtin.has(name)) return;
    if (state.get(name) === 'visiting') throw new Error(`module dependency cycle: ${[...chain, name].join(' → ')}`);
    const file = index.get(name);
    if (!file) throw new Error(`module ${name} (needed by ${chain.join(' → ') || 'the test'}) is neither in ${k.modulesDir} nor built in`);
    state.set(name, 'visiting');
    const bytes = readModule(file);
    const pre: string[] = [];
    for (const s of modinfo(bytes, 'softdep')) {
      const m = /pre:\s*([^:]*?)(\s+post:|$)/.exec(s);
      if (m) pre.push(...m[1].split(/\s+/).filter(Boolean));
    }
    const deps = modinfo(bytes, 'depends').flatMap((d) => d.split(',')).filter(Boolean);
    for (const d of [...pre, ...deps]) visit(d, [...chain, name]);
    state.set(name, 'done');
    order.push({ name, file });
  };
  for (const w of wanted) visit(w, []);
  return order;
}

export interface InitramfsOptions {
  busybox: string;
  modules: ModuleFile[];
  conf: Record<string, string>;
  /** Timestamp for every entry (deterministic archives). */
  mtime?: number;
}

/** A busybox initramfs (uncompressed newc, owner 0:0) built with our cpio writer. */
export function buildInitramfs(o: InitramfsOptions): Uint8Array {
  const mtime = { sec: o.mtime ?? 1_700_000_000, nsec: 0 };
  const t = new FileTree({ defaultTime: mtime });
  for (const d of ['/bin', '/dev', '/proc', '/sys', '/data', '/mnt', '/etc', '/lib/modules']) t.addDir(d, { mtime });
  t.addFile('/bin/busybox', bytesSource(new Uint8Array(fs.readFileSync(o.busybox))), { mode: 0o755, mtime });
  t.addSymlink('/bin/sh', 'busybox', { mtime });
  t.addFile('/init', bytesSource(new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'init.sh')))), { mode: 0o755, mtime });
  for (const m of o.modules) t.addFile(`/lib/modules/${m.name}.ko`, bytesSource(readModule(m.file)), { mode: 0o644, mtime });
  t.addFile('/etc/modules', textSource(o.modules.map((m) => m.name).join('\n') + '\n'), { mtime });
  const conf = Object.entries(o.conf).map(([k, v]) => `${k}='${v.replace(/'/g, `'\\''`)}'`).join('\n') + '\n';
  t.addFile('/etc/boot-test.conf', textSource(conf), { mtime });
  return buildCpio(t, { owner: 'root' });
}

export type GrubTarget = 'x86_64-efi' | 'arm64-efi';
export const GRUB_MODULES = 'part_gpt part_msdos fat ext2 normal configfile linux loadenv search search_fs_file test echo regexp halt';

/** The A/B grub.cfg the library ships (fixtures/grub/grub.cfg): it finds the ESP by its grubenv itself. */
export const GRUB_CFG = path.join(REPO, 'fixtures/grub/grub.cfg');

/** A standalone GRUB EFI binary with `cfg` embedded as its memdisk /boot/grub/grub.cfg. */
export function makeGrubEfi(target: GrubTarget, out: string, cfg: string, moduleDir?: string): void {
  const args = [
    '-O', target, '-o', out, '--modules', GRUB_MODULES, '--install-modules', GRUB_MODULES,
    '--locales=', '--themes=', '--fonts=',
  ];
  if (moduleDir) args.push('-d', moduleDir);
  args.push(`boot/grub/grub.cfg=${cfg}`);
  sh('grub-mkstandalone', args, { timeoutMs: 120_000 });
}

export interface QemuRun {
  console: string;
  ms: number;
  exitCode: number | null;
  timedOut: boolean;
}

/** Run QEMU to completion (the guest powers off; -no-reboot turns a reboot or panic into an exit) or kill it at the timeout. */
export function runQemu(binary: string, args: string[], consoleFile: string, timeoutMs: number): Promise<QemuRun> {
  fs.rmSync(consoleFile, { force: true });
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const p = spawn(binary, [...args, '-serial', `file:${consoleFile}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => { stderr += d; });
    p.stdout.on('data', () => { /* -display none: nothing expected */ });
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; p.kill('SIGKILL'); }, timeoutMs);
    p.on('error', (e) => { clearTimeout(timer); reject(e); });
    p.on('close', (code) => {
      clearTimeout(timer);
      const consoleText = fs.existsSync(consoleFile) ? fs.readFileSync(consoleFile, 'latin1') : '';
      resolve({ console: consoleText + (stderr ? `\n[qemu stderr]\n${stderr}` : ''), ms: Date.now() - t0, exitCode: code, timedOut });
    });
  });
}

/** The DW-BOOT / DW-GRUB lines of a console log, without carriage returns. */
export function markers(consoleText: string): string[] {
  const out: string[] = [];
  // eslint-disable-next-line no-control-regex
  for (const line of consoleText.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '').split('\n')) {
    const m = /DW-(BOOT|GRUB)\b.*$/.exec(line);
    if (m) out.push(m[0].trim());
  }
  return out;
}
