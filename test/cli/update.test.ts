// diskwright update and build --slot-payload on the command line: output,
// --json, exit codes and the error line of a refusal, usage errors.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { tempDir } from '../helpers/oracle.js';

const tmp = tempDir('dw-cli-update-');
afterAll(() => tmp.cleanup());
const PRESET = path.resolve('fixtures/presets/kubesolo-rpi.json');

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

describe('diskwright update', () => {
  it('updates slot B from a payload with --try 1, prints the SHA-256 and the state; refuses slot A by code', async () => {
    expect((await cli(['build', PRESET, '-o', 'pi.img'])).status).toBe(0);
    const p = await cli(['build', PRESET, '-o', 'slotB.img', '--slot-payload', 'B', '--json']);
    expect(p.status, p.stderr).toBe(0);
    const info = JSON.parse(p.stdout);
    expect(info).toMatchObject({ slot: 'B', partition: 3, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(JSON.parse(fs.readFileSync(path.join(tmp.dir, 'slotB.img.json'), 'utf8')).sha256).toBe(info.sha256);
    const u = await cli(['update', 'pi.img', '--slot', 'B', '--from', 'slotB.img', '--try', '1']);
    expect(u.status, u.stderr).toBe(0);
    expect(u.stdout).toContain(`sha256=${info.sha256}\n`);
    expect(u.stdout).toContain('committed=A\ntrying=B\ntries_left=1\nconfirmed=0\n');
    const s = await cli(['bootenv', 'pi.img', 'list']);
    expect(s.stdout).toMatch(/\[tryboot\]\nboot_partition=3/);
    const refused = await cli(['update', 'pi.img', '--slot', 'A', '--from', PRESET]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^diskwright: SLOT_ACTIVE: /);
    expect(refused.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });

  it('usage errors exit 2', async () => {
    for (const args of [['update', 'x.img'], ['update', 'x.img', '--slot', 'C', '--from', 'd'], ['update', 'x.img', '--slot', 'A', '--from', 'd', '--try', 'many']]) {
      const r = await cli(args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/^diskwright: USAGE: /);
    }
  });
});
