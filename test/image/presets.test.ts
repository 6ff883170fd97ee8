// The two KubeSolo presets end to end: the spec files in fixtures/presets are
// what the preset functions make; the images they build pass every oracle
// (ours and the reference tools'), give back their files through mtools and
// debugfs, survive a bmap flash over old data, stream to .zst, and are
// byte-identical whatever the time zone and umask.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { genericGpt, raspberryPi } from '../../src/image/presets.js';
import { prebuiltKernel, commandKernel, type KernelArtifacts } from '../../src/kernel/index.js';
import { buildImageFile } from '../../src/node/build-file.js';
import { verifyImageFile } from '../../src/cli/commands/verify.js';
import { validateSpec } from '../../src/image/spec.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const presetsDir = path.join(root, 'fixtures/presets');
const sample = path.join(root, 'fixtures/sample');

function relativeKernel(k: KernelArtifacts): KernelArtifacts {
  const rel = (p: string) => path.relative(presetsDir, p);
  return {
    ...k,
    kernel: { ...k.kernel, path: rel(k.kernel.path) },
    initramfs: k.initramfs && { ...k.initramfs, path: rel(k.initramfs.path) },
    dtbs: k.dtbs.map((d) => ({ ...d, path: rel(d.path) })),
    overlays: k.overlays.map((d) => ({ ...d, path: rel(d.path) })),
  };
}

const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

describe('preset functions', () => {
  it('make exactly the spec files in fixtures/presets', () => {
    const gpt = genericGpt({
      arch: 'x86_64', kernel: relativeKernel(prebuiltKernel(path.join(sample, 'kernel-x86_64'))),
      efi: [{ from: '../sample/efi', to: '/' }], grubCfg: '../grub/grub.cfg',
      systemA: [{ from: '../sample/system', to: '/' }], data: [{ from: '../sample/data', to: '/' }],
      sizes: { image: '384MiB', efi: '64MiB', system: '96MiB' }, seed: 'kubesolo-demo-x86_64', sourceDateEpoch: 1700000000,
    });
    const rpi = raspberryPi({
      kernel: relativeKernel(prebuiltKernel(path.join(sample, 'kernel-rpi'))),
      control: [{ from: '../sample/firmware', to: '/' }], bootA: [{ from: '../sample/rpi-boot', to: '/' }],
      data: [{ from: '../sample/data', to: '/' }],
      sizes: { image: '384MiB', control: '64MiB', boot: '64MiB' }, seed: 'kubesolo-demo-rpi', sourceDateEpoch: 1700000000,
    });
    expect(gpt).toEqual(JSON.parse(fs.readFileSync(path.join(presetsDir, 'kubesolo-x86_64.json'), 'utf8')));
    expect(rpi).toEqual(JSON.parse(fs.readFileSync(path.join(presetsDir, 'kubesolo-rpi.json'), 'utf8')));
  });

  it('follow the Discoverable Partitions types per architecture, names and copies', () => {
    const kernel = prebuiltKernel(path.join(sample, 'kernel-x86_64'));
    const arm = validateSpec(genericGpt({ arch: 'arm64', kernel, efi: [], data: [], systemA: [{ from: 'x', to: '/' }] }));
    expect(arm.partitions.map((p) => p.name)).toEqual(['EFI', 'SYSTEM-A', 'SYSTEM-B', 'DATA']);
    expect(arm.partitions.map((p) => p.type)).toEqual(['esp', 'linux-root-arm64', 'linux-root-arm64', 'linux']);
    expect(arm.partitions[2].filesystem?.contents).toEqual(arm.partitions[1].filesystem?.contents);
    expect(arm.bootenv?.grub?.variables).toEqual({ boot_default: 'A', boot_counter: '0', boot_success: '1' });
    const pi = validateSpec(raspberryPi({ kernel: prebuiltKernel(path.join(sample, 'kernel-rpi')), control: [], data: [], committed: 'B' }));
    expect(pi.partitions.map((p) => p.type)).toEqual(['0x0c', '0x0c', '0x0c', '0x83']);
    expect(pi.bootenv?.autoboot?.committed).toBe('B');
    expect(() => genericGpt({ arch: 'riscv64' as 'arm64', kernel, efi: [], data: [] })).toThrow(TypeError);
  });

  it('a bootenv section is checked against the partitions', () => {
    const base = { table: 'mbr', size: '64MiB', partitions: [{ type: '0x0c', size: '40MiB' }] };
    expect(() => validateSpec({ ...base, bootenv: { autoboot: { partition: 1 } } })).toThrow(expect.objectContaining({ code: 'SPEC_BOOTENV', data: expect.objectContaining({ path: 'bootenv.autoboot.partition' }) }));
    expect(() => validateSpec({ ...base, bootenv: { grub: { partition: 3 } } })).toThrow(expect.objectContaining({ code: 'SPEC_BOOTENV' }));
    expect(() => validateSpec({ ...base, bootenv: { grubb: {} } })).toThrow(expect.objectContaining({ code: 'SPEC_UNKNOWN_KEY', data: expect.objectContaining({ path: 'bootenv.grubb' }) }));
  });
});

