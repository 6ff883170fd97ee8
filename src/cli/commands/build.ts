// diskwright build SPEC.json -o OUT [--zstd] [--bmap] [--seed S] [--sync|--no-sync] [--json]
import * as path from 'node:path';
import { formatSize } from './inspect.js';
import { buildImageFile, buildSlotPayload } from '../../node/build-file.js';
import { parseArgs, usageError, type CliIo, type Command } from '../io.js';
import { progressBar } from '../progress.js';
import type { ImageFormat } from '../../node/output.js';
import { parseSize } from '../../codec/units.js';

const FORMATS: ImageFormat[] = ['raw', 'qcow2', 'vhd', 'vhd-dynamic', 'vmdk'];

export const buildCommand: Command = {
  name: 'build',
  summary: 'build a disk image from a JSON spec',
  help: `usage: diskwright build SPEC.json -o OUT [--format F] [--slot-payload A|B] [--zstd] [--bmap] [--seed S]
             [--sync|--no-sync] [--json]

Build a whole disk image (GPT or MBR, FAT and ext4 filesystems) from a JSON
spec. Paths in the spec ("from") are relative to the spec file. Nothing is
left at OUT when the build fails or is interrupted.

options:
  -o, --output OUT  the image to write
  --format F        raw, qcow2, vhd (fixed), vhd-dynamic or vmdk
                    (streamOptimized); default from OUT's extension (.qcow2,
                    .vhd, .vmdk), else raw
  --cluster-size N  qcow2 cluster size (default 64KiB), VHD dynamic block size
                    (default 2MiB), VMDK grain size (default 64KiB)
  --compress        qcow2: deflate-compressed clusters
  --slot-payload A|B  write only that slot's filesystem (partition 2 or 3) as
                    OUT, with OUT.json (slot, size, SHA-256) beside it, for
                    \`diskwright update --from OUT\`
  --zstd            write OUT.zst (streamed; OUT itself when it ends in .zst)
  --bmap            write a block map beside the image (for bmaptool copy)
  --seed S          derive GUIDs, UUIDs and volume ids from S instead of the
                    spec's seed
  --sync            fsync every output before it is renamed into place, as
                    mke2fs and mkfs.fat do (the default)
  --no-sync         leave the writeback to the kernel: OUT still appears only
                    complete, but a crash soon after may lose it
  --json            print the build report as JSON

On a terminal, a progress line (bytes and files, rate, time left) is drawn on
stderr while the image is written; otherwise only the summary is printed.

environment:
  SOURCE_DATE_EPOCH  time for every entry that has none (default 0, unless
                     the spec sets sourceDateEpoch)
`,
  async run(argv: string[], io: CliIo): Promise<number> {
    const a = parseArgs(argv, ['--zstd', '--bmap', '--json', '--compress', '--sync', '--no-sync'], ['-o', '--output', '--seed', '--format', '--cluster-size', '--slot-payload']);
    if (a.positional.length !== 1) throw usageError('expected one spec file (diskwright build SPEC.json -o OUT)');
    const out = a.values.get('-o') ?? a.values.get('--output');
    if (!out) throw usageError('-o OUT is required');
    const format = a.values.get('--format');
    if (format !== undefined && !FORMATS.includes(format as ImageFormat)) throw usageError(`--format must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
    const cs = a.values.get('--cluster-size');
    const clusterSize = cs === undefined ? undefined : parseSize(cs, '--cluster-size');
    if (a.flags.has('--sync') && a.flags.has('--no-sync')) throw usageError('--sync and --no-sync contradict each other');
    const slotPayload = a.values.get('--slot-payload');
    if (slotPayload !== undefined && !/^[AB]$/i.test(slotPayload)) throw usageError(`--slot-payload takes A or B, not ${JSON.stringify(slotPayload)}`);
    if (slotPayload !== undefined) {
      const r = await buildSlotPayload(path.resolve(io.cwd, a.positional[0]), path.resolve(io.cwd, out), slotPayload.toUpperCase() as 'A' | 'B', {
        zstd: a.flags.has('--zstd'), bmap: a.flags.has('--bmap'), seed: a.values.get('--seed'), sourceDateEpoch: io.env.SOURCE_DATE_EPOCH,
        format: format as ImageFormat | undefined, sync: !a.flags.has('--no-sync'),
      });
      if (a.flags.has('--json')) io.stdout(JSON.stringify({ ...r.info, outputs: r.output.paths, info: r.infoPath }, null, 2) + '\n');
      else io.stdout(`wrote ${Object.values(r.output.paths).filter(Boolean).join(', ')}: slot ${r.info.slot} (partition ${r.info.partition}, ${formatSize(r.info.size)}, ${r.info.filesystem.type}), sha256=${r.info.sha256}\n`);
      return 0;
    }
    const ac = new AbortController();
    const onSignal = () => ac.abort(new Error('interrupted'));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    // A progress bar only where a person watches: stderr is a terminal and no JSON was asked for.
    const bar = !a.flags.has('--json') && io.isTTY ? progressBar(io.stderr) : undefined;
    try {
      const { report, output } = await buildImageFile(path.resolve(io.cwd, a.positional[0]), path.resolve(io.cwd, out), {
        zstd: a.flags.has('--zstd'), bmap: a.flags.has('--bmap'), seed: a.values.get('--seed'),
        format: format as ImageFormat | undefined, clusterSize, compress: a.flags.has('--compress'),
        sync: !a.flags.has('--no-sync'),
        sourceDateEpoch: io.env.SOURCE_DATE_EPOCH, signal: ac.signal, onProgress: bar?.update,
      });
      bar?.done();
      if (a.flags.has('--json')) {
        io.stdout(JSON.stringify({ ...report, outputs: output.paths, compressedSize: output.compressedSize }, null, 2) + '\n');
      } else {
        const written = Object.values(output.paths).filter(Boolean).join(', ');
        io.stdout(`wrote ${written}: ${formatSize(report.size)} ${report.table.toUpperCase()} image, ${report.partitions.length} partitions, ${report.files} files, ${formatSize(report.bytes)} of data\n`);
        for (const p of report.partitions) {
          const fs = p.filesystem ? `${p.filesystem.type}${p.filesystem.label ? ` "${p.filesystem.label}"` : ''}, ${p.filesystem.files} files` : 'empty';
          io.stdout(`  p${p.index}  ${formatSize(p.start).padEnd(8)} ${formatSize(p.size).padEnd(8)} ${(p.name ?? '').padEnd(12)} ${fs}\n`);
        }
      }
    } finally {
      bar?.done();
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
    return 0;
  },
};
