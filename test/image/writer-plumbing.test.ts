// openImage(...).filesystem(n) gives the writer interface: a read-only disk
// refuses every edit with IMAGE_READ_ONLY and changes nothing.
import { describe, expect, it } from 'vitest';
import { buildImage, MemorySink, memoryDisk, openImage } from '../../src/index.js';
import { codeOf } from '../helpers/codes.js';

describe('filesystem(n) through the writer interface', () => {
  it('refuses edits on a disk opened read-only, and reads as before', async () => {
    const sink = new MemorySink();
    await buildImage({ table: 'mbr', size: '40MiB', partitions: [{ type: 'fat32', size: 'rest', filesystem: { type: 'fat32', label: 'BOOT' } }] }, sink);
    const bytes = sink.bytes();
    const before = bytes.slice();
    const fs = openImage(memoryDisk(bytes, false)).filesystem(1);
    expect(fs.list('/')).toEqual([]);
    for (const edit of [() => fs.writeFile('/a', new Uint8Array(1)), () => fs.mkdir('/d'), () => fs.remove('/a'), () => fs.rename('/a', '/b')]) {
      expect(codeOf(edit)).toBe('IMAGE_READ_ONLY');
    }
    expect(Buffer.compare(bytes, before)).toBe(0);
  });
});
