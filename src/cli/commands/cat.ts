// diskwright cat IMG pN:/file: the file's exact bytes on stdout.
import * as path from 'node:path';
import { openImage, parseImagePath } from '../../image/open.js';
import { openImageDisk } from '../../node/vdisk.js';
import { parseArgs, usageError, type CliIo, type Command } from '../io.js';

export const catCommand: Command = {
  name: 'cat',
  summary: 'write a file inside an image to stdout',
  help: `usage: diskwright cat IMG pN:/file

Write the exact bytes of a file in partition N (p0: a bare filesystem image)
to stdout.
`,
  async run(argv: string[], io: CliIo): Promise<number> {
    const a = parseArgs(argv, [], []);
    if (a.positional.length !== 2) throw usageError('expected IMG and pN:/file (diskwright cat IMG p1:/config.txt)');
    const where = parseImagePath(a.positional[1]);
    const disk = openImageDisk(path.resolve(io.cwd, a.positional[0]));
    try {
      io.stdout(openImage(disk).filesystem(where.partition).readFile(where.path));
    } finally {
      disk.close();
    }
    return 0;
  },
};
