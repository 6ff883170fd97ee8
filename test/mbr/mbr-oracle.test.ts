// MBR against util-linux, both directions: sfdisk and partx read our tables
// (CHS included), and we read what sfdisk makes (logical partitions too).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { haveTools, run, tempDir } from '../helpers/oracle.js';
import { encodeMbr, mbrPartitions, readMbr, type MbrPartition } from '../../src/mbr/table.js';
import { encodeChs } from '../../src/mbr/chs.js';
import { memoryDisk } from '../../src/io/disk.js';

const MiB = 1024 * 1024;
const tmp = tempDir('dw-mbr-');
afterAll(() => tmp.cleanup());

interface SfdiskPt { label: string; id: string; partitions: { node: string; start: number; size: number; type: string; bootable?: boolean }[] }
const sfdiskJson = (file: string): SfdiskPt => {
  const r = run('sfdisk', ['--json', file]);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout).partitiontable;
};

describe.skipIf(!haveTools('sfdisk', 'blkid', 'partx'))('our MBR, read by util-linux', () => {
  // The Raspberry Pi layout, on a disk past the CHS range so FE FF FF shows up.
  const parts: MbrPartition[] = [
    { index: 1, type: 0x0c, bootable: true, startLba: 2048, sizeLba: 64 * 2048 },
    { index: 2, type: 0x0c, bootable: false, startLba: 2048 + 64 * 2048, sizeLba: 128 * 2048 },
    { index: 3, type: 0x0c, bootable: false, startLba: 2048 + 192 * 2048, sizeLba: 128 * 2048 },
    { index: 4, type: 0x83, bootable: false, startLba: 2048 + 320 * 2048, sizeLba: 8192 * 2048 },
  ];
  const file = path.join(tmp.dir, 'rpi.img');
  const size = (2048 + 8512 * 2048) * 512;
  fs.writeFileSync(file, encodeMbr({ diskSignature: 0x4b53b00c, primaries: parts, logicals: [] }));
  fs.truncateSync(file, size);

  it('sfdisk --json and sfdisk -V agree on id, starts, sizes, types and the boot flag', () => {
    const pt = sfdiskJson(file);
    expect(pt.label).toBe('dos');
    expect(pt.id).toBe('0x4b53b00c');
    expect(pt.partitions.map((p) => [p.start, p.size, parseInt(p.type, 16), p.bootable ?? false])).toEqual(parts.map((p) => [p.startLba, p.sizeLba, p.type, p.bootable]));
    const v = run('sfdisk', ['-V', file]);
    expect(v.stdout).toContain('No errors detected');
    expect(v.stdout + v.stderr).not.toMatch(/overlap|exceeds|different|warning/i);
    expect(v.status).toBe(0);
  });

  it('blkid -p reports PTTYPE=dos and PTUUID; partx the PARTUUIDs (signature-NN)', () => {
    const r = run('blkid', ['-p', '-o', 'udev', file]);
    expect(r.stdout).toContain('ID_PART_TABLE_TYPE=dos');
    expect(r.stdout).toContain('ID_PART_TABLE_UUID=4b53b00c');
    const px = run('partx', ['-g', '-P', '-o', 'NR,START,SECTORS,UUID,TYPE,FLAGS', file]);
    expect(px.stdout.trim().split('\n')).toEqual(parts.map((p) => `NR="${p.index}" START="${p.startLba}" SECTORS="${p.sizeLba}" UUID="4b53b00c-0${p.index}" TYPE="0x${p.type.toString(16)}" FLAGS="${p.bootable ? '0x80' : '0x0'}"`));
  });
});

describe.skipIf(!haveTools('sfdisk'))('MBRs made by sfdisk, read by us', () => {
  it('primaries, an extended partition and logical partitions; CHS equal to ours; re-encodes identically', () => {
    const file = path.join(tmp.dir, 'sfdisk.img');
    fs.writeFileSync(file, '');
    fs.truncateSync(file, 64 * MiB);
    const r = run('sfdisk', ['--no-reread', '--no-tell-kernel', file], { input: 'label: dos\nlabel-id: 0x12345678\n,8M,c,*\n,8M,83\n,,5\n,4M,83\n,4M,82\n,,7\n' });
    expect(r.status, r.stderr).toBe(0);
    const bytes = new Uint8Array(fs.readFileSync(file));
    const { table, warnings } = readMbr(memoryDisk(bytes));
    expect(warnings).toEqual([]);
    expect(table.diskSignature).toBe(0x12345678);
    const pt = sfdiskJson(file);
    expect(mbrPartitions(table).map((p) => [`${path.basename(file)}${p.index}`, p.startLba, p.sizeLba, p.type, p.bootable]))
      .toEqual(pt.partitions.map((p) => [path.basename(p.node), p.start, p.size, parseInt(p.type, 16), p.bootable ?? false]));
    expect(table.logicals.length).toBe(3);
    // Our CHS computation matches what sfdisk wrote for the primaries.
    for (const p of table.primaries) {
      if (!p) continue;
      expect([...p.startChs!]).toEqual([...encodeChs(p.startLba)]);
      expect([...p.endChs!]).toEqual([...encodeChs(p.startLba + p.sizeLba - 1)]);
    }
    const again = encodeMbr({ ...table, primaries: table.primaries.map((p) => p && { ...p, startChs: undefined, endChs: undefined }) });
    expect(Buffer.from(again).equals(Buffer.from(bytes.subarray(0, 512)))).toBe(true);
  });
});
