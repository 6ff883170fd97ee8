// Whether a buffer holds only zeros: four bytes at a time where the view is
// aligned, the rest byte by byte. Virtual disk sinks allocate no cluster
// that reads as zeros.
export function isZero(b: Uint8Array): boolean {
  const head = (4 - (b.byteOffset & 3)) & 3;
  let i = 0;
  for (; i < head && i < b.length; i++) if (b[i] !== 0) return false;
  const words = (b.length - i) >> 2;
  if (words > 0) {
    const w = new Uint32Array(b.buffer, b.byteOffset + i, words);
    for (let k = 0; k < words; k++) if (w[k] !== 0) return false;
    i += words * 4;
  }
  for (; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}
