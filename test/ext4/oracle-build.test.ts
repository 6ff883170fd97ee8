// The ext4 builder judged by e2fsprogs: e2fsck -fn must be clean, and debugfs
// must read back the names, bytes, modes, owners, times, symlink targets,
// hardlink groups, device numbers and xattrs of the source tree.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { FileTree, type Xattr } from '../../src/tree/tree.js';
import { bytesSource } from '../../src/io/source.js';
import type { Ext4Options } from '../../src/ext4/build.js';
import { haveTools, tempDir } from '../helpers/oracle.js';
import { buildImage, expectFsckClean, expectImageMatchesTree, sparseSource } from './build-util.js';

const enc = new TextEncoder();

/** A deterministic pseudo-random byte pattern (cheap, and different per file). */
function pattern(n: number, salt: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = (salt * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

const nameArb = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,20}$/) },
  { weight: 2, arbitrary: fc.constantFrom('ä', '日本語', 'Ωmega', 'naïve-file', 'ß', '🙂x').chain((s) => fc.nat(99).map((n) => `${s}${n}`)) },
  { weight: 1, arbitrary: fc.nat(9).map((n) => `${n}${'L'.repeat(254)}`) },
  { weight: 1, arbitrary: fc.nat(9).map((n) => `${n}${'é'.repeat(127)}`) },
);
// Before 1970 and after 2038 too: the _extra epoch bits carry them (ext4_encode_extra_time).
const timeArb = fc.record({ sec: fc.oneof(fc.integer({ min: 0, max: 2_000_000_000 }), fc.integer({ min: -2_147_483_648, max: 8_000_000_000 })), nsec: fc.integer({ min: 0, max: 999_999_999 }) });
const xattrArb = fc.uniqueArray(
  fc.oneof(
    fc.record({ name: fc.stringMatching(/^user\.[a-z]{1,12}$/), value: fc.uint8Array({ maxLength: 40 }) }),
    fc.constant({ name: 'security.capability', value: Uint8Array.from([0, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) }),
    fc.constant({ name: 'security.selinux', value: enc.encode('system_u:object_r:bin_t:s0\0') }),
    fc.record({ name: fc.constantFrom('user.big', 'trusted.big'), value: fc.uint8Array({ minLength: 100, maxLength: 1500 }) }),
  ),
  { maxLength: 4, selector: (x) => x.name },
);
const attrsArb = fc.record({
  mode: fc.integer({ min: 0, max: 0o7777 }),
  uid: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 70000 }), fc.constant(100000)),
  gid: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 70000 })),
  mtime: timeArb,
  xattrs: fc.option(xattrArb, { nil: undefined }),
});

type Spec =
  | { t: 'file'; size: number; sparse: boolean }
  | { t: 'dir'; children: Array<[string, Spec]> }
  | { t: 'symlink'; target: string }
  | { t: 'dev'; kind: 'char' | 'block'; major: number; minor: number }
  | { t: 'special'; kind: 'fifo' | 'socket' }
  | { t: 'link'; pick: number };

const leafArb: fc.Arbitrary<Spec> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('file' as const), size: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 5000, max: 300_000 })), sparse: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('symlink' as const), target: fc.oneof(fc.stringMatching(/^[a-z/.]{1,59}$/), fc.stringMatching(/^[a-z/.]{60,300}$/)) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('dev' as const), kind: fc.constantFrom('char' as const, 'block' as const), major: fc.integer({ min: 0, max: 4095 }), minor: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 256, max: 1048575 })) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('special' as const), kind: fc.constantFrom('fifo' as const, 'socket' as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('link' as const), pick: fc.nat() }) },
);
const specArb = fc.letrec<{ dir: Spec; node: Spec }>((tie) => ({
  dir: fc.record({
    t: fc.constant('dir' as const),
    children: fc.uniqueArray(fc.tuple(nameArb, tie('node')), { maxLength: 8, selector: (x) => x[0] }),
  }),
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leafArb, tie('dir')),
})).dir;

/** Realise a spec as a FileTree (attributes drawn from `attrs` in order). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function makeTree(spec: Spec, attrs: Array<any>): FileTree {
  const t = new FileTree({ defaultTime: { sec: 1_700_000_000, nsec: 0 } });
  let ai = 0;
  const nextAttrs = () => attrs[ai++ % attrs.length];
  const files: string[] = [];
  let salt = 1;
  const add = (p: string, s: Spec) => {
    const a = nextAttrs();
    const base = { mode: a.mode, uid: a.uid, gid: a.gid, mtime: a.mtime, xattrs: a.xattrs as Xattr[] | undefined };
    switch (s.t) {
      case 'dir':
        t.addDir(p, { ...base, mode: a.mode | 0o700 });
        for (const [n, c] of s.children) add(`${p}/${n}`, c);
        break;
      case 'file': {
        salt++;
        const src = s.sparse && s.size > 8192
          ? sparseSource(s.size, [[100, 5000], [Math.floor(s.size / 2), Math.floor(s.size / 2) + 10]], salt)
          : bytesSource(pattern(s.size, salt));
        t.addFile(p, src, base);
        files.push(p);
        break;
      }
      case 'symlink': t.addSymlink(p, s.target, base); break;
      case 'dev': t.addDevice(p, s.kind, s.major, s.minor, base); break;
      case 'special': t.addSpecial(p, s.kind, base); break;
      case 'link':
        if (files.length > 0) t.addHardlink(p, files[s.pick % files.length]);
        else t.addSpecial(p, 'fifo', base);
        break;
    }
  };
  if (spec.t === 'dir') for (const [n, c] of spec.children) add(`/${n}`, c);
  return t;
}

describe.skipIf(!haveTools('e2fsck', 'debugfs'))('ext4 builder against e2fsck and debugfs', () => {
  it('property-generated trees: e2fsck clean, debugfs reads back the tree', async () => {
    const { dir, cleanup } = tempDir();
    try {
      let n = 0;
      const kinds: Record<string, number> = {};
      await fc.assert(
        fc.asyncProperty(specArb, fc.array(attrsArb, { minLength: 1, maxLength: 20 }), fc.constantFrom<Partial<Ext4Options>>(
          {}, { blockSize: 1024 }, { blockSize: 2048, journal: false }, { features: { metadata_csum: false, '64bit': false } },
          { features: { flex_bg: false }, owner: 'root' },
        ), async (spec, attrs, extra) => {
          const tree = makeTree(spec, attrs);
          const img = path.join(dir, `p${n++}.img`);
          await buildImage(tree, img, { size: 48 * 1024 * 1024, seed: `p${n}`, ...extra });
          expectFsckClean(img);
          expectImageMatchesTree(img, tree, dir, { owner: extra.owner === 'root' ? 'root' : undefined });
          for (const [, node] of tree.walk()) {
            kinds[node.kind] = (kinds[node.kind] ?? 0) + 1;
            if (node.xattrs?.length) kinds.xattr = (kinds.xattr ?? 0) + 1;
          }
          fs.rmSync(img);
        }),
        { numRuns: 25, seed: 20260424, endOnFailure: true },
      );
      // The generated trees really exercised every kind of entry.
      for (const k of ['file', 'dir', 'symlink', 'char', 'block', 'fifo', 'socket', 'xattr']) expect(kinds[k] ?? 0, k).toBeGreaterThan(3);
      console.log('entries checked', kinds);
    } finally {
      cleanup();
    }
  }, 300_000);
});
