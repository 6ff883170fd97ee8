// The CLI run in process through main(): exit statuses, stderr format, the
// inspect JSON shape, ls/cat, build outputs and the demo.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';

const tmp = tempDir('dw-cli-');
afterAll(() => tmp.cleanup());

async function cli(args: string[], env: Record<string, string> = {}) {
  const out: Buffer[] = [];
  let err = '';
  const status = await main(args, {
    stdout: (b) => { out.push(Buffer.from(typeof b === 'string' ? Buffer.from(b) : b)); },
    stderr: (s) => { err += s; },
    env: { SOURCE_DATE_EPOCH: '1700000000', ...env }, cwd: tmp.dir,
  });
  const stdout = Buffer.concat(out);
  return { status, stdout: stdout.toString('utf8'), bytes: stdout, stderr: err };
}

function writeSpec(name: string, spec: unknown): string {
  const p = path.join(tmp.dir, name);
  fs.writeFileSync(p, typeof spec === 'string' ? spec : JSON.stringify(spec, null, 2));
  return p;
}

fs.mkdirSync(path.join(tmp.dir, 'files/boot'), { recursive: true });
fs.writeFileSync(path.join(tmp.dir, 'files/boot/config.txt'), 'arm_64bit=1\n');
fs.writeFileSync(path.join(tmp.dir, 'files/hello.bin'), Buffer.from([0, 1, 2, 255, 10, 13]));

const spec = {
  table: 'gpt', size: '80MiB', seed: 'cli',
  partitions: [
    { name: 'ESP', type: 'esp', size: '40MiB', filesystem: { type: 'fat32', label: 'ESP', contents: [{ from: 'files', to: '/' }] } },
    { name: 'root', type: 'linux-root-x86-64', size: 'rest', attributes: ['required', 'legacy-bios-bootable', 60] },
  ],
};

