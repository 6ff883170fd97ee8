// Deflate for the formats that compress clusters or grains (qcow2, VMDK
// streamOptimized). The core stays free of Node APIs: the codec is injected
// (src/node/vdisk.ts gives node:zlib's).
export interface DeflateCodec {
  /**
   * Compress `data`. qcow2 wants raw deflate with a 4 KiB window (QEMU reads
   * it with inflateInit2(-12)); VMDK wants a zlib stream (RFC 1950).
   */
  deflate(data: Uint8Array, format: 'raw-4k' | 'zlib'): Uint8Array;
  /**
   * Optional: the same as deflate(), off the calling thread (node:zlib's
   * thread pool). Sinks keep several clusters in flight and write the
   * results in order, so compression runs on the other cores.
   */
  deflateAsync?(data: Uint8Array, format: 'raw-4k' | 'zlib'): Promise<Uint8Array>;
  /** Decompress into exactly `size` bytes at most; fewer is an error the caller reports. */
  inflate(data: Uint8Array, format: 'raw' | 'zlib', size: number): Uint8Array;
}
