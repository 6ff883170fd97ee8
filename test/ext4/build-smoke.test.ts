import { describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { FileTree } from '../../src/tree/tree.js';
import { bytesSource, textSource } from '../../src/io/source.js';
import { haveTools, tempDir } from '../helpers/oracle.js';
import { buildImage, debugfs, expectFsckClean, expectImageMatchesTree } from './build-util.js';

describe.skipIf(!haveTools('e2fsck', 'debugfs'))('ext4 builder basics', () => {
  it('builds a small tree that e2fsck accepts, with lost+found preallocated like mke2fs', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const t = new FileTree({ defaultTime: { sec: 1700000000, nsec: 5 } });
      t.addFile('/etc/hostname', textSource('kubesolo\n'));
      t.addFile('/big.bin', bytesSource(new Uint8Array(300000).fill(7)));
      t.addSymlink('/etc/short', 'hostname');
      t.addSymlink('/etc/long', 'x'.repeat(100));
      t.addDevice('/dev/null', 'char', 1, 3);
      t.addSpecial('/run/fifo', 'fifo');
      t.addFile('/empty', bytesSource(new Uint8Array(0)));
      const img = path.join(dir, 'a.img');
      await buildImage(t, img, { size: 64 * 1024 * 1024, seed: 'smoke' });
      expectFsckClean(img);
      expectImageMatchesTree(img, t, dir);
      const lpf = debugfs(img, 'stat /lost+found');
      expect(lpf).toMatch(/Mode:\s+0700/);
      expect(lpf).toMatch(/Size: 16384\b/); // mke2fs: at least 16 KiB and 2 blocks
    } finally {
      cleanup();
    }
  });

  it('stores atime, ctime, crtime and mtime with nanoseconds', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const t = new FileTree();
      t.addFile('/f', textSource('x'), {
        mtime: { sec: 1_600_000_001, nsec: 111 }, atime: { sec: 1_600_000_002, nsec: 222 },
        ctime: { sec: 1_600_000_003, nsec: 333 }, crtime: { sec: 1_500_000_000, nsec: 444 },
      });
      const img = path.join(dir, 't.img');
      await buildImage(t, img, { size: 16 * 1024 * 1024, seed: 't' });
      expectFsckClean(img);
      const st = debugfs(img, 'stat /f');
      const field = (name: string) => {
        const m = new RegExp(`${name}: 0x([0-9a-f]+):([0-9a-f]+)`).exec(st)!;
        return { sec: parseInt(m[1], 16), nsec: parseInt(m[2], 16) >>> 2 };
      };
      expect(field('mtime')).toEqual({ sec: 1_600_000_001, nsec: 111 });
      expect(field('atime')).toEqual({ sec: 1_600_000_002, nsec: 222 });
      expect(field(' ctime')).toEqual({ sec: 1_600_000_003, nsec: 333 });
      expect(field('crtime')).toEqual({ sec: 1_500_000_000, nsec: 444 });
    } finally {
      cleanup();
    }
  });

  it('keeps a file marked contiguous in one run, stepping over a backup superblock', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const t = new FileTree();
      // 1 KiB blocks, 8 MiB groups: the filler ends just before group 1's backup superblock.
      t.addFile('/a-filler', bytesSource(new Uint8Array(7 * 1024 * 1024).fill(1)));
      t.addFile('/b-grubenv', bytesSource(new Uint8Array(2 * 1024 * 1024).fill(2)), { contiguous: true });
      t.addFile('/c-split', bytesSource(new Uint8Array(2 * 1024 * 1024).fill(3)));
      const img = path.join(dir, 'c.img');
      await buildImage(t, img, { size: 32 * 1024 * 1024, seed: 'c', blockSize: 1024, journal: false });
      expectFsckClean(img);
      const st = debugfs(img, 'stat /b-grubenv');
      const ext = /EXTENTS:\n(.*)/.exec(st)![1];
      expect(ext).toMatch(/^\(0-2047\):\d+-\d+$/);
      // It did not fit before group 1's backup superblock (block 8193), so it starts after it.
      expect(Number(/:(\d+)-/.exec(ext)![1])).toBeGreaterThan(8193);
      // Without the flag, the same file is split around the backup.
      const u = new FileTree();
      u.addFile('/a-filler', bytesSource(new Uint8Array(7 * 1024 * 1024).fill(1)));
      u.addFile('/b-plain', bytesSource(new Uint8Array(2 * 1024 * 1024).fill(2)));
      const img2 = path.join(dir, 'u.img');
      await buildImage(u, img2, { size: 32 * 1024 * 1024, seed: 'c', blockSize: 1024, journal: false });
      expect(/EXTENTS:\n(.*)/.exec(debugfs(img2, 'stat /b-plain'))![1]).toMatch(/^\(0-\d+\):\d+-\d+, \(\d+-2047\):\d+-\d+$/);
      expectImageMatchesTree(img, t, dir);
    } finally {
      cleanup();
    }
  });
});
