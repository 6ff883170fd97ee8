// Sinks: where an image goes. The emitter hands a sink extents in offset
// order:
//   write(offset, bytes)  data;
//   zero(offset, length)  a range that must read as zeros on the medium
//                         (FATs, bitmaps, GPT arrays…). A sparse file keeps
//                         it as a hole; a block map marks it mapped so a
//                         flash over old data still zeroes it.
// Ranges given neither way are free space: their content does not matter.
// finish(size) commits; abort() discards and leaves nothing behind.
// The data passed to write() is lent until its promise resolves: emitters
// reuse their buffers after that (src/io/stage.ts), so a sink that keeps
// bytes longer copies them. An emitter has one call outstanding at a time.

export interface Sink {
  write(offset: number, data: Uint8Array): Promise<void>;
  zero(offset: number, length: number): Promise<void>;
  finish(size: number): Promise<void>;
  abort(reason?: unknown): Promise<void>;
}

/** An extent as sinks record them. */
export interface Extent {
  offset: number;
  length: number;
  /** true for data, false for a zero range. */
  data: boolean;
}
