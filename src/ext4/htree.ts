// Directory index hashes (Linux fs/ext4/hash.c, ext4fs_dirhash; e2fsprogs
// lib/ext2fs/dirhash.c, ext2fs_dirhash): legacy (dx_hack_hash), half MD4 and
// TEA, each in a signed and an unsigned variant (how `char` was read on the
// machine that made the filesystem; s_flags says which).
import { HASH_HALF_MD4, HASH_HALF_MD4_UNSIGNED, HASH_LEGACY, HASH_LEGACY_UNSIGNED, HASH_TEA, HASH_TEA_UNSIGNED } from './features.js';
import { fail } from '../errors.js';

export interface DirHash {
  hash: number;
  minorHash: number;
}

/** EXT4_HTREE_EOF_32BIT */
const HTREE_EOF_32BIT = 0x7fffffff;

function rol32(x: number, s: number): number {
  return ((x << s) | (x >>> (32 - s))) >>> 0;
}

function dxHackHash(name: Uint8Array, signed: boolean): number {
  let hash0 = 0x12a3fe2d;
  let hash1 = 0x37abe8f9;
  for (let i = 0; i < name.length; i++) {
    const c = signed ? (name[i] << 24) >> 24 : name[i];
    let hash = (hash1 + ((hash0 ^ Math.imul(c, 7152373)) >>> 0)) >>> 0;
    if (hash & 0x80000000) hash = (hash - 0x7fffffff) >>> 0;
    hash1 = hash0;
    hash0 = hash;
  }
  return (hash0 << 1) >>> 0;
}

/** str2hashbuf_signed / str2hashbuf_unsigned: `num` words from up to num*4 bytes, padded with the length. */
function str2hashbuf(name: Uint8Array, pos: number, len: number, num: number, signed: boolean): number[] {
  const out: number[] = [];
  let pad = (len | (len << 8)) >>> 0;
  pad = (pad | (pad << 16)) >>> 0;
  let val = pad;
  const n = Math.min(len, num * 4);
  for (let i = 0; i < n; i++) {
    const c = signed ? (name[pos + i] << 24) >> 24 : name[pos + i];
    val = (c + ((val << 8) >>> 0)) >>> 0;
    if (i % 4 === 3) {
      out.push(val);
      val = pad;
      num--;
    }
  }
  if (--num >= 0) out.push(val);
  while (--num >= 0) out.push(pad);
  return out;
}

const K2 = 0o13240474631;
const K3 = 0o15666365641;

function halfMd4Transform(buf: number[], x: number[]): void {
  let a = buf[0], b = buf[1], c = buf[2], d = buf[3];
  const F = (x1: number, y: number, z: number) => (z ^ (x1 & (y ^ z))) >>> 0;
  const G = (x1: number, y: number, z: number) => (((x1 & y) >>> 0) + (((x1 ^ y) & z) >>> 0)) >>> 0;
  const H = (x1: number, y: number, z: number) => (x1 ^ y ^ z) >>> 0;
  const R = (f: typeof F, p: number, q: number, r: number, s: number, v: number, sh: number) =>
    rol32((p + f(q, r, s) + v) >>> 0, sh);
  a = R(F, a, b, c, d, x[0], 3); d = R(F, d, a, b, c, x[1], 7); c = R(F, c, d, a, b, x[2], 11); b = R(F, b, c, d, a, x[3], 19);
  a = R(F, a, b, c, d, x[4], 3); d = R(F, d, a, b, c, x[5], 7); c = R(F, c, d, a, b, x[6], 11); b = R(F, b, c, d, a, x[7], 19);
  a = R(G, a, b, c, d, x[1] + K2, 3); d = R(G, d, a, b, c, x[3] + K2, 5); c = R(G, c, d, a, b, x[5] + K2, 9); b = R(G, b, c, d, a, x[7] + K2, 13);
  a = R(G, a, b, c, d, x[0] + K2, 3); d = R(G, d, a, b, c, x[2] + K2, 5); c = R(G, c, d, a, b, x[4] + K2, 9); b = R(G, b, c, d, a, x[6] + K2, 13);
  a = R(H, a, b, c, d, x[3] + K3, 3); d = R(H, d, a, b, c, x[7] + K3, 9); c = R(H, c, d, a, b, x[2] + K3, 11); b = R(H, b, c, d, a, x[6] + K3, 15);
  a = R(H, a, b, c, d, x[1] + K3, 3); d = R(H, d, a, b, c, x[5] + K3, 9); c = R(H, c, d, a, b, x[0] + K3, 11); b = R(H, b, c, d, a, x[4] + K3, 15);
  buf[0] = (buf[0] + a) >>> 0;
  buf[1] = (buf[1] + b) >>> 0;
  buf[2] = (buf[2] + c) >>> 0;
  buf[3] = (buf[3] + d) >>> 0;
}

