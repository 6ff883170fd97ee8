// The web page in a real browser: Debian's chromium, headless, driven by
// puppeteer-core, loads web/ from a local server, gets the fixture files
// dropped on its partitions, builds the Raspberry Pi preset and downloads it.
// The downloaded bytes must pass sfdisk, fsck.fat -n and e2fsck -fn, and hash
// like fixtures/presets/kubesolo-rpi.json built under Node from the same files.
// Then the page opens that image, lists it, commits slot B in autoboot.txt and
// downloads the edit (checked by fsck.fat and mtools). A screenshot goes to
// test-artifacts/web-build.png.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, MemorySink, parseSpecJson } from '../../src/core.js';
import { hostTreeLoader } from '../../src/node/build-file.js';
import { haveTools, run, tempDir } from '../helpers/oracle.js';

// Page-side callbacks run in the browser; the project's typecheck has no DOM library.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any, DataTransfer: any, DragEvent: any;

const ROOT = path.resolve(__dirname, '../..');
const SAMPLE = path.join(ROOT, 'fixtures/sample');
const SPEC = path.join(ROOT, 'fixtures/presets/kubesolo-rpi.json');
const have = haveTools('chromium', 'sfdisk', 'fsck.fat', 'e2fsck', 'mtype');

/** What a person would drop on each partition: [folder on the partition, host file, name]. */
const DROPS: Record<string, [string, string, string][]> = {
  control: [
    ['/', 'firmware/config.txt', 'config.txt'], ['/', 'firmware/start4.elf', 'start4.elf'], ['/', 'firmware/fixup4.dat', 'fixup4.dat'],
    ['/', 'kernel-rpi/Image', 'kernel8.img'], ['/', 'kernel-rpi/initramfs.img', 'initramfs.img'],
  ],
  boot: [
    ['/', 'kernel-rpi/Image', 'kernel8.img'], ['/', 'kernel-rpi/initramfs.img', 'initramfs.img'],
    ['/', 'kernel-rpi/bcm2711-rpi-4-b.dtb', 'bcm2711-rpi-4-b.dtb'], ['/', 'kernel-rpi/bcm2712-rpi-5-b.dtb', 'bcm2712-rpi-5-b.dtb'],
    ['/overlays', 'kernel-rpi/overlays/vc4-kms-v3d.dtbo', 'vc4-kms-v3d.dtbo'], ['/overlays', 'kernel-rpi/overlays/disable-bt.dtbo', 'disable-bt.dtbo'],
    ['/', 'rpi-boot/cmdline.txt', 'cmdline.txt'], ['/', 'rpi-boot/config.txt', 'config.txt'],
  ],
  data: [['/etc/kubesolo', 'data/etc/kubesolo/config.yaml', 'config.yaml'], ['/var/lib/kubesolo', 'data/var/lib/kubesolo/state', 'state']],
};

