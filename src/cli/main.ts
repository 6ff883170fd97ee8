// The diskwright CLI: one file per command under commands/, registered in
// COMMANDS below. Errors print `diskwright: CODE: message` (exit 1); usage
// errors exit 2; no stack trace unless DISKWRIGHT_DEBUG=1.
import { readFileSync } from 'node:fs';
import { DiskwrightError } from '../errors.js';
import type { CliIo, Command } from './io.js';
import { buildCommand } from './commands/build.js';
import { inspectCommand } from './commands/inspect.js';
import { lsCommand } from './commands/ls.js';
import { catCommand } from './commands/cat.js';
import { demoCommand } from './commands/demo.js';
import { verifyCommand } from './commands/verify.js';
import { updateCommand } from './commands/update.js';
import { growCommand } from './commands/grow.js';
import { BOOTENV_HELP, bootenvCommand } from './commands/bootenv.js';

export type { CliIo, Command } from './io.js';

/** The dispatch table: add a command with one line. */
export const COMMANDS: Command[] = [
  buildCommand,
  inspectCommand,
  lsCommand,
  catCommand,
  demoCommand,
  verifyCommand,
  updateCommand,
  growCommand,
  { name: 'bootenv', summary: 'read or edit the GRUB env block / Raspberry Pi autoboot.txt', help: BOOTENV_HELP, run: (argv, io) => bootenvCommand(argv, io) },
];

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function mainHelp(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  return `usage: diskwright COMMAND [ARGS] (diskwright COMMAND --help for details)

Write and read whole disk images (GPT, MBR, FAT, ext4, GRUB env, Raspberry Pi
autoboot.txt) byte for byte, without root.

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`).join('\n')}
`;
}

const defaultIo = (): CliIo => ({
  stdout: (b) => { process.stdout.write(b); },
  stderr: (s) => { process.stderr.write(s); },
  env: process.env,
  cwd: process.cwd(),
  isTTY: process.stderr.isTTY === true,
});

/** Run the CLI; resolves to the exit status. */
export async function main(argv: string[], ioIn?: Partial<CliIo>): Promise<number> {
  const io: CliIo = { ...defaultIo(), ...ioIn };
  const debug = io.env.DISKWRIGHT_DEBUG === '1';
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const target = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    (name === undefined ? io.stderr : io.stdout)(target ? target.help : mainHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    io.stdout(`diskwright ${version()}\n`);
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    io.stderr(`diskwright: USAGE: unknown command ${JSON.stringify(name)} (diskwright --help lists them)\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(cmd.help);
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof DiskwrightError) {
      if (e.code === 'USAGE') {
        io.stderr(`diskwright: USAGE: ${e.message} (diskwright ${cmd.name} --help)\n`);
        return 2;
      }
      io.stderr(`diskwright: ${e.code}: ${e.message.replace(/\n/g, ' ')}\n`);
    } else {
      io.stderr(`diskwright: INTERNAL: ${e instanceof Error ? e.message : String(e)}\n`);
    }
    if (debug && e instanceof Error && e.stack) io.stderr(e.stack + '\n');
    return 1;
  }
}
