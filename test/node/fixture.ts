// A host directory made at test time with every kind of entry an input must
// carry, and an independent listing of it (GNU find, stat, and Python's
// os.listxattr) to compare our trees against.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { run } from '../helpers/oracle.js';
import type { FileTree, TreeNode } from '../../src/tree/tree.js';

export const ROOT = typeof process.getuid === 'function' && process.getuid() === 0;

export const ODD_NAMES = ['with space', 'ünïcødé ☃', 'new\nline', 'tab\tname', '-dash', '#hash', `quote'"`, 'n'.repeat(255)];
export const LONG_DIR = 'a-rather-long-directory-name-'.repeat(3); // 87 bytes: two levels exceed ustar's 100/155

export interface FixtureOptions {
  devices?: boolean;
  sockets?: boolean;
  xattrs?: boolean;
  /** Create entries in reverse order (for read-order independence). */
  reverse?: boolean;
}

function bytesFor(seed: string, n: number): Buffer {
  const out = Buffer.alloc(n);
  let h = createHash('sha256').update(seed).digest();
  for (let o = 0; o < n; o += h.length) {
    h.copy(out, o, 0, Math.min(h.length, n - o));
    h = createHash('sha256').update(h).digest();
  }
  return out;
}

/** A creation step and its phase: 0 mkdir, 1 create, 2 hard link, 3 owner, 4 mode (after chown, which clears setuid/setgid). */
type Step = [number, () => void];