describe.skipIf(!have)('web page in headless chromium', () => {
  let server: import('node:http').Server;
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/web-build.mjs')]);
    const { serveWeb } = await import('../../scripts/web-serve.mjs');
    server = await serveWeb(0);
    tmp = tempDir('dw-web-');
  });
  afterAll(() => { server?.close(); tmp?.cleanup(); });

  it('builds the Raspberry Pi preset from dropped files: oracles accept it, SHA-256 equals the Node build', async () => {
    const puppeteer = (await import('puppeteer-core')).default;
    const profile = path.join(tmp.dir, 'profile');
    const downloads = path.join(tmp.dir, 'downloads');
    fs.mkdirSync(downloads);
    const browser = await puppeteer.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      const cdp = await page.createCDPSession();
      await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });
      await page.goto(`http://127.0.0.1:${(server.address() as { port: number }).port}/`, { waitUntil: 'load' });
      await page.waitForSelector('#zone-data');

      for (const [key, items] of Object.entries(DROPS)) {
        const byFolder = new Map<string, { name: string; b64: string }[]>();
        for (const [into, rel, name] of items) {
          const list = byFolder.get(into) ?? [];
          list.push({ name, b64: fs.readFileSync(path.join(SAMPLE, rel)).toString('base64') });
          byFolder.set(into, list);
        }
        for (const [into, files] of byFolder) {
          await page.evaluate(async (k: string, dir: string, fl: { name: string; b64: string }[]) => {
            const zone = document.getElementById(`zone-${k}`)!;
            (zone.querySelector('.into') as { value: string }).value = dir;
            const dt = new DataTransfer();
            for (const f of fl) dt.items.add(new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], f.name));
            zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
          }, key, into, files);
        }
        await page.waitForFunction((k: string, n: number) => document.querySelectorAll(`#zone-${k} li`).length === n, {}, key, items.length);
      }
      const set = (id: string, v: string) => page.$eval(`#${id}`, (el, value) => { (el as { value: string }).value = value; }, v);
      await set('size-image', '384MiB');
      await set('size-control', '64MiB');
      await set('size-boot', '64MiB');
      await set('seed', 'kubesolo-demo-rpi');
      await set('epoch', '1700000000');
      await page.select('#output', 'blob');
      await page.click('#build');
      await page.waitForFunction(() => document.body.dataset.state === 'built' || document.body.dataset.state === 'error', { timeout: 120_000 });
      const state = await page.evaluate(() => `${document.body.dataset.state}: ${document.getElementById('status')!.textContent}`);
      fs.mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true });
      await page.screenshot({ path: path.join(ROOT, 'test-artifacts/web-build.png'), fullPage: true });
      expect(state).toMatch(/^built: /);
      expect(errors).toEqual([]);

      const img = path.join(downloads, 'kubesolo-rpi.img');
      const size = 384 * 1024 * 1024;
      const deadline = Date.now() + 60_000;
      while (!(fs.existsSync(img) && fs.statSync(img).size === size) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(fs.statSync(img).size).toBe(size);

      const sfdisk = run('sfdisk', ['--json', img]);
      expect(sfdisk.status, sfdisk.stderr).toBe(0);
      const table = JSON.parse(sfdisk.stdout).partitiontable;
      expect(table.label).toBe('dos');
      expect(table.partitions.map((p: { type: string }) => p.type)).toEqual(['c', 'c', 'c', '83']);
      const extract = (p: { start: number; size: number }, name: string) => {
        const out = path.join(tmp.dir, name);
        const fd = fs.openSync(img, 'r');
        const buf = Buffer.alloc(p.size * 512);
        fs.readSync(fd, buf, 0, buf.length, p.start * 512);
        fs.closeSync(fd);
        fs.writeFileSync(out, buf);
        return out;
      };
      table.partitions.slice(0, 3).forEach((p: { start: number; size: number }, i: number) => {
        const r = run('fsck.fat', ['-n', extract(p, `p${i + 1}.fat`)]);
        expect(r.status, r.stdout + r.stderr).toBe(0);
        expect(r.stdout).not.toMatch(/differ|invalid|corrupt|lost|free cluster/i);
      });
      const e2 = run('e2fsck', ['-fn', extract(table.partitions[3], 'p4.ext4')]);
      expect(e2.status, e2.stdout + e2.stderr).toBe(0);

      const sink = new MemorySink();
      await buildImage(parseSpecJson(fs.readFileSync(SPEC, 'utf8')), sink, { loadTree: hostTreeLoader(path.dirname(SPEC)) });
      const nodeSha = createHash('sha256').update(sink.bytes()).digest('hex');
      const webSha = createHash('sha256').update(fs.readFileSync(img)).digest('hex');
      expect(webSha).toBe(nodeSha);

      // The streaming path: the same build into a File System Access writable (positional writes, zeros
      // left unwritten). The save dialog cannot be driven headless, so the picker hands out a file of the
      // origin-private file system, which has the same FileSystemFileHandle API.
      await page.evaluate(() => {
        (globalThis as any).showSaveFilePicker = async () => (await (globalThis as any).navigator.storage.getDirectory()).getFileHandle('stream.img', { create: true });
        document.body.dataset.state = '';
      });
      await page.select('#output', 'fsa');
      const t0 = Date.now();
      await page.click('#build');
      await page.waitForFunction(() => document.body.dataset.state === 'built' || document.body.dataset.state === 'error', { timeout: 120_000 });
      const streamMs = Date.now() - t0;
      expect(await page.evaluate(() => `${document.body.dataset.state}: ${document.getElementById('status').textContent}`)).toMatch(/^built: /);
      const streamed = await page.evaluate(async () => {
        const g = globalThis as any;
        const file = await (await (await g.navigator.storage.getDirectory()).getFileHandle('stream.img')).getFile();
        const digest = new Uint8Array(await g.crypto.subtle.digest('SHA-256', await file.arrayBuffer()));
        return { size: file.size as number, sha: Array.from(digest, (b: number) => b.toString(16).padStart(2, '0')).join('') };
      });
      expect(streamed).toEqual({ size, sha: nodeSha });
      console.log(`streamed build of the 384 MiB Pi image in the page: ${streamMs} ms`);

      // Open the image in the page: partitions and files listed, boot state shown; commit slot B, download the edit.
      const input = await page.$('#open-file');
      await (input as unknown as { uploadFile(p: string): Promise<void> }).uploadFile(img);
      await page.waitForFunction(() => /boot state/.test(document.getElementById('inspect').textContent), { timeout: 60_000 });
      const listing: string = await page.$eval('#inspect', (el) => (el as { textContent: string }).textContent);
      expect(listing).toMatch(/p1 .*fat32 CONTROL/);
      expect(listing).toMatch(/p4 .*ext4 DATA/);
      expect(listing).toContain('/overlays/disable-bt.dtbo');
      expect(listing).toContain('/etc/kubesolo/config.yaml');
      expect(listing).toMatch(/committed=A/);
      await page.click('#bootenv-edit button[data-arg="B"]');
      await page.waitForFunction(() => /boot state now:\ncommitted=B/.test(document.getElementById('inspect').textContent), { timeout: 30_000 });
      await page.click('#save-edited');
      const edited = path.join(downloads, 'kubesolo-rpi-edited.img');
      const until = Date.now() + 60_000;
      while (!(fs.existsSync(edited) && fs.statSync(edited).size === size) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
      expect(fs.statSync(edited).size).toBe(size);
      const ctl = table.partitions[0];
      const fd = fs.openSync(edited, 'r');
      const part = Buffer.alloc(ctl.size * 512);
      fs.readSync(fd, part, 0, part.length, ctl.start * 512);
      fs.closeSync(fd);
      const ctlFile = path.join(tmp.dir, 'p1-edited.fat');
      fs.writeFileSync(ctlFile, part);
      const fsck = run('fsck.fat', ['-n', ctlFile]);
      expect(fsck.status, fsck.stdout + fsck.stderr).toBe(0);
      const autoboot = run('mtype', ['-i', ctlFile, '::/autoboot.txt']);
      expect(autoboot.status, autoboot.stderr).toBe(0);
      expect(autoboot.stdout).toMatch(/\[all\][^[]*boot_partition=3/);
    } finally {
      await browser.close();
    }
  }, 240_000);
});
