// Slot updates of the two KubeSolo presets (fixtures/presets): the new slot
// passes the oracles, equals a fresh build of that partition byte for byte,
// nothing outside the slot changes but the boot environment file (and that
// only when a trial is armed), the running slot is refused, payloads are
// checked, and an update cut short leaves the running slot and the boot
// environment as they were.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { buildImageFile, buildSlotPayload } from '../../src/node/build-file.js';
import { updateSlotFile } from '../../src/node/update-file.js';
import { updateSlot } from '../../src/image/update.js';
import { planPartition } from '../../src/image/build.js';
import { openImage } from '../../src/image/open.js';
import { memoryDisk, type Disk } from '../../src/io/disk.js';
import { openImageFile } from '../../src/node/open-image-file.js';
import { hostTreeLoader } from '../../src/node/build-file.js';
import { isDiskwrightError } from '../../src/errors.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';

const PRESETS = path.resolve('fixtures/presets');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const have = haveTools('sfdisk', 'e2fsck', 'fsck.fat', 'grub-editenv', 'mcopy');

function slice(file: string, start: number, length: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(length);
    fs.readSync(fd, b, 0, length, start);
    return b;
  } finally {
    fs.closeSync(fd);
  }
}

function parts(file: string) {
  const img = openImageFile(file);
  try {
    return img.partitions.map((p) => ({ index: p.index, start: p.start, size: p.size }));
  } finally {
    img.close();
  }
}

/** Every byte range of `a` and `b` that differs, merged to 4 KiB granules. */
function differing(a: Buffer, b: Buffer): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let o = 0; o < a.length; o += 4096) {
    if (a.subarray(o, o + 4096).equals(b.subarray(o, o + 4096))) continue;
    const last = out[out.length - 1];
    if (last && last[1] === o) last[1] = o + 4096; else out.push([o, o + 4096]);
  }
  return out;
}

function e2fsckAt(file: string, start: number, size: number, dir: string): string {
  const p = path.join(dir, 'part.img');
  fs.writeFileSync(p, slice(file, start, size));
  const r = run('e2fsck', ['-fn', p]);
  expect(r.status, r.stdout + r.stderr).toBe(0);
  return r.stdout;
}

