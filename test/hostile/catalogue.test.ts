// The bad inputs of docs/errors.md that no other test covers: each gives its
// stable code (with the structured data the catalogue promises), through the
// public entry points a user calls (validateSpec, planImage, buildImage,
// treeFromTar, the CLI).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import * as tarStream from 'tar-stream';
import { DiskwrightError, isDiskwrightError } from '../../src/errors.js';
import { validateSpec, parseSpecJson } from '../../src/image/spec.js';
import { buildImage, emitImage, planImage } from '../../src/image/build.js';
import { MemorySink } from '../../src/io/memory-sink.js';
import { bytesSource, textSource } from '../../src/io/source.js';
import { FileTree } from '../../src/tree/tree.js';
import { treeFromTar } from '../../src/node/tar.js';
import { hostTreeLoader } from '../../src/node/build-file.js';
import { tempDir } from '../helpers/oracle.js';

const MiB = 1024 * 1024;
const ROOT = path.resolve(import.meta.dirname, '..', '..');
const tmp = tempDir('dw-hostile-');
afterAll(() => tmp.cleanup());

function caught(f: () => unknown): DiskwrightError {
  try {
    f();
  } catch (e) {
    if (e instanceof DiskwrightError) return e;
    throw e;
  }
  throw new Error('expected a DiskwrightError');
}

async function caughtAsync(p: Promise<unknown>): Promise<DiskwrightError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DiskwrightError) return e;
    throw e;
  }
  throw new Error('expected a DiskwrightError');
}

const treeOf = (files: Record<string, string | Uint8Array>) => {
  const t = new FileTree({ defaultTime: { sec: 0, nsec: 0 } });
  for (const [p, v] of Object.entries(files)) t.addFile(p, typeof v === 'string' ? textSource(v) : bytesSource(v));
  return t;
};

/** A one-filesystem GPT spec whose contents come from `tree`. */
function oneFs(fsSpec: Record<string, unknown>, size = '8MiB') {
  return {
    table: 'gpt', size: '16MiB', partitions: [{ name: 'p', type: 'linux', size, filesystem: { ...fsSpec, contents: [{ from: 'x', to: '/' }] } }],
  };
}
const loadTree = (tree: FileTree) => ({ loadTree: async () => tree });

describe('spec errors', () => {
  it('a negative or zero size is SPEC_SIZE naming its path', () => {
    for (const bad of [-1, 0, '0MiB', '-4MiB', 0.5]) {
      const e = caught(() => validateSpec({ table: 'gpt', size: '16MiB', partitions: [{ type: 'linux', size: bad }] }));
      expect(e.code).toBe('SPEC_SIZE');
      expect(e.data.path).toBe('partitions[0].size');
      const top = caught(() => validateSpec({ table: 'mbr', size: bad, partitions: [] }));
      expect([top.code, top.data.path]).toEqual(['SPEC_SIZE', 'size']);
    }
  });

  it('overlapping explicit starts are LAYOUT_OVERLAP naming both partitions', async () => {
    const e = await caughtAsync(planImage({
      table: 'gpt', size: '32MiB', partitions: [
        { type: 'linux', size: '8MiB', start: '1MiB' },
        { type: 'linux', size: '4MiB', start: '6MiB' },
      ],
    }));
    expect(e.code).toBe('LAYOUT_OVERLAP');
    expect(e.data).toMatchObject({ path: 'partitions[1].start', other: 'partitions[0]' });
  });

  it('a JSON error gives line and column; an unknown key its path and a suggestion', () => {
    const j = caught(() => parseSpecJson('{\n  "table": "gpt"\n  "size": 1\n}', 'img.json'));
    expect(j.code).toBe('SPEC_JSON');
    expect(j.data).toMatchObject({ line: 3, column: 3 });
    const k = caught(() => validateSpec({ table: 'gpt', size: '16MiB', partitions: [{ type: 'linux', sise: '1MiB' }] }));
    expect(k.code).toBe('SPEC_UNKNOWN_KEY');
    expect(k.data).toMatchObject({ path: 'partitions[0].sise', suggestion: 'size' });
  });
});

