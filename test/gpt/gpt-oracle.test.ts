// GPT against the reference tools, both directions: our tables pass sgdisk -v
// and read the same in sfdisk / blkid / partx; tables made by sgdisk, sfdisk,
// parted and fdisk (4096-byte sectors) read the same in our reader and
// re-encode to the same bytes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { haveTools, run, tempDir } from '../helpers/oracle.js';
import { deriveGuid } from '../../src/codec/derive.js';
import { createGptTable, readGpt, encodeGpt, type GptTable } from '../../src/gpt/table.js';
import { GPT_TYPES } from '../../src/gpt/types.js';
import { memoryDisk } from '../../src/io/disk.js';
import { sfdiskAttrs, unescapeHex, writeGptFile } from './util.js';

const MiB = 1024 * 1024;
const tmp = tempDir('dw-gpt-');
afterAll(() => tmp.cleanup());

function ourTable(sectorSize: number, seed: string): GptTable {
  const s = sectorSize;
  const lba = (bytes: number) => bytes / s;
  return createGptTable({
    diskSize: 64 * MiB, sectorSize, diskGuid: deriveGuid(seed, 'disk'),
    partitions: [
      { typeGuid: GPT_TYPES.esp, uniqueGuid: deriveGuid(seed, 1), startLba: lba(1 * MiB), endLba: lba(17 * MiB) - 1, name: 'EFI System', attributes: 1n },
      { typeGuid: GPT_TYPES['linux-root-x86-64'], uniqueGuid: deriveGuid(seed, 2), startLba: lba(17 * MiB), endLba: lba(33 * MiB) - 1, name: 'System A', attributes: 4n | (1n << 60n) | (1n << 48n) },
      { typeGuid: GPT_TYPES['linux-root-x86-64'], uniqueGuid: deriveGuid(seed, 3), startLba: lba(33 * MiB), endLba: lba(49 * MiB) - 1, name: 'System B — ünïcode', attributes: 2n },
      { typeGuid: GPT_TYPES.linux, uniqueGuid: deriveGuid(seed, 4), startLba: lba(49 * MiB), endLba: lba(63 * MiB) - 1, name: 'x'.repeat(36) },
    ],
  });
}

function readFile(file: string): Uint8Array {
  return new Uint8Array(fs.readFileSync(file));
}

interface SfdiskJson {
  partitiontable: { label: string; id: string; firstlba: number; lastlba: number; sectorsize: number; partitions: { start: number; size: number; type: string; uuid: string; name?: string; attrs?: string }[] };
}

function sfdiskJson(file: string): SfdiskJson['partitiontable'] {
  const r = run('sfdisk', ['--json', file]);
  expect(r.status, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as SfdiskJson).partitiontable;
}

function expectSameAsSfdisk(t: GptTable, pt: SfdiskJson['partitiontable']): void {
  expect(pt.label).toBe('gpt');
  expect(pt.id).toBe(t.diskGuid);
  expect(pt.firstlba).toBe(t.firstUsableLba);
  expect(pt.lastlba).toBe(t.lastUsableLba);
  expect(pt.partitions.map((p) => ({ start: p.start, size: p.size, type: p.type, uuid: p.uuid, name: p.name ?? '', attrs: p.attrs })))
    .toEqual(t.partitions.map((p) => ({ start: p.startLba, size: p.endLba - p.startLba + 1, type: p.typeGuid, uuid: p.uniqueGuid, name: p.name, attrs: sfdiskAttrs(p.attributes) })));
}

