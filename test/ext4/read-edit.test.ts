// In-place rewrite (checked by e2fsck and debugfs), checksum verification
// (strict by default, skippable), and the probe.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFileDisk } from '../../src/node/file-source.js';
import { memoryDisk } from '../../src/io/disk.js';
import { openExt4 } from '../../src/ext4/read.js';
import { probeExt4 } from '../../src/ext4/probe.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';
import { codeOf } from '../helpers/codes.js';


describe.skipIf(!haveTools('mke2fs', 'e2fsck', 'debugfs'))('ext4 reader: edits and checksums', () => {
  let tmp: { dir: string; cleanup: () => void };
  let base: Uint8Array;
  const content = new Uint8Array(70_000).map((_, i) => (i * 13) & 0xff);
  beforeAll(() => {
    tmp = tempDir('dw-ext4-edit-');
    const src = path.join(tmp.dir, 'src');
    fs.mkdirSync(path.join(src, 'boot'), { recursive: true });
    fs.writeFileSync(path.join(src, 'boot/kernel.img'), content);
    fs.writeFileSync(path.join(src, 'note'), 'x');
    const img = path.join(tmp.dir, 'base.img');
    fs.writeFileSync(img, '');
    fs.truncateSync(img, 16 * 1024 * 1024);
    const mk = run('mke2fs', ['-q', '-F', '-t', 'ext4', '-b', '4096', '-O', '^inline_data', '-d', src, img]);
    expect(mk.status, mk.stderr).toBe(0);
    base = new Uint8Array(fs.readFileSync(img));
  });
  afterAll(() => tmp?.cleanup());

  it('rewriteFile changes only the data blocks; e2fsck stays clean and debugfs sees the new bytes', () => {
    const img = path.join(tmp.dir, 'edit.img');
    fs.writeFileSync(img, base);
    const disk = openFileDisk(img, true);
    const r = openExt4(disk);
    const extents = r.fileExtents('/boot/kernel.img');
    expect(extents.reduce((s, e) => s + e.length, 0)).toBe(content.length);
    const next = content.map((b) => b ^ 0x5a);
    r.rewriteFile('/boot/kernel.img', next);
    expect(codeOf(() => r.rewriteFile('/boot/kernel.img', next.subarray(1)))).toBe('EXT4_REWRITE_SIZE');
    disk.close();
    const after = new Uint8Array(fs.readFileSync(img));
    // every changed byte lies inside the file's extents
    for (let i = 0; i < after.length; i++) {
      if (after[i] !== base[i]) expect(extents.some((e) => i >= e.offset && i < e.offset + e.length), `byte ${i}`).toBe(true);
    }
    const fsck = run('e2fsck', ['-fn', img]);
    expect(fsck.status, fsck.stdout).toBe(0);
    expect(fsck.stdout).not.toMatch(/Fix\?|Clear\?|Error|rror/);
    const out = path.join(tmp.dir, 'dumped');
    run('debugfs', ['-R', `dump /boot/kernel.img ${out}`, img]);
    expect(Buffer.from(fs.readFileSync(out)).equals(Buffer.from(next))).toBe(true);
    expect(Buffer.from(openExt4(memoryDisk(after, false)).readFile('/boot/kernel.img')).equals(Buffer.from(next))).toBe(true);
  });

  it('a flipped inode byte gives EXT4_CSUM_INODE, and reads when verification is off', () => {
    const r0 = openExt4(memoryDisk(base.slice(), false));
    const ino = r0.lookup('/note');
    // locate the inode: group 0's table (from the superblock/descriptors read by debugfs)
    const stat = run('debugfs', ['-R', `imap <${ino}>`, path.join(tmp.dir, 'base.img')]);
    const m = /located at block (\d+), offset 0x([0-9a-f]+)/.exec(stat.stdout);
    expect(m, stat.stdout).not.toBeNull();
    const off = Number(m![1]) * 4096 + parseInt(m![2], 16);
    const bad = base.slice();
    bad[off + 0x10] ^= 1; // i_mtime
    const r = openExt4(memoryDisk(bad, false));
    expect(codeOf(() => r.stat('/note'))).toBe('EXT4_CSUM_INODE');
    const lenient = openExt4(memoryDisk(bad, false), { verifyChecksums: false });
    expect(Buffer.from(lenient.readFile('/note')).toString()).toBe('x');
  });

  it('a flipped superblock byte gives EXT4_CSUM_SUPERBLOCK; a flipped descriptor byte EXT4_CSUM_GROUP_DESC', () => {
    const a = base.slice();
    a[1024 + 0x30] ^= 1; // s_wtime
    expect(codeOf(() => openExt4(memoryDisk(a, false)))).toBe('EXT4_CSUM_SUPERBLOCK');
    expect(codeOf(() => openExt4(memoryDisk(a, false), { verifyChecksums: false }))).toBeUndefined();
    const b = base.slice();
    b[4096 + 0x0c] ^= 1; // group 0 bg_free_blocks_count_lo
    expect(codeOf(() => openExt4(memoryDisk(b, false)))).toBe('EXT4_CSUM_GROUP_DESC');
  });

  it('a flipped directory byte gives EXT4_CSUM_DIRENT', () => {
    const r0 = openExt4(memoryDisk(base.slice(), false));
    const ino = r0.lookup('/boot');
    const blocks = run('debugfs', ['-R', `blocks <${ino}>`, path.join(tmp.dir, 'base.img')]).stdout.trim().split(/\s+/).map(Number);
    const bad = base.slice();
    bad[blocks[0] * 4096 + 30] ^= 0x20; // inside the first entries' names
    expect(codeOf(() => openExt4(memoryDisk(bad, false)).list('/boot'))).toBe('EXT4_CSUM_DIRENT');
  });

  it('probe: null for something else, a reader for ext4, a coded error for a broken one', () => {
    expect(probeExt4(memoryDisk(new Uint8Array(1 << 20), false))).toBeNull();
    expect(probeExt4(memoryDisk(new Uint8Array(100), false))).toBeNull();
    expect(probeExt4(memoryDisk(base.slice(), false))?.info().type).toBe('ext4');
    const bad = base.slice();
    bad[1024 + 0x18] = 40; // s_log_block_size
    expect(codeOf(() => probeExt4(memoryDisk(bad, false)))).toMatch(/^EXT4_/);
  });

  it('path errors have codes', () => {
    const r = openExt4(memoryDisk(base.slice(), false));
    expect(codeOf(() => r.stat('/nope'))).toBe('EXT4_NOT_FOUND');
    expect(codeOf(() => r.list('/note'))).toBe('EXT4_NOT_A_DIRECTORY');
    expect(codeOf(() => r.readFile('/boot'))).toBe('EXT4_IS_A_DIRECTORY');
    expect(codeOf(() => r.readlink('/note'))).toBe('EXT4_NOT_A_SYMLINK');
    // an i_size is never trusted to size an allocation beyond the limit
    expect(codeOf(() => openExt4(memoryDisk(base.slice(), false), { maxFileSize: 1000 }).readFile('/boot/kernel.img'))).toBe('EXT4_FILE_TOO_LARGE');
    expect(codeOf(() => openExt4(memoryDisk(base.slice(), false)).rewriteFile('/note', new Uint8Array([0x79])))).toBe('EXT4_READ_ONLY');
  });
});
