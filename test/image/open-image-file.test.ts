import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openImageFile } from '../../src/node/open-image-file.js';
import { buildImageFile } from '../../src/node/build-file.js';
import { tempDir } from '../helpers/oracle.js';

describe('openImageFile', () => {
  it('opens a built image by path, reads a file, edits in place when writable, and refuses what is not an image', async () => {
    const t = tempDir();
    try {
      fs.writeFileSync(path.join(t.dir, 'hello.txt'), 'hello\n');
      const spec = { table: 'mbr', size: '48MiB', partitions: [{ type: '0x0c', size: 'rest', filesystem: { type: 'fat32', label: 'X', contents: [{ from: 'hello.txt', to: '/hello.txt' }] } }] };
      fs.writeFileSync(path.join(t.dir, 's.json'), JSON.stringify(spec));
      const out = path.join(t.dir, 'x.img');
      await buildImageFile(path.join(t.dir, 's.json'), out);
      const ro = openImageFile(out);
      expect(ro.table).toBe('mbr');
      expect(new TextDecoder().decode(ro.filesystem(1).readFile('/hello.txt'))).toBe('hello\n');
      expect(() => ro.filesystem(1).rewriteFile('/hello.txt', new TextEncoder().encode('HELLO\n'))).toThrow(expect.objectContaining({ code: expect.any(String) }));
      ro.close();
      const rw = openImageFile(out, { writable: true });
      rw.filesystem(1).rewriteFile('/hello.txt', new TextEncoder().encode('HELLO\n'));
      rw.close();
      const again = openImageFile(out);
      expect(new TextDecoder().decode(again.filesystem(1).readFile('/hello.txt'))).toBe('HELLO\n');
      again.close();
      fs.writeFileSync(path.join(t.dir, 'junk'), Buffer.alloc(4096, 0x41));
      expect(() => openImageFile(path.join(t.dir, 'junk'))).toThrow(expect.objectContaining({ code: expect.stringMatching(/^[A-Z0-9_]+$/) }));
      expect(() => openImageFile(path.join(t.dir, 'missing.img'))).toThrow(expect.objectContaining({ code: 'IO_NOT_FOUND' }));
    } finally {
      t.cleanup();
    }
  });
});
