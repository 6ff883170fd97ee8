// diskwright update TARGET --slot A|B --from SPEC|DIR|TAR|PAYLOAD [--try N] [--force] [--seed S] [--owner root] [--json]
import * as path from 'node:path';
import { updateSlotFile } from '../../node/update-file.js';
import { parseSlot } from '../../bootenv/slots.js';
import { formatState } from '../../bootenv/locate.js';
import { parseArgs, usageError, type CliIo, type Command } from '../io.js';

export const updateCommand: Command = {
  name: 'update',
  summary: 'rewrite one A/B slot of an image or device and arm its trial boot',
  help: `usage: diskwright update TARGET --slot A|B --from SPEC.json|DIR|TAR|PAYLOAD [--try N] [--force] [--json]

Rebuild the filesystem of one slot (partition 2 for A, 3 for B: System A/B
on the GPT track, Boot A/B on the Raspberry Pi track) of TARGET, an image
file or a block device, writing only inside that partition. Then read it
back and compare it with the SHA-256 of what was written; only after that,
with --try N, arm a trial of the slot in the boot environment (as
\`bootenv try N\` does). The slot the boot environment runs or has
committed is refused (SLOT_ACTIVE) unless --force.

--from:
  SPEC.json   the spec's slot partition, planned exactly as a fresh build
              of the spec plans it (same options, ids and bytes)
  DIR, TAR    the files; the filesystem type, label and UUID are the slot's
              current ones
  PAYLOAD     a filesystem image from \`build --slot-payload\`; its SHA-256 is
              checked against PAYLOAD.json first

options:
  --try N        arm a trial of the slot with N tries (GRUB: 1-9; Pi: 1)
  --force        write the slot even if it is running or committed
  --seed S       seed for the ids of a filesystem built from DIR or TAR
  --owner root   make every file of DIR or TAR owned by 0:0
  --json         print the report as JSON

environment:
  SOURCE_DATE_EPOCH  time for entries that have none
`,
  async run(argv: string[], io: CliIo): Promise<number> {
    const a = parseArgs(argv, ['--force', '--json'], ['--slot', '--from', '--try', '--seed', '--owner']);
    if (a.positional.length !== 1) throw usageError('expected one target (diskwright update TARGET --slot A|B --from SRC)');
    const slotArg = a.values.get('--slot');
    const from = a.values.get('--from');
    if (!slotArg || !from) throw usageError('--slot and --from are required');
    if (!/^[AB]$/i.test(slotArg)) throw usageError(`--slot is A or B, not ${JSON.stringify(slotArg)}`);
    const t = a.values.get('--try');
    if (t !== undefined && !/^\d+$/.test(t)) throw usageError(`--try takes a number of tries, not ${JSON.stringify(t)}`);
    const owner = a.values.get('--owner');
    if (owner !== undefined && owner !== 'root') throw usageError('--owner takes root');
    const report = await updateSlotFile(path.resolve(io.cwd, a.positional[0]), {
      slot: parseSlot(slotArg.toUpperCase()), from: path.resolve(io.cwd, from), tries: t === undefined ? undefined : Number(t),
      force: a.flags.has('--force'), seed: a.values.get('--seed'), sourceDateEpoch: io.env.SOURCE_DATE_EPOCH, owner: owner === 'root' ? 'root' : 'keep',
    });
    if (a.flags.has('--json')) {
      io.stdout(JSON.stringify(report, null, 2) + '\n');
    } else {
      io.stdout(`slot ${report.slot}: partition ${report.partition} rewritten (${report.size} bytes, ${report.filesystem?.type ?? 'no filesystem'}${report.filesystem?.label ? ` "${report.filesystem.label}"` : ''}), read back ok\n`);
      io.stdout(`sha256=${report.sha256}\n`);
      io.stdout(report.armed ? `trial armed:\n${formatState(report.after)}` : `no trial armed (--try N arms one):\n${formatState(report.after)}`);
    }
    return 0;
  },
};
