// The reader opens what the ext4 builder writes (strict checksums on), and
// finds the tree it was given: names, bytes, modes, owners, times, links,
// devices, xattrs. (e2fsck and debugfs check the builder itself.)
import { describe, expect, it } from 'vitest';
import { FileTree } from '../../src/tree/tree.js';
import { bytesSource, textSource } from '../../src/io/source.js';
import { MemorySink } from '../../src/io/memory-sink.js';
import { memoryDisk } from '../../src/io/disk.js';
import { planExt4 } from '../../src/ext4/build.js';
import { openExt4 } from '../../src/ext4/read.js';
import { walkExt4 } from './read-walk.js';

async function build(tree: FileTree, blockSize: 1024 | 4096): Promise<Uint8Array> {
  const size = 16 * 1024 * 1024;
  const plan = planExt4(tree, { size, blockSize, seed: 'read-ours', time: { sec: 1_700_000_000, nsec: 0 } });
  const sink = new MemorySink();
  await plan.emit(sink, 0);
  await sink.finish(size);
  return sink.bytes();
}

describe('reading the builder\'s images', () => {
  it.each([1024, 4096] as const)('block size %i', async (bs) => {
    const t = new FileTree();
    const big = new Uint8Array(200_000).map((_, i) => (i * 11 + 3) & 0xff);
    t.addDir('/etc', { mode: 0o755, uid: 0, gid: 0, mtime: { sec: 1_650_000_000, nsec: 0 } });
    t.addFile('/etc/hostname', textSource('kubesolo\n'), { mode: 0o644, uid: 0, gid: 0, mtime: { sec: 1_650_000_001, nsec: 500 } });
    t.addFile('/bin/tool', bytesSource(big), { mode: 0o4755, uid: 1000, gid: 70000, mtime: { sec: 5_000_000_000, nsec: 7 } });
    t.addHardlink('/bin/tool2', '/bin/tool');
    t.addSymlink('/bin/short', 'tool', { mode: 0o777, uid: 0, gid: 0, mtime: { sec: 1_650_000_002, nsec: 0 } });
    t.addSymlink('/bin/long', '/very/long/'.repeat(10) + 'target', { mode: 0o777, uid: 0, gid: 0, mtime: { sec: 1_650_000_003, nsec: 0 } });
    t.addDevice('/dev/null', 'char', 1, 3, { mode: 0o666, uid: 0, gid: 0, mtime: { sec: 1_650_000_004, nsec: 0 } });
    t.addDevice('/dev/nvme0n1p1', 'block', 259, 1000, { mode: 0o660, uid: 0, gid: 6, mtime: { sec: 1_650_000_005, nsec: 0 } });
    t.addSpecial('/run/fifo', 'fifo', { mode: 0o600, uid: 0, gid: 0, mtime: { sec: 1_650_000_006, nsec: 0 } });
    t.addFile('/caps', textSource('x'), { mode: 0o755, uid: 0, gid: 0, mtime: { sec: 1_650_000_007, nsec: 0 }, xattrs: [
      { name: 'security.capability', value: new Uint8Array([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) },
      { name: 'user.big', value: new Uint8Array(700).fill(0x61) },
    ] });
    for (let i = 0; i < 400; i++) t.addFile(`/many/file-number-${i}`, textSource(String(i)), { mode: 0o644, uid: 0, gid: 0, mtime: { sec: 1_650_000_100, nsec: 0 } });

    const r = openExt4(memoryDisk(await build(t, bs), false));
    expect(r.info()).toMatchObject({ type: 'ext4', blockSize: bs });
    const got = new Map(walkExt4(r).map((e) => [e.path, e]));
    expect(Buffer.from(got.get('/etc/hostname')!.data!).toString()).toBe('kubesolo\n');
    expect(r.stat('/etc/hostname').mtime).toEqual({ sec: 1_650_000_001, nsec: 500 });
    const tool = got.get('/bin/tool')!;
    expect(Buffer.from(tool.data!).equals(Buffer.from(big))).toBe(true);
    expect({ mode: tool.mode, uid: tool.uid, gid: tool.gid, nlink: tool.nlink }).toEqual({ mode: 0o4755, uid: 1000, gid: 70000, nlink: 2 });
    expect(r.stat('/bin/tool').mtime).toEqual({ sec: 5_000_000_000, nsec: 7 });
    expect(got.get('/bin/tool2')!.ino).toBe(tool.ino);
    expect(r.readlink('/bin/short')).toBe('tool');
    expect(r.readlink('/bin/long')).toBe('/very/long/'.repeat(10) + 'target');
    expect(r.stat('/dev/null')).toMatchObject({ type: 'char', major: 1, minor: 3, mode: 0o666 });
    expect(r.stat('/dev/nvme0n1p1')).toMatchObject({ type: 'block', major: 259, minor: 1000, gid: 6 });
    expect(r.stat('/run/fifo').type).toBe('fifo');
    const xs = Object.fromEntries(r.listXattrs('/caps').map((x) => [x.name, x.value.length]));
    expect(xs).toEqual({ 'security.capability': 20, 'user.big': 700 });
    expect(r.list('/many').length).toBe(400);
    expect(Buffer.from(r.readFile('/many/file-number-399')).toString()).toBe('399');
  });
});
