// UTF-16LE, as GPT partition names and VFAT long names store text.

/** Code units of `s` (a surrogate pair counts two). */
export function utf16Length(s: string): number {
  return s.length;
}

export function encodeUtf16le(s: string, buf?: Uint8Array, offset = 0): Uint8Array {
  const out = buf ?? new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[offset + 2 * i] = c & 0xff;
    out[offset + 2 * i + 1] = c >>> 8;
  }
  return out;
}

/** Decode UTF-16LE code units, stopping at the first NUL unit when `stopAtNul`. */
export function decodeUtf16le(buf: Uint8Array, offset = 0, length = buf.length - offset, stopAtNul = true): string {
  let s = '';
  const end = offset + (length & ~1);
  for (let o = offset; o < end; o += 2) {
    const c = buf[o] | (buf[o + 1] << 8);
    if (c === 0 && stopAtNul) break;
    s += String.fromCharCode(c);
  }
  return s;
}
