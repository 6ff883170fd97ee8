// newc cpio writer: checked by GNU cpio (listing and extraction) and by the
// reverse direction (our reader over archives GNU cpio wrote).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildCpio, cpioSize, decodeCpioHeader, readCpio, CpioNewcHeader } from '../../src/image/cpio.js';
import { FileTree } from '../../src/tree/tree.js';
import { bytesSource, textSource } from '../../src/io/source.js';
import { isDiskwrightError } from '../../src/errors.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';

const T = (sec: number) => ({ sec, nsec: 0 });
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function sampleTree(): FileTree {
  const t = new FileTree({ defaultTime: T(1_700_000_000) });
  t.addDir('/bin', { mode: 0o755, mtime: T(1_600_000_000) });
  t.addFile('/bin/busybox', bytesSource(new Uint8Array(5001).map((_, i) => (i * 7) & 0xff)), { mode: 0o4755, mtime: T(1_500_000_000) });
  t.addSymlink('/bin/sh', 'busybox', { mtime: T(1_500_000_001) });
  t.addFile('/etc/motd', textSource('hello from diskwright\n'), { mode: 0o640, uid: 1000, gid: 100, mtime: T(1_234_567_890) });
  t.addHardlink('/etc/motd.link', '/etc/motd');
  t.addFile('/empty', bytesSource(new Uint8Array(0)), { mtime: T(42) });
  t.addDevice('/dev/console', 'char', 5, 1, { mode: 0o600 });
  t.addDevice('/dev/vda', 'block', 254, 0, { mode: 0o660 });
  t.addSpecial('/run/fifo', 'fifo', { mode: 0o644 });
  t.addFile('/init', textSource('#!/bin/sh\necho init\n'), { mode: 0o755, mtime: T(1_700_000_123) });
  return t;
}

describe('buildCpio', () => {
  it('the header table is 110 bytes of ASCII fields', () => {
    expect(CpioNewcHeader.size).toBe(110);
    expect(CpioNewcHeader.offsetOf('c_namesize')).toBe(94);
  });

  it('is deterministic and its size is known before writing', () => {
    const a = buildCpio(sampleTree());
    const b = buildCpio(sampleTree());
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(a.length).toBe(cpioSize(sampleTree()));
    expect(a.length % 4).toBe(0);
    expect(decodeCpioHeader(a, 0).magic).toBe('070701');
  });

  it('our reader sees every entry, hard links sharing an inode with the data on the last name', () => {
    const entries = readCpio(buildCpio(sampleTree(), { owner: 'root' }));
    const names = entries.map((e) => e.name);
    expect(names).toEqual(['bin', 'bin/busybox', 'bin/sh', 'dev', 'dev/console', 'dev/vda', 'empty', 'etc', 'etc/motd', 'etc/motd.link', 'init', 'run', 'run/fifo']);
    const motd = entries.find((e) => e.name === 'etc/motd')!;
    const link = entries.find((e) => e.name === 'etc/motd.link')!;
    expect(motd.header.ino).toBe(link.header.ino);
    expect(motd.header.nlink).toBe(2);
    expect(motd.header.filesize).toBe(0);
    expect(new TextDecoder().decode(link.data)).toBe('hello from diskwright\n');
    expect(entries.every((e) => e.header.uid === 0 && e.header.gid === 0)).toBe(true);
    const sh = entries.find((e) => e.name === 'bin/sh')!;
    expect(sh.header.mode).toBe(0o120777);
    expect(new TextDecoder().decode(sh.data)).toBe('busybox');
    const con = entries.find((e) => e.name === 'dev/console')!;
    expect([con.header.mode, con.header.rdevmajor, con.header.rdevminor]).toEqual([0o020600, 5, 1]);
  });

  it('rejects what newc cannot hold, with a code', () => {
    const t = new FileTree();
    t.addFile('/old', textSource('x'), { mtime: T(-1) });
    expect(() => buildCpio(t)).toThrow(expect.objectContaining({ code: 'CPIO_FIELD_RANGE' }));
  });

  it('the reader rejects truncated and foreign archives with codes', () => {
    const a = buildCpio(sampleTree());
    const codeOf = (f: () => unknown) => { try { f(); return null; } catch (e) { return isDiskwrightError(e) ? e.code : String(e); } };
    expect(codeOf(() => readCpio(a.subarray(0, a.length - 200)))).toBe('CPIO_TRUNCATED');
    const bad = a.slice(); bad[5] = 0x32; // 070702 is the crc variant, not newc
    expect(codeOf(() => readCpio(bad))).toBe('CPIO_BAD_HEADER');
    const hex = a.slice(); hex[60] = 0x5a; // 'Z' inside c_filesize
    expect(codeOf(() => readCpio(hex))).toBe('CPIO_BAD_HEADER');
    const noTrailer = a.subarray(0, a.length - 124);
    expect(codeOf(() => readCpio(noTrailer))).toBe('CPIO_TRUNCATED');
  });
});

