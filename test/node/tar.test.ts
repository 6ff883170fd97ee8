import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tarStream from 'tar-stream';
import { FileTree, isDiskwrightError, DiskwrightError } from '../../src/index.js';
import { treeFromTar, decodePaxRecords } from '../../src/node/tar.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';
import { ROOT, makeHostTree, listHostTree, listTree, compareContents, type Row } from './fixture.js';

const TOOLS = haveTools('tar', 'find', 'stat', 'python3', 'mkfifo', 'mknod', 'gzip');

async function codeOf(p: Promise<unknown>): Promise<DiskwrightError> {
  try {
    await p;
  } catch (e) {
    if (isDiskwrightError(e)) return e;
    throw e;
  }
  throw new Error('expected an error');
}

/** A tar made by tar-stream's packer (for entries GNU tar will not write). */
async function packTar(entries: Array<{ header: tarStream.Header | (Partial<tarStream.Header> & { name: string }); data?: string }>): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const e of entries) pack.entry(e.header, e.data ?? '');
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

/** Recompute a ustar header block's checksum after a field was patched. */
function fixChecksum(buf: Buffer, headerOffset: number): void {
  const h = buf.subarray(headerOffset, headerOffset + 512);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
}

/** Header offsets of each member, as GNU tar itself reports them (--block-number). */
function gnuBlocks(tarFile: string): Map<string, number> {
  const r = run('tar', ['--block-number', '--quoting-style=literal', '-tvf', tarFile]);
  const out = new Map<string, number>();
  for (const line of r.stdout.split('\n')) {
    const m = /^block (\d+): \S+ \S+ +\d+(?:,\s*\d+)? \S+ \S+ (.*?)(?: -> .*| link to .*)?$/.exec(line);
    if (m) out.set(m[2], Number(m[1]) * 512);
  }
  return out;
}