describe('content that does not fit', () => {
  const big = new Uint8Array(6 * MiB).fill(0x5a);
  it('contents larger than a FAT partition: FAT_NO_SPACE with needed and available bytes', async () => {
    const e = await caughtAsync(planImage(oneFs({ type: 'fat', label: 'X' }, '4MiB'), loadTree(treeOf({ '/big.bin': big }))));
    expect(e.code).toBe('FAT_NO_SPACE');
    expect(e.data.needed as number).toBeGreaterThanOrEqual(6 * MiB);
    expect(e.data.available as number).toBeLessThan(4 * MiB);
  });
  it('contents larger than an ext4 partition: EXT4_NO_SPACE with needed and available bytes', async () => {
    const e = await caughtAsync(planImage(oneFs({ type: 'ext4' }, '4MiB'), loadTree(treeOf({ '/big.bin': big }))));
    expect(e.code).toBe('EXT4_NO_SPACE');
    expect(e.data.needed as number).toBeGreaterThan(6 * MiB);
    expect(e.data.available as number).toBeLessThan(4 * MiB);
  });
  it('more files than inodes: EXT4_TOO_MANY_FILES with the count needed', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 100; i++) files[`/d/f${i}`] = 'x';
    const e = await caughtAsync(planImage(oneFs({ type: 'ext4', options: { inodes: 32 } }), loadTree(treeOf(files))));
    expect(e.code).toBe('EXT4_TOO_MANY_FILES');
    // 100 files + /d + the reserved inodes and lost+found
    expect(e.data.needed as number).toBeGreaterThanOrEqual(101);
    expect(e.data.needed as number).toBeLessThan(120);
  });
});

describe('bad names', () => {
  it('an invalid FAT name: FAT_NAME_INVALID naming the path', async () => {
    const e = await caughtAsync(planImage(oneFs({ type: 'fat' }), loadTree(treeOf({ '/dir/what?.txt': 'x' }))));
    expect(e.code).toBe('FAT_NAME_INVALID');
    expect(e.data.path).toBe('/dir/what?.txt');
  });
  it('two FAT names that differ only in case: FAT_NAME_CASE_CONFLICT', async () => {
    const e = await caughtAsync(planImage(oneFs({ type: 'fat' }), loadTree(treeOf({ '/README.md': 'a', '/readme.md': 'b' }))));
    expect(e.code).toBe('FAT_NAME_CASE_CONFLICT');
    expect(String(e.data.path).toLowerCase()).toBe('/readme.md');
  });
  it('a name over 255 bytes: FAT_NAME_TOO_LONG and EXT4_NAME_TOO_LONG', async () => {
    const long = `/${'n'.repeat(256)}`;
    const f = await caughtAsync(planImage(oneFs({ type: 'fat' }), loadTree(treeOf({ [long]: 'x' }))));
    expect(f.code).toBe('FAT_NAME_TOO_LONG');
    const e = await caughtAsync(buildImage(oneFs({ type: 'ext4' }), new MemorySink(), loadTree(treeOf({ [long]: 'x' }))));
    expect(e.code).toBe('EXT4_NAME_TOO_LONG');
    expect(e.data).toMatchObject({ actual: 256, path: long });
    expect(e.message.startsWith(`${long}:`)).toBe(true);
    // 255 bytes is fine (UTF-8 bytes count: 85 × 3-byte "é"... 170 bytes here)
    await buildImage(oneFs({ type: 'ext4' }), new MemorySink(), loadTree(treeOf({ [`/${'é'.repeat(85)}`]: 'x', [`/${'m'.repeat(255)}`]: 'y' })));
  });
});

