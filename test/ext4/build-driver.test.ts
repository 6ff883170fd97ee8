import { describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { FileTree } from '../../src/tree/tree.js';
import { textSource } from '../../src/io/source.js';
import { ext4Driver } from '../../src/ext4/driver.js';
import { driverFor } from '../../src/image/registry.js';
import { FileSink } from '../../src/node/file-sink.js';
import { isDiskwrightError } from '../../src/errors.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';
import { buildBytes, expectFsckClean } from './build-util.js';
import { memoryDisk } from '../../src/io/disk.js';

const MiB = 1024 * 1024;
const args = (spec: Record<string, unknown>, partitionIndex = 4) => {
  const tree = new FileTree();
  tree.addFile('/etc/os-release', textSource('NAME=KubeSolo\n'), { uid: 1000, gid: 1000 });
  return { tree, spec, path: 'partitions[3].filesystem', size: 64 * MiB, partitionOffset: MiB, sectorSize: 512, seed: 'drv', defaultTime: { sec: 1_700_000_000, nsec: 0 }, partitionIndex };
};
function codeOf(f: () => unknown): { code: string; path: unknown } {
  try {
    f();
  } catch (e) {
    if (isDiskwrightError(e)) return { code: e.code, path: e.data.path };
    throw e;
  }
  return { code: 'none', path: undefined };
}

describe('ext4 driver', () => {
  it('is registered for type ext4', () => {
    expect(driverFor('ext4')).toBe(ext4Driver);
  });

  it('recognises what it builds through the reader\'s probe, and nothing else', async () => {
    const a = args({ type: 'ext4' });
    const bytes = await buildBytes(a.tree, { size: 16 * MiB, seed: 'probe' });
    const r = ext4Driver.probe(memoryDisk(bytes, false));
    expect(r).not.toBeNull();
    expect(r!.list('/etc').map((e) => e.name)).toEqual(['os-release']);
    expect(new TextDecoder().decode(r!.readFile('/etc/os-release'))).toBe('NAME=KubeSolo\n');
    expect(ext4Driver.probe(memoryDisk(new Uint8Array(16 * 1024), false))).toBeNull();
  });

  it('rejects unknown keys and bad values, naming the JSON path', () => {
    expect(codeOf(() => ext4Driver.plan(args({ type: 'ext4', colour: 'red' })))).toEqual({ code: 'SPEC_UNKNOWN_KEY', path: 'partitions[3].filesystem.colour' });
    expect(codeOf(() => ext4Driver.plan(args({ type: 'ext4', options: { blockSize: 8192 } })))).toEqual({ code: 'SPEC_INVALID', path: 'partitions[3].filesystem.options.blockSize' });
    expect(codeOf(() => ext4Driver.plan(args({ type: 'ext4', options: { features: { casefold: true } } })))).toEqual({ code: 'SPEC_UNKNOWN_KEY', path: 'partitions[3].filesystem.options.features.casefold' });
    expect(codeOf(() => ext4Driver.plan(args({ type: 'ext4', options: { journal: 'yes' } })))).toEqual({ code: 'SPEC_INVALID', path: 'partitions[3].filesystem.options.journal' });
    expect(codeOf(() => ext4Driver.plan(args({ type: 'ext4', label: 'x'.repeat(17) })))).toEqual({ code: 'SPEC_INVALID', path: 'partitions[3].filesystem.label' });
    expect(codeOf(() => ext4Driver.plan(args({ type: 'ext4', owner: 'nobody' })))).toEqual({ code: 'SPEC_INVALID', path: 'partitions[3].filesystem.owner' });
  });

  it('derives different UUIDs per partition from one seed, or takes the given one', () => {
    const a = ext4Driver.plan(args({ type: 'ext4' }, 2));
    const b = ext4Driver.plan(args({ type: 'ext4' }, 3));
    expect(a.uuid).not.toBe(b.uuid);
    expect(ext4Driver.plan(args({ type: 'ext4' }, 2)).uuid).toBe(a.uuid);
    const u = ext4Driver.plan(args({ type: 'ext4', uuid: '0B5E0000-1111-4222-8333-444455556666' }));
    expect(u.uuid).toBe('0b5e0000-1111-4222-8333-444455556666');
  });

  it.skipIf(!haveTools('e2fsck', 'dumpe2fs'))('plans from a spec at an offset: e2fsck clean, options applied', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const plan = ext4Driver.plan(args({
        type: 'ext4', label: 'Data', owner: 'root',
        options: { blockSize: 1024, inodeRatio: 8192, reservedPercent: 1, journal: false, features: { metadata_csum: true } },
      }));
      const img = path.join(dir, 'd.img');
      const sink = new FileSink(img);
      await plan.emit(sink, MiB);
      await sink.finish(MiB + 64 * MiB);
      const part = path.join(dir, 'p.img');
      run('dd', [`if=${img}`, `of=${part}`, 'bs=1M', 'skip=1', 'status=none']);
      expectFsckClean(part);
      const out = run('dumpe2fs', ['-h', part]).stdout;
      expect(out).toMatch(/Filesystem volume name:\s+Data/);
      expect(out).toMatch(/Block size:\s+1024/);
      expect(out).toMatch(/Inode count:\s+8192\b/);
      expect(out).toMatch(/Reserved block count:\s+655\b/);
      expect(out).not.toMatch(/has_journal/);
      const ls = run('debugfs', ['-R', 'ls -p /etc', part]).stdout;
      expect(ls).toMatch(/\/100644\/0\/0\/os-release\/14\//);
    } finally {
      cleanup();
    }
  });
});
