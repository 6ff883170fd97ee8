// The prebuilt provider: a directory that already holds a kernel build's
// output, described by a manifest (kernel.json) or by globs.
//
// kernel.json: { "kernel": "vmlinuz-6.1", "initramfs": "initrd.img",
//                "dtbs": ["bcm2711-rpi-4-b.dtb"], "overlays": ["overlays/vc4-kms-v3d.dtbo"],
//                "modulesDir": "lib/modules", "version": "6.1.0" }
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DiskwrightError, fail } from '../errors.js';
import { DEFAULT_GLOBS, type ArtifactFile, type ArtifactGlobs, type KernelArtifacts } from './artifacts.js';
import { matchAny } from './glob.js';

const MAX_FILES = 100_000;

/** Every regular file under `dir`, as sorted '/'-separated relative paths (bounded). */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (e.isFile() || e.isSymbolicLink()) {
        out.push(r);
        if (out.length > MAX_FILES) fail('KERNEL_OUTPUT_TOO_LARGE', `${dir} holds more than ${MAX_FILES} files`, { dir });
      }
    }
  };
  walk('');
  return out;
}

function file(dir: string, rel: string, keepDirs = false): ArtifactFile {
  return { path: path.join(dir, rel), name: keepDirs ? rel : path.posix.basename(rel) };
}

/** Collect artifacts from `dir` by globs. A missing kernel is KERNEL_ARTIFACT_MISSING. */
export function collectArtifacts(dir: string, globs: ArtifactGlobs = DEFAULT_GLOBS): KernelArtifacts {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    fail('KERNEL_OUTPUT_MISSING', `kernel output directory ${dir} does not exist`, { dir });
  }
  const files = listFiles(dir);
  const pick = (g: string | string[] | undefined) => files.filter((f) => matchAny(g, f));
  const kernels = pick(globs.kernel);
  if (kernels.length === 0) {
    fail('KERNEL_ARTIFACT_MISSING', `no kernel image in ${dir} (looked for ${[globs.kernel].flat().join(', ')})`, {
      dir, artifact: 'kernel', globs: globs.kernel,
    });
  }
  const initramfs = pick(globs.initramfs);
  const overlays = pick(globs.overlays);
  const dtbs = pick(globs.dtbs).filter((f) => !overlays.includes(f));
  const modulesDir = globs.modulesDir && fs.existsSync(path.join(dir, globs.modulesDir)) ? path.join(dir, globs.modulesDir) : undefined;
  return {
    kernel: file(dir, kernels[0]),
    initramfs: initramfs.length ? file(dir, initramfs[0]) : undefined,
    dtbs: dtbs.map((f) => file(dir, f)),
    overlays: overlays.map((f) => ({ path: path.join(dir, f), name: `overlays/${path.posix.basename(f)}` })),
    modulesDir,
  };
}

interface Manifest {
  kernel: string;
  initramfs?: string;
  dtbs?: string[];
  overlays?: string[];
  modulesDir?: string;
  version?: string;
}

/** Read artifacts named by `dir/kernel.json`, checking each file exists. */
export function readManifest(dir: string, manifestName = 'kernel.json'): KernelArtifacts {
  const p = path.join(dir, manifestName);
  let m: Manifest;
  try {
    m = JSON.parse(fs.readFileSync(p, 'utf8')) as Manifest;
  } catch (e) {
    throw new DiskwrightError('KERNEL_MANIFEST_INVALID', `cannot read ${p}: ${(e as Error).message}`, { path: p });
  }
  if (typeof m?.kernel !== 'string') fail('KERNEL_MANIFEST_INVALID', `${p}: "kernel" must name a file`, { path: p, field: 'kernel' });
  const need = (rel: string, artifact: string): string => {
    const full = path.resolve(dir, rel);
    if (!fs.existsSync(full)) fail('KERNEL_ARTIFACT_MISSING', `${p}: ${artifact} ${rel} does not exist`, { path: full, artifact });
    return full;
  };
  return {
    kernel: { path: need(m.kernel, 'kernel'), name: path.posix.basename(m.kernel) },
    initramfs: m.initramfs ? { path: need(m.initramfs, 'initramfs'), name: path.posix.basename(m.initramfs) } : undefined,
    dtbs: (m.dtbs ?? []).map((d) => ({ path: need(d, 'dtb'), name: path.posix.basename(d) })),
    overlays: (m.overlays ?? []).map((o) => ({ path: need(o, 'overlay'), name: `overlays/${path.posix.basename(o)}` })),
    modulesDir: m.modulesDir ? need(m.modulesDir, 'modulesDir') : undefined,
    version: m.version,
  };
}

/** Artifacts from a directory: its kernel.json when present, else the globs. */
export function prebuiltKernel(dir: string, globs?: ArtifactGlobs): KernelArtifacts {
  if (!globs && fs.existsSync(path.join(dir, 'kernel.json'))) return readManifest(dir);
  return collectArtifacts(dir, globs);
}
