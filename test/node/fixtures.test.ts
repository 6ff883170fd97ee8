// The checked-in tar fixtures (fixtures/tar, made by GNU tar and Python's
// tarfile; see its README) read as their README says.
import { describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { FileTree, isDiskwrightError } from '../../src/index.js';
import { treeFromTar } from '../../src/node/tar.js';

const DIR = path.join(import.meta.dirname, '..', '..', 'fixtures', 'tar');

async function read(name: string): Promise<FileTree> {
  return treeFromTar(path.join(DIR, name), new FileTree(), '/');
}

describe('tar fixtures', () => {
  it('pax-xattrs.tar: binary xattrs exact, hard link, symlink, FIFO, device, owners', async () => {
    const t = await read('pax-xattrs.tar');
    const ping = t.get('/usr/bin/ping');
    expect(ping).toMatchObject({ kind: 'file', mode: 0o4755, uid: 0, gid: 0, mtime: { sec: 1700000000, nsec: 0 } });
    expect(ping!.xattrs).toEqual([{ name: 'security.capability', value: new Uint8Array(Buffer.from('0100000200200000000000000000000000000000', 'hex')) }]);
    expect(t.get('/usr/bin/ping6')).toBe(ping);
    expect(t.get('/usr/bin/ping4')).toMatchObject({ kind: 'symlink', target: 'ping' });
    expect(t.get('/dev/initctl')).toMatchObject({ kind: 'fifo', mode: 0o640 });
    expect(t.get('/dev/null')).toMatchObject({ kind: 'char', major: 1, minor: 3, mode: 0o666 });
    const passwd = t.get('/etc/passwd')!;
    expect([passwd.uid, passwd.gid]).toEqual([1000, 1000]);
    expect(passwd.xattrs!.map((x) => [x.name, Buffer.from(x.value).toString('latin1')])).toEqual([
      ['security.selinux', 'system_u:object_r:passwd_file_t:s0\0'],
      ['user.note', '\0\xff binary'],
    ]);
    if (passwd.kind !== 'file') throw new Error('expected a file');
    expect(new TextDecoder().decode(passwd.source.read(0, passwd.source.size))).toBe('root:x:0:0::/root:/bin/sh\n');
  });

  it('gnu-longnames.tar: long path and long symlink target', async () => {
    const t = await read('gnu-longnames.tar');
    const L = 'd'.repeat(90);
    const f = t.get(`/${L}/${L}/${L}/file-with-a-long-name`);
    if (f?.kind !== 'file') throw new Error('expected a file');
    expect(new TextDecoder().decode(f.source.read(0, f.source.size))).toBe('deep\n');
    expect(t.get('/link')).toMatchObject({ kind: 'symlink', target: `${L}/${L}/${L}` });
  });

  it('symlink-loop.tar: stored as is', async () => {
    const t = await read('symlink-loop.tar');
    expect(t.get('/a')).toMatchObject({ kind: 'symlink', target: 'b' });
    expect(t.get('/b')).toMatchObject({ kind: 'symlink', target: 'a' });
  });

  it('regress-dir-size.tar: a directory header with a huge size field does not hang', async () => {
    const t = await read('regress-dir-size.tar');
    expect(t.get('/usr/bin/ping')).toMatchObject({ kind: 'file', mode: 0o4755 });
  });

  it.each([
    ['duplicate.tar', 'TREE_DUPLICATE', 'origin', 'tar entry f'],
    ['truncated.tar', 'TAR_TRUNCATED', 'entry', 'b'],
    ['escape.tar', 'TREE_PATH_ESCAPE', 'origin', 'tar entry ../evil'],
    ['hardlink-unseen.tar', 'TAR_HARDLINK_TARGET_UNSEEN', 'entry', 'hl'],
    ['size-exceeds.tar', 'TAR_SIZE_EXCEEDS_ARCHIVE', 'entry', 'small'],
  ])('%s → %s naming the entry', async (file, code, field, value) => {
    let err: unknown;
    try {
      await read(file);
    } catch (e) {
      err = e;
    }
    expect(isDiskwrightError(err) && err.code).toBe(code);
    expect(isDiskwrightError(err) && err.data[field]).toBe(value);
  });
});