describe('diskwright CLI', () => {
  it('build --no-sync gives the same bytes as --sync and the default; both at once is a usage error', async () => {
    const s = writeSpec('sync.json', spec);
    const hashes: string[] = [];
    for (const flag of [[], ['--sync'], ['--no-sync']]) {
      const out = `sync${flag.join('')}.img`;
      expect((await cli(['build', s, '-o', out, ...flag])).status).toBe(0);
      hashes.push(createHash('sha256').update(fs.readFileSync(path.join(tmp.dir, out))).digest('hex'));
    }
    expect(new Set(hashes).size).toBe(1);
    const both = await cli(['build', s, '-o', 'both.img', '--sync', '--no-sync']);
    expect(both.status).toBe(2);
    expect(fs.existsSync(path.join(tmp.dir, 'both.img'))).toBe(false);
  });

  it('--help on every command, usage errors exit 2, unknown commands exit 2', async () => {
    for (const c of ['build', 'inspect', 'ls', 'cat', 'demo', 'bootenv']) {
      const r = await cli([c, '--help']);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^usage: diskwright ${c}`));
    }
    expect((await cli(['--help'])).stdout).toContain('commands:');
    expect((await cli(['frobnicate'])).status).toBe(2);
    const u = await cli(['build', 'x.json']);
    expect(u.status).toBe(2);
    expect(u.stderr).toMatch(/^diskwright: USAGE: /);
    expect((await cli(['inspect', 'a', '--nope'])).status).toBe(2);
  });

  it('build + inspect --json: the contract shape, types and attributes', async () => {
    const s = writeSpec('gpt.json', spec);
    const b = await cli(['build', s, '-o', 'gpt.img', '--json']);
    expect(b.stderr).toBe('');
    expect(b.status).toBe(0);
    const report = JSON.parse(b.stdout);
    expect(report.files).toBe(2);
    const r = await cli(['inspect', 'gpt.img', '--json']);
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc).sort()).toEqual(['diskId', 'partitions', 'sectorSize', 'table', 'warnings']);
    expect(doc).toMatchObject({ table: 'gpt', sectorSize: 512, diskId: report.diskId, warnings: [] });
    expect(doc.partitions[0]).toEqual({
      index: 1, start: 1048576, size: 40 * 1048576, type: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', name: 'ESP', uuid: report.partitions[0].uuid,
      bootable: false, attributes: [], filesystem: { type: 'fat32', label: 'ESP', uuid: expect.stringMatching(/^[0-9A-F]{4}-[0-9A-F]{4}$/), size: 40 * 1048576, used: expect.any(Number) },
    });
    expect(doc.partitions[1]).toMatchObject({ index: 2, type: '4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709', bootable: true, attributes: ['required', 'legacy-bios-bootable', 60], filesystem: null });
    const text = await cli(['inspect', 'gpt.img']);
    expect(text.stdout).toContain('esp');
  });

  it('ls and cat read files back byte for byte', async () => {
    const s = writeSpec('gpt2.json', spec);
    expect((await cli(['build', s, '-o', 'files.img'])).status).toBe(0);
    expect((await cli(['ls', 'files.img', 'p1:/'])).stdout.split('\n').filter(Boolean).sort()).toEqual(['boot', 'hello.bin']);
    const long = await cli(['ls', 'files.img', 'p1:/boot', '--long']);
    expect(long.stdout).toMatch(/^-rw\S+ 0:0 +12 \S+ config\.txt\n$/);
    const cat = await cli(['cat', 'files.img', 'p1:/hello.bin']);
    expect(cat.status).toBe(0);
    expect([...cat.bytes]).toEqual([0, 1, 2, 255, 10, 13]);
    const missing = await cli(['cat', 'files.img', 'p1:/nope']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^diskwright: [A-Z0-9_]+: /);
    expect((await cli(['ls', 'files.img', 'p9:/'])).stderr).toMatch(/^diskwright: IMAGE_NO_PARTITION: /);
    expect((await cli(['ls', 'files.img', 'partition1'])).status).toBe(2);
  });

  it('bad specs: one line on stderr with the code and the JSON path, exit 1, nothing at OUT', async () => {
    const typo = writeSpec('typo.json', { ...spec, partitions: [{ ...spec.partitions[0], sise: '1MiB' }] });
    const r = await cli(['build', typo, '-o', 'typo.img']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^diskwright: SPEC_UNKNOWN_KEY: partitions\[0\]\.sise: unknown key \(did you mean "size"\?\)\n$/);
    expect(fs.existsSync(path.join(tmp.dir, 'typo.img'))).toBe(false);
    const bad = writeSpec('syntax.json', '{\n  "table": "gpt"\n  "size": "1MiB"\n}\n');
    const j = await cli(['build', bad, '-o', 'syntax.img']);
    expect(j.status).toBe(1);
    expect(j.stderr).toMatch(/^diskwright: SPEC_JSON: .*syntax\.json:3:3: /);
    expect(j.stderr).not.toMatch(/\n\s+at /);
    const big = writeSpec('big.json', { ...spec, partitions: [{ name: 'x', type: 'linux', size: '200MiB' }] });
    const g = await cli(['build', big, '-o', 'big.img']);
    expect(g.stderr).toMatch(/^diskwright: LAYOUT_NO_SPACE: partitions\[0\]\.size: /);
    expect(fs.readdirSync(tmp.dir).filter((f) => f.startsWith('.') || f.startsWith('big') || f.startsWith('typo') || f.startsWith('syntax.img'))).toEqual(['big.json', 'typo.json']);
  });

  it('--zstd and --bmap write OUT.zst and OUT.bmap', async () => {
    const s = writeSpec('z.json', spec);
    const r = await cli(['build', s, '-o', 'z.img', '--zstd', '--bmap']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(fs.existsSync(path.join(tmp.dir, 'z.img.zst'))).toBe(true);
    expect(fs.existsSync(path.join(tmp.dir, 'z.img.bmap'))).toBe(true);
  });

  it('--seed changes the ids; the same seed gives the same image', async () => {
    const s = writeSpec('seed.json', spec);
    await cli(['build', s, '-o', 'a.img']);
    await cli(['build', s, '-o', 'b.img']);
    await cli(['build', s, '-o', 'c.img', '--seed', 'other']);
    const h = (f: string) => fs.readFileSync(path.join(tmp.dir, f));
    expect(h('a.img').equals(h('b.img'))).toBe(true);
    expect(h('a.img').equals(h('c.img'))).toBe(false);
  });

  it('demo builds both KubeSolo sample images, verifies them and prints their layout', async () => {
    const r = await cli(['demo', '-o', 'demo']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/kubesolo-x86_64.img: 384MiB, GPT, 512-byte sectors/);
    expect(r.stdout).toMatch(/kubesolo-rpi.img: 384MiB, MBR, 512-byte sectors/);
    for (const name of ['EFI', 'SYSTEM-A', 'SYSTEM-B', 'DATA']) expect(r.stdout).toContain(name);
    expect(r.stdout).not.toMatch(/FAIL/);
    const gpt = path.join(tmp.dir, 'demo/kubesolo-x86_64.img');
    const rpi = path.join(tmp.dir, 'demo/kubesolo-rpi.img');
    expect((await cli(['cat', gpt, 'p1:/EFI/BOOT/grub.cfg'])).stdout).toContain('save_env');
    expect((await cli(['bootenv', gpt, 'get', 'boot_default'])).stdout).toBe('A\n');
    expect((await cli(['bootenv', rpi, 'list'])).stdout).toMatch(/boot_partition=2/);
    if (haveTools('sgdisk')) expect(run('sgdisk', ['-v', gpt]).stdout).toContain('No problems found');
    if (haveTools('sfdisk')) expect(run('sfdisk', ['--verify', rpi]).stdout).toContain('No errors detected');
  });

  it('verify fails, with the structure\'s code, on an image whose backup GPT is damaged', async () => {
    const s = writeSpec('v.json', spec);
    expect((await cli(['build', s, '-o', 'v.img'])).status).toBe(0);
    const img = path.join(tmp.dir, 'v.img');
    expect((await cli(['verify', img])).status).toBe(0);
    const fd = fs.openSync(img, 'r+');
    const size = fs.fstatSync(fd).size;
    fs.writeSync(fd, Buffer.from([0xff]), 0, 1, size - 512 + 20); // inside the backup header's CRC range
    fs.closeSync(fd);
    const bad = await cli(['verify', img, '--json']);
    expect(bad.status).toBe(1);
    const report = JSON.parse(String(bad.stdout));
    expect(report.ok).toBe(false);
    expect(report.findings.some((f: { ok: boolean; check: string }) => !f.ok && /table|gpt/.test(f.check))).toBe(true);
  });

  it('SOURCE_DATE_EPOCH must be whole seconds; it sets the time of files without one', async () => {
    const s = writeSpec('sde.json', spec);
    const bad = await cli(['build', s, '-o', 'sde.img'], { SOURCE_DATE_EPOCH: 'yesterday' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^diskwright: SOURCE_DATE_EPOCH_INVALID: /);
    expect(fs.existsSync(path.join(tmp.dir, 'sde.img'))).toBe(false);
    expect((await cli(['build', s, '-o', 'sde.img'], { SOURCE_DATE_EPOCH: '1234567890' })).status).toBe(0);
    const long = await cli(['ls', 'sde.img', 'p1:/', '--long']);
    expect(long.stdout).toMatch(/ 2009-02-13T23:3\d:\d\dZ boot\n/);
  });

  it('DISKWRIGHT_DEBUG=1 adds a stack trace', async () => {
    const r = await cli(['inspect', 'missing.img'], { DISKWRIGHT_DEBUG: '1' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^diskwright: IO_NOT_FOUND: .*\n\S*Error.*\n\s+at /);
  });
});

describe.skipIf(!haveTools('sfdisk', 'mkfs.fat', 'mcopy'))('images made by the reference tools, read through the CLI', () => {
  it('sfdisk MBR + mkfs.fat --offset + mcopy: inspect shows the filesystem, ls and cat read the file', async () => {
    const img = path.join(tmp.dir, 'tools-mbr.img');
    fs.writeFileSync(img, '');
    fs.truncateSync(img, 48 * 1048576);
    expect(run('sfdisk', ['--no-reread', '--no-tell-kernel', img], { input: 'label: dos\nlabel-id: 0xdeadbeef\n,40M,c,*\n,,83\n' }).status).toBe(0);
    const mk = run('mkfs.fat', ['-F', '32', '-n', 'TOOLS', '-i', '1234ABCD', '--offset', '2048', img, String(40 * 1024)]);
    expect(mk.status, mk.stderr).toBe(0);
    const src = path.join(tmp.dir, 'from-mtools.txt');
    fs.writeFileSync(src, 'written by mcopy\n');
    const mc = run('mcopy', ['-i', `${img}@@${2048 * 512}`, src, '::/NOTE.TXT']);
    expect(mc.status, mc.stderr).toBe(0);
    const doc = JSON.parse((await cli(['inspect', img, '--json'])).stdout);
    expect(doc).toMatchObject({ table: 'mbr', diskId: '0xdeadbeef', warnings: [] });
    expect(doc.partitions.map((p: any) => [p.index, p.start, p.type, p.bootable, p.uuid])).toEqual([[1, 1048576, '0x0c', true, 'deadbeef-01'], [2, 1048576 + 40 * 1048576, '0x83', false, 'deadbeef-02']]);
    expect(doc.partitions[0].filesystem).toMatchObject({ type: 'fat32', label: 'TOOLS', uuid: '1234-ABCD' });
    expect((await cli(['ls', img, 'p1:/'])).stdout).toBe('NOTE.TXT\n');
    expect((await cli(['cat', img, 'p1:/NOTE.TXT'])).stdout).toBe('written by mcopy\n');
  });

  it('a bare mkfs.fat image is partition 0: inspect reports the filesystem, ls p0:/ lists it', async () => {
    const img = path.join(tmp.dir, 'bare-fat.img');
    expect(run('mkfs.fat', ['-C', '-n', 'BARE', img, '8192']).status).toBe(0);
    expect(run('mcopy', ['-i', img, path.join(tmp.dir, 'files/hello.bin'), '::/HELLO.BIN']).status).toBe(0);
    const doc = JSON.parse((await cli(['inspect', img, '--json'])).stdout);
    expect(doc.table).toBeNull();
    expect(doc.partitions).toHaveLength(1);
    expect(doc.partitions[0]).toMatchObject({ index: 0, start: 0, size: 8192 * 1024, filesystem: { label: 'BARE' } });
    expect((await cli(['ls', img, 'p0:/'])).stdout).toBe('HELLO.BIN\n');
    expect([...(await cli(['cat', img, 'p0:/HELLO.BIN'])).bytes]).toEqual([0, 1, 2, 255, 10, 13]);
    expect((await cli(['ls', img, 'p1:/'])).stderr).toMatch(/^diskwright: IMAGE_NO_PARTITION: /);
  });
});

describe.skipIf(!haveTools('sgdisk', 'sfdisk', 'fsck.fat'))('the sample specs in fixtures/specs', () => {
  const dir = path.resolve(__dirname, '../../fixtures/specs');
  const specs = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  it.each(specs)('%s builds, and the table and FAT filesystems pass the reference checkers', async (name) => {
    const out = path.join(tmp.dir, `${name}.img`);
    const r = await cli(['build', path.join(dir, name), '-o', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    if (report.table === 'gpt') expect(run('sgdisk', ['-v', out]).stdout).toContain('No problems found');
    else expect(run('sfdisk', ['-V', out]).stdout).toContain('No errors detected');
    const pt = JSON.parse(run('sfdisk', ['--json', out]).stdout).partitiontable;
    expect(pt.partitions.map((p: any) => [p.start * 512, p.size * 512])).toEqual(report.partitions.map((p: any) => [p.start, p.size]));
    const fd = fs.openSync(out, 'r');
    try {
      for (const p of report.partitions.filter((q: any) => q.filesystem?.type.startsWith('fat'))) {
        const part = path.join(tmp.dir, `${name}.p${p.index}`);
        const buf = Buffer.alloc(p.size);
        fs.readSync(fd, buf, 0, p.size, p.start);
        fs.writeFileSync(part, buf);
        const f = run('fsck.fat', ['-n', part]);
        expect(f.status, f.stdout + f.stderr).toBe(0);
        fs.rmSync(part);
      }
    } finally {
      fs.closeSync(fd);
    }
    fs.rmSync(out);
  });
});