describe.skipIf(!have)('diskwright update: one slot of a deployed image', () => {
  let t: { dir: string; cleanup: () => void };
  let gpt: string;
  let rpi: string;
  beforeAll(async () => {
    t = tempDir();
    gpt = path.join(t.dir, 'gpt.img');
    rpi = path.join(t.dir, 'rpi.img');
    await buildImageFile(path.join(PRESETS, 'kubesolo-x86_64.json'), gpt);
    await buildImageFile(path.join(PRESETS, 'kubesolo-rpi.json'), rpi);
  });
  afterAll(() => t.cleanup());

  it('GPT: slot B from a directory, trial armed; only p3 and the grubenv change; sfdisk, e2fsck and grub-editenv agree', async () => {
    const img = path.join(t.dir, 'gpt-dir.img');
    fs.copyFileSync(gpt, img);
    const before = fs.readFileSync(img);
    const src = path.join(t.dir, 'newsys');
    fs.mkdirSync(path.join(src, 'boot'), { recursive: true });
    fs.writeFileSync(path.join(src, 'boot/vmlinuz'), 'kernel v2\n');
    fs.writeFileSync(path.join(src, 'os-release'), 'VERSION=2\n');
    const oldB = openImageFile(img).filesystemInfo(3)!;
    const r = await updateSlotFile(img, { slot: 'B', from: src, tries: 1 });
    expect(r).toMatchObject({ slot: 'B', partition: 3, armed: true, after: { committed: 'A', trying: 'B', triesLeft: 1 } });
    const after = fs.readFileSync(img);
    const p = parts(img).find((q) => q.index === 3)!;
    expect(sha(after.subarray(p.start, p.start + p.size))).toBe(r.sha256);
    // Outside p3, only the grubenv's block on the ESP may differ.
    const reader = openImageFile(img);
    const esp = reader.partitions.find((q) => q.index === 1)!;
    const [env] = reader.filesystem(1).fileExtents('/EFI/BOOT/grubenv');
    const nb = reader.filesystemInfo(3)!;
    expect(new TextDecoder().decode(reader.filesystem(3).readFile('/os-release'))).toBe('VERSION=2\n');
    reader.close();
    // The slot keeps its filesystem type, label and UUID.
    expect({ type: nb.type, label: nb.label, uuid: nb.uuid }).toEqual({ type: oldB.type, label: oldB.label, uuid: oldB.uuid });
    const outside = differing(before, after).filter(([a, b]) => b <= p.start || a >= p.start + p.size);
    expect(outside).toEqual([[Math.floor((esp.start + env.offset) / 4096) * 4096, Math.floor((esp.start + env.offset) / 4096) * 4096 + 4096]]);
    expect(run('sfdisk', ['--verify', img]).stdout).toMatch(/No errors detected/);
    e2fsckAt(img, p.start, p.size, t.dir);
    const envFile = path.join(t.dir, 'grubenv');
    run('mcopy', ['-n', '-o', '-i', `${img}@@${esp.start}`, '::/EFI/BOOT/grubenv', envFile], { env: { MTOOLS_SKIP_CHECK: '1' } });
    const list = run('grub-editenv', [envFile, 'list']).stdout;
    expect(list).toContain('boot_default=B\n');
    expect(list).toContain('boot_counter=1\n');
    expect(list).toContain('boot_success=0\n');
  });

  it('GPT: from the spec, slot B equals the fresh build of that partition byte for byte; no trial means nothing else changes', async () => {
    const img = path.join(t.dir, 'gpt-spec.img');
    fs.copyFileSync(gpt, img);
    // Scribble over slot B first: the update must not keep any old byte.
    const p = parts(img).find((q) => q.index === 3)!;
    const fd = fs.openSync(img, 'r+');
    fs.writeSync(fd, Buffer.alloc(1 << 20, 0xa5), 0, 1 << 20, p.start + (8 << 20));
    fs.closeSync(fd);
    const scribbled = fs.readFileSync(img);
    const r = await updateSlotFile(img, { slot: 'B', from: path.join(PRESETS, 'kubesolo-x86_64.json') });
    expect(r.armed).toBe(false);
    const fresh = fs.readFileSync(gpt);
    expect(sha(fresh.subarray(p.start, p.start + p.size))).toBe(r.sha256);
    expect(Buffer.compare(fs.readFileSync(img), fresh)).toBe(0);
    expect(differing(scribbled, fs.readFileSync(img)).every(([a, b]) => a >= p.start && b <= p.start + p.size)).toBe(true);
  });

  it('refuses the committed slot (SLOT_ACTIVE) and leaves the image as it was; --force writes it', async () => {
    const img = path.join(t.dir, 'gpt-active.img');
    fs.copyFileSync(gpt, img);
    const h = sha(fs.readFileSync(img));
    await expect(updateSlotFile(img, { slot: 'A', from: path.join(PRESETS, 'kubesolo-x86_64.json') })).rejects.toMatchObject({ code: 'SLOT_ACTIVE', data: { slot: 'A', committed: 'A' } });
    expect(sha(fs.readFileSync(img))).toBe(h);
    // A tries count GRUB's machine cannot take fails before anything is written.
    await expect(updateSlotFile(img, { slot: 'B', from: path.join(PRESETS, 'kubesolo-x86_64.json'), tries: 12 })).rejects.toMatchObject({ code: expect.any(String) });
    expect(sha(fs.readFileSync(img))).toBe(h);
    const r = await updateSlotFile(img, { slot: 'A', from: path.join(PRESETS, 'kubesolo-x86_64.json'), force: true });
    expect(r.slot).toBe('A');
    // On trial, B is refused too.
    await updateSlotFile(img, { slot: 'B', from: path.join(PRESETS, 'kubesolo-x86_64.json'), tries: 2 });
    await expect(updateSlotFile(img, { slot: 'B', from: path.join(PRESETS, 'kubesolo-x86_64.json') })).rejects.toMatchObject({ code: 'SLOT_ACTIVE', data: { trying: 'B' } });
  });

  it('Raspberry Pi: Boot B from a directory passes fsck.fat, and autoboot.txt tries partition 3', async () => {
    const img = path.join(t.dir, 'rpi-dir.img');
    fs.copyFileSync(rpi, img);
    const src = path.join(t.dir, 'newboot');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'kernel8.img'), 'kernel v2\n');
    fs.writeFileSync(path.join(src, 'config.txt'), 'arm_64bit=1\n');
    const r = await updateSlotFile(img, { slot: 'B', from: src, tries: 1 });
    expect(r.filesystem).toMatchObject({ type: 'fat32', label: 'BOOT-B' });
    const p = parts(img).find((q) => q.index === 3)!;
    const part = path.join(t.dir, 'p3.img');
    fs.writeFileSync(part, slice(img, p.start, p.size));
    const f = run('fsck.fat', ['-n', part]);
    expect(f.status).toBe(0);
    expect(f.stdout + f.stderr).not.toMatch(/differ|Reclaim|mark|invalid|Free cluster summary wrong|Dirty bit/i);
    const auto = new TextDecoder().decode(openImageFile(img).filesystem(1).readFile('/autoboot.txt'));
    expect(auto).toMatch(/\[all\][^[]*boot_partition=2/);
    expect(auto).toMatch(/\[tryboot\][^[]*boot_partition=3/);
    expect(run('mtype', ['-i', `${img}@@${p.start}`, '::/config.txt'], { env: { MTOOLS_SKIP_CHECK: '1' } }).stdout).toBe('arm_64bit=1\n');
  });

  it('slot payloads: built alone, checked by SHA-256, applied byte for byte; a damaged one is refused before anything is written', async () => {
    const payload = path.join(t.dir, 'slotB.img');
    const spec = path.join(PRESETS, 'kubesolo-rpi.json');
    const { info } = await buildSlotPayload(spec, payload, 'B');
    const p = parts(rpi).find((q) => q.index === 3)!;
    expect(info).toMatchObject({ slot: 'B', partition: 3, size: p.size });
    expect(fs.statSync(payload).size).toBe(p.size);
    expect(sha(fs.readFileSync(payload))).toBe(info.sha256);
    // The payload is exactly what a whole build puts in partition 3.
    expect(sha(slice(rpi, p.start, p.size))).toBe(info.sha256);
    const img = path.join(t.dir, 'rpi-payload.img');
    fs.copyFileSync(rpi, img);
    const r = await updateSlotFile(img, { slot: 'B', from: payload, tries: 1 });
    expect(r.sha256).toBe(info.sha256);
    // Damage the payload: refused, image unchanged.
    const h = sha(fs.readFileSync(img));
    const fd = fs.openSync(payload, 'r+');
    fs.writeSync(fd, Buffer.from([0x42]), 0, 1, 1000);
    fs.closeSync(fd);
    await expect(updateSlotFile(img, { slot: 'B', from: payload, force: true })).rejects.toMatchObject({ code: 'SLOT_PAYLOAD_CORRUPT' });
    await expect(updateSlotFile(img, { slot: 'A', from: payload, force: true })).rejects.toMatchObject({ code: expect.stringMatching(/^SLOT_PAYLOAD_/) });
    expect(sha(fs.readFileSync(img))).toBe(h);
  });

  it('an update cut short after N writes leaves slot A and the boot environment as they were', async () => {
    const bytes = new Uint8Array(fs.readFileSync(gpt));
    const pa = parts(gpt).find((q) => q.index === 2)!;
    const pe = parts(gpt).find((q) => q.index === 1)!;
    const slotA = sha(bytes.subarray(pa.start, pa.start + pa.size));
    const esp = sha(bytes.subarray(pe.start, pe.start + pe.size));
    const { filesystem } = await planPartition(JSON.parse(fs.readFileSync(path.join(PRESETS, 'kubesolo-x86_64.json'), 'utf8')), 3, { loadTree: hostTreeLoader(PRESETS) });
    // How many writes a whole update takes: the last one is the boot environment's.
    let total = 0;
    {
      const base = memoryDisk(bytes.slice());
      await updateSlot({ size: base.size, read: (o, l) => base.read(o, l), write: (o, d) => { total++; base.write!(o, d); } }, { kind: 'plan', plan: filesystem }, { slot: 'B', tries: 1 });
    }
    expect(total).toBeGreaterThan(10);
    for (const n of [0, 5, Math.floor(total / 2), total - 1]) {
      const copy = bytes.slice();
      const base = memoryDisk(copy);
      let writes = 0;
      const failing: Disk = {
        size: base.size, read: (o, l) => base.read(o, l),
        write: (o, d) => { if (writes++ >= n) throw new Error(`power cut after ${n} writes`); base.write!(o, d); },
      };
      let threw = false;
      try {
        await updateSlot(failing, { kind: 'plan', plan: filesystem }, { slot: 'B', tries: 1 });
      } catch (e) {
        threw = true;
        expect(isDiskwrightError(e)).toBe(false);
      }
      expect(threw).toBe(true);
      expect(sha(copy.subarray(pa.start, pa.start + pa.size))).toBe(slotA);
      expect(sha(copy.subarray(pe.start, pe.start + pe.size))).toBe(esp);
      expect(openImage(memoryDisk(copy)).filesystem(1).readFile('/EFI/BOOT/grubenv')).toEqual(openImage(memoryDisk(bytes)).filesystem(1).readFile('/EFI/BOOT/grubenv'));
    }
  });
});
