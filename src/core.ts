// The browser-safe core of diskwright: everything that needs no Node API
// (specs, layout, builders, readers, in-memory and streaming sinks, bootenv
// codecs and slot machines, trees from in-memory files and File/Blob objects).
// New core modules add one line here; src/index.ts re-exports this and adds
// the Node edges. `.img.zst` output is Node-only (src/node/zstd-sink.ts).
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
export * from './io/bmap.js';
export * from './io/tee-sink.js';
export * from './tree/tree.js';
export * from './image/cpio.js';
export * from './bootenv/index.js';
export * from './gpt/index.js';
export * from './mbr/index.js';
export * from './image/registry.js';
export * from './image/layout.js';
export * from './image/spec.js';
export * from './image/build.js';
export * from './image/open.js';
export * from './fat32/index.js';
export * from './ext4/index.js';
export * from './image/presets.js';
export * from './image/bootenv-spec.js';
export * from './image/verify.js';
export * from './browser/blob-source.js';
export * from './browser/files.js';
export * from './fs/writer.js';
export type { FilesystemDriver, PlanArgs } from './fs/driver.js';
export * from './io/range-writer.js';
export * from './vdisk/qcow2-header.js';
export * from './vdisk/qcow2-sink.js';
export * from './vdisk/qcow2-read.js';
export * from './vdisk/vhd-footer.js';
export * from './vdisk/vhd-sink.js';
export * from './vdisk/vhd-read.js';
export * from './vdisk/vmdk-header.js';
export * from './vdisk/vmdk-sink.js';
export * from './vdisk/vmdk-read.js';
export * from './vdisk/open.js';
export type { DeflateCodec } from './vdisk/deflate.js';
export * from './image/grow.js';
export { planExt4Grow, applyGrowWrites, type Ext4GrowPlan, type GrowWrite } from './ext4/resize.js';
export * from './image/update.js';
