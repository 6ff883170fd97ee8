// A payload-shaped tree (a scaled-down, deterministic copy of the shape of
// ../shared/bench/make-payload.sh's data/: nested directories up to depth 8,
// files of log-uniform sizes, sparse files, fast/slow/dangling/directory
// symlinks, hard links, empty files and directories, 255-byte and UTF-8
// names, setuid/setgid/sticky modes, devices, a directory large enough to be
// hashed) read from a host directory, built, checked by e2fsck and debugfs,
// and timed against mke2fs -d on the same directory.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileTree } from '../../src/tree/tree.js';
import { treeFromDirectory } from '../../src/node/directory.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';
import { buildImage, expectFsckClean, expectImageMatchesTree } from './build-util.js';

const MiB = 1024 * 1024;

class Rng {
  private x: bigint;
  constructor(seed: number) { this.x = BigInt(seed); }
  next(): number {
    const M = (1n << 64n) - 1n;
    this.x = (this.x + 0x9e3779b97f4a7c15n) & M;
    let z = this.x;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M;
    return Number((z ^ (z >> 31n)) >> 11n) / 2 ** 53;
  }
  below(n: number): number { return Math.floor(this.next() * n); }
  logu(lo: number, hi: number): number { return Math.round(Math.exp(Math.log(lo) + this.next() * (Math.log(hi) - Math.log(lo)))); }
}

function fill(n: number, r: Rng): Buffer {
  const b = Buffer.alloc(n);
  let x = (r.below(0xffffffff) | 1) >>> 0;
  for (let i = 0; i < n; i++) {
    if ((i & 3) === 0) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; }
    b[i] = (x >>> ((i & 3) * 8)) & 0xff;
  }
  return b;
}

/** Writes the payload-shaped tree under `root`; returns the entry count. */
function makePayloadDir(root: string, entries: number): number {
  const r = new Rng(1700000000);
  const dirs = [root];
  const files: string[] = [];
  let n = 0;
  const name = (i: number) => {
    const k = r.below(20);
    if (k === 0) return `${i}-${'n'.repeat(250 - String(i).length)}`.slice(0, 255);
    if (k === 1) return `ünïcødé-${i}-日本`;
    return `f${i}.${['so', 'conf', 'txt', 'py', 'bin'][r.below(5)]}`;
  };
  // One big directory that must be hashed.
  const big = path.join(root, 'usr-share-big');
  fs.mkdirSync(big);
  dirs.push(big);
  for (let i = 0; i < 400; i++) fs.writeFileSync(path.join(big, `locale-entry-${i}`), `x${i}\n`);
  n += 401;
  while (n < entries) {
    const parent = dirs[r.below(dirs.length)];
    const depth = path.relative(root, parent).split(path.sep).length;
    const p = path.join(parent, name(n));
    const k = r.below(100);
    if (k < 12 && depth < 8) {
      fs.mkdirSync(p, { mode: r.below(10) === 0 ? 0o1777 : 0o755 });
      dirs.push(p);
    } else if (k < 70) {
      const size = r.below(8) === 0 ? 0 : r.logu(1, 2 * MiB);
      fs.writeFileSync(p, fill(size, r));
      const mode = [0o644, 0o755, 0o600, 0o4755, 0o2755, 0o444][r.below(6)];
      fs.chmodSync(p, mode);
      files.push(p);
    } else if (k < 73) {
      // sparse: data at both ends of a mostly empty file
      const fd = fs.openSync(p, 'w');
      fs.writeSync(fd, fill(5000, r), 0, 5000, 0);
      fs.writeSync(fd, fill(3000, r), 0, 3000, 20 * MiB);
      fs.closeSync(fd);
      files.push(p);
    } else if (k < 80) {
      fs.symlinkSync(r.below(2) === 0 ? 'target' : `../${'long/'.repeat(20)}target-${n}`, p);
    } else if (k < 83) {
      fs.symlinkSync(path.relative(parent, dirs[r.below(dirs.length)]) || '.', p);
    } else if (k < 88 && files.length > 0) {
      fs.linkSync(files[r.below(files.length)], p);
    } else if (k < 90) {
      run('mknod', [p, r.below(2) === 0 ? 'c' : 'b', String(r.below(300)), String(r.below(2000))]);
    } else if (k < 92) {
      run('mkfifo', [p]);
    } else {
      fs.writeFileSync(p, '');
    }
    n++;
  }
  return n;
}

describe.skipIf(!haveTools('e2fsck', 'debugfs', 'mke2fs', 'mknod', 'mkfifo'))('ext4 builder on a payload-shaped tree', () => {
  it('a host directory: e2fsck clean, debugfs reads it back, timed against mke2fs -d', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const src = path.join(dir, 'data');
      fs.mkdirSync(src);
      const count = makePayloadDir(src, 3000);
      const size = 256 * MiB;
      const ours = path.join(dir, 'ours.img');
      // Timed like mke2fs -d: walking the directory is part of the build.
      let t0 = performance.now();
      const tree = treeFromDirectory(src, new FileTree({ defaultTime: { sec: 1_700_000_000, nsec: 0 } }));
      await buildImage(tree, ours, { size, seed: 'payload' });
      const oursMs = performance.now() - t0;
      expectFsckClean(ours);
      expectImageMatchesTree(ours, tree, dir);

      const theirs = path.join(dir, 'mke2fs.img');
      fs.writeFileSync(theirs, '');
      fs.truncateSync(theirs, size);
      t0 = performance.now();
      const mk = run('mke2fs', ['-q', '-F', '-t', 'ext4', '-d', src, theirs, String(size / 1024)]);
      const mkMs = performance.now() - t0;
      expect(mk.status, mk.stderr).toBe(0);
      console.log(`payload-shaped tree, ${count} entries: diskwright ${oursMs.toFixed(0)} ms, mke2fs -d ${mkMs.toFixed(0)} ms`);
    } finally {
      cleanup();
    }
  }, 300_000);
});
