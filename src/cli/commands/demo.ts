// diskwright demo [-o DIR] [--json]: build the sample image from the spec
// shipped in fixtures/specs/demo.json and show its layout.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fail } from '../../errors.js';
import { openImage } from '../../image/open.js';
import { buildImageFile } from '../../node/build-file.js';
import { openFileDisk } from '../../node/file-source.js';
import { parseArgs, usageError, type CliIo, type Command } from '../io.js';
import { formatInspect, inspectImage } from './inspect.js';

/** fixtures/specs/demo.json of this package (from src/cli/commands or dist/cli/commands). */
export function demoSpecPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../..', '../../../..']) {
    const p = path.resolve(here, up, 'fixtures/specs/demo.json');
    if (fs.existsSync(p)) return p;
  }
  return fail('DEMO_SPEC_MISSING', 'fixtures/specs/demo.json is not where the package keeps it', { path: here });
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'build the sample image and show its layout',
  help: `usage: diskwright demo [-o DIR] [--json]

Build the sample image described by fixtures/specs/demo.json (a GPT disk with
an ESP, two system slots and an ext4 data partition) into DIR (default: a new
temporary directory), then show it as \`diskwright inspect\` does.

options:
  -o DIR   where to write demo.img
  --json   print the inspect JSON instead of the table
`,
  async run(argv: string[], io: CliIo): Promise<number> {
    const a = parseArgs(argv, ['--json'], ['-o', '--output']);
    if (a.positional.length) throw usageError('demo takes no arguments besides -o DIR');
    const given = a.values.get('-o') ?? a.values.get('--output');
    const dir = given ? path.resolve(io.cwd, given) : fs.mkdtempSync(path.join(os.tmpdir(), 'diskwright-demo-'));
    fs.mkdirSync(dir, { recursive: true });
    const out = path.join(dir, 'demo.img');
    const spec = demoSpecPath();
    const { report } = await buildImageFile(spec, out, { sourceDateEpoch: io.env.SOURCE_DATE_EPOCH });
    const disk = openFileDisk(out);
    try {
      const doc = inspectImage(openImage(disk));
      if (a.flags.has('--json')) {
        io.stdout(JSON.stringify({ image: out, spec, ...doc }, null, 2) + '\n');
      } else {
        io.stdout(`built ${out} from ${path.relative(io.cwd, spec) || spec} (${report.files} files)\n\n`);
        io.stdout(formatInspect(doc, out, disk.size));
        io.stdout(`\nnext:\n  npx diskwright ls ${out} p1:/EFI/BOOT\n  npx diskwright cat ${out} p1:/EFI/BOOT/grub.cfg\n  npx diskwright inspect ${out} --json\n`);
      }
    } finally {
      disk.close();
    }
    return 0;
  },
};
