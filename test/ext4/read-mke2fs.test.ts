// Images made by mke2fs -d (and debugfs ea_set for xattrs) with varied
// options are read by us equal to their source trees: names, bytes, modes,
// owners, mtimes, symlink targets, hardlink identity, device numbers, xattrs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileDisk } from '../../src/node/file-source.js';
import { openExt4 } from '../../src/ext4/read.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';
import { walkExt4, type WalkedEntry } from './read-walk.js';

const TOOLS = ['mke2fs', 'e2fsck', 'debugfs', 'mknod', 'mkfifo'];

interface Expected {
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  mtimeNs: bigint;
  hostIno: number;
  target?: string;
  major?: number;
  minor?: number;
  data?: Uint8Array;
}

/** A source tree with every kind of entry the reader must handle. */
function makeTree(root: string, opts: { bigDir: boolean }): void {
  const w = (p: string, data: string | Uint8Array, mode = 0o644) => {
    fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    fs.writeFileSync(path.join(root, p), data);
    fs.chmodSync(path.join(root, p), mode);
  };
  w('empty', '');
  w('small.txt', 'hello ext4\n');
  w('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n', 0o600);
  const big = new Uint8Array(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 9)) & 0xff;
  w('bin/big.bin', big, 0o755);
  w('bin/suid', '#!/bin/sh\n', 0o4755);
  w('bin/sgid', '#!/bin/sh\n', 0o2711);
  fs.mkdirSync(path.join(root, 'tmp'));
  fs.chmodSync(path.join(root, 'tmp'), 0o1777);
  // sparse: data, a hole, data, and a trailing hole
  const sp = path.join(root, 'sparse.img');
  const fd = fs.openSync(sp, 'w');
  fs.writeSync(fd, Buffer.alloc(5000, 0x41), 0, 5000, 0);
  fs.writeSync(fd, Buffer.from('tail-data'), 0, 9, 3 * 1024 * 1024);
  fs.ftruncateSync(fd, 5 * 1024 * 1024);
  fs.closeSync(fd);
  // owners
  w('home/user/notes', 'mine\n');
  fs.chownSync(path.join(root, 'home/user/notes'), 1000, 1001);
  fs.chownSync(path.join(root, 'home/user'), 1000, 1001);
  w('home/big-ids', 'ids\n');
  fs.chownSync(path.join(root, 'home/big-ids'), 70000, 80000);
  // hard links
  w('links/a', 'shared bytes\n');
  fs.linkSync(path.join(root, 'links/a'), path.join(root, 'links/b'));
  fs.linkSync(path.join(root, 'links/a'), path.join(root, 'etc/c'));
  // symlinks: fast (< 60 bytes) and slow
  fs.symlinkSync('small.txt', path.join(root, 'short-link'));
  fs.symlinkSync('/' + 'long-directory-name/'.repeat(8) + 'target', path.join(root, 'long-link'));
  fs.symlinkSync('../etc/passwd', path.join(root, 'bin/rel-link'));
  // devices, fifo
  fs.mkdirSync(path.join(root, 'dev'));
  run('mknod', ['-m', '0666', path.join(root, 'dev/null'), 'c', '1', '3']);
  run('mknod', ['-m', '0660', path.join(root, 'dev/sda1'), 'b', '8', '1']);
  run('mknod', ['-m', '0600', path.join(root, 'dev/nvme'), 'b', '259', '300']);
  run('mkfifo', ['-m', '0640', path.join(root, 'dev/fifo')]);
  // non-ASCII name
  w('dir/ünïcødé name.txt', 'utf-8 name\n');
  if (opts.bigDir) {
    fs.mkdirSync(path.join(root, 'many'));
    for (let i = 0; i < 3000; i++) fs.writeFileSync(path.join(root, 'many', `entry-${String(i).padStart(5, '0')}-with-a-longer-name`), i % 10 === 0 ? `n${i}` : '');
  }
  // fixed times so that mtimes are checked, not taken from the clock
  const stamp = (p: string, t: number) => fs.lutimesSync(p, t, t);
  const all: string[] = [];
  const collect = (d: string) => {
    for (const n of fs.readdirSync(d)) {
      const p = path.join(d, n);
      all.push(p);
      if (fs.lstatSync(p).isDirectory()) collect(p);
    }
  };
  collect(root);
  all.reverse().forEach((p, i) => stamp(p, 1_600_000_000 + i * 37));
  // past 2038 (epoch bits in i_mtime_extra) and with nanoseconds
  w('future', 'y2038\n');
  fs.utimesSync(path.join(root, 'future'), 4_102_444_800.5, 4_102_444_800.25);
}

