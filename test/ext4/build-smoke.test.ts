import { describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { FileTree } from '../../src/tree/tree.js';
import { bytesSource, textSource } from '../../src/io/source.js';
import { haveTools, tempDir } from '../helpers/oracle.js';
import { buildImage, expectFsckClean } from './build-util.js';

describe.skipIf(!haveTools('e2fsck', 'debugfs'))('ext4 builder smoke', () => {
  it('builds a small tree that e2fsck accepts', async () => {
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
      console.log(expectFsckClean(img));
    } finally {
      cleanup();
    }
  });
});
