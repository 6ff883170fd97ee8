import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { blobSource, FileTree, filesTreeLoader, addFileEntries } from '../../src/core.js';
import { codeOf } from '../helpers/codes.js';

describe('browser inputs', () => {
  it('a Blob read outside a Web Worker (no FileReaderSync) is BROWSER_WORKER_ONLY', () => {
    const src = blobSource(new Blob([new Uint8Array(10)]));
    expect(src.size).toBe(10);
    expect(codeOf(() => src.read(0, 4))).toBe('BROWSER_WORKER_ONLY');
  });

  it('a contents item whose files were not given is SPEC_CONTENTS_MISSING; a bad item SPEC_CONTENTS_INVALID', async () => {
    const load = filesTreeLoader({ boot: [] });
    const t = { sec: 0, nsec: 0 };
    await expect(load({ type: 'fat32', contents: [{ from: 'data', to: '/' }] }, 'partitions[0].filesystem', t)).rejects.toMatchObject({ code: 'SPEC_CONTENTS_MISSING' });
    await expect(load({ type: 'fat32', contents: [{ from: 'boot' }] }, 'partitions[0].filesystem', t)).rejects.toMatchObject({ code: 'SPEC_CONTENTS_INVALID' });
  });

  it('entries land under `to` with 0644, root owner and lastModified clamped to the build time', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 4e12 }), fc.integer({ min: 0, max: 4e9 }), (ms, epoch) => {
      const limit = { sec: epoch, nsec: 0 };
      const tree = addFileEntries(new FileTree({ defaultTime: limit }), [{ path: 'b/c.txt', data: new Uint8Array([1, 2, 3]), lastModified: ms }], '/a', limit);
      const a = tree.root.children.get('a');
      const b = a?.kind === 'dir' ? a.children.get('b') : undefined;
      const c = b?.kind === 'dir' ? b.children.get('c.txt') : undefined;
      expect(c?.kind).toBe('file');
      if (c?.kind !== 'file') return;
      expect([c.mode, c.uid, c.gid, c.source.size]).toEqual([0o644, 0, 0, 3]);
      const sec = Math.floor(ms / 1000);
      expect(c.mtime).toEqual(sec > epoch || (sec === epoch && ms % 1000 > 0) ? limit : { sec, nsec: (ms % 1000) * 1e6 });
    }));
  });
});
