// Public API of diskwright.
export * from './errors.js';
export * from './codec/struct.js';
export * from './codec/crc.js';
export * from './codec/guid.js';
export * from './codec/utf16.js';
export * from './codec/sha256.js';
export * from './codec/derive.js';
export * from './codec/units.js';
export * from './io/source.js';
export * from './io/disk.js';
export * from './io/sink.js';
export * from './io/memory-sink.js';
export * from './io/sequential-sink.js';
export * from './tree/tree.js';
export * from './node/file-sink.js';
export * from './node/file-source.js';
export * from './image/cpio.js';