function expectedTree(root: string): Expected[] {
  const out: Expected[] = [];
  const visit = (rel: string) => {
    for (const n of fs.readdirSync(path.join(root, rel)).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      const st = fs.lstatSync(path.join(root, r), { bigint: false });
      const stNs = fs.lstatSync(path.join(root, r), { bigint: true }).mtimeNs;
      const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : st.isFIFO() ? 'fifo' : 'socket';
      const e: Expected = {
        path: '/' + r, type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid,
        size: type === 'file' || type === 'symlink' ? st.size : 0, mtime: Number(stNs / 1_000_000_000n), mtimeNs: stNs, hostIno: st.ino,
      };
      if (type === 'symlink') e.target = fs.readlinkSync(path.join(root, r));
      if (type === 'char' || type === 'block') { e.major = Math.floor(st.rdev / 256) & 0xfff; e.minor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00); }
      if (type === 'file') e.data = new Uint8Array(fs.readFileSync(path.join(root, r)));
      out.push(e);
      if (type === 'dir') visit(r);
    }
  };
  visit('');
  return out;
}

function debugfsSize(img: string, p: string): number {
  const out = run('debugfs', ['-R', `stat ${p}`, img]).stdout;
  const m = /Size: (\d+)/.exec(out);
  if (!m) throw new Error(`debugfs stat ${p}: no size in ${out}`);
  return Number(m[1]);
}

const CONFIGS: Array<{ name: string; args: string[]; bigDir: boolean; trailingHoleLost?: boolean }> = [
  { name: 'ext4 4k (defaults: 64bit, metadata_csum, extents, flex_bg)', args: ['-t', 'ext4', '-b', '4096'], bigDir: true },
  { name: 'ext4 1k, 32-bit descriptors', args: ['-t', 'ext4', '-b', '1024', '-O', '^64bit'], bigDir: true },
  { name: 'ext4 2k, no metadata_csum (uninit_bg crc16)', args: ['-t', 'ext4', '-b', '2048', '-O', '^metadata_csum,uninit_bg'], bigDir: false },
  { name: 'ext4 128-byte inodes', args: ['-t', 'ext4', '-I', '128'], bigDir: false },
  // mke2fs 1.47.0 with inline_data drops a file's trailing hole from i_size (debugfs stat shows the same)
  { name: 'ext4 inline_data', args: ['-t', 'ext4', '-O', 'inline_data'], bigDir: false, trailingHoleLost: true },
  { name: 'ext4 meta_bg', args: ['-t', 'ext4', '-b', '1024', '-O', 'meta_bg,^resize_inode'], bigDir: false },
  { name: 'ext3 (block maps, journal)', args: ['-t', 'ext3'], bigDir: true },
  { name: 'ext2 (block maps) 1k', args: ['-t', 'ext2', '-b', '1024'], bigDir: false },
];

const XATTRS: Array<[string, string, string]> = [
  ['/small.txt', 'user.small', 'hello'],
  ['/small.txt', 'user.big', 'x'.repeat(600)],
  ['/bin/big.bin', 'security.selinux', 'system_u:object_r:bin_t:s0'],
  ['/tmp', 'trusted.t', 'dir-attr'],
];