describe.skipIf(!haveTools('cpio'))('GNU cpio reads what we write, and we read what it writes', () => {
  it('cpio -it lists our archive and cpio -idm extracts it exactly', () => {
    const archive = buildCpio(sampleTree());
    const list = run('cpio', ['-it', '--quiet'], { input: archive });
    expect(list.status).toBe(0);
    expect(list.stderr).toBe('');
    expect(list.stdout.trim().split('\n')).toEqual(readCpio(archive).map((e) => e.name));

    const { dir, cleanup } = tempDir('dw-cpio-');
    try {
      // Device nodes need root to extract (cpio warns otherwise; the rest still lands).
      const x = run('cpio', ['-idm', '--quiet', '--no-absolute-filenames'], { input: archive, cwd: dir });
      if (isRoot) expect([x.status, x.stderr]).toEqual([0, '']);
      const bb = fs.readFileSync(path.join(dir, 'bin/busybox'));
      expect(bb.equals(Buffer.from(new Uint8Array(5001).map((_, i) => (i * 7) & 0xff)))).toBe(true);
      const st = fs.lstatSync(path.join(dir, 'bin/busybox'));
      expect(st.mode & 0o7777).toBe(0o4755);
      expect(st.mtimeMs / 1000).toBe(1_500_000_000);
      expect(fs.readlinkSync(path.join(dir, 'bin/sh'))).toBe('busybox');
      const m1 = fs.statSync(path.join(dir, 'etc/motd'));
      const m2 = fs.statSync(path.join(dir, 'etc/motd.link'));
      expect(m1.ino).toBe(m2.ino);
      expect(m1.nlink).toBe(2);
      expect(fs.readFileSync(path.join(dir, 'etc/motd'), 'utf8')).toBe('hello from diskwright\n');
      expect(m1.mode & 0o777).toBe(0o640);
      expect(m1.mtimeMs / 1000).toBe(1_234_567_890);
      expect(fs.statSync(path.join(dir, 'empty')).size).toBe(0);
      expect(fs.statSync(path.join(dir, 'init')).mode & 0o777).toBe(0o755);
      if (isRoot) {
        expect([m1.uid, m1.gid]).toEqual([1000, 100]);
        const con = fs.statSync(path.join(dir, 'dev/console'));
        expect(con.isCharacterDevice()).toBe(true);
        expect(con.rdev).toBe((5 << 8) | 1);
        const vda = fs.statSync(path.join(dir, 'dev/vda'));
        expect(vda.isBlockDevice()).toBe(true);
        expect(vda.rdev).toBe((254 << 8) | 0);
        expect(fs.statSync(path.join(dir, 'run/fifo')).isFIFO()).toBe(true);
      }
    } finally {
      cleanup();
    }
  });

  it('readCpio reads an archive GNU cpio wrote with -H newc', () => {
    const { dir, cleanup } = tempDir('dw-cpio-src-');
    try {
      fs.mkdirSync(path.join(dir, 'a/b'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'a/b/data.bin'), Buffer.alloc(777, 0xab));
      fs.writeFileSync(path.join(dir, 'a/one'), 'one\n');
      fs.linkSync(path.join(dir, 'a/one'), path.join(dir, 'a/two'));
      fs.symlinkSync('b/data.bin', path.join(dir, 'a/ln'));
      fs.chmodSync(path.join(dir, 'a/one'), 0o600);
      const names = 'a\na/b\na/b/data.bin\na/ln\na/one\na/two\n';
      const out = run('sh', ['-c', 'cpio -o -H newc --quiet | base64 -w0'], { input: names, cwd: dir });
      expect(out.status).toBe(0);
      const archive = new Uint8Array(Buffer.from(out.stdout, 'base64'));
      const entries = readCpio(archive);
      expect(entries.map((e) => e.name)).toEqual(['a', 'a/b', 'a/b/data.bin', 'a/ln', 'a/one', 'a/two']);
      const data = entries.find((e) => e.name === 'a/b/data.bin')!;
      expect(Buffer.from(data.data).equals(Buffer.alloc(777, 0xab))).toBe(true);
      expect(new TextDecoder().decode(entries.find((e) => e.name === 'a/ln')!.data)).toBe('b/data.bin');
      const one = entries.find((e) => e.name === 'a/one')!;
      const two = entries.find((e) => e.name === 'a/two')!;
      expect(one.header.ino).toBe(two.header.ino);
      expect(one.header.mode).toBe(0o100600);
      // GNU cpio puts the data of a hard-linked file on its last name, as we do.
      expect([one.header.filesize, two.header.filesize]).toEqual([0, 4]);
    } finally {
      cleanup();
    }
  });

  it('property: random trees list and extract identically through GNU cpio', () => {
    const name = fc.stringMatching(/^[a-z0-9_.-]{1,12}$/).filter((s) => s !== '.' && s !== '..');
    const file = fc.record({ dir: fc.constantFrom('', '/d1', '/d1/d2', '/e'), name, size: fc.nat(3000), seed: fc.nat(255), mtime: fc.nat(0xffffffff), mode: fc.nat(0o777) });
    fc.assert(fc.property(fc.uniqueArray(file, { minLength: 1, maxLength: 12, selector: (f) => f.name }), (files) => {
      const t = new FileTree();
      for (const f of files) {
        t.addFile(`${f.dir}/${f.name}`, bytesSource(new Uint8Array(f.size).map((_, i) => (i + f.seed) & 0xff)), { mode: f.mode | 0o400, mtime: T(f.mtime) });
      }
      const archive = buildCpio(t);
      const ours = readCpio(archive).map((e) => e.name);
      const list = run('cpio', ['-it', '--quiet'], { input: archive });
      expect(list.stdout.trim().split('\n')).toEqual(ours);
      const { dir, cleanup } = tempDir('dw-cpio-p-');
      try {
        const x = run('cpio', ['-idm', '--quiet'], { input: archive, cwd: dir });
        expect(x.status).toBe(0);
        for (const f of files) {
          const p = path.join(dir, f.dir, f.name);
          const got = fs.readFileSync(p);
          expect(got.equals(Buffer.from(new Uint8Array(f.size).map((_, i) => (i + f.seed) & 0xff)))).toBe(true);
          const st = fs.statSync(p);
          expect(st.mode & 0o777).toBe(f.mode | 0o400);
          expect(Math.round(st.mtimeMs / 1000)).toBe(f.mtime);
        }
      } finally {
        cleanup();
      }
    }), { numRuns: 25, seed: 7 });
  });
});
