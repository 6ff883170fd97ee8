// In place inside images made by the classic tools (sgdisk/sfdisk, mkfs.fat,
// mtools, grub-editenv): diskwright finds the env file, rewrites it through
// the FAT reader, and nothing outside the file's clusters changes.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { memoryDisk, subDisk, type Disk } from '../../src/io/disk.js';
import { openFat } from '../../src/fat32/read.js';
import { isDiskwrightError } from '../../src/errors.js';
import { editBootenvInPlace, locateBootenv, type BootenvPartition } from '../../src/bootenv/locate.js';
import { formatAutoboot } from '../../src/bootenv/autoboot.js';
import { bootenvCommand } from '../../src/cli/commands/bootenv.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';

const MiB = 1024 * 1024;

function probe(d: Disk) {
  try { return openFat(d); } catch (e) { if (isDiskwrightError(e)) return null; throw e; }
}

function ok(tool: string, args: string[]): string {
  const r = run(tool, args);
  if (r.status !== 0) throw new Error(`${tool} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Partitions as sfdisk --json reports them (the oracle's view, not ours). */
function partitionsOf(img: string, disk: Disk): BootenvPartition[] {
  const j = JSON.parse(ok('sfdisk', ['--json', img])) as { partitiontable: { partitions: Array<{ node: string; start: number; size: number; type: string }> } };
  return j.partitiontable.partitions.map((p) => {
    const index = Number(/(\d+)$/.exec(p.node)![1]);
    const t = /^[0-9a-f]{1,2}$/i.test(p.type) ? `0x${p.type.padStart(2, '0').toLowerCase()}` : p.type.toUpperCase();
    return { index, type: t, disk: subDisk(disk, p.start * 512, p.size * 512), start: p.start * 512 } as BootenvPartition & { start: number };
  });
}

/** Every byte that differs lies inside the given absolute extents. */
function expectOnlyInside(before: Uint8Array, after: Uint8Array, extents: Array<{ offset: number; length: number }>): number {
  expect(after.length).toBe(before.length);
  let changed = 0;
  const CH = 64 * 1024;
  for (let c = 0; c < before.length; c += CH) {
    const end = Math.min(before.length, c + CH);
    if (Buffer.from(before.buffer, before.byteOffset + c, end - c).equals(Buffer.from(after.buffer, after.byteOffset + c, end - c))) continue;
    for (let i = c; i < end; i++) {
      if (before[i] === after[i]) continue;
      changed++;
      const inside = extents.some((e) => i >= e.offset && i < e.offset + e.length);
      if (!inside) throw new Error(`byte ${i} changed outside the file`);
    }
  }
  return changed;
}

describe.skipIf(!haveTools('sgdisk', 'sfdisk', 'mkfs.fat', 'mcopy', 'mmd', 'grub-editenv', 'fsck.fat'))('bootenv in place', () => {
  it('GPT + FAT32 ESP: grubenv edited by diskwright is read by grub-editenv, and nothing else changes', () => {
    const { dir, cleanup } = tempDir();
    try {
      const img = path.join(dir, 'disk.img');
      fs.writeFileSync(img, new Uint8Array(0));
      fs.truncateSync(img, 80 * MiB);
      ok('sgdisk', ['-n1:2048:+64M', '-t1:ef00', '-c1:ESP', '-n2:0:+6M', '-t2:8300', '-c2:SYSTEM-A', '-n3:0:+6M', '-t3:8300', '-c3:SYSTEM-B', img]);
      ok('mkfs.fat', ['-F', '32', '-s', '1', '-n', 'ESP', '--offset', '2048', img, String(64 * 1024)]);
      const at = `${img}@@${MiB}`;
      const env = path.join(dir, 'grubenv');
      ok('grub-editenv', [env, 'create']);
      ok('grub-editenv', [env, 'set', 'boot_default=A', 'boot_counter=0', 'boot_success=1', 'saved_entry=keep me']);
      const other = path.join(dir, 'other.bin');
      fs.writeFileSync(other, Buffer.alloc(5000, 7));
      ok('mmd', ['-i', at, '::/EFI', '::/EFI/BOOT']);
      ok('mcopy', ['-i', at, other, '::/EFI/BOOT/BOOTX64.EFI']);
      ok('mcopy', ['-i', at, env, '::/EFI/BOOT/grubenv']);

      const bytes = new Uint8Array(fs.readFileSync(img));
      const before = bytes.slice();
      const disk = memoryDisk(bytes);
      const parts = partitionsOf(img, disk);
      expect(parts[0].type).toBe('C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
      const loc = locateBootenv(parts, probe);
      expect(loc.kind).toBe('grubenv');
      expect(loc.partition).toBe(1);
      expect(loc.path).toBe('/EFI/BOOT/grubenv');

      const res = editBootenvInPlace(loc, 'try', ['2']);
      expect(new TextDecoder().decode(res.output)).toBe('committed=A\ntrying=B\ntries_left=2\nconfirmed=0\n');
      editBootenvInPlace(loc, 'set', ['note=a\\b c=d']);
      const ext = loc.reader.fileExtents(loc.path).map((e) => ({ offset: e.offset + MiB, length: e.length }));
      expect(ext.reduce((a, e) => a + e.length, 0)).toBe(1024);
      const changed = expectOnlyInside(before, bytes, ext);
      expect(changed).toBeGreaterThan(0);

      fs.writeFileSync(img, bytes);
      const out = path.join(dir, 'out');
      ok('mcopy', ['-i', at, '::/EFI/BOOT/grubenv', out]);
      expect(fs.statSync(out).size).toBe(1024);
      expect(ok('grub-editenv', [out, 'list'])).toBe('boot_default=B\nboot_counter=2\nboot_success=0\nsaved_entry=keep me\nnote=a\\b c=d\n');
      // the filesystem is still clean
      const part = path.join(dir, 'esp.img');
      fs.writeFileSync(part, bytes.subarray(MiB, MiB + 64 * MiB));
      const fsck = run('fsck.fat', ['-n', part]);
      expect(fsck.status).toBe(0);
      expect(fsck.stdout).not.toMatch(/differ|corrupt|mark|broken|invalid/i);
    } finally { cleanup(); }
  });

  it('GRUB: /boot/grub/grubenv on the first FAT partition of an MBR disk, and --file names another place', () => {
    const { dir, cleanup } = tempDir();
    try {
      const img = path.join(dir, 'disk.img');
      fs.writeFileSync(img, new Uint8Array(0));
      fs.truncateSync(img, 40 * MiB);
      expect(run('sfdisk', ['-q', img], { input: 'label: dos\n2048,4096,83\n6144,65536,c\n' }).status).toBe(0);
      const start = 6144 * 512;
      ok('mkfs.fat', ['-F', '16', '--offset', '6144', img, String(32 * 1024)]);
      const at = `${img}@@${start}`;
      const env = path.join(dir, 'grubenv');
      ok('grub-editenv', [env, 'create']);
      ok('mmd', ['-i', at, '::/boot', '::/boot/grub', '::/alt']);
      ok('mcopy', ['-i', at, env, '::/boot/grub/grubenv']);
      ok('mcopy', ['-i', at, env, '::/alt/grubenv']);
      const bytes = new Uint8Array(fs.readFileSync(img));
      const before = bytes.slice();
      const parts = partitionsOf(img, memoryDisk(bytes));
      const loc = locateBootenv(parts, probe);
      expect([loc.partition, loc.path]).toEqual([2, '/boot/grub/grubenv']);
      editBootenvInPlace(loc, 'slot', ['B']);
      const alt = locateBootenv(parts, probe, { file: { partition: 2, path: '/alt/grubenv' } });
      editBootenvInPlace(alt, 'set', ['x=1']);
      const ext = [...loc.reader.fileExtents(loc.path), ...alt.reader.fileExtents('/alt/grubenv')].map((e) => ({ offset: e.offset + start, length: e.length }));
      expectOnlyInside(before, bytes, ext);
      fs.writeFileSync(img, bytes);
      const o1 = path.join(dir, 'o1');
      const o2 = path.join(dir, 'o2');
      ok('mcopy', ['-i', at, '::/boot/grub/grubenv', o1]);
      ok('mcopy', ['-i', at, '::/alt/grubenv', o2]);
      expect(ok('grub-editenv', [o1, 'list'])).toBe('boot_default=B\nboot_counter=0\nboot_success=1\n');
      expect(ok('grub-editenv', [o2, 'list'])).toBe('x=1\n');
    } finally { cleanup(); }
  });

  it('Raspberry Pi MBR: autoboot.txt on partition 1 switches slots in place', () => {
    const { dir, cleanup } = tempDir();
    try {
      const img = path.join(dir, 'pi.img');
      fs.writeFileSync(img, new Uint8Array(0));
      fs.truncateSync(img, 128 * MiB);
      const r = run('sfdisk', ['-q', img], { input: 'label: dos\n2048,131072,c\n133120,16384,c\n149504,16384,c\n165888,,83\n' });
      expect(r.status).toBe(0);
      ok('mkfs.fat', ['-F', '32', '-s', '1', '--offset', '2048', img, String(64 * 1024)]);
      const at = `${img}@@${MiB}`;
      const ab = path.join(dir, 'autoboot.txt');
      fs.writeFileSync(ab, formatAutoboot({ committed: 'A' }));
      ok('mcopy', ['-i', at, ab, '::/autoboot.txt']);
      ok('mcopy', ['-i', at, ab, '::/config.txt']);
      const bytes = new Uint8Array(fs.readFileSync(img));
      const before = bytes.slice();
      const parts = partitionsOf(img, memoryDisk(bytes));
      expect(parts.map((p) => p.type)).toEqual(['0x0c', '0x0c', '0x0c', '0x83']);
      const loc = locateBootenv(parts, probe);
      expect([loc.kind, loc.partition, loc.path]).toEqual(['autoboot', 1, '/autoboot.txt']);
      editBootenvInPlace(loc, 'slot', ['B']);
      editBootenvInPlace(loc, 'set', ['[all]dtoverlay=vc4-kms-v3d']);
      const ext = loc.reader.fileExtents(loc.path).map((e) => ({ offset: e.offset + MiB, length: e.length }));
      expectOnlyInside(before, bytes, ext);
      fs.writeFileSync(img, bytes);
      const text = ok('mtype', ['-i', at, '::/autoboot.txt']);
      expect(text.length).toBe(256);
      expect(text.startsWith('[all]\ntryboot_a_b=1\nboot_partition=3\ndtoverlay=vc4-kms-v3d\n[tryboot]\nboot_partition=2\n#')).toBe(true);
      // config.txt is the same bytes as before
      expect(ok('mtype', ['-i', at, '::/config.txt'])).toBe(Buffer.from(formatAutoboot({ committed: 'A' })).toString('latin1'));
    } finally { cleanup(); }
  });

  it('the CLI edits the image file itself: diskwright bootenv IMG try 2 / good, read back with mtools and grub-editenv', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const img = path.join(dir, 'disk.img');
      fs.writeFileSync(img, new Uint8Array(0));
      fs.truncateSync(img, 72 * MiB);
      ok('sgdisk', ['-n1:2048:+64M', '-t1:ef00', '-n2:0:0', '-t2:8300', img]);
      ok('mkfs.fat', ['-F', '32', '-s', '1', '--offset', '2048', img, String(64 * 1024)]);
      const at = `${img}@@${MiB}`;
      const env = path.join(dir, 'grubenv');
      ok('grub-editenv', [env, 'create']);
      ok('mmd', ['-i', at, '::/EFI', '::/EFI/BOOT']);
      ok('mcopy', ['-i', at, env, '::/EFI/BOOT/grubenv']);
      const before = new Uint8Array(fs.readFileSync(img));
      let out = '';
      let err = '';
      const io = { stdout: (b: Uint8Array | string) => { out += typeof b === 'string' ? b : Buffer.from(b).toString('utf8'); }, stderr: (s: string) => { err += s; } };
      expect(await bootenvCommand([img, 'slot', 'A'], io)).toBe(0);
      expect(await bootenvCommand([img, 'try', '2'], io)).toBe(0);
      expect(await bootenvCommand([img, 'set', 'extra=x y'], io)).toBe(0);
      out = '';
      expect(await bootenvCommand([img, 'list'], io)).toBe(0);
      expect(out).toBe('boot_default=B\nboot_counter=2\nboot_success=0\nextra=x y\n');
      expect(err).toBe('');
      const after = new Uint8Array(fs.readFileSync(img));
      const reader = openFat(subDisk(memoryDisk(after, false), MiB, 64 * MiB));
      expectOnlyInside(before, after, reader.fileExtents('/EFI/BOOT/grubenv').map((e) => ({ offset: e.offset + MiB, length: e.length })));
      const o = path.join(dir, 'o');
      ok('mcopy', ['-i', at, '::/EFI/BOOT/grubenv', o]);
      expect(ok('grub-editenv', [o, 'list'])).toBe(out);
      // --file with a partition that does not exist, and a missing key
      expect(await bootenvCommand([img, 'list', '--file', 'p7:/x'], io)).toBe(1);
      expect(err).toMatch(/^diskwright: BOOTENV_NO_PARTITION: /);
      err = '';
      expect(await bootenvCommand([img, 'get', 'nope'], io)).toBe(1);
      expect(err).toMatch(/^diskwright: BOOTENV_UNSET: /);
    } finally { cleanup(); }
  });

  it('a missing env file is BOOTENV_NOT_FOUND with the places looked at', () => {
    const { dir, cleanup } = tempDir();
    try {
      const img = path.join(dir, 'fat.img');
      ok('mkfs.fat', ['-C', img, '8192']);
      const bytes = new Uint8Array(fs.readFileSync(img));
      try {
        locateBootenv([{ index: 0, type: '', disk: memoryDisk(bytes) }], probe);
        expect.unreachable();
      } catch (e) {
        expect(isDiskwrightError(e, 'BOOTENV_NOT_FOUND')).toBe(true);
        expect((e as { data: { looked: string[] } }).data.looked).toEqual(['p0:/autoboot.txt', 'p0:/EFI/BOOT/grubenv', 'p0:/boot/grub/grubenv', 'p0:/grub/grubenv']);
      }
    } finally { cleanup(); }
  });
});

describe.skipIf(!haveTools('mkfs.fat', 'mcopy', 'mdel', 'grub-editenv'))('grubenv placement', () => {
  it('a grubenv split over two runs of clusters is GRUBENV_FRAGMENTED, one run passes', async () => {
    const { checkGrubenvPlacement } = await import('../../src/bootenv/locate.js');
    const { dir, cleanup } = tempDir();
    try {
      const img = path.join(dir, 'fat.img');
      ok('mkfs.fat', ['-F', '16', '-s', '1', '-C', img, '8192']);
      const small = path.join(dir, 's');
      fs.writeFileSync(small, Buffer.alloc(512, 1));
      for (const n of ['a', 'b', 'c']) ok('mcopy', ['-i', img, small, `::/${n}`]);
      ok('mdel', ['-i', img, '::/b']);
      const env = path.join(dir, 'grubenv');
      ok('grub-editenv', [env, 'create']);
      ok('mcopy', ['-i', img, env, '::/grubenv']);
      ok('mcopy', ['-i', img, env, '::/grubenv2']);
      const disk = memoryDisk(new Uint8Array(fs.readFileSync(img)));
      const r = openFat(disk);
      expect(r.fileExtents('/grubenv').length).toBe(2);
      expect(() => checkGrubenvPlacement(r, '/grubenv')).toThrow(expect.objectContaining({ code: 'GRUBENV_FRAGMENTED' }));
      expect(() => checkGrubenvPlacement(r, '/grubenv2')).not.toThrow();
      expect(() => checkGrubenvPlacement(r, '/a')).toThrow(expect.objectContaining({ code: 'GRUBENV_SIZE' }));
      // editing still works, with a note
      const loc = locateBootenv([{ index: 0, type: '', disk }], () => r, { file: { partition: 0, path: '/grubenv' } });
      const res = editBootenvInPlace(loc, 'set', ['k=v']);
      expect(res.note).toMatch(/GRUBENV_FRAGMENTED/);
      expect(new TextDecoder().decode(r.readFile('/grubenv'))).toMatch(/^# GRUB Environment Block\n# WARNING[^\n]*\nk=v\n#/);
    } finally { cleanup(); }
  });
});