describe.skipIf(!haveTools('sgdisk', 'sfdisk', 'blkid', 'partx'))('our GPT, read by the reference tools', () => {
  const t = ourTable(512, 'oracle');
  const file = path.join(tmp.dir, 'ours.img');
  writeGptFile(file, t);

  it('passes sgdisk -v with no problem reported', () => {
    const r = run('sgdisk', ['-v', file]);
    expect(r.stdout).toContain('No problems found');
    expect(r.stdout + r.stderr).not.toMatch(/Problem:|Warning|corrupt|mismatch|Caution/i);
    expect(r.status).toBe(0);
  });

  it('sfdisk --json gives the same starts, sizes, types, names, uuids and attributes', () => {
    expectSameAsSfdisk(t, sfdiskJson(file));
  });

  it('blkid -p reports PTTYPE and PTUUID; partx (libblkid\'s partition list) the PARTUUIDs and PARTLABELs', () => {
    const r = run('blkid', ['-p', '-o', 'udev', file]);
    expect(r.stdout).toContain('ID_PART_TABLE_TYPE=gpt');
    expect(r.stdout).toContain(`ID_PART_TABLE_UUID=${t.diskGuid.toLowerCase()}`);
    const px = run('partx', ['-g', '-P', '-o', 'NR,START,SECTORS,UUID,NAME,TYPE', file]);
    expect(px.status, px.stderr).toBe(0);
    const rows = px.stdout.trim().split('\n').map((l) => Object.fromEntries([...l.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]])));
    expect(rows.map((r) => ({ nr: Number(r.NR), start: Number(r.START), sectors: Number(r.SECTORS), uuid: r.UUID, type: r.TYPE })))
      .toEqual(t.partitions.map((p) => ({ nr: p.index, start: p.startLba, sectors: p.endLba - p.startLba + 1, uuid: p.uniqueGuid.toLowerCase(), type: p.typeGuid.toLowerCase() })));
    expect(rows[0].NAME).toBe('EFI System');
    expect(rows[3].NAME).toBe('x'.repeat(36));
  });

  it('sgdisk -v reports the damage when the primary header is corrupted, and we fall back to the backup', () => {
    const bad = path.join(tmp.dir, 'bad.img');
    fs.copyFileSync(file, bad);
    const fd = fs.openSync(bad, 'r+');
    fs.writeSync(fd, Uint8Array.of(0x42), 0, 1, 512 + 60);
    fs.closeSync(fd);
    const r = run('sgdisk', ['-v', bad]);
    expect(r.stdout + r.stderr).toMatch(/CRC|damaged|corrupt/i);
    const ours = readGpt(memoryDisk(readFile(bad)));
    expect(ours.used).toBe('backup');
    expect(ours.warnings[0]).toContain('GPT_HEADER_CRC');
    expect(ours.table.partitions.map((p) => p.uniqueGuid)).toEqual(t.partitions.map((p) => p.uniqueGuid));
  });
});

