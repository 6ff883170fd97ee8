// diskwright grow TARGET [--partition N] [--json]: move the GPT backup to the
// end of a bigger disk, enlarge the last (or named) partition and grow its
// ext4 filesystem to fill it (src/image/grow.ts).
import * as path from 'node:path';
import { growImage } from '../../image/grow.js';
import { openFileDisk } from '../../node/file-source.js';
import { parseArgs, usageError, type CliIo, type Command } from '../io.js';

export const growCommand: Command = {
  name: 'grow',
  summary: 'grow the last (or named) partition and its ext4 filesystem to the end of the disk',
  help: `usage: diskwright grow TARGET [--partition N] [--json]

After an image is flashed onto a bigger device or a file is truncated larger:
move the GPT backup header and array to the new end (or enlarge the MBR
record), end the partition at the end of the disk and grow its ext4
filesystem offline to fill it, as sgdisk -e + growpart + resize2fs do.
TARGET is an image file or a block device (unmounted). Writes go in the
order: partition table, new groups' metadata, descriptors, superblock last.

options:
  --partition N  the partition to grow (default: the last one on the disk)
  --json         print {partition, table, oldSize, newSize, oldFsSize, newFsSize, oldGroups, newGroups, changed, writes}
`,
  async run(argv: string[], io: CliIo): Promise<number> {
    const a = parseArgs(argv, ['--json'], ['--partition']);
    if (a.positional.length !== 1) throw usageError('grow takes one target');
    const n = a.values.get('--partition');
    if (n !== undefined && !/^[1-9][0-9]*$/.test(n)) throw usageError(`--partition takes a partition number, got ${JSON.stringify(n)}`);
    const file = path.resolve(io.cwd, a.positional[0]);
    const disk = openFileDisk(file, true);
    try {
      const r = growImage(disk, { partition: n === undefined ? undefined : Number(n) });
      disk.sync();
      if (a.flags.has('--json')) io.stdout(JSON.stringify(r, null, 2) + '\n');
      else if (!r.changed) io.stdout(`${a.positional[0]}: partition ${r.partition} already fills the disk (${r.newSize} bytes): nothing to do\n`);
      else {
        io.stdout(`partition ${r.partition}: ${r.oldSize} -> ${r.newSize} bytes\n`);
        io.stdout(`ext4: ${r.oldFsSize} -> ${r.newFsSize} bytes, ${r.oldGroups} -> ${r.newGroups} groups\n`);
      }
      return 0;
    } finally {
      disk.close();
    }
  },
};
