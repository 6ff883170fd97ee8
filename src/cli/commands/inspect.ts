// diskwright inspect IMG [--json]: the partition table, partitions and the
// filesystem in each, in the JSON shape /CLI contract fixes.
import { gptTypeAlias } from '../../gpt/types.js';
import { openImage, type OpenedImage } from '../../image/open.js';
import { openImageDisk } from '../../node/vdisk.js';
import { parseArgs, usageError, type CliIo, type Command } from '../io.js';
import * as path from 'node:path';

export interface InspectJson {
  table: 'gpt' | 'mbr' | null;
  sectorSize: number;
  diskId: string | null;
  warnings: string[];
  partitions: {
    index: number; start: number; size: number; type: string | null; name: string | null; uuid: string | null;
    bootable: boolean; attributes: (string | number)[];
    filesystem: { type: string; label: string | null; uuid: string | null; size: number; used: number } | null;
  }[];
}

/** The inspect document for an opened image. */
export function inspectImage(img: OpenedImage): InspectJson {
  const partitions = img.partitions.map((p) => {
    const info = p.container ? null : img.filesystemInfo(p.index);
    return {
      index: p.index, start: p.start, size: p.size, type: p.type, name: p.name, uuid: p.uuid, bootable: p.bootable, attributes: p.attributes,
      filesystem: info ? { type: info.type, label: info.label, uuid: info.uuid, size: info.size, used: info.used } : null,
    };
  });
  return { table: img.table, sectorSize: img.sectorSize, diskId: img.diskId, warnings: [...img.warnings], partitions };
}

/** Sizes as people read them: exact binary units where they divide, else one decimal of MiB/GiB. */
export function formatSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (i < units.length - 1 && n >= 1024 ** (i + 1)) i++;
  const v = n / 1024 ** i;
  return `${Number.isInteger(v) ? v : v.toFixed(1)}${units[i]}`;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** Human-readable layout. */
export function formatInspect(doc: InspectJson, name: string, imageSize: number): string {
  const lines: string[] = [];
  const head = doc.table === null ? 'no partition table (bare filesystem)' : `${doc.table === 'gpt' ? 'GPT' : 'MBR'}, ${doc.sectorSize}-byte sectors, disk id ${doc.diskId}`;
  lines.push(`${name}: ${formatSize(imageSize)}, ${head}`);
  const rows = [['#', 'start', 'size', 'type', 'name', 'flags', 'filesystem']];
  for (const p of doc.partitions) {
    const alias = p.type && doc.table === 'gpt' ? gptTypeAlias(p.type) : undefined;
    const fs = p.filesystem ? `${p.filesystem.type}${p.filesystem.label ? ` "${p.filesystem.label}"` : ''} ${p.filesystem.uuid ?? ''} (${formatSize(p.filesystem.used)} used)`.replace(/ +\(/, ' (') : '-';
    const flags = [...(p.bootable ? ['bootable'] : []), ...p.attributes.filter((a) => a !== 'legacy-bios-bootable').map(String)].join(',');
    rows.push([String(p.index), formatSize(p.start), formatSize(p.size), alias ?? p.type ?? '-', p.name ?? '', flags || '-', fs]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  for (const r of rows) lines.push(r.map((cell, c) => (c === r.length - 1 ? cell : pad(cell, widths[c]))).join('  ').trimEnd());
  for (const w of doc.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n') + '\n';
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: 'show the partition table, partitions and filesystems of an image',
  help: `usage: diskwright inspect IMG [--json]

Show an image's partition table (GPT, MBR, or none for a bare filesystem),
its partitions and the filesystem in each.

IMG may be raw, qcow2 or VHD (found by its contents); sizes are of the
virtual disk.

options:
  --json   print the result as JSON: {table, sectorSize, diskId, warnings,
           partitions: [{index, start, size, type, name, uuid, bootable,
           attributes, filesystem: {type, label, uuid, size, used} | null}]}
`,
  async run(argv: string[], io: CliIo): Promise<number> {
    const a = parseArgs(argv, ['--json'], []);
    if (a.positional.length !== 1) throw usageError('expected one image (diskwright inspect IMG [--json])');
    const file = path.resolve(io.cwd, a.positional[0]);
    const disk = openImageDisk(file);
    try {
      const doc = inspectImage(openImage(disk));
      io.stdout(a.flags.has('--json') ? JSON.stringify(doc, null, 2) + '\n' : formatInspect(doc, a.positional[0] + (disk.format === 'raw' ? '' : ` (${disk.format})`), disk.size));
    } finally {
      disk.close();
    }
    return 0;
  },
};
