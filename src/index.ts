// Public API of diskwright (Node): the browser-safe core plus the host edges.
export * from './core.js';
export * from './node/file-sink.js';
export * from './node/file-source.js';
export * from './node/zstd-sink.js';
export * from './node/output.js';
export { treeFromDirectory, hostFileSource } from './node/directory.js';
export { treeFromTar, type TarOptions } from './node/tar.js';
export { treeFromContents, type ContentItem, type ContentsOptions } from './node/inputs.js';
export { checkOwnerPolicy, applyOwner, clampTime, type OwnerMap, type OwnerPolicy, type InputOptions } from './node/owner.js';
export * from './node/build-file.js';
export * from './kernel/index.js';
export { runOracles } from './node/oracles.js';
export { verifyImageFile } from './cli/commands/verify.js';
export { openImageFile } from './node/open-image-file.js';
export { nodeDeflate, openImageDisk, type ImageDisk } from './node/vdisk.js';
export { updateSlotFile, nodeSha256, type UpdateSlotFileOptions, type SlotPayloadInfo } from './node/update-file.js';