describe.skipIf(!haveTools('sgdisk', 'sfdisk', 'fsck.fat', 'e2fsck', 'mcopy', 'debugfs', 'zstd', 'bmaptool'))('preset images', () => {
  let t: ReturnType<typeof tempDir>;
  const built: Record<string, string> = {};
  beforeAll(async () => {
    t = tempDir('dw-presets-');
    for (const name of ['kubesolo-x86_64', 'kubesolo-rpi']) {
      const out = path.join(t.dir, `${name}.img`);
      await buildImageFile(path.join(presetsDir, `${name}.json`), out, { bmap: true, zstd: true, raw: true });
      built[name] = out;
    }
  });
  afterAll(() => t?.cleanup());

  it('pass our verify and every reference tool', () => {
    for (const img of Object.values(built)) {
      const r = verifyImageFile(img, { oracles: true });
      expect(r.findings.filter((f) => !f.ok)).toEqual([]);
      const checks = r.findings.map((f) => f.check).join(' ');
      expect(checks).toMatch(/oracle sfdisk --verify/);
      expect(checks).toMatch(/oracle p1 fsck\.fat -n/);
      expect(checks).toMatch(/oracle p4 e2fsck -fn/);
      expect(r.findings.some((f) => /skipped/.test(f.message))).toBe(false);
    }
  });

  it('give back their files through mtools and debugfs', () => {
    const img = built['kubesolo-rpi'];
    const parts = JSON.parse(run('sfdisk', ['-J', img]).stdout).partitiontable.partitions as Array<{ start: number }>;
    const out = path.join(t.dir, 'bootA');
    const m = run('mcopy', ['-s', '-n', '-i', `${img}@@${parts[1].start * 512}`, '::/', out], { env: { MTOOLS_SKIP_CHECK: '1' } });
    expect(m.status, m.stderr).toBe(0);
    const k = prebuiltKernel(path.join(sample, 'kernel-rpi'));
    expect(fs.readFileSync(path.join(out, 'kernel8.img'))).toEqual(fs.readFileSync(k.kernel.path));
    expect(fs.readFileSync(path.join(out, 'overlays/vc4-kms-v3d.dtbo'))).toEqual(fs.readFileSync(path.join(sample, 'kernel-rpi/overlays/vc4-kms-v3d.dtbo')));
    expect(fs.readFileSync(path.join(out, 'cmdline.txt'))).toEqual(fs.readFileSync(path.join(sample, 'rpi-boot/cmdline.txt')));

    const gpt = built['kubesolo-x86_64'];
    const gparts = JSON.parse(run('sfdisk', ['-J', gpt]).stdout).partitiontable.partitions as Array<{ start: number; size: number }>;
    const data = path.join(t.dir, 'data.ext4');
    const fd = fs.openSync(gpt, 'r');
    const buf = Buffer.alloc(gparts[3].size * 512);
    fs.readSync(fd, buf, 0, buf.length, gparts[3].start * 512);
    fs.closeSync(fd);
    fs.writeFileSync(data, buf);
    const cat = run('debugfs', ['-R', 'cat /etc/kubesolo/config.yaml', data]);
    expect(cat.stdout).toBe(fs.readFileSync(path.join(sample, 'data/etc/kubesolo/config.yaml'), 'utf8'));
    const st = run('debugfs', ['-R', 'stat /etc/kubesolo/config.yaml', data]);
    expect(st.stdout).toMatch(/User:\s+0\s+Group:\s+0/);
  });

  it('.img.zst decompresses to the identical raw image', () => {
    for (const img of Object.values(built)) {
      const out = `${img}.unz`;
      const r = run('zstd', ['-d', '-q', '-f', `${img}.zst`, '-o', out]);
      expect(r.status, r.stderr).toBe(0);
      expect(sha(out)).toBe(sha(img));
      fs.rmSync(out);
    }
  });

  it('flashed with the block map onto a device full of old data, still pass every oracle', () => {
    for (const img of Object.values(built)) {
      const target = `${img}.target`;
      const size = fs.statSync(img).size;
      const junk = Buffer.alloc(size);
      for (let i = 0; i + 4 <= size; i += 4096) junk.writeUInt32LE(((i >>> 12) * 2654435761) >>> 0, i);
      fs.writeFileSync(target, junk);
      const py = run('bash', ['-c', 'head -1 "$(command -v bmaptool)" | sed "s/^#!//"']).stdout.trim() || 'python3';
      const r = run(py, ['-c', [
        'import sys', 'from bmaptools import BmapCopy',
        "w = BmapCopy.BmapCopy(open(sys.argv[1], 'rb'), open(sys.argv[2], 'r+b'), open(sys.argv[3], 'r'), None)",
        'w.copy(False, True)',
      ].join('\n'), img, target, `${img}.bmap`]);
      expect(r.status, r.stderr).toBe(0);
      const v = verifyImageFile(target, { oracles: true });
      expect(v.findings.filter((f) => !f.ok)).toEqual([]);
      fs.rmSync(target);
    }
  });

  it('are byte-identical when built under another time zone and umask', () => {
    const bin = path.join(root, 'bin/diskwright.js');
    for (const [name, img] of Object.entries(built)) {
      const other = path.join(t.dir, `${name}.tz.img`);
      const r = run('bash', ['-c', 'umask 077; exec node "$0" build "$1" -o "$2"', bin, path.join(presetsDir, `${name}.json`), other], { env: { TZ: 'Pacific/Kiritimati' } });
      expect(r.status, r.stderr).toBe(0);
      expect(sha(other)).toBe(sha(img));
    }
  });
});

describe('kernel adapter in an image build', () => {
  it('a failing kernel build stops before anything is written, with a clear error', async () => {
    const t = tempDir();
    try {
      const out = path.join(t.dir, 'img.img');
      const build = async () => {
        const kernel = await commandKernel({ argv: [path.join(root, 'fixtures/kernel/fake-build.sh')], cwd: t.dir, outputDir: 'out', env: { FAIL: '1' } });
        const spec = genericGpt({ arch: 'arm64', kernel, efi: [], data: [] });
        fs.writeFileSync(path.join(t.dir, 'spec.json'), JSON.stringify(spec));
        return buildImageFile(path.join(t.dir, 'spec.json'), out);
      };
      await expect(build()).rejects.toMatchObject({ code: 'KERNEL_BUILD_FAILED' });
      expect(fs.readdirSync(t.dir).filter((f) => f !== 'out')).toEqual([]);
    } finally {
      t.cleanup();
    }
  });
});
