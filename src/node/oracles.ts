// The reference tools as a second opinion (`diskwright verify --oracles`):
// sgdisk -v or sfdisk --verify on the table, fsck.fat -n and e2fsck -fn on
// each filesystem. Their exit codes are not enough (sgdisk -v and fsck.fat -n
// exit 0 on some problems), so what they print is read too. Tools that are
// not installed are reported as skipped, not as passed.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { OpenedImage } from '../image/open.js';
import type { VerifyFinding } from '../image/verify.js';

const DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

export function findTool(name: string): string | null {
  for (const d of [...(process.env.PATH ?? '').split(':').filter(Boolean), ...DIRS]) {
    const p = path.join(d, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch { /* next */ }
  }
  return null;
}

function run(tool: string, args: string[]): { status: number; out: string } {
  const r = spawnSync(tool, args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' }, timeout: 600_000, maxBuffer: 64 << 20 });
  return { status: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** Copy [offset, offset+length) of `image` into a sparse temporary file (fsck tools take no offset). */
function extract(image: string, offset: number, length: number, dir: string, name: string): string {
  const out = path.join(dir, name);
  const src = fs.openSync(image, 'r');
  const dst = fs.openSync(out, 'w');
  try {
    fs.ftruncateSync(dst, length);
    const buf = Buffer.alloc(1 << 20);
    for (let o = 0; o < length; o += buf.length) {
      const n = Math.min(buf.length, length - o);
      const got = fs.readSync(src, buf, 0, n, offset + o);
      const chunk = buf.subarray(0, got);
      if (chunk.some((b) => b !== 0)) fs.writeSync(dst, chunk, 0, got, o);
    }
  } finally {
    fs.closeSync(src);
    fs.closeSync(dst);
  }
  return out;
}

const tail = (s: string) => s.trim().split('\n').slice(-3).join(' | ');

export function runOracles(imagePath: string, img: OpenedImage): VerifyFinding[] {
  const findings: VerifyFinding[] = [];
  const skip = (check: string, tool: string) => findings.push({ ok: true, check, message: `skipped: ${tool} is not installed` });

  if (img.table === 'gpt') {
    const sgdisk = findTool('sgdisk');
    if (!sgdisk) skip('oracle sgdisk -v', 'sgdisk');
    else {
      const r = run(sgdisk, ['-v', imagePath]);
      const clean = r.status === 0 && /No problems found/.test(r.out) && !/(Caution|Warning|Problem:)/i.test(r.out);
      findings.push({ ok: clean, check: 'oracle sgdisk -v', message: tail(r.out), code: clean ? undefined : 'ORACLE_SGDISK' });
    }
  }
  if (img.table) {
    const sfdisk = findTool('sfdisk');
    if (!sfdisk) skip('oracle sfdisk --verify', 'sfdisk');
    else {
      const r = run(sfdisk, ['--verify', imagePath]);
      const clean = r.status === 0 && /No errors detected/.test(r.out);
      findings.push({ ok: clean, check: 'oracle sfdisk --verify', message: tail(r.out), code: clean ? undefined : 'ORACLE_SFDISK' });
    }
  }

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'diskwright-oracles-'));
  try {
    for (const p of img.partitions) {
      if (p.container) continue;
      const info = img.filesystemInfo(p.index);
      if (!info) continue;
      const part = p.index === 0 ? imagePath : extract(imagePath, p.start, p.size, tmp, `p${p.index}.img`);
      if (/^fat/.test(info.type)) {
        const tool = findTool('fsck.fat');
        if (!tool) { skip(`oracle p${p.index} fsck.fat -n`, 'fsck.fat'); continue; }
        const r = run(tool, ['-n', part]);
        // A clean run prints the version banner, maybe the last-sector probe, and the summary line only.
        const noise = r.out.split('\n').filter((l) => l.trim() && !/^fsck\.fat \d|^Checking we can access|^\S+: \d+ files, \d+\/\d+ clusters$/.test(l.trim()));
        const clean = r.status === 0 && noise.length === 0;
        findings.push({ ok: clean, check: `oracle p${p.index} fsck.fat -n`, partition: p.index, message: clean ? tail(r.out) : noise.slice(0, 5).join(' | '), code: clean ? undefined : 'ORACLE_FSCK_FAT' });
      } else {
        const tool = findTool('e2fsck');
        if (!tool) { skip(`oracle p${p.index} e2fsck -fn`, 'e2fsck'); continue; }
        const r = run(tool, ['-fn', part]);
        const clean = r.status === 0 && !/(Fix\?|Clear\?|Salvage\?|Relocate\?|\bERROR\b|corrupt)/i.test(r.out);
        findings.push({ ok: clean, check: `oracle p${p.index} e2fsck -fn`, partition: p.index, message: tail(r.out), code: clean ? undefined : 'ORACLE_E2FSCK' });
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return findings;
}
