// diskwright grow: output lines, --json, nothing to do, coded refusals.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';

const MiB = 1024 * 1024;
const tmp = tempDir('dw-cli-grow-');
afterAll(() => tmp.cleanup());

async function cli(args: string[]) {
  let out = '';
  let err = '';
  const status = await main(args, {
    stdout: (b) => { out += typeof b === 'string' ? b : Buffer.from(b).toString('utf8'); },
    stderr: (s) => { err += s; },
    env: {}, cwd: tmp.dir,
  });
  return { status, stdout: out, stderr: err };
}

describe.skipIf(!haveTools('sgdisk', 'mkfs.ext4', 'e2fsck'))('diskwright grow', () => {
  it('grows, then says there is nothing to do; --json gives the numbers', async () => {
    const img = path.join(tmp.dir, 'g.img');
    fs.writeFileSync(img, new Uint8Array(0));
    fs.truncateSync(img, 20 * MiB);
    expect(run('sgdisk', ['-n', '1:2048:0', img]).status).toBe(0);
    expect(run('mkfs.ext4', ['-q', '-F', '-b', '4096', '-E', `offset=${MiB}`, img, `${(20 * MiB - MiB - 34 * 512) / 1024}k`]).status).toBe(0);
    fs.truncateSync(img, 48 * MiB);
    const r = await cli(['grow', 'g.img']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^partition 1: \d+ -> \d+ bytes\next4: \d+ -> \d+ bytes, 1 -> 1 groups\n$/);
    const h = createHash('sha256').update(fs.readFileSync(img)).digest('hex');
    const again = await cli(['grow', 'g.img', '--json']);
    expect(again.status).toBe(0);
    const j = JSON.parse(again.stdout);
    expect(j).toMatchObject({ table: 'gpt', partition: 1, changed: false, newGroups: 1, writes: [] });
    expect(j.newSize).toBe(48 * MiB - MiB - 33 * 512);
    expect((await cli(['grow', 'g.img'])).stdout).toMatch(/already fills the disk.*nothing to do/);
    expect(createHash('sha256').update(fs.readFileSync(img)).digest('hex')).toBe(h);
  });

  it('a bare filesystem: GROW_NO_TABLE, exit 1; a bad --partition: usage, exit 2', async () => {
    const img = path.join(tmp.dir, 'bare.img');
    fs.writeFileSync(img, new Uint8Array(0));
    fs.truncateSync(img, 8 * MiB);
    expect(run('mkfs.ext4', ['-q', '-F', img]).status).toBe(0);
    const r = await cli(['grow', 'bare.img']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^diskwright: GROW_NO_TABLE: /);
    expect((await cli(['grow', 'bare.img', '--partition', 'x'])).status).toBe(2);
  });
});
