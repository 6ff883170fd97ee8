import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandKernel, prebuiltKernel, globToRegExp, buildKey } from '../../src/kernel/index.js';
import { tempDir } from '../helpers/oracle.js';

const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/kernel/fake-build.sh');

describe('globs', () => {
  it('match within and across segments', () => {
    expect(globToRegExp('*.dtb').test('a.dtb')).toBe(true);
    expect(globToRegExp('*.dtb').test('dtbs/a.dtb')).toBe(false);
    expect(globToRegExp('dtbs/**/*.dtb').test('dtbs/a.dtb')).toBe(true);
    expect(globToRegExp('dtbs/**/*.dtb').test('dtbs/broadcom/a.dtb')).toBe(true);
    expect(globToRegExp('kernel?.img').test('kernel8.img')).toBe(true);
    expect(globToRegExp('a.b').test('axb')).toBe(false);
  });
});

describe('command provider', () => {
  it('runs the build without a shell, streams its log and collects the artifacts', async () => {
    const t = tempDir();
    try {
      const lines: string[] = [];
      const a = await commandKernel({ argv: [script], cwd: t.dir, outputDir: 'out', env: { KVER: '6.6.1' }, onLog: (l) => lines.push(l) });
      expect(lines).toContain('done');
      expect(a.cached).toBe(false);
      expect(a.kernel.name).toBe('Image');
      expect(fs.readFileSync(a.kernel.path, 'utf8')).toBe('fake kernel 6.6.1\n');
      expect(a.initramfs?.name).toBe('initramfs.img');
      expect(a.dtbs.map((d) => d.name).sort()).toEqual(['bcm2711-rpi-4-b.dtb', 'bcm2712-rpi-5-b.dtb']);
      expect(a.overlays.map((o) => o.name)).toEqual(['overlays/vc4-kms-v3d.dtbo']);
    } finally {
      t.cleanup();
    }
  });

  it('a failing build is KERNEL_BUILD_FAILED with its status and log tail', async () => {
    const t = tempDir();
    try {
      await expect(commandKernel({ argv: [script], cwd: t.dir, outputDir: 'out', env: { FAIL: '1' } })).rejects.toMatchObject({
        code: 'KERNEL_BUILD_FAILED',
        data: { status: 2, logTail: expect.arrayContaining(['error: compilation failed']) },
      });
    } finally {
      t.cleanup();
    }
  });

  it('a build that forgets the kernel is KERNEL_ARTIFACT_MISSING', async () => {
    const t = tempDir();
    try {
      await expect(commandKernel({ argv: [script], cwd: t.dir, outputDir: 'out', env: { NO_KERNEL: '1' } })).rejects.toMatchObject({
        code: 'KERNEL_ARTIFACT_MISSING', data: { artifact: 'kernel' },
      });
    } finally {
      t.cleanup();
    }
  });

  it('a missing command is KERNEL_COMMAND_NOT_FOUND, and an empty argv is refused', async () => {
    await expect(commandKernel({ argv: ['/nonexistent/make'], outputDir: 'out' })).rejects.toMatchObject({ code: 'KERNEL_COMMAND_NOT_FOUND' });
    await expect(commandKernel({ argv: [], outputDir: 'out' })).rejects.toMatchObject({ code: 'KERNEL_COMMAND_INVALID' });
  });

  it('caches by a key of its inputs: same inputs reuse, changed inputs rebuild', async () => {
    const t = tempDir();
    try {
      const src = path.join(t.dir, 'src');
      fs.mkdirSync(src);
      fs.writeFileSync(path.join(src, 'config'), 'CONFIG_A=y\n');
      const opts = { argv: [script], cwd: t.dir, outputDir: 'out', inputs: ['src'], cacheDir: path.join(t.dir, 'cache') };
      const first = await commandKernel(opts);
      expect(first.cached).toBe(false);
      const second = await commandKernel(opts);
      expect(second.cached).toBe(true);
      expect(fs.readFileSync(second.kernel.path, 'utf8')).toBe(fs.readFileSync(first.kernel.path, 'utf8'));
      const key = buildKey(opts);
      fs.writeFileSync(path.join(src, 'config'), 'CONFIG_A=n, longer\n');
      expect(buildKey(opts)).not.toBe(key);
      expect((await commandKernel(opts)).cached).toBe(false);
    } finally {
      t.cleanup();
    }
  });
});

describe('prebuilt provider', () => {
  it('reads a manifest and checks its files exist', () => {
    const t = tempDir();
    try {
      fs.writeFileSync(path.join(t.dir, 'vmlinuz-6.1'), 'k');
      fs.writeFileSync(path.join(t.dir, 'kernel.json'), JSON.stringify({ kernel: 'vmlinuz-6.1', version: '6.1' }));
      const a = prebuiltKernel(t.dir);
      expect(a.kernel.name).toBe('vmlinuz-6.1');
      expect(a.version).toBe('6.1');
      fs.writeFileSync(path.join(t.dir, 'kernel.json'), JSON.stringify({ kernel: 'vmlinuz-6.1', initramfs: 'nope.img' }));
      expect(() => prebuiltKernel(t.dir)).toThrow(expect.objectContaining({ code: 'KERNEL_ARTIFACT_MISSING', data: expect.objectContaining({ artifact: 'initramfs' }) }));
    } finally {
      t.cleanup();
    }
  });
  it('a missing directory is KERNEL_OUTPUT_MISSING', () => {
    expect(() => prebuiltKernel('/nonexistent/kernel-out')).toThrow(expect.objectContaining({ code: 'KERNEL_OUTPUT_MISSING' }));
  });
});
