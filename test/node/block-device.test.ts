// Block devices as disks, on a loop device where the machine allows one
// (root and /dev/loop-control); skipped with the reason printed elsewhere.
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { openFileDisk } from '../../src/node/file-source.js';
import { openImageFile } from '../../src/node/open-image-file.js';
import { buildImageFile } from '../../src/node/build-file.js';
import { tempDir } from '../helpers/oracle.js';

function loopReason(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  if (!fs.existsSync('/dev/loop-control')) return 'no /dev/loop-control';
  if (spawnSync('losetup', ['--version']).status !== 0) return 'no losetup';
  return null;
}
const reason = loopReason();
if (reason) console.warn(`block-device tests skipped: ${reason}`);

const attached: string[] = [];
function attach(file: string, sectorSize = 512): string {
  const dev = execFileSync('losetup', ['-f', '--show', '--sector-size', String(sectorSize), file], { encoding: 'utf8' }).trim();
  attached.push(dev);
  return dev;
}
afterAll(() => {
  for (const d of attached) spawnSync('losetup', ['-d', d]);
});

describe.skipIf(reason !== null)('block devices (loop)', () => {
  it('finds the size and logical block size without stat, and widens unaligned writes to whole blocks', () => {
    const t = tempDir();
    try {
      for (const ss of [512, 4096]) {
        const file = path.join(t.dir, `d${ss}.img`);
        const size = 3 * 1024 * 1024 + 8192;
        fs.writeFileSync(file, Buffer.alloc(size, 0x5a));
        const dev = attach(file, ss);
        expect(fs.statSync(dev).size).toBe(0); // what stat says of a device
        const disk = openFileDisk(dev, true);
        expect(disk.blockDevice).toBe(true);
        expect(disk.size).toBe(size);
        expect(disk.logicalBlockSize).toBe(ss);
        disk.write!(ss + 100, new Uint8Array([1, 2, 3]));
        disk.write!(size - 2, new Uint8Array([9, 9]));
        disk.sync();
        disk.close();
        const back = fs.readFileSync(file);
        expect([...back.subarray(ss + 99, ss + 104)]).toEqual([0x5a, 1, 2, 3, 0x5a]);
        expect([...back.subarray(size - 3)]).toEqual([0x5a, 9, 9]);
        expect(back.length).toBe(size);
      }
    } finally {
      t.cleanup();
    }
  });

  it('opens an image on a device and edits it in place', async () => {
    const t = tempDir();
    try {
      fs.writeFileSync(path.join(t.dir, 'hello.txt'), 'hello\n');
      fs.writeFileSync(path.join(t.dir, 's.json'), JSON.stringify({ table: 'gpt', size: '48MiB', partitions: [{ type: 'esp', size: 'rest', filesystem: { type: 'fat32', label: 'X', contents: [{ from: 'hello.txt', to: '/hello.txt' }] } }] }));
      const img = path.join(t.dir, 'x.img');
      await buildImageFile(path.join(t.dir, 's.json'), img);
      const dev = attach(img);
      const rw = openImageFile(dev, { writable: true });
      expect(rw.table).toBe('gpt');
      rw.filesystem(1).rewriteFile('/hello.txt', new TextEncoder().encode('HELLO\n'));
      rw.close();
      const again = openImageFile(img);
      expect(new TextDecoder().decode(again.filesystem(1).readFile('/hello.txt'))).toBe('HELLO\n');
      again.close();
    } finally {
      t.cleanup();
    }
  });
});
