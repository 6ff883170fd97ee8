// diskwright demo [-o DIR] [--json]: the main job on an embedded default.
// Builds both KubeSolo OS sample images from the presets in fixtures/presets
// (GPT: ESP, SYSTEM-A, SYSTEM-B, DATA; Raspberry Pi MBR: CONTROL, BOOT-A,
// BOOT-B, DATA) out of the small payload in fixtures/sample, verifies each
// (our checks, plus the reference tools where installed) and prints its
// layout and boot environment.
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
import { formatFindings, verifyImageFile } from './verify.js';

export const DEMO_PRESETS = ['kubesolo-x86_64', 'kubesolo-rpi'] as const;

/** fixtures/<rel> of this package (from src/cli/commands or dist/cli/commands). */
export function fixturePath(rel: string): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../..', '../../../..']) {
    const p = path.resolve(here, up, 'fixtures', rel);
    if (fs.existsSync(p)) return p;
  }
  return fail('DEMO_SPEC_MISSING', `fixtures/${rel} is not where the package keeps it`, { path: rel });
}

/** fixtures/specs/demo.json: a small GPT spec, kept for tests and examples. */
export function demoSpecPath(): string {
  return fixturePath('specs/demo.json');
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'build, verify and show both sample KubeSolo OS images',
  help: `usage: diskwright demo [-o DIR] [--json]

Build the two KubeSolo OS sample images from the presets in fixtures/presets
(kubesolo-x86_64.json: GPT with ESP, SYSTEM-A, SYSTEM-B, DATA and a GRUB env
block; kubesolo-rpi.json: Raspberry Pi MBR with CONTROL, BOOT-A, BOOT-B, DATA
and autoboot.txt) from the payload in fixtures/sample, verify each (with the
reference tools too where they are installed), and print their layout.
Exit status 1 when a verification fails.

options:
  -o DIR   where to write the images (default: a new temporary directory)
  --json   print {images: [{image, spec, verify, inspect}]}
`,
  async run(argv: string[], io: CliIo): Promise<number> {
    const a = parseArgs(argv, ['--json'], ['-o', '--output']);
    if (a.positional.length) throw usageError('demo takes no arguments besides -o DIR');
    const given = a.values.get('-o') ?? a.values.get('--output');
    const dir = given ? path.resolve(io.cwd, given) : fs.mkdtempSync(path.join(os.tmpdir(), 'diskwright-demo-'));
    fs.mkdirSync(dir, { recursive: true });
    const json = a.flags.has('--json');
    const results = [];
    let ok = true;
    for (const name of DEMO_PRESETS) {
      const spec = fixturePath(`presets/${name}.json`);
      const out = path.join(dir, `${name}.img`);
      const { report } = await buildImageFile(spec, out, { sourceDateEpoch: io.env.SOURCE_DATE_EPOCH });
      const verify = verifyImageFile(out, { oracles: true });
      ok &&= verify.ok;
      const disk = openFileDisk(out);
      try {
        const doc = inspectImage(openImage(disk));
        results.push({ image: out, spec, files: report.files, verify, inspect: doc });
        if (!json) {
          io.stdout(`== ${name}: built ${out} from ${path.relative(io.cwd, spec) || spec} (${report.files} files)\n\n`);
          io.stdout(formatInspect(doc, out, disk.size));
          io.stdout(`\nverify:\n${formatFindings(verify.findings).replace(/^/gm, '  ')}${verify.ok ? '  => ok' : '  => FAILED'}\n\n`);
        }
      } finally {
        disk.close();
      }
    }
    if (json) io.stdout(JSON.stringify({ images: results }, null, 2) + '\n');
    else {
      const [gpt, rpi] = results.map((r) => r.image);
      io.stdout(`next:\n  npx diskwright ls ${gpt} p1:/EFI/BOOT\n  npx diskwright bootenv ${gpt} list\n  npx diskwright bootenv ${rpi} list\n  npx diskwright cat ${rpi} p1:/autoboot.txt\n`);
    }
    return ok ? 0 : 1;
  },
};