describe('tar archives', () => {
  async function makeTar(entries: Array<{ name: string; type?: 'file' | 'link' | 'symlink' | 'directory'; body?: string; linkname?: string }>): Promise<string> {
    const pack = tarStream.pack();
    const chunks: Buffer[] = [];
    pack.on('data', (c: unknown) => { chunks.push(c as Buffer); });
    const done = new Promise<void>((r) => { pack.on('end', () => r()); });
    for (const e of entries) {
      await new Promise<void>((res, rej) => pack.entry({ name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: 0o644, mtime: new Date(0) }, e.body ?? '', (err) => (err ? rej(err) : res())));
    }
    pack.finalize();
    await done;
    const file = path.join(tmp.dir, `t-${Math.random().toString(36).slice(2)}.tar`);
    fs.writeFileSync(file, Buffer.concat(chunks));
    return file;
  }

  it('an absolute member path is kept inside the target (leading "/" stripped, as GNU tar)', async () => {
    const file = await makeTar([{ name: '/etc/passwd', body: 'root\n' }]);
    const t = await treeFromTar(file, new FileTree(), '/into');
    expect(t.get('/into/etc/passwd')).toMatchObject({ kind: 'file' });
    expect(t.get('/etc/passwd')).toBeUndefined();
  });
  it('a member that climbs out with ".." is TREE_PATH_ESCAPE, wherever the ".." is', async () => {
    for (const name of ['../evil', 'a/../../evil', '/../../etc/shadow']) {
      const file = await makeTar([{ name: 'a/', type: 'directory' }, { name, body: 'x' }]);
      const e = await caughtAsync(treeFromTar(file, new FileTree(), '/into'));
      expect(e.code, name).toBe('TREE_PATH_ESCAPE');
    }
  });
  it('a symlink that climbs out is data: stored as written, never followed', async () => {
    const file = await makeTar([{ name: 'up', type: 'symlink', linkname: '../../../../etc/shadow' }, { name: 'self', type: 'symlink', linkname: 'self' }]);
    const t = await treeFromTar(file, new FileTree(), '/');
    expect(t.get('/up')).toMatchObject({ kind: 'symlink', target: '../../../../etc/shadow' });
    expect(t.get('/self')).toMatchObject({ kind: 'symlink', target: 'self' });
  });
  it('a hard link to a member not yet seen is TAR_HARDLINK_TARGET_UNSEEN', async () => {
    const file = await makeTar([{ name: 'hl', type: 'link', linkname: 'later' }, { name: 'later', body: 'x' }]);
    const e = await caughtAsync(treeFromTar(file, new FileTree(), '/'));
    expect(e.code).toBe('TAR_HARDLINK_TARGET_UNSEEN');
  });
});

describe('sources', () => {
  function specWith(dir: string) {
    return { table: 'gpt', size: '16MiB', partitions: [{ name: 'p', type: 'linux', size: '8MiB', filesystem: { type: 'ext4', contents: [{ from: dir, to: '/' }] } }] };
  }

  it('a source file that vanishes between plan and write: IO_NOT_FOUND naming it, nothing emitted after', async () => {
    const d = fs.mkdtempSync(path.join(tmp.dir, 'src-'));
    fs.writeFileSync(path.join(d, 'a.bin'), new Uint8Array(100000).fill(1));
    const plan = await planImage(specWith(d), { loadTree: hostTreeLoader(tmp.dir) });
    fs.rmSync(path.join(d, 'a.bin'));
    const e = await caughtAsync(emitImage(plan, new MemorySink()));
    expect(e.code).toBe('IO_NOT_FOUND');
    expect(String(e.data.path)).toBe(path.join(d, 'a.bin'));
  });

  it('a source file that shrinks between plan and write: IO_SOURCE_CHANGED', async () => {
    const d = fs.mkdtempSync(path.join(tmp.dir, 'src-'));
    fs.writeFileSync(path.join(d, 'a.bin'), new Uint8Array(100000).fill(1));
    const plan = await planImage(specWith(d), { loadTree: hostTreeLoader(tmp.dir) });
    fs.writeFileSync(path.join(d, 'a.bin'), new Uint8Array(10).fill(1));
    const e = await caughtAsync(emitImage(plan, new MemorySink()));
    expect(e.code).toBe('IO_SOURCE_CHANGED');
    expect(String(e.data.path)).toBe(path.join(d, 'a.bin'));
  });

  // An unreadable source (mode 000). root reads anything, so as root the build
  // runs through the CLI as the unprivileged user 65534.
  const cli = path.join(ROOT, 'bin', 'diskwright.js');
  const asRoot = process.getuid?.() === 0;
  it.skipIf(asRoot && !fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js')))('an unreadable source file: IO_PERMISSION, and no output left behind', async () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'dw-unreadable-'));
    try {
      fs.chmodSync(d, 0o777);
      fs.mkdirSync(path.join(d, 'in'));
      fs.writeFileSync(path.join(d, 'in', 'ok.txt'), 'fine\n');
      fs.writeFileSync(path.join(d, 'in', 'secret.bin'), 'no\n');
      fs.chmodSync(path.join(d, 'in', 'secret.bin'), 0);
      fs.writeFileSync(path.join(d, 'spec.json'), JSON.stringify(specWith('in')));
      fs.chmodSync(path.join(d, 'spec.json'), 0o644);
      if (asRoot) {
        const r = spawnSync(process.execPath, [cli, 'build', path.join(d, 'spec.json'), '-o', path.join(d, 'out.img')], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: d });
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/^diskwright: IO_PERMISSION: /);
      } else {
        const { buildImageFile } = await import('../../src/node/build-file.js');
        const e = await caughtAsync(buildImageFile(path.join(d, 'spec.json'), path.join(d, 'out.img')));
        expect(e.code).toBe('IO_PERMISSION');
      }
      expect(fs.readdirSync(d).sort()).toEqual(['in', 'spec.json']);
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  });
});