/** Fill `dir` (which must exist and be empty). List it with listHostTree. */
export function makeHostTree(dir: string, opts: FixtureOptions = {}): void {
  const p = (...xs: string[]) => path.join(dir, ...xs);
  const mk = (...xs: string[]): Step => [0, () => fs.mkdirSync(p(...xs), { recursive: true })];
  const steps: Step[] = [
    mk('etc'),
    [1, () => fs.writeFileSync(p('etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n', { mode: 0o644 })],
    [1, () => fs.writeFileSync(p('etc', 'shadow'), 'root:*:19000::::::\n', { mode: 0o600 })],
    mk('usr', 'bin'),
    [1, () => fs.writeFileSync(p('usr', 'bin', 'suid'), bytesFor('suid', 5000))],
    [4, () => fs.chmodSync(p('usr', 'bin', 'suid'), 0o4755)],
    [1, () => fs.writeFileSync(p('usr', 'bin', 'sgid'), bytesFor('sgid', 70_000))],
    [4, () => fs.chmodSync(p('usr', 'bin', 'sgid'), 0o2711)],
    [1, () => fs.writeFileSync(p('usr', 'bin', 'big'), bytesFor('big', 3 * 1024 * 1024 + 17))],
    mk('tmp'),
    [4, () => fs.chmodSync(p('tmp'), 0o1777)],
    mk('empty-dir'),
    [4, () => fs.chmodSync(p('empty-dir'), 0o750)],
    [1, () => fs.writeFileSync(p('empty-file'), '')],
    // hard links: three names, one inode
    [1, () => fs.writeFileSync(p('usr', 'bin', 'busybox'), bytesFor('busybox', 12_345), { mode: 0o755 })],
    [2, () => fs.linkSync(p('usr', 'bin', 'busybox'), p('usr', 'bin', 'sh'))],
    [2, () => fs.linkSync(p('usr', 'bin', 'busybox'), p('etc', 'ls'))],
    // symlinks: relative, absolute, dangling, a loop, a long target
    [1, () => fs.symlinkSync('busybox', p('usr', 'bin', 'ash'))],
    [1, () => fs.symlinkSync('/etc/passwd', p('abs-link'))],
    [1, () => fs.symlinkSync('does/not/exist', p('dangling'))],
    [1, () => fs.symlinkSync('loop-b', p('loop-a'))],
    [1, () => fs.symlinkSync('loop-a', p('loop-b'))],
    [1, () => fs.symlinkSync('t'.repeat(200) + '/' + 'u'.repeat(150), p('long-target'))],
    mk('odd'),
    ...ODD_NAMES.map((n, i): Step => [1, () => fs.writeFileSync(p('odd', n), `odd ${i}\n`)]),
    mk(LONG_DIR, LONG_DIR, LONG_DIR),
    [1, () => fs.writeFileSync(p(LONG_DIR, LONG_DIR, LONG_DIR, 'f'.repeat(120)), 'deep\n')],
    [1, () => fs.symlinkSync(LONG_DIR + '/' + LONG_DIR, p(LONG_DIR, 'link-with-long-target'))],
    [1, () => run('mkfifo', ['-m', '0640', p('fifo')])],
    // owners
    [3, () => fs.chownSync(p('etc', 'shadow'), 0, 42)],
    [3, () => fs.chownSync(p('usr', 'bin', 'sgid'), 1000, 1000)],
    [3, () => fs.lchownSync(p('dangling'), 1234, 5678)],
    [3, () => fs.chownSync(p('empty-dir'), 1000, 1001)],
  ];
  if (opts.devices) {
    steps.push(mk('dev'));
    steps.push([1, () => run('mknod', ['-m', '0666', p('dev', 'null'), 'c', '1', '3'])]);
    steps.push([1, () => run('mknod', ['-m', '0660', p('dev', 'loop0'), 'b', '7', '0'])]);
    steps.push([1, () => run('mknod', ['-m', '0600', p('dev', 'big'), 'c', '4095', '1048575'])]);
  }
  if (opts.sockets) {
    steps.push([1, () => run('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', p('sock')])]);
  }
  // Phase by phase; in reverse mode each phase runs backwards, so entries are made in another order.
  const ordered = [0, 1, 2, 3, 4].flatMap((ph) => {
    const these = steps.filter((s) => s[0] === ph);
    return opts.reverse ? these.reverse() : these;
  });
  for (const [, s] of ordered) s();
  // xattrs and nanosecond times last (adding children changes a directory's mtime).
  const py = String.raw`
import os, sys
root = sys.argv[1]
xattrs = sys.argv[2] == '1'
if xattrs:
    f = os.path.join(root, 'usr/bin/suid')
    os.setxattr(f, 'security.capability', bytes.fromhex('0100000200200000000000000000000000000000'))
    os.setxattr(f, 'user.comment', b'bin\x00ary\xff\xfe')
    os.setxattr(os.path.join(root, 'etc/passwd'), 'security.selinux', b'system_u:object_r:etc_t:s0\x00')
    os.setxattr(os.path.join(root, 'etc'), 'user.dir', b'on a directory')
entries = []
for d, dirs, files in os.walk(root):
    for n in dirs + files:
        entries.append(os.path.join(d, n))
entries.sort()
for i, e in enumerate(entries):
    ns = 1600000000 * 10**9 + i * 1000003 * 997 + 123456789
    os.utime(e, ns=(ns, ns), follow_symlinks=False)
os.utime(root, ns=(1599999999 * 10**9 + 5, 1599999999 * 10**9 + 5))
`;
  const r = run('python3', ['-c', py, dir, opts.xattrs ? '1' : '0']);
  if (r.status !== 0) throw new Error(`fixture: python3 failed: ${r.stderr}`);
}

export interface Row {
  path: string;
  kind: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: string;
  size: number | null;
  target: string | null;
  device: string | null;
  link: string;
  xattrs: string;
}

const KIND: Record<string, string> = { f: 'file', d: 'dir', l: 'symlink', p: 'fifo', s: 'socket', c: 'char', b: 'block' };

