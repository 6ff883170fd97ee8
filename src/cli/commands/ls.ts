// diskwright ls IMG pN:/dir [--long]: one entry name per line.
import * as path from 'node:path';
import type { FsEntry } from '../../fs/types.js';
import { openImage, parseImagePath } from '../../image/open.js';
import { openImageDisk } from '../../node/vdisk.js';
import { parseArgs, usageError, type CliIo, type Command } from '../io.js';

const TYPE_CHAR: Record<string, string> = { file: '-', dir: 'd', symlink: 'l', char: 'c', block: 'b', fifo: 'p', socket: 's' };

/** "drwxr-xr-x" from an entry type and permission bits (with setuid/setgid/sticky). */
export function formatMode(type: string, mode: number): string {
  const rwx = (bits: number, special: boolean, ch: string) =>
    `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? 'x' : '-'}`;
  return (TYPE_CHAR[type] ?? '?') + rwx(mode >> 6, (mode & 0o4000) !== 0, 's') + rwx(mode >> 3, (mode & 0o2000) !== 0, 's') + rwx(mode, (mode & 0o1000) !== 0, 't');
}

function formatTime(sec: number): string {
  const d = new Date(sec * 1000);
  return Number.isNaN(d.getTime()) ? String(sec) : d.toISOString().replace('.000Z', 'Z');
}

export function formatLong(e: FsEntry): string {
  return `${formatMode(e.type, e.mode)} ${e.uid}:${e.gid} ${String(e.size).padStart(10)} ${formatTime(e.mtime.sec)} ${e.name}`;
}

export const lsCommand: Command = {
  name: 'ls',
  summary: 'list a directory inside an image',
  help: `usage: diskwright ls IMG pN:/dir [--long]

List a directory of partition N (p0: a bare filesystem image), one name per
line.

options:
  --long   also show type and mode, uid:gid, size and mtime (UTC)
`,
  async run(argv: string[], io: CliIo): Promise<number> {
    const a = parseArgs(argv, ['--long', '-l'], []);
    if (a.positional.length !== 2) throw usageError('expected IMG and pN:/dir (diskwright ls IMG p1:/)');
    const where = parseImagePath(a.positional[1]);
    const disk = openImageDisk(path.resolve(io.cwd, a.positional[0]));
    try {
      const entries = openImage(disk).filesystem(where.partition).list(where.path);
      const long = a.flags.has('--long') || a.flags.has('-l');
      io.stdout(entries.map((e) => (long ? formatLong(e) : e.name) + '\n').join(''));
    } finally {
      disk.close();
    }
    return 0;
  },
};