describe('output', () => {
  const cli = path.join(ROOT, 'bin', 'diskwright.js');
  it.skipIf(!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.js')))('SIGINT during `diskwright build`: ABORTED, no partial output, the existing target untouched', async () => {
    const d = fs.mkdtempSync(path.join(tmp.dir, 'sigint-'));
    fs.mkdirSync(path.join(d, 'in'));
    // Enough data that the build is still running when the signal comes.
    const chunk = new Uint8Array(MiB);
    for (let i = 0; i < 48; i++) {
      for (let j = 0; j < chunk.length; j += 4096) chunk[j] = (i * 31 + j) & 0xff;
      fs.writeFileSync(path.join(d, 'in', `f${i}.bin`), chunk);
    }
    fs.writeFileSync(path.join(d, 'spec.json'), JSON.stringify({
      table: 'gpt', size: '256MiB', partitions: [{ name: 'data', type: 'linux', size: 'rest', filesystem: { type: 'ext4', contents: [{ from: 'in', to: '/' }] } }],
    }));
    const out = path.join(d, 'out.img');
    fs.writeFileSync(out, 'old image');
    const before = fs.readdirSync(d).sort();
    const child = spawn(process.execPath, [cli, 'build', path.join(d, 'spec.json'), '-o', out, '--zstd', '--bmap'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => { stderr += c; });
    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    // Wait until the build has made its temporary files, then interrupt it.
    const t0 = Date.now();
    let sent = false;
    while (Date.now() - t0 < 60_000) {
      if (fs.readdirSync(d).length > before.length) { child.kill('SIGINT'); sent = true; break; }
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const code = await exit;
    expect(sent, `the build ended before it could be interrupted (stderr: ${stderr})`).toBe(true);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^diskwright: ABORTED: /);
    expect(fs.readdirSync(d).sort()).toEqual(before);
    expect(fs.readFileSync(out, 'utf8')).toBe('old image');
  }, 120_000);

  it('a sink that fails (ENOSPC) mid-build: the error propagates with its code and the sink is aborted', async () => {
    let aborted = false;
    let writes = 0;
    const sink = {
      async write() { if (++writes > 3) throw new DiskwrightError('IO_NO_SPACE', 'write: no space left on device', { errno: 'ENOSPC' }); },
      async zero() {},
      async finish() { throw new Error('finish must not be reached'); },
      async abort() { aborted = true; },
    };
    const e = await caughtAsync(buildImage(oneFs({ type: 'ext4' }), sink, loadTree(treeOf({ '/a': 'x'.repeat(10000), '/b': 'y' }))));
    expect(e.code).toBe('IO_NO_SPACE');
    expect(aborted).toBe(true);
    expect(isDiskwrightError(e)).toBe(true);
  });
});