describe.skipIf(!haveTools(...TOOLS))('reading mke2fs images', () => {
  let tmp: { dir: string; cleanup: () => void };
  let src: string;
  let expected: Expected[];
  let expectedBig: Expected[];
  beforeAll(() => {
    tmp = tempDir('dw-ext4-read-');
    src = path.join(tmp.dir, 'src');
    fs.mkdirSync(src);
    makeTree(src, { bigDir: false });
    expected = expectedTree(src);
    const srcBig = path.join(tmp.dir, 'src-big');
    fs.mkdirSync(srcBig);
    makeTree(srcBig, { bigDir: true });
    expectedBig = expectedTree(srcBig);
  });
  afterAll(() => tmp?.cleanup());

  it.each(CONFIGS)('$name', ({ name, args, bigDir, trailingHoleLost }) => {
    const img = path.join(tmp.dir, `${name.replace(/\W+/g, '_')}.img`);
    const root = bigDir ? path.join(tmp.dir, 'src-big') : src;
    const want = bigDir ? expectedBig : expected;
    fs.writeFileSync(img, '');
    fs.truncateSync(img, 32 * 1024 * 1024);
    const mk = run('mke2fs', ['-q', '-F', '-E', 'root_owner=0:0', ...args, '-d', root, img], { env: { E2FSPROGS_FAKE_TIME: '1600000000' } });
    expect(mk.status, mk.stderr).toBe(0);
    if (bigDir) {
      // mke2fs -d writes linear directories; e2fsck -D rebuilds the big one as an htree
      const fsck = run('e2fsck', ['-fyD', img]);
      expect(fsck.status, fsck.stdout + fsck.stderr).toBeLessThan(2);
      expect(run('debugfs', ['-R', 'htree /many', img]).stdout).toMatch(/Root node dump/);
    }
    // mke2fs 1.47.0 -d copies whole seconds only: set a post-2038 time with
    // nanoseconds by hand (i_mtime_extra = nsec << 2 | epoch bits)
    const small = args.includes('-I');
    const timeCmds = ['sif /future mtime 0x12345678', ...(small ? [] : ['sif /future mtime_extra 0x0d'])];
    const cmds = [...XATTRS.map(([p, n, v]) => `ea_set ${p} ${n} ${v}`), ...timeCmds].join('\n') + '\n';
    const ea = run('debugfs', ['-w', '-f', '-', img], { input: cmds });
    expect(ea.stderr).not.toMatch(/rror|annot/);

    const disk = openFileDisk(img);
    try {
      const r = openExt4(disk);
      const info = r.info();
      expect(info.type).toBe(args[1]);
      expect(info.blockSize).toBe(args.includes('-b') ? Number(args[args.indexOf('-b') + 1]) : info.blockSize);
      const got = walkExt4(r).filter((e) => e.path !== '/lost+found');
      expect(got.map((e) => e.path).sort()).toEqual(want.map((e) => e.path).sort());
      const byPath = new Map<string, WalkedEntry>(got.map((e) => [e.path, e]));
      const inoOfHost = new Map<number, number>();
      const smallInodes = r.superblock.s_inode_size === 128;
      for (const e0 of want) {
        const g = byPath.get(e0.path)!;
        let e = e0;
        if (e0.path === '/future') {
          // 0x12345678 + epoch 1 (2^32 s), 3 ns; 128-byte inodes have no _extra field
          const sec = 0x12345678 + (smallInodes ? 0 : 2 ** 32);
          const nsec = smallInodes ? 0 : 3;
          e = { ...e0, mtime: sec, mtimeNs: BigInt(sec) * 1_000_000_000n + BigInt(nsec) };
        }
        if (trailingHoleLost && e0.path === '/sparse.img') {
          expect(g.size).toBe(debugfsSize(img, e0.path));
          e = { ...e0, size: g.size, data: e0.data!.subarray(0, g.size) };
        }
        // (a directory's size is its blocks on ext, not the host's)
        expect({ path: e.path, type: g.type, mode: g.mode, uid: g.uid, gid: g.gid, size: e.type === 'dir' ? 0 : g.size, mtime: g.mtime }).toEqual({
          path: e.path, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, size: e.size, mtime: e.mtime,
        });
        if (!smallInodes || e.path === '/future') expect(BigInt(g.mtime) * 1_000_000_000n + BigInt(g.mtimeNsec), `${e.path} mtime ns`).toBe(e.mtimeNs);
        if (e.target !== undefined) expect(g.target).toBe(e.target);
        if (e.major !== undefined) expect({ major: g.major, minor: g.minor }).toEqual({ major: e.major, minor: e.minor });
        if (e.data) expect(Buffer.from(g.data!).equals(Buffer.from(e.data)), `${e.path} bytes`).toBe(true);
        // hardlink identity: same host inode ⇔ same ext inode
        if (e.type !== 'dir') {
          const prev = inoOfHost.get(e.hostIno);
          if (prev !== undefined) expect(g.ino, `${e.path} shares its inode`).toBe(prev);
          else inoOfHost.set(e.hostIno, g.ino);
        }
      }
      expect(new Set(got.filter((e) => e.type !== 'dir').map((e) => e.ino)).size).toBe(inoOfHost.size);
      expect(byPath.get('/links/a')!.nlink).toBe(3);
      // xattrs as debugfs set them
      for (const [p, n, v] of XATTRS) {
        const xs = r.listXattrs(p);
        const x = xs.find((a) => a.name === n);
        expect(x && Buffer.from(x.value).toString(), `${p} ${n}`).toBe(v);
      }
      // sparse: holes read as zeros and are not mapped
      const ext = r.fileExtents('/sparse.img');
      expect(ext.reduce((s, x) => s + x.length, 0)).toBeLessThan(64 * 1024);
      // ranges, across the hole and the data after it
      const whole = r.readFile('/sparse.img');
      for (const [o, n] of [[0, 10], [4990, 20], [3 * 1024 * 1024 - 3, 20], [whole.length - 5, 100], [whole.length + 7, 4]]) {
        expect(Buffer.from(r.readFileRange('/sparse.img', o, n)).equals(Buffer.from(whole.subarray(o, o + n))), `range ${o}+${n}`).toBe(true);
      }
      // paths through symlinks
      expect(Buffer.from(r.readFile('/bin/rel-link')).toString()).toBe('root:x:0:0:root:/root:/bin/sh\n');
      expect(r.stat('/short-link').type).toBe('symlink');
    } finally {
      disk.close();
    }
  });
});
