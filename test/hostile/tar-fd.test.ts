// Descriptors of the tar reader on a broken gzip stream: each one it opens is
// closed exactly once. Closing a descriptor a stream has already closed is
// not harmless in a busy process: the number may have been handed to another
// open in the meantime (another build, another archive), which would then
// lose its file. Found by the fuzz command (Node warned "File descriptor N
// closed but not opened" in the tar worker).
import * as fs from 'node:fs';
import fsModule from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { syncBuiltinESMExports } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { FileTree } from '../../src/tree/tree.js';
import { treeFromTar } from '../../src/node/tar.js';
import { tempDir } from '../helpers/oracle.js';

const tmp = tempDir('dw-tar-fd-');
afterAll(() => tmp.cleanup());

describe('tar reader descriptors', () => {
  it('broken gzip streams (and a good one): no descriptor is closed twice', async () => {
    const good = fs.readFileSync(path.join(import.meta.dirname, '..', '..', 'fixtures', 'tar', 'pax-xattrs.tar'));
    const gz = zlib.gzipSync(good);
    const closedTwice: number[] = [];
    const closeSync = fsModule.closeSync;
    fsModule.closeSync = (fd: number) => {
      try { fs.fstatSync(fd); } catch { closedTwice.push(fd); }
      return closeSync(fd);
    };
    syncBuiltinESMExports();
    try {
      const codes = new Set<string>();
      for (const cut of [20, 100, gz.length - 30, gz.length - 4, gz.length]) {
        const bad = Buffer.from(gz.subarray(0, cut));
        if (cut > gz.length - 10 && cut < gz.length) bad[bad.length - 1] ^= 0xff;
        const file = path.join(tmp.dir, `bad-${cut}.tar.gz`);
        fs.writeFileSync(file, bad);
        await treeFromTar(file, new FileTree(), '/').then(() => codes.add('OK'), (e: { code?: string }) => codes.add(e.code ?? 'no code'));
      }
      expect([...codes].sort()).toEqual(['OK', 'TAR_GZIP_INVALID']);
    } finally {
      fsModule.closeSync = closeSync;
      syncBuiltinESMExports();
    }
    expect(closedTwice).toEqual([]);
  });
});