describe.skipIf(!haveTools('fdisk'))('our 4096-byte-sector GPT, read by fdisk -b 4096', () => {
  it('fdisk lists the same partitions', () => {
    const t = ourTable(4096, 'oracle4k');
    const file = path.join(tmp.dir, 'ours4k.img');
    writeGptFile(file, t);
    const r = run('fdisk', ['-b', '4096', '-l', '-o', 'Start,Sectors,Type-UUID,UUID,Name', file]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Disk identifier: ${t.diskGuid}`);
    expect(r.stdout).not.toMatch(/corrupt|mismatch|invalid/i);
    const lines = r.stdout.split('\n');
    const head = lines.findIndex((l) => /^\s*Start\s+Sectors/.test(l));
    const rows = lines.slice(head + 1).filter((l) => l.trim()).map((l) => l.trim().split(/\s+/));
    expect(rows.map((c) => [Number(c[0]), Number(c[1]), c[2], c[3], unescapeHex(c.slice(4).join(' '))]))
      .toEqual(t.partitions.map((p) => [p.startLba, p.endLba - p.startLba + 1, p.typeGuid, p.uniqueGuid, p.name]));
  });
});

function expectReadsAsSfdisk(file: string, sectorSize: number): GptTable {
  const bytes = readFile(file);
  const r = readGpt(memoryDisk(bytes));
  expect(r.used).toBe('primary');
  expect(r.warnings).toEqual([]);
  expect(r.table.sectorSize).toBe(sectorSize);
  // Re-encoding what we read gives back the tool's bytes exactly.
  const e = encodeGpt(r.table);
  const at = (o: number, n: number) => Buffer.from(bytes.subarray(o, o + n));
  expect(at(e.primaryHeaderOffset, sectorSize).equals(Buffer.from(e.primaryHeader))).toBe(true);
  expect(at(e.primaryEntriesOffset, e.entries.length).equals(Buffer.from(e.entries))).toBe(true);
  expect(at(e.backupEntriesOffset, e.entries.length).equals(Buffer.from(e.entries))).toBe(true);
  expect(at(e.backupHeaderOffset, sectorSize).equals(Buffer.from(e.backupHeader))).toBe(true);
  expect(at(0, 440).equals(Buffer.from(e.protectiveMbr.subarray(0, 440)))).toBe(true);
  return r.table;
}

describe.skipIf(!haveTools('sgdisk', 'sfdisk', 'parted'))('GPTs made by the reference tools, read by us', () => {
  it('sgdisk: types, names, attributes, GUIDs', () => {
    const file = path.join(tmp.dir, 'sgdisk.img');
    fs.writeFileSync(file, '');
    fs.truncateSync(file, 48 * MiB);
    const r = run('sgdisk', ['-o', '-U', '11111111-2222-3333-4444-555555555555',
      '-n', '1:2048:+8M', '-t', '1:ef00', '-c', '1:EFI system', '-u', '1:AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE', '-A', '1:set:0',
      '-n', '2:0:+16M', '-t', '2:8304', '-c', '2:root', '-A', '2:set:2', '-A', '2:set:63',
      '-n', '5:0:0', '-t', '5:8300', '-c', '5:data', file]);
    expect(r.status, r.stderr).toBe(0);
    const t = expectReadsAsSfdisk(file, 512);
    expectSameAsSfdisk(t, sfdiskJson(file));
    expect(t.diskGuid).toBe('11111111-2222-3333-4444-555555555555');
    expect(t.partitions.map((p) => p.index)).toEqual([1, 2, 5]);
    expect(t.partitions[1].typeGuid).toBe(GPT_TYPES['linux-root-x86-64']);
    expect(t.partitions[1].attributes).toBe(4n | (1n << 63n));
  });

  it('sfdisk: script with label-id, uuids, names and attrs', () => {
    const file = path.join(tmp.dir, 'sfdisk.img');
    fs.writeFileSync(file, '');
    fs.truncateSync(file, 40 * MiB);
    const script = [
      'label: gpt', 'label-id: 01234567-89AB-CDEF-0123-456789ABCDEF', 'first-lba: 2048',
      'start=2048, size=16384, type=U, uuid=6A6A6A6A-0000-4000-8000-000000000001, name="ESP", attrs="RequiredPartition"',
      'size=8M, type=B921B045-1DF0-41C3-AF44-4C6F280D3FAE, name="root arm64", attrs="GUID:48,GUID:55"',
      'type=L, name="rest"',
    ].join('\n');
    const r = run('sfdisk', ['--no-reread', '--no-tell-kernel', file], { input: script });
    expect(r.status, r.stderr).toBe(0);
    const t = expectReadsAsSfdisk(file, 512);
    expectSameAsSfdisk(t, sfdiskJson(file));
    expect(t.partitions[0].uniqueGuid).toBe('6A6A6A6A-0000-4000-8000-000000000001');
    expect(t.partitions[1].attributes).toBe((1n << 48n) | (1n << 55n));
  });

  it('parted: mkpart with esp flag', () => {
    const file = path.join(tmp.dir, 'parted.img');
    fs.writeFileSync(file, '');
    fs.truncateSync(file, 40 * MiB);
    const r = run('parted', ['-s', file, 'mklabel', 'gpt', 'mkpart', 'boot', 'fat32', '1MiB', '9MiB', 'set', '1', 'esp', 'on', 'mkpart', 'data', 'ext4', '9MiB', '100%']);
    expect(r.status, r.stderr).toBe(0);
    const t = expectReadsAsSfdisk(file, 512);
    expectSameAsSfdisk(t, sfdiskJson(file));
    expect(t.partitions.map((p) => [p.name, p.startLba, p.typeGuid])).toEqual([['boot', 2048, GPT_TYPES.esp], ['data', 18432, GPT_TYPES.linux]]);
  });
});

describe.skipIf(!haveTools('fdisk'))('a 4096-byte-sector GPT made by fdisk -b 4096, read by us', () => {
  it('probes the sector size and reads the same values fdisk lists', () => {
    const file = path.join(tmp.dir, 'fdisk4k.img');
    fs.writeFileSync(file, '');
    fs.truncateSync(file, 64 * MiB);
    const r = run('fdisk', ['-b', '4096', file], { input: 'g\nn\n\n\n+8M\nn\n\n\n\nx\nn\n2\nsecond\nr\nw\n' });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const t = expectReadsAsSfdisk(file, 4096);
    const l = run('fdisk', ['-b', '4096', '-l', '-o', 'Start,Sectors,Type-UUID,UUID,Name', file]);
    expect(l.stdout).toContain(`Disk identifier: ${t.diskGuid}`);
    const lines = l.stdout.split('\n');
    const head = lines.findIndex((x) => /^\s*Start\s+Sectors/.test(x));
    const rows = lines.slice(head + 1).filter((x) => x.trim()).map((x) => x.trim().split(/\s+/));
    expect(rows.map((c) => [Number(c[0]), Number(c[1]), c[2], c[3], c.slice(4).join(' ')]))
      .toEqual(t.partitions.map((p) => [p.startLba, p.endLba - p.startLba + 1, p.typeGuid, p.uniqueGuid, p.name]));
    expect(t.partitions[1].name).toBe('second');
    expect(t.partitions[0].startLba).toBe(256);
  });
});