function teaTransform(buf: number[], x: number[]): void {
  let sum = 0;
  let b0 = buf[0], b1 = buf[1];
  const [a, b, c, d] = x;
  for (let n = 0; n < 16; n++) {
    sum = (sum + 0x9e3779b9) >>> 0;
    b0 = (b0 + ((((b1 << 4) + a) ^ (b1 + sum) ^ ((b1 >>> 5) + b)) >>> 0)) >>> 0;
    b1 = (b1 + ((((b0 << 4) + c) ^ (b0 + sum) ^ ((b0 >>> 5) + d)) >>> 0)) >>> 0;
  }
  buf[0] = (buf[0] + b0) >>> 0;
  buf[1] = (buf[1] + b1) >>> 0;
}

/** The four u32 of s_hash_seed (little-endian), or null when all zero (use the default MD4 constants). */
export function hashSeedWords(seed: Uint8Array | null | undefined): number[] | null {
  if (!seed || seed.length < 16) return null;
  const dv = new DataView(seed.buffer, seed.byteOffset, 16);
  const w = [0, 1, 2, 3].map((i) => dv.getUint32(i * 4, true));
  return w.some((x) => x !== 0) ? w : null;
}

/**
 * ext4fs_dirhash(): the hash of a directory entry name. `version` is the
 * dx_root hash_version plus 3 for the unsigned variants (as the kernel adds
 * when s_flags has EXT2_FLAGS_UNSIGNED_HASH).
 */
export function dirHash(name: Uint8Array, version: number, seed: Uint8Array | null = null): DirHash {
  const buf = hashSeedWords(seed) ?? [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];
  let hash: number;
  let minorHash = 0;
  switch (version) {
    case HASH_LEGACY:
    case HASH_LEGACY_UNSIGNED:
      hash = dxHackHash(name, version === HASH_LEGACY);
      break;
    case HASH_HALF_MD4:
    case HASH_HALF_MD4_UNSIGNED: {
      const signed = version === HASH_HALF_MD4;
      for (let pos = 0, len = name.length; len > 0; pos += 32, len -= 32) {
        halfMd4Transform(buf, str2hashbuf(name, pos, len, 8, signed));
      }
      minorHash = buf[2];
      hash = buf[1];
      break;
    }
    case HASH_TEA:
    case HASH_TEA_UNSIGNED: {
      const signed = version === HASH_TEA;
      for (let pos = 0, len = name.length; len > 0; pos += 16, len -= 16) {
        teaTransform(buf, str2hashbuf(name, pos, len, 4, signed));
      }
      hash = buf[0];
      minorHash = buf[1];
      break;
    }
    default:
      fail('EXT4_HASH_UNSUPPORTED', `directory hash version ${version} is not supported`, { field: 'hash_version', actual: version });
  }
  hash = (hash & ~1) >>> 0;
  if (hash === (HTREE_EOF_32BIT << 1) >>> 0) hash = ((HTREE_EOF_32BIT - 1) << 1) >>> 0;
  return { hash, minorHash };
}
