// Test helper: visit every entry of an ext reader (list, stat, read, readlink,
// xattrs), bounded in entries and depth, and describe it as plain data.
import type { Ext4Reader } from '../../src/ext4/read.js';

export interface WalkedEntry {
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  ino: number;
  nlink: number;
  mtime: number;
  mtimeNsec: number;
  target?: string;
  major?: number;
  minor?: number;
  xattrs?: Record<string, string>;
  data?: Uint8Array;
}

export function walkExt4(r: Ext4Reader, opts: { maxEntries?: number; maxDepth?: number; readData?: boolean } = {}): WalkedEntry[] {
  const maxEntries = opts.maxEntries ?? 200_000;
  const maxDepth = opts.maxDepth ?? 64;
  const out: WalkedEntry[] = [];
  const visit = (dir: string, depth: number) => {
    if (depth > maxDepth) throw new Error(`walk deeper than ${maxDepth} at ${dir}`);
    for (const e of r.list(dir)) {
      if (out.length >= maxEntries) throw new Error(`walk over ${maxEntries} entries`);
      const path = dir === '/' ? `/${e.name}` : `${dir}/${e.name}`;
      const st = r.stat(path);
      const w: WalkedEntry = { path, type: st.type, mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, ino: st.id, nlink: st.nlink, mtime: st.mtime.sec, mtimeNsec: st.mtime.nsec };
      if (st.type === 'symlink') w.target = r.readlink(path);
      if (st.type === 'char' || st.type === 'block') { w.major = st.major; w.minor = st.minor; }
      const xs = r.listXattrs(path);
      if (xs.length) w.xattrs = Object.fromEntries(xs.map((x) => [x.name, Buffer.from(x.value).toString('hex')]));
      if (st.type === 'file' && opts.readData !== false) w.data = r.readFile(path);
      out.push(w);
      if (st.type === 'dir') visit(path, depth + 1);
    }
  };
  visit('/', 0);
  return out;
}
