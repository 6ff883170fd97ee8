// The real benchmark payload's data/ tree (../shared/bench/make-payload.sh:
// ~19,600 files, 411 MiB, symlinks, hard links, odd names and modes) built
// into ext4 from the host directory: e2fsck -fn must be clean, and every
// entry must match the generator's own MANIFEST (type, mode, size, SHA-256
// or link target) — an independent record, not our own round trip.
// Runs when DISKWRIGHT_PAYLOAD names a generated payload (CI sets it and
// REQUIRE_PAYLOAD=1, so a missing payload fails there instead of skipping).
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { FileTree } from '../../src/tree/tree.js';
import { treeFromDirectory } from '../../src/node/directory.js';
import { planExt4 } from '../../src/ext4/build.js';
import { openExt4 } from '../../src/ext4/read.js';
import { FileSink } from '../../src/node/file-sink.js';
import { openFileDisk } from '../../src/node/file-source.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';

const payload = process.env.DISKWRIGHT_PAYLOAD;
if (!payload && process.env.REQUIRE_PAYLOAD === '1') throw new Error('REQUIRE_PAYLOAD=1 but DISKWRIGHT_PAYLOAD is not set');
const tmp = tempDir('dw-ext4-payload-');
afterAll(() => tmp.cleanup());

describe.skipIf(!payload || !haveTools('e2fsck', 'debugfs'))('make-payload.sh data/ as ext4', () => {
  it('is e2fsck-clean and matches the payload MANIFEST entry for entry', async () => {
    const tree = treeFromDirectory(path.join(payload!, 'data'), new FileTree({ defaultTime: { sec: 1700000000, nsec: 0 } }), '/');
    const img = path.join(tmp.dir, 'data.ext4');
    const plan = planExt4(tree, { size: 1 << 30, seed: 'payload', label: 'DATA' });
    const sink = new FileSink(img);
    await plan.emit(sink, 0);
    await sink.finish(1 << 30);

    const fsck = run('e2fsck', ['-fn', img]);
    expect(fsck.status, fsck.stdout + fsck.stderr).toBe(0);
    expect(fsck.stdout).not.toMatch(/Fix\?|Clear\?|Salvage\?|Relocate\?/);

    const disk = openFileDisk(img);
    try {
      const r = openExt4(disk);
      let files = 0, links = 0, dirs = 0;
      for (const line of fs.readFileSync(path.join(payload!, 'MANIFEST'), 'utf8').split('\n')) {
        const m = /^([fdl]) (\d{4}) (\d+) (\S+) (data\/.*)$/.exec(line);
        if (!m) continue;
        const [, type, mode, size, sumOrTarget, rel] = m;
        const p = '/' + decodeURIComponent(rel).slice('data/'.length);
        const st = r.stat(p);
        expect({ p, type: st.type, mode: (st.mode & 0o7777).toString(8).padStart(4, '0') }).toEqual({
          p, type: type === 'f' ? 'file' : type === 'd' ? 'dir' : 'symlink', mode,
        });
        if (type === 'f') {
          files++;
          expect(st.size).toBe(Number(size));
          expect(createHash('sha256').update(r.readFile(p)).digest('hex')).toBe(sumOrTarget);
        } else if (type === 'l') {
          links++;
          expect(r.readlink(p)).toBe(decodeURIComponent(sumOrTarget));
        } else dirs++;
      }
      expect(files).toBeGreaterThan(15000);
      expect(links).toBeGreaterThan(100);
      expect(dirs).toBeGreaterThan(1000);
    } finally {
      disk.close();
    }
    // debugfs agrees on a file's size (a second reader beside ours).
    const first = fs.readFileSync(path.join(payload!, 'MANIFEST'), 'utf8').split('\n').find((l) => /^f \d{4} \d+ \S+ data\//.test(l))!;
    const [, , size, , rel] = first.split(' ');
    const st = run('debugfs', ['-R', `stat "/${decodeURIComponent(rel).slice(5)}"`, img]);
    expect(st.stdout).toMatch(new RegExp(`Size: ${size}\\b`));
  }, 600_000);
});
