import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isDiskwrightError, DiskwrightError } from '../../src/index.js';
import { treeFromContents } from '../../src/node/inputs.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';

async function errorOf(p: Promise<unknown>): Promise<DiskwrightError> {
  try {
    await p;
  } catch (e) {
    if (isDiskwrightError(e)) return e;
    throw e;
  }
  throw new Error('expected an error');
}

const EPOCH = { sec: 1_650_000_000, nsec: 0 };
const SPEC = 'partitions[3].filesystem.contents';

describe.skipIf(!haveTools('tar'))('treeFromContents', () => {
  let tmp: { dir: string; cleanup: () => void };
  beforeAll(() => {
    tmp = tempDir('dw-inputs-');
    const d = tmp.dir;
    fs.mkdirSync(path.join(d, 'rootfs', 'etc'), { recursive: true });
    fs.writeFileSync(path.join(d, 'rootfs', 'etc', 'hostname'), 'kubesolo\n');
    fs.utimesSync(path.join(d, 'rootfs', 'etc', 'hostname'), 1_500_000_000, 1_500_000_000); // older than the epoch: kept
    fs.mkdirSync(path.join(d, 'arch', 'opt'), { recursive: true });
    fs.writeFileSync(path.join(d, 'arch', 'opt', 'tool'), 'tool\n', { mode: 0o755 });
    fs.utimesSync(path.join(d, 'arch', 'opt', 'tool'), 1_700_000_000, 1_700_000_000); // newer than the epoch
    let r = run('tar', ['--numeric-owner', '-cf', path.join(d, 'extra.tar'), '-C', path.join(d, 'arch'), 'opt']);
    if (r.status !== 0) throw new Error(r.stderr);
    r = run('tar', ['--numeric-owner', '-czf', path.join(d, 'extra.tgz'), '-C', path.join(d, 'arch'), 'opt']);
    if (r.status !== 0) throw new Error(r.stderr);
    fs.writeFileSync(path.join(d, 'config.txt'), 'arm_64bit=1\n');
    fs.writeFileSync(path.join(d, 'weird.tar.xz'), 'not really');
  });
  afterAll(() => tmp.cleanup());

  it('combines a directory, a tar, a .tgz and single files; host times are clamped to the epoch by default', async () => {
    const tree = await treeFromContents([
      { from: 'rootfs', to: '/' },
      { from: 'extra.tar', to: '/' },
      { from: 'extra.tgz', to: '/usr/local' },
      { from: 'config.txt', to: '/boot/' },
      { from: path.join(tmp.dir, 'config.txt'), to: '/boot/config-copy.txt' },
    ], { baseDir: tmp.dir, defaultTime: EPOCH, path: SPEC, owner: 'root' });
    expect(tree.get('/etc/hostname')).toMatchObject({ kind: 'file', mtime: { sec: 1_500_000_000, nsec: 0 }, uid: 0 });
    // the tar's time is data: kept
    expect(tree.get('/opt/tool')).toMatchObject({ kind: 'file', mode: 0o755, mtime: { sec: 1_700_000_000, nsec: 0 } });
    expect(tree.get('/usr/local/opt/tool')).toMatchObject({ kind: 'file', mode: 0o755 });
    // config.txt was written just now: newer than the epoch, so clamped
    expect(tree.get('/boot/config.txt')).toMatchObject({ kind: 'file', mtime: EPOCH });
    expect(tree.get('/boot/config-copy.txt')).toMatchObject({ kind: 'file', mtime: EPOCH });
    // implicit parents get the default time
    expect(tree.get('/boot')).toMatchObject({ kind: 'dir', mode: 0o755, mtime: EPOCH });
    const f = tree.get('/boot/config.txt');
    if (f?.kind !== 'file') throw new Error('expected a file');
    expect(new TextDecoder().decode(f.source.read(0, f.source.size))).toBe('arm_64bit=1\n');
    for (const [, n] of tree.walk()) expect([n.uid, n.gid]).toEqual([0, 0]);
  });

  it('clampMtime "all" clamps archives too; "none" keeps host times', async () => {
    const all = await treeFromContents([{ from: 'extra.tar', to: '/' }], { baseDir: tmp.dir, defaultTime: EPOCH, path: SPEC, clampMtime: 'all' });
    expect(all.get('/opt/tool')!.mtime).toEqual(EPOCH);
    const none = await treeFromContents([{ from: 'config.txt', to: '/c' }], { baseDir: tmp.dir, defaultTime: EPOCH, path: SPEC, clampMtime: 'none' });
    expect(none.get('/c')!.mtime.sec).toBe(Math.floor(fs.statSync(path.join(tmp.dir, 'config.txt')).mtimeMs / 1000));
  });

  it('a missing `from` is SPEC_CONTENTS_MISSING with the JSON path', async () => {
    const e = await errorOf(treeFromContents([{ from: 'rootfs', to: '/' }, { from: 'nope/dir', to: '/x' }], { baseDir: tmp.dir, defaultTime: EPOCH, path: SPEC }));
    expect(e.code).toBe('SPEC_CONTENTS_MISSING');
    expect(e.data.specPath).toBe(`${SPEC}[1].from`);
  });

  it('errors from inside an item carry the item JSON path', async () => {
    // the same file given by two items
    let e = await errorOf(treeFromContents([{ from: 'rootfs', to: '/' }, { from: 'config.txt', to: '/etc/hostname' }], { baseDir: tmp.dir, defaultTime: EPOCH, path: SPEC }));
    expect(e.code).toBe('TREE_DUPLICATE');
    expect(e.data.specPath).toBe(`${SPEC}[1]`);
    e = await errorOf(treeFromContents([{ from: 'config.txt', to: '/../x' }], { baseDir: tmp.dir, defaultTime: EPOCH, path: SPEC }));
    expect(e.code).toBe('TREE_PATH_ESCAPE');
    expect(e.data.specPath).toBe(`${SPEC}[0]`);
    e = await errorOf(treeFromContents([{ from: 'weird.tar.xz', to: '/' }], { baseDir: tmp.dir, defaultTime: EPOCH, path: SPEC }));
    expect(e.code).toBe('INPUT_ARCHIVE_UNSUPPORTED');
    e = await errorOf(treeFromContents([{ from: 'config.txt' } as never], { baseDir: tmp.dir, defaultTime: EPOCH, path: SPEC }));
    expect(e.code).toBe('SPEC_CONTENTS_INVALID');
    expect(e.data.specPath).toBe(`${SPEC}[0].to`);
  });

  it('a bad owner map is INPUT_OWNER_INVALID naming the key', async () => {
    for (const owner of [{ uid: { abc: 0 } }, { uid: { 1000: -1 } }, { user: {} }, 'nobody']) {
      const e = await errorOf(treeFromContents([], { baseDir: tmp.dir, defaultTime: EPOCH, path: SPEC, owner: owner as never }));
      expect(e.code).toBe('INPUT_OWNER_INVALID');
      expect(String(e.data.path)).toMatch(/^partitions\[3\]\.filesystem\.owner/);
    }
  });
});