describe.skipIf(!TOOLS)('treeFromTar', () => {
  let tmp: { dir: string; cleanup: () => void };
  let src: string;
  let want: Row[];
  let pax: string;
  let gnu: string;
  beforeAll(() => {
    tmp = tempDir('dw-tar-');
    src = path.join(tmp.dir, 'src');
    fs.mkdirSync(src);
    makeHostTree(src, { devices: ROOT, sockets: false, xattrs: true });
    want = listHostTree(src, { xattrs: true });
    pax = path.join(tmp.dir, 'pax.tar');
    gnu = path.join(tmp.dir, 'gnu.tar');
    const env = { TZ: 'UTC' };
    let r = run('tar', ['--format=pax', '--xattrs', '--xattrs-include=*', '--numeric-owner', '-cf', pax, '-C', src, '.'], { env });
    if (r.status !== 0) throw new Error(r.stderr);
    r = run('tar', ['--format=gnu', '--numeric-owner', '-cf', gnu, '-C', src, '.'], { env });
    if (r.status !== 0) throw new Error(r.stderr);
  });
  afterAll(() => tmp.cleanup());

  it('pax (GNU tar --xattrs): the same tree as the source, with ns mtimes and binary xattrs', async () => {
    const tree = await treeFromTar(pax, new FileTree(), '/');
    expect(listTree(tree, '/')).toEqual(want);
    // the fixture has what we claim: a binary capability, a selinux label, xattrs on a directory
    expect(want.find((r) => r.path === '/usr/bin/suid')!.xattrs).toContain('security.capability=0100000200200000000000000000000000000000');
    expect(want.find((r) => r.path === '/usr/bin/suid')!.xattrs).toContain('user.comment=62696e00617279fffe');
    expect(want.find((r) => r.path === '/etc')!.xattrs).not.toBe('');
    expect(compareContents(tree, '/', src)).toBeGreaterThan(15);
  });

  it('GNU format (long names through ././@LongLink): the same tree, times in whole seconds, no xattrs', async () => {
    expect(run('tar', ['-tvf', gnu]).status).toBe(0);
    expect(fs.readFileSync(gnu).includes(Buffer.from('././@LongLink'))).toBe(true);
    const tree = await treeFromTar(gnu, new FileTree(), '/');
    const seconds = want.map((r) => ({ ...r, mtime: r.mtime.split('.')[0] + '.000000000', xattrs: '' }));
    expect(listTree(tree, '/')).toEqual(seconds);
    expect(compareContents(tree, '/', src)).toBeGreaterThan(15);
  });

  it('each file source is the byte range GNU tar says the member occupies', async () => {
    const tree = await treeFromTar(gnu, new FileTree(), '/');
    const blocks = gnuBlocks(gnu);
    const whole = fs.readFileSync(gnu);
    const node = tree.get('/usr/bin/big');
    if (node?.kind !== 'file') throw new Error('expected a file');
    const at = blocks.get('./usr/bin/big')!;
    expect(at).toBeGreaterThan(0);
    const fromArchive = whole.subarray(at + 512, at + 512 + node.source.size);
    expect(Buffer.compare(Buffer.from(node.source.read(0, node.source.size)), fromArchive)).toBe(0);
  });

  it('gzip archives (spooled) give the same tree', async () => {
    const gz = path.join(tmp.dir, 'pax.tar.gz');
    const r = run('tar', ['--format=pax', '--xattrs', '--xattrs-include=*', '--numeric-owner', '-czf', gz, '-C', src, '.']);
    expect(r.status).toBe(0);
    const tree = await treeFromTar(gz, new FileTree(), '/', { spoolDir: tmp.dir });
    expect(listTree(tree, '/')).toEqual(want);
    expect(compareContents(tree, '/', src)).toBeGreaterThan(15);
    // the spool is unlinked at once: nothing is left in spoolDir
    expect(fs.readdirSync(tmp.dir).filter((n) => n.startsWith('diskwright-spool-'))).toEqual([]);
  });

  it('places the archive under `to`; owner and clampMtime policies apply', async () => {
    const tree = await treeFromTar(pax, new FileTree(), '/srv/root', { owner: { uid: { 1000: 0 }, gid: { 1000: 5 } }, clampMtime: { sec: 1600000010, nsec: 0 } });
    const sgid = tree.get('/srv/root/usr/bin/sgid')!;
    expect([sgid.uid, sgid.gid]).toEqual([0, 5]);
    expect(tree.get('/srv/root/etc/shadow')!.gid).toBe(42);
    const times = [...tree.walk()].filter(([p]) => p.startsWith('/srv/root/')).map(([, n]) => n.mtime.sec);
    expect(Math.max(...times)).toBe(1600000010);
    expect(Math.min(...times)).toBeLessThan(1600000010);
    const asRoot = await treeFromTar(pax, new FileTree(), '/', { owner: 'root' });
    for (const [, n] of asRoot.walk()) expect([n.uid, n.gid]).toEqual([0, 0]);
  });

  it('devices, FIFOs and symlink loops from a packed archive', async () => {
    const buf = await packTar([
      { header: { name: 'dev/', type: 'directory', mode: 0o755 } },
      { header: { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o660, uid: 0, gid: 6 } },
      { header: { name: 'dev/tty', type: 'character-device', devmajor: 5, devminor: 0, mode: 0o666 } },
      { header: { name: 'run/fifo', type: 'fifo', mode: 0o600 } },
      { header: { name: 'a', type: 'symlink', linkname: 'b' } },
      { header: { name: 'b', type: 'symlink', linkname: 'a' } },
      { header: { name: '/abs/file', type: 'file', mode: 0o644, mtime: new Date(1_000_000_000_000) }, data: 'x' },
    ]);
    const f = path.join(tmp.dir, 'packed.tar');
    fs.writeFileSync(f, buf);
    const tree = await treeFromTar(f, new FileTree(), '/t');
    expect(tree.get('/t/dev/sda')).toMatchObject({ kind: 'block', major: 8, minor: 0, mode: 0o660, gid: 6 });
    expect(tree.get('/t/dev/tty')).toMatchObject({ kind: 'char', major: 5, minor: 0, mode: 0o666 });
    expect(tree.get('/t/run/fifo')).toMatchObject({ kind: 'fifo', mode: 0o600 });
    expect(tree.get('/t/a')).toMatchObject({ kind: 'symlink', target: 'b' });
    expect(tree.get('/t/b')).toMatchObject({ kind: 'symlink', target: 'a' });
    // GNU tar strips the leading '/'; so do we
    expect(tree.get('/t/abs/file')).toMatchObject({ kind: 'file', mtime: { sec: 1_000_000_000, nsec: 0 } });
    expect(tree.get('/abs')).toBeUndefined();
  });

  it('pax mtime fractions, pax uid/gid and LIBARCHIVE.xattr records', async () => {
    const buf = await packTar([
      {
        header: {
          name: 'f', type: 'file', mode: 0o644, uid: 1, gid: 2,
          pax: { mtime: '1700000000.000000001', uid: '3000000000', gid: '70000', 'LIBARCHIVE.xattr.user.%41b': Buffer.from([0, 1, 0xff]).toString('base64') },
        } as never,
        data: 'data',
      },
      { header: { name: 'old', type: 'file', mode: 0o644, pax: { mtime: '-1.25' } } as never, data: '' },
    ]);
    const f = path.join(tmp.dir, 'pax-fields.tar');
    fs.writeFileSync(f, buf);
    // GNU tar reads the same fields
    const listed = run('tar', ['--numeric-owner', '--full-time', '-tvf', f], { env: { TZ: 'UTC' } }).stdout;
    expect(listed).toContain('3000000000/70000');
    const tree = await treeFromTar(f, new FileTree(), '/');
    expect(tree.get('/f')).toMatchObject({ uid: 3000000000, gid: 70000, mtime: { sec: 1700000000, nsec: 1 } });
    expect(tree.get('/f')!.xattrs).toEqual([{ name: 'user.Ab', value: new Uint8Array([0, 1, 0xff]) }]);
    expect(tree.get('/old')!.mtime).toEqual({ sec: -2, nsec: 750_000_000 });
  });

  it('decodes raw pax records, keeping binary values', () => {
    const rec = (k: string, v: Buffer) => {
      const body = Buffer.concat([Buffer.from(` ${k}=`), v, Buffer.from('\n')]);
      let len = body.length + 1;
      while (String(len).length + body.length !== len) len++;
      return Buffer.concat([Buffer.from(String(len)), body]);
    };
    const data = Buffer.concat([rec('path', Buffer.from('ü')), rec('SCHILY.xattr.security.capability', Buffer.from([1, 0, 0, 2, 0xff, 0x0a, 0x3d]))]);
    const got = decodePaxRecords(data).map(([k, v]) => [k, Buffer.from(v).toString('hex')]);
    expect(got).toEqual([['path', Buffer.from('ü').toString('hex')], ['SCHILY.xattr.security.capability', '010000' + '02ff0a3d']]);
  });

  describe('bad archives get a code that names the entry', () => {
    it('an entry with .. is TREE_PATH_ESCAPE', async () => {
      for (const name of ['../evil', 'a/../../evil', 'ok/../../../etc/passwd']) {
        const f = path.join(tmp.dir, 'escape.tar');
        fs.writeFileSync(f, await packTar([{ header: { name: 'fine', type: 'file' }, data: '1' }, { header: { name, type: 'file' }, data: 'x' }]));
        const e = await codeOf(treeFromTar(f, new FileTree(), '/'));
        expect(e.code).toBe('TREE_PATH_ESCAPE');
        expect(String(e.data.origin)).toContain(name);
      }
    });

    it('a hard link to an entry not yet seen is TAR_HARDLINK_TARGET_UNSEEN', async () => {
      const f = path.join(tmp.dir, 'link.tar');
      fs.writeFileSync(f, await packTar([
        { header: { name: 'hl', type: 'link', linkname: 'later' } },
        { header: { name: 'later', type: 'file' }, data: 'x' },
      ]));
      const e = await codeOf(treeFromTar(f, new FileTree(), '/'));
      expect(e.code).toBe('TAR_HARDLINK_TARGET_UNSEEN');
      expect(e.data.entry).toBe('hl');
      // a hard link whose target exists elsewhere in the tree, but not in this archive, is refused too
      const tree = new FileTree();
      tree.addFile('/later', { size: 0, read: () => new Uint8Array(0) });
      fs.writeFileSync(f, await packTar([{ header: { name: 'hl', type: 'link', linkname: 'later' } }]));
      expect((await codeOf(treeFromTar(f, tree, '/'))).code).toBe('TAR_HARDLINK_TARGET_UNSEEN');
    });

    it('a truncated archive is TAR_TRUNCATED (inside data and inside a header)', async () => {
      const whole = fs.readFileSync(gnu);
      const at = gnuBlocks(gnu).get('./usr/bin/big')!;
      const f = path.join(tmp.dir, 'cut.tar');
      fs.writeFileSync(f, whole.subarray(0, at + 512 + 1000));
      let e = await codeOf(treeFromTar(f, new FileTree(), '/'));
      expect(e.code).toBe('TAR_TRUNCATED');
      expect(e.data.entry).toBe('./usr/bin/big');
      // GNU tar agrees that the archive is broken
      const gnuSays = run('tar', ['-tf', f]);
      expect(gnuSays.status).not.toBe(0);
      expect(gnuSays.stderr).toMatch(/Unexpected EOF|not stopped at a record boundary/);
      // Cut inside a header: GNU tar stops there silently; we say the archive is cut short.
      fs.writeFileSync(f, whole.subarray(0, at + 100));
      e = await codeOf(treeFromTar(f, new FileTree(), '/'));
      expect(e.code).toBe('TAR_TRUNCATED');
      expect(typeof e.data.entry).toBe('string');
    });

    it('a declared size far larger than the archive is TAR_SIZE_EXCEEDS_ARCHIVE', async () => {
      const buf = await packTar([{ header: { name: 'small', type: 'file' }, data: 'tiny' }, { header: { name: 'next', type: 'file' }, data: 'x' }]);
      buf.write('77777777777\0', 124, 'latin1'); // 8 GiB - 1
      fixChecksum(buf, 0);
      const f = path.join(tmp.dir, 'huge.tar');
      fs.writeFileSync(f, buf);
      const e = await codeOf(treeFromTar(f, new FileTree(), '/'));
      expect(e.code).toBe('TAR_SIZE_EXCEEDS_ARCHIVE');
      expect(e.data.entry).toBe('small');
      expect(e.data.expected).toBe(8 * 1024 ** 3 - 1);
    });

    it('a path given twice is TREE_DUPLICATE (GNU tar writes such archives)', async () => {
      const f = path.join(tmp.dir, 'dup.tar');
      expect(run('tar', ['-cf', f, '-C', src, 'etc/passwd', 'etc/passwd']).status).toBe(0);
      const e = await codeOf(treeFromTar(f, new FileTree(), '/'));
      expect(e.code).toBe('TREE_DUPLICATE');
      expect(e.data.path).toBe('/etc/passwd');
      expect(String(e.data.origin)).toContain('etc/passwd');
    });

    it('a broken header checksum, or not a tar at all, is TAR_HEADER_INVALID', async () => {
      const buf = await packTar([{ header: { name: 'one', type: 'file' }, data: 'x' }, { header: { name: 'two', type: 'file' }, data: 'y' }]);
      buf[1024 + 3] ^= 0xff;
      const f = path.join(tmp.dir, 'bad.tar');
      fs.writeFileSync(f, buf);
      const e = await codeOf(treeFromTar(f, new FileTree(), '/'));
      expect(e.code).toBe('TAR_HEADER_INVALID');
      expect(e.data.entry).toBe('one');
      fs.writeFileSync(f, Buffer.from('this is not a tar archive\n'.repeat(40)));
      expect((await codeOf(treeFromTar(f, new FileTree(), '/'))).code).toBe('TAR_HEADER_INVALID');
    });

    it('GNU sparse members are TAR_UNSUPPORTED_ENTRY; a broken gzip stream is TAR_GZIP_INVALID', async () => {
      const d = path.join(tmp.dir, 'sp');
      fs.mkdirSync(d, { recursive: true });
      const fd = fs.openSync(path.join(d, 'holes'), 'w');
      fs.writeSync(fd, 'data', 1 << 20);
      fs.ftruncateSync(fd, 4 << 20);
      fs.closeSync(fd);
      for (const format of ['gnu', 'pax']) {
        const f = path.join(tmp.dir, `sparse-${format}.tar`);
        expect(run('tar', [`--format=${format}`, '--sparse', '-cf', f, '-C', d, 'holes']).status).toBe(0);
        const e = await codeOf(treeFromTar(f, new FileTree(), '/'));
        expect(e.code).toBe('TAR_UNSUPPORTED_ENTRY');
      }
      const gz = path.join(tmp.dir, 'broken.tar.gz');
      expect(run('tar', ['-czf', gz, '-C', src, 'etc']).status).toBe(0);
      const bytes = fs.readFileSync(gz);
      fs.writeFileSync(gz, bytes.subarray(0, bytes.length - 12));
      expect((await codeOf(treeFromTar(gz, new FileTree(), '/'))).code).toBe('TAR_GZIP_INVALID');
    });
  });
});