/** The host directory as rows, read by GNU find, stat and Python (never by our code). Paths are '/'-rooted. */
export function listHostTree(dir: string, opts: { xattrs?: boolean } = {}): Row[] {
  const r = run('find', [dir, '-printf', '%P\\0%y\\0%m\\0%U\\0%G\\0%T@\\0%s\\0%l\\0%i\\0']);
  if (r.status !== 0) throw new Error(`find failed: ${r.stderr}`);
  const f = r.stdout.split('\0');
  const rows: Row[] = [];
  const inodes = new Map<string, string[]>();
  for (let i = 0; i + 9 <= f.length; i += 9) {
    const [rel, y, m, u, g, t, s, l, ino] = f.slice(i, i + 9);
    const p = '/' + rel;
    const kind = KIND[y];
    let device: string | null = null;
    if (kind === 'char' || kind === 'block') {
      const st = run('stat', ['--printf', '%t %T', path.join(dir, rel)]).stdout.split(' ');
      device = `${parseInt(st[0], 16)}:${parseInt(st[1], 16)}`;
    }
    const [sec, frac = ''] = t.split('.');
    rows.push({
      path: p === '/' ? '/' : p,
      kind,
      mode: parseInt(m, 8),
      uid: Number(u),
      gid: Number(g),
      mtime: `${sec}.${(frac + '000000000').slice(0, 9)}`,
      size: kind === 'file' ? Number(s) : null,
      target: kind === 'symlink' ? l : null,
      device,
      link: p,
      xattrs: '',
    });
    if (kind !== 'dir') inodes.set(ino, [...(inodes.get(ino) ?? []), p]);
  }
  const first = new Map<string, string>();
  for (const paths of inodes.values()) {
    const f0 = [...paths].sort()[0];
    for (const q of paths) first.set(q, f0);
  }
  for (const row of rows) row.link = first.get(row.path) ?? row.path;
  if (opts.xattrs) {
    const py = String.raw`
import os, sys, json
root = sys.argv[1]
out = {}
for d, dirs, files in os.walk(root):
    for n in [''] + dirs + files:
        p = os.path.join(d, n) if n else d
        if os.path.islink(p): continue
        names = sorted(x for x in os.listxattr(p, follow_symlinks=False))
        if names:
            rel = '/' + os.path.relpath(p, root) if p != root else '/'
            out[rel.replace('/./', '/') if rel != '/.' else '/'] = ';'.join(x + '=' + os.getxattr(p, x, follow_symlinks=False).hex() for x in names)
print(json.dumps(out))
`;
    const x = JSON.parse(run('python3', ['-c', py, dir]).stdout) as Record<string, string>;
    for (const row of rows) row.xattrs = x[row.path] ?? '';
  }
  return rows.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Our tree as the same rows (paths relative to `under`). */
export function listTree(tree: FileTree, under = '/'): Row[] {
  const rows: Row[] = [];
  const firstPath = new Map<TreeNode, string>();
  const prefix = under === '/' ? '' : under.replace(/\/$/, '');
  const all = [...tree.walk()].filter(([p]) => p === (prefix || '/') || p.startsWith(prefix + '/'));
  for (const [p, node] of all) {
    const rel = prefix ? (p === prefix ? '/' : p.slice(prefix.length)) : p;
    const cur = firstPath.get(node);
    if (node.kind !== 'dir' && (cur === undefined || rel < cur)) firstPath.set(node, rel);
  }
  for (const [p, node] of all) {
    const rel = prefix ? (p === prefix ? '/' : p.slice(prefix.length)) : p;
    rows.push({
      path: rel,
      kind: node.kind,
      mode: node.mode,
      uid: node.uid,
      gid: node.gid,
      mtime: `${node.mtime.sec}.${String(node.mtime.nsec).padStart(9, '0')}`,
      size: node.kind === 'file' ? node.source.size : null,
      target: node.kind === 'symlink' ? node.target : null,
      device: node.kind === 'char' || node.kind === 'block' ? `${node.major}:${node.minor}` : null,
      link: node.kind === 'dir' ? rel : firstPath.get(node)!,
      xattrs: (node.xattrs ?? []).slice().sort((a, b) => (a.name < b.name ? -1 : 1)).map((x) => `${x.name}=${Buffer.from(x.value).toString('hex')}`).join(';'),
    });
  }
  return rows.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Every file's bytes through its source equal the host file's bytes. Returns the number of files compared. */
export function compareContents(tree: FileTree, under: string, dir: string): number {
  let n = 0;
  const prefix = under === '/' ? '' : under.replace(/\/$/, '');
  for (const [p, node] of tree.walk()) {
    if (node.kind !== 'file' || !(p.startsWith(prefix + '/'))) continue;
    const host = fs.readFileSync(path.join(dir, p.slice(prefix.length)));
    const ours = node.source.read(0, node.source.size);
    if (Buffer.compare(host, Buffer.from(ours)) !== 0) throw new Error(`${p}: contents differ`);
    n++;
  }
  return n;
}
