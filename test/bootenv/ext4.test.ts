// A grubenv on ext4 (Debian keeps /boot/grub/grubenv on the root
// filesystem): named with --file, rewritten in place through the ext4
// reader, read back by debugfs + grub-editenv, and e2fsck stays clean.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { memoryDisk, type Disk } from '../../src/io/disk.js';
import { openFileDisk } from '../../src/node/file-source.js';
import { looksLikeExt4, openExt4 } from '../../src/ext4/read.js';
import { editBootenvInPlace, locateBootenv } from '../../src/bootenv/locate.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';

describe.skipIf(!haveTools('mke2fs', 'debugfs', 'e2fsck', 'grub-editenv'))('grubenv on ext4', () => {
  it('locateBootenv with --file p0:/boot/grub/grubenv edits it in place through the ext4 reader', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const root = path.join(dir, 'root');
      fs.mkdirSync(path.join(root, 'boot/grub'), { recursive: true });
      const envFile = path.join(root, 'boot/grub/grubenv');
      expect(run('grub-editenv', [envFile, 'create']).status).toBe(0);
      fs.writeFileSync(path.join(root, 'boot/other'), 'x'.repeat(10000));
      const img = path.join(dir, 'root.img');
      const mk = run('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', root, '-E', 'root_owner=0:0', img, '16M']);
      expect(mk.status).toBe(0);
      const before = new Uint8Array(fs.readFileSync(img));
      const disk = openFileDisk(img, true);
      try {
        const probe = (d: Disk) => (looksLikeExt4(d) ? openExt4(d) : null);
        const file = { partition: 0, path: '/boot/grub/grubenv' };
        const loc = locateBootenv([{ index: 0, type: '', disk }], probe, { file });
        expect(loc.kind).toBe('grubenv');
        editBootenvInPlace(loc, 'slot', ['B']);
        editBootenvInPlace(locateBootenv([{ index: 0, type: '', disk }], probe, { file }), 'set', ['saved_entry=Debian GNU/Linux']);
      } finally { disk.close(); }
      const after = new Uint8Array(fs.readFileSync(img));
      const reader = openExt4(memoryDisk(after, false));
      const ext = reader.fileExtents('/boot/grub/grubenv');
      expect(ext.reduce((a, e) => a + e.length, 0)).toBe(1024);
      let outside = 0;
      let inside = 0;
      for (let i = 0; i < before.length; i++) {
        if (before[i] === after[i]) continue;
        if (ext.some((e) => i >= e.offset && i < e.offset + e.length)) inside++; else outside++;
      }
      expect(outside).toBe(0);
      expect(inside).toBeGreaterThan(0);
      const o = path.join(dir, 'env');
      const d = run('debugfs', ['-R', `dump /boot/grub/grubenv ${o}`, img]);
      expect(d.status).toBe(0);
      expect(run('grub-editenv', [o, 'list']).stdout).toBe('boot_default=B\nboot_counter=0\nboot_success=1\nsaved_entry=Debian GNU/Linux\n');
      const ck = run('e2fsck', ['-fn', img]);
      expect(ck.status).toBe(0);
      expect(ck.stdout).not.toMatch(/Fix\?|error|corrupt/i);
    } finally { cleanup(); }
  });
});
