// Deterministic identifiers. Every GUID, UUID, volume id and hash seed that a
// spec does not give is derived from the spec's seed and a purpose label, so
// the same spec gives the same bytes and two purposes never collide.
import { sha256 } from './sha256.js';
import { decodeUuid } from './guid.js';

const enc = new TextEncoder();

/** `n` (≤ 32) bytes derived from the seed and the labels. */
export function deriveBytes(seed: string, labels: readonly (string | number)[], n = 32): Uint8Array {
  if (n > 32) throw new RangeError('deriveBytes gives at most 32 bytes');
  const text = ['diskwright', seed, ...labels.map(String)].join('\u0000');
  return sha256(enc.encode(text)).slice(0, n);
}

/** An RFC 4122 version 4 style UUID string (lower case) derived from the seed. */
export function deriveUuid(seed: string, ...labels: (string | number)[]): string {
  const b = deriveBytes(seed, labels, 16);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return decodeUuid(b);
}

/** The same as deriveUuid, upper case, as GPT GUIDs are shown. */
export function deriveGuid(seed: string, ...labels: (string | number)[]): string {
  return deriveUuid(seed, ...labels).toUpperCase();
}

/** A 32-bit number derived from the seed (FAT volume ids, MBR disk signatures). */
export function deriveU32(seed: string, ...labels: (string | number)[]): number {
  const b = deriveBytes(seed, labels, 4);
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
}
