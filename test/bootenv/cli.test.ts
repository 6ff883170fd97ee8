import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bootenvCommand } from '../../src/cli/commands/bootenv.js';
import { formatAutoboot } from '../../src/bootenv/autoboot.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';

async function cli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await bootenvCommand(args, {
    stdout: (b) => { stdout += typeof b === 'string' ? b : Buffer.from(b).toString('utf8'); },
    stderr: (s) => { stderr += s; },
  });
  return { status, stdout, stderr };
}

describe.skipIf(!haveTools('grub-editenv'))('diskwright bootenv on a bare grubenv', () => {
  it('edits a grub-editenv file that grub-editenv then lists, and reads what grub-editenv wrote', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const f = path.join(dir, 'grubenv');
      expect(run('grub-editenv', [f, 'create']).status).toBe(0);
      expect(run('grub-editenv', [f, 'set', 'saved_entry=Tiny Core', 'x=a\\b']).status).toBe(0);
      let r = await cli([f, 'list']);
      expect(r).toEqual({ status: 0, stdout: 'saved_entry=Tiny Core\nx=a\\b\n', stderr: '' });
      expect((await cli([f, 'get', 'x'])).stdout).toBe('a\\b\n');

      r = await cli([f, 'slot', 'A']);
      expect(r.status).toBe(0);
      r = await cli([f, 'try', '2']);
      expect(r.stdout).toBe('committed=A\ntrying=B\ntries_left=2\nconfirmed=0\n');
      r = await cli([f, 'set', 'note=line1\nline2', 'eq=a=b']);
      expect(r.status).toBe(0);
      expect(fs.statSync(f).size).toBe(1024);
      const l = run('grub-editenv', [f, 'list']);
      expect(l.status).toBe(0);
      expect(l.stdout).toBe('saved_entry=Tiny Core\nx=a\\b\nboot_default=B\nboot_counter=2\nboot_success=0\nnote=line1\nline2\neq=a=b\n');
      expect((await cli([f, 'list'])).stdout).toBe(l.stdout);

      r = await cli([f, 'good']);
      expect(r.stdout).toBe('committed=B\ntrying=\ntries_left=0\nconfirmed=1\n');
      r = await cli([f, 'unset', 'note', 'eq']);
      expect(run('grub-editenv', [f, 'list']).stdout).toBe('saved_entry=Tiny Core\nx=a\\b\nboot_default=B\nboot_counter=0\nboot_success=1\n');
    } finally { cleanup(); }
  });

  it('exit codes: 1 with a code for an unset key or a full block, 2 for usage', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const f = path.join(dir, 'grubenv');
      expect(run('grub-editenv', [f, 'create']).status).toBe(0);
      const before = fs.readFileSync(f);
      let r = await cli([f, 'get', 'nope']);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^diskwright: BOOTENV_UNSET: [^\n]*\n$/);
      r = await cli([f, 'set', `big=${'x'.repeat(2000)}`]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^diskwright: GRUBENV_FULL: /);
      expect(fs.readFileSync(f).equals(before)).toBe(true);
      r = await cli([f, 'try', '10']);
      expect(r.stderr).toMatch(/^diskwright: BOOTENV_TRIES: /);
      expect((await cli([f, 'frobnicate'])).status).toBe(2);
      expect((await cli([f])).status).toBe(2);
      expect((await cli([f, 'list', '--bogus'])).status).toBe(2);
      r = await cli(['--help']);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/usage: diskwright bootenv/);
    } finally { cleanup(); }
  });
});

describe('diskwright bootenv on a bare autoboot.txt', () => {
  it('lists, switches slots and keeps the size', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const f = path.join(dir, 'autoboot.txt');
      fs.writeFileSync(f, formatAutoboot({ committed: 'A' }));
      const size = fs.statSync(f).size;
      expect((await cli([f, 'list'])).stdout).toBe('[all]\ntryboot_a_b=1\nboot_partition=2\n[tryboot]\nboot_partition=3\n');
      expect((await cli([f, 'slot', 'B'])).status).toBe(0);
      expect((await cli([f, 'get', 'boot_partition'])).stdout).toBe('3\n');
      expect((await cli([f, 'get', '[tryboot]boot_partition'])).stdout).toBe('2\n');
      const t = await cli([f, 'try']);
      expect(t.stderr).toMatch(/reboot "0 tryboot"/);
      const g = await cli([f, 'good', '--tryboot']);
      expect(g.stdout).toBe('committed=A\ntrying=\ntries_left=0\nconfirmed=1\n');
      expect(fs.statSync(f).size).toBe(size);
      expect(fs.readFileSync(f)).toEqual(Buffer.from(formatAutoboot({ committed: 'A' })));
    } finally { cleanup(); }
  });
});

describe('diskwright bootenv through the CLI dispatch', () => {
  it('main(["bootenv", …]) runs the command, --help included', async () => {
    const { main } = await import('../../src/cli/main.js');
    const { dir, cleanup } = tempDir();
    try {
      const f = path.join(dir, 'autoboot.txt');
      fs.writeFileSync(f, formatAutoboot({ committed: 'B' }));
      let out = '';
      let err = '';
      const io = { stdout: (b: Uint8Array | string) => { out += typeof b === 'string' ? b : Buffer.from(b).toString('utf8'); }, stderr: (s: string) => { err += s; } };
      expect(await main(['bootenv', f, 'get', 'boot_partition'], io)).toBe(0);
      expect(out).toBe('3\n');
      out = '';
      expect(await main(['bootenv', '--help'], io)).toBe(0);
      expect(out).toMatch(/^usage: diskwright bootenv/);
      expect(await main(['bootenv', f, 'get', 'nope'], io)).toBe(1);
      expect(err).toMatch(/^diskwright: BOOTENV_UNSET: /);
    } finally { cleanup(); }
  });
});
