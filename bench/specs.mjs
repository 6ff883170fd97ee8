// The benchmark's image specs, shared by bench/child.mjs and bench/vdisk.mjs.
import * as path from 'node:path';

/** The two KubeSolo layouts as diskwright specs, partition for partition as bench/run.mjs builds them classically. */
export function benchSpec(kind, payload, size) {
  const from = (d) => [{ from: path.resolve(payload, d), to: '/' }];
  if (kind === 'ext4') {
    return {
      table: 'gpt', size, seed: 'bench', sourceDateEpoch: 1700000000,
      partitions: [{ name: 'DATA', type: 'linux', size: 'rest', filesystem: { type: 'ext4', label: 'DATA', contents: from('data') } }],
    };
  }
  if (kind === 'gpt') {
    return {
      table: 'gpt', size, seed: 'bench', sourceDateEpoch: 1700000000,
      partitions: [
        { name: 'EFI', type: 'esp', size: '128MiB', filesystem: { type: 'fat32', label: 'EFI', contents: from('efi') } },
        { name: 'SYSTEM-A', type: 'linux', size: '512MiB', filesystem: { type: 'ext4', label: 'SYSTEM-A', contents: from('boot') } },
        { name: 'SYSTEM-B', type: 'linux', size: '512MiB', filesystem: { type: 'ext4', label: 'SYSTEM-B', contents: from('boot') } },
        { name: 'DATA', type: 'linux', size: 'rest', filesystem: { type: 'ext4', label: 'DATA', contents: from('data') } },
      ],
    };
  }
  return {
    table: 'mbr', size, seed: 'bench', sourceDateEpoch: 1700000000,
    partitions: [
      { name: 'control', type: 'fat32', size: '256MiB', bootable: true, filesystem: { type: 'fat32', label: 'CONTROL', contents: from('control') } },
      { name: 'boot-a', type: 'fat32', size: '512MiB', filesystem: { type: 'fat32', label: 'BOOT-A', contents: from('boot') } },
      { name: 'boot-b', type: 'fat32', size: '512MiB', filesystem: { type: 'fat32', label: 'BOOT-B', contents: from('boot') } },
      { name: 'data', type: 'linux', size: 'rest', filesystem: { type: 'ext4', label: 'DATA', contents: from('data') } },
    ],
  };
}
