import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildImageFile } from '../../src/node/build-file.js';
import { openFileDisk } from '../../src/node/file-source.js';
import { openImage } from '../../src/image/open.js';
import { tempDir } from '../helpers/oracle.js';

describe('owner in a filesystem spec', () => {
  it('"root", an id map and "keep" reach the ext4 inodes', async () => {
    const t = tempDir();
    try {
      fs.mkdirSync(path.join(t.dir, 'in'));
      fs.writeFileSync(path.join(t.dir, 'in/f'), 'x');
      const st = fs.statSync(path.join(t.dir, 'in/f'));
      const mapped = st.uid === 4321 ? 4322 : 4321;
      const fsOf = (owner: unknown) => ({ type: 'ext4', owner, contents: [{ from: 'in', to: '/' }] });
      const spec = {
        table: 'gpt', size: '40MiB',
        partitions: [
          { name: 'a', type: 'linux', size: '12MiB', filesystem: fsOf('root') },
          { name: 'b', type: 'linux', size: '12MiB', filesystem: fsOf({ uid: { [String(st.uid)]: mapped }, gid: { [String(st.gid)]: 77 } }) },
          { name: 'c', type: 'linux', size: 'rest', filesystem: fsOf('keep') },
        ],
      };
      fs.writeFileSync(path.join(t.dir, 's.json'), JSON.stringify(spec));
      await buildImageFile(path.join(t.dir, 's.json'), path.join(t.dir, 'o.img'));
      const disk = openFileDisk(path.join(t.dir, 'o.img'));
      try {
        const img = openImage(disk);
        const ids = [1, 2, 3].map((n) => { const s = img.filesystem(n).stat('/f'); return [s.uid, s.gid]; });
        expect(ids).toEqual([[0, 0], [mapped, 77], [st.uid, st.gid]]);
      } finally {
        disk.close();
      }
      spec.partitions[0].filesystem = fsOf('nobody');
      fs.writeFileSync(path.join(t.dir, 's.json'), JSON.stringify(spec));
      await expect(buildImageFile(path.join(t.dir, 's.json'), path.join(t.dir, 'o2.img'))).rejects.toHaveProperty('code');
      expect(fs.existsSync(path.join(t.dir, 'o2.img'))).toBe(false);
    } finally {
      t.cleanup();
    }
  });
});
