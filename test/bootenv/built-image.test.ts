// Boot environments inside images diskwright builds itself: the GPT track
// (grubenv on the ESP) and the Raspberry Pi track (autoboot.txt on p1),
// edited in place with the CLI command, checked with mtools + grub-editenv.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MemorySink } from '../../src/io/memory-sink.js';
import { memoryDisk } from '../../src/io/disk.js';
import { bytesSource } from '../../src/io/source.js';
import { buildImage } from '../../src/image/build.js';
import { openImage } from '../../src/image/open.js';
import { FileTree } from '../../src/tree/tree.js';
import { createGrubSlotEnv } from '../../src/bootenv/slots.js';
import { formatAutoboot } from '../../src/bootenv/autoboot.js';
import { bootenvCommand } from '../../src/cli/commands/bootenv.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';

async function build(spec: unknown, files: Record<string, Uint8Array>): Promise<Uint8Array> {
  const sink = new MemorySink();
  await buildImage(spec, sink, {
    sourceDateEpoch: 1700000000,
    loadTree: async (_fs, p, t) => {
      const tree = new FileTree({ defaultTime: t });
      if (p === 'partitions[0].filesystem') {
        for (const [name, data] of Object.entries(files)) tree.addFile(name, bytesSource(data), { mtime: t, contiguous: true });
      }
      return tree;
    },
  });
  return sink.bytes();
}

function cliIo() {
  const io = { out: '', err: '', stdout: (b: Uint8Array | string) => { io.out += typeof b === 'string' ? b : Buffer.from(b).toString('utf8'); }, stderr: (s: string) => { io.err += s; } };
  return io;
}

/** Only bytes inside `extents` (absolute) differ. */
function changedOutside(a: Uint8Array, b: Uint8Array, extents: Array<{ offset: number; length: number }>): number[] {
  const out: number[] = [];
  expect(b.length).toBe(a.length);
  const CH = 64 * 1024;
  for (let c = 0; c < a.length; c += CH) {
    const n = Math.min(CH, a.length - c);
    if (Buffer.from(a.buffer, a.byteOffset + c, n).equals(Buffer.from(b.buffer, b.byteOffset + c, n))) continue;
    for (let i = c; i < c + n; i++) {
      if (a[i] !== b[i] && !extents.some((e) => i >= e.offset && i < e.offset + e.length)) out.push(i);
    }
  }
  return out;
}

describe.skipIf(!haveTools('mcopy', 'grub-editenv', 'mtype'))('boot environments in images diskwright builds', () => {
  it('GPT track: try / good on the ESP grubenv, seen by grub-editenv', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const spec = {
        table: 'gpt', size: '80MiB', seed: 'bootenv',
        partitions: [
          { name: 'ESP', type: 'esp', size: '64MiB', filesystem: { type: 'fat32', label: 'ESP', contents: [{ from: 'x', to: '/' }] } },
          { name: 'SYSTEM-A', type: 'linux', size: '4MiB' },
          { name: 'SYSTEM-B', type: 'linux', size: '4MiB' },
        ],
      };
      const bytes = await build(spec, { '/EFI/BOOT/grubenv': createGrubSlotEnv('A').encode() });
      const img = path.join(dir, 'gpt.img');
      fs.writeFileSync(img, bytes);
      const io = cliIo();
      const st = await bootenvCommand([img, 'try', '3'], io);
      expect(io.err).toBe('');
      expect(st).toBe(0);
      expect(io.out).toBe('committed=A\ntrying=B\ntries_left=3\nconfirmed=0\n');
      const after = new Uint8Array(fs.readFileSync(img));
      const opened = openImage(memoryDisk(after, false));
      const p1 = opened.partitions[0];
      const ext = opened.filesystem(1).fileExtents('/EFI/BOOT/grubenv').map((e) => ({ offset: e.offset + p1.start, length: e.length }));
      expect(changedOutside(bytes, after, ext)).toEqual([]);
      const o = path.join(dir, 'env');
      const r = run('mcopy', ['-i', `${img}@@${p1.start}`, '::/EFI/BOOT/grubenv', o]);
      expect(r.status).toBe(0);
      expect(run('grub-editenv', [o, 'list']).stdout).toBe('boot_default=B\nboot_counter=3\nboot_success=0\n');
      expect(await bootenvCommand([img, 'good'], io)).toBe(0);
      expect(run('mcopy', ['-o', '-i', `${img}@@${p1.start}`, '::/EFI/BOOT/grubenv', o]).status).toBe(0);
      expect(run('grub-editenv', [o, 'list']).stdout).toBe('boot_default=B\nboot_counter=0\nboot_success=1\n');
    } finally { cleanup(); }
  });

  it('Raspberry Pi track: slot B rewrites autoboot.txt on p1 in place', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const spec = {
        table: 'mbr', size: '128MiB', seed: 'bootenv-pi',
        partitions: [
          { type: '0x0c', size: '64MiB', filesystem: { type: 'fat32', label: 'CONTROL', contents: [{ from: 'x', to: '/' }] } },
          { type: '0x0c', size: '16MiB' },
          { type: '0x0c', size: '16MiB' },
          { type: '0x83', size: 'rest' },
        ],
      };
      const bytes = await build(spec, { '/autoboot.txt': formatAutoboot({ committed: 'A' }) });
      const img = path.join(dir, 'pi.img');
      fs.writeFileSync(img, bytes);
      const io = cliIo();
      expect(await bootenvCommand([img, 'slot', 'B'], io)).toBe(0);
      io.out = '';
      expect(await bootenvCommand([img, 'list'], io)).toBe(0);
      expect(io.out).toBe('[all]\ntryboot_a_b=1\nboot_partition=3\n[tryboot]\nboot_partition=2\n');
      const after = new Uint8Array(fs.readFileSync(img));
      const opened = openImage(memoryDisk(after, false));
      const p1 = opened.partitions[0];
      const ext = opened.filesystem(1).fileExtents('/autoboot.txt').map((e) => ({ offset: e.offset + p1.start, length: e.length }));
      expect(changedOutside(bytes, after, ext)).toEqual([]);
      const t = run('mtype', ['-i', `${img}@@${p1.start}`, '::/autoboot.txt']);
      expect(t.stdout).toBe(Buffer.from(formatAutoboot({ committed: 'B' })).toString('latin1'));
    } finally { cleanup(); }
  });
});
