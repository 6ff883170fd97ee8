// GUIDs as UEFI stores them (UEFI 2.10 appendix A): the first three groups
// little-endian, the last two as bytes ("mixed-endian"). Formatted as the
// canonical upper-case 8-4-4-4-12 string.
import { fail } from '../errors.js';

const GUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function isGuid(s: string): boolean {
  return GUID_RE.test(s);
}

export function encodeGuid(s: string, buf: Uint8Array = new Uint8Array(16), offset = 0): Uint8Array {
  if (!GUID_RE.test(s)) fail('GUID_INVALID', `not a GUID: ${JSON.stringify(s)}`, { value: s });
  const hex = s.replace(/-/g, '');
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i++) b[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  // data1 (4 bytes LE), data2 (2 LE), data3 (2 LE), data4 (8 bytes as is)
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  for (let i = 0; i < 16; i++) buf[offset + i] = b[order[i]];
  return buf;
}

export function decodeGuid(buf: Uint8Array, offset = 0): string {
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  let hex = '';
  for (let i = 0; i < 16; i++) hex += buf[offset + order[i]].toString(16).padStart(2, '0');
  hex = hex.toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** RFC 4122 byte order (big-endian, as ext4's s_uuid and blkid print it). */
export function encodeUuid(s: string): Uint8Array {
  if (!GUID_RE.test(s)) fail('UUID_INVALID', `not a UUID: ${JSON.stringify(s)}`, { value: s });
  const hex = s.replace(/-/g, '');
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i++) b[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return b;
}

/** Lower-case RFC 4122 string of 16 big-endian bytes. */
export function decodeUuid(buf: Uint8Array, offset = 0): string {
  let hex = '';
  for (let i = 0; i < 16; i++) hex += buf[offset + i].toString(16).padStart(2, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const ZERO_GUID = '00000000-0000-0000-0000-000000000000';
