// The page: collects dropped or picked files per partition, builds the spec
// of the Raspberry Pi preset (the layout of fixtures/presets/kubesolo-rpi.json,
// contents named by the keys "control", "boot" and "data"), and hands both to
// the worker. Output streams to a file through the File System Access API
// where the browser has it; otherwise it is gathered into a Blob (see README:
// the Blob fallback holds the image in the browser's blob storage).
import type { FileEntry } from '../src/browser/files.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });

const PARTS = [
  { key: 'control', title: '1 CONTROL (FAT32): firmware (start4.elf, fixup4.dat, config.txt), fallback kernel8.img, initramfs.img' },
  { key: 'boot', title: '2 BOOT-A and 3 BOOT-B (FAT32): kernel8.img, initramfs.img, DTBs, overlays/, cmdline.txt, config.txt' },
  { key: 'data', title: '4 DATA (ext4): the data partition' },
] as const;
const inputs: Record<string, FileEntry[]> = { control: [], boot: [], data: [] };

function join(dir: string, name: string): string {
  return [...dir.split('/'), ...name.split('/')].filter((s) => s !== '' && s !== '.').join('/');
}

function addFiles(key: string, files: { path: string; file: File }[]): void {
  for (const { path, file } of files) inputs[key].push({ path, data: file, lastModified: file.lastModified });
  render(key);
}

function render(key: string): void {
  const ul = document.querySelector(`#zone-${key} ul`)!;
  ul.textContent = '';
  for (const e of inputs[key]) {
    const li = document.createElement('li');
    li.textContent = `/${e.path}  (${(e.data as Blob).size} bytes)`;
    ul.append(li);
  }
}

// Directories dropped from the desktop arrive as FileSystemEntry trees.
async function readEntry(entry: FileSystemEntry, dir: string, out: { path: string; file: File }[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
    out.push({ path: join(dir, entry.name), file });
  } else if (entry.isDirectory) {
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
      if (batch.length === 0) break;
      for (const e of batch) await readEntry(e, join(dir, entry.name), out);
    }
  }
}

function setupZone(key: string, title: string): void {
  const zone = document.createElement('fieldset');
  zone.innerHTML = `<legend>${title}</legend>
    <div class="zone" id="zone-${key}">Drop files or folders here, into the folder
    <input class="into" value="/" size="14">
    <input type="file" class="pick-files" multiple> <input type="file" class="pick-dir" webkitdirectory>
    <button class="clear">Clear</button><ul></ul></div>`;
  $('parts').append(zone);
  const div = zone.querySelector<HTMLDivElement>('.zone')!;
  const into = () => zone.querySelector<HTMLInputElement>('.into')!.value;
  div.addEventListener('dragover', (e) => { e.preventDefault(); div.classList.add('over'); });
  div.addEventListener('dragleave', () => div.classList.remove('over'));
  div.addEventListener('drop', async (e) => {
    e.preventDefault();
    div.classList.remove('over');
    const dir = into();
    const out: { path: string; file: File }[] = [];
    for (const item of Array.from(e.dataTransfer?.items ?? [])) {
      if (item.kind !== 'file') continue;
      const entry = item.webkitGetAsEntry?.();
      if (entry?.isDirectory) await readEntry(entry, dir, out);
      else { const f = item.getAsFile(); if (f) out.push({ path: join(dir, f.name), file: f }); }
    }
    addFiles(key, out);
  });
  zone.querySelector<HTMLInputElement>('.pick-files')!.addEventListener('change', (e) => {
    const files = Array.from((e.target as HTMLInputElement).files ?? []);
    addFiles(key, files.map((f) => ({ path: join(into(), f.name), file: f })));
  });
  zone.querySelector<HTMLInputElement>('.pick-dir')!.addEventListener('change', (e) => {
    const files = Array.from((e.target as HTMLInputElement).files ?? []);
    addFiles(key, files.map((f) => ({ path: join(into(), f.webkitRelativePath || f.name), file: f })));
  });
  zone.querySelector('.clear')!.addEventListener('click', () => { inputs[key] = []; render(key); });
}

for (const p of PARTS) setupZone(p.key, p.title);
if (!('showSaveFilePicker' in window)) ($('output') as HTMLSelectElement).value = 'blob';

const val = (id: string) => ($(id) as HTMLInputElement).value.trim();

function makeSpec(): { spec: Record<string, unknown>; inputs: Record<string, FileEntry[]> } {
  const extra: Record<string, FileEntry[]> = { ...inputs };
  const control: { from: string; to: string }[] = [{ from: 'control', to: '/' }];
  const data: { from: string; to: string }[] = [{ from: 'data', to: '/' }];
  const enc = new TextEncoder();
  if (val('user-data')) { extra['user-data'] = [{ path: 'user-data', data: enc.encode(($('user-data') as HTMLTextAreaElement).value) }]; control.push({ from: 'user-data', to: '/' }); }
  if (val('hostname')) { extra.hostname = [{ path: 'hostname', data: enc.encode(`${val('hostname')}\n`) }]; data.push({ from: 'hostname', to: '/etc' }); }
  const fat = (label: string, contents: unknown[]) => ({ type: 'fat32', label, contents });
  const spec = {
    description: 'KubeSolo OS, Raspberry Pi 4/5: Boot/Control, Boot A, Boot B, Data',
    table: 'mbr',
    size: val('size-image'),
    seed: val('seed'),
    sourceDateEpoch: Number(val('epoch')),
    partitions: [
      { name: 'CONTROL', type: '0x0c', size: val('size-control'), bootable: true, filesystem: fat('CONTROL', control) },
      { name: 'BOOT-A', type: '0x0c', size: val('size-boot'), filesystem: fat('BOOT-A', [{ from: 'boot', to: '/' }]) },
      { name: 'BOOT-B', type: '0x0c', size: val('size-boot'), filesystem: fat('BOOT-B', [{ from: 'boot', to: '/' }]) },
      { name: 'DATA', type: '0x83', size: 'rest', filesystem: { type: 'ext4', label: 'DATA', owner: 'root', contents: data } },
    ],
    bootenv: { autoboot: { partition: 1, path: '/autoboot.txt', committed: ($('committed') as HTMLSelectElement).value } },
  };
  return { spec, inputs: extra };
}

function download(blob: Blob, name: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}

const status = (s: string) => { $('status').textContent = s; };
const progress = $('progress') as HTMLProgressElement;

$('build').addEventListener('click', async () => {
  const { spec, inputs: all } = makeSpec();
  let handle: unknown;
  if (($('output') as HTMLSelectElement).value === 'fsa') {
    try {
      handle = await (window as unknown as { showSaveFilePicker(o: unknown): Promise<unknown> }).showSaveFilePicker({ suggestedName: 'kubesolo-rpi.img' });
    } catch (e) { status(`not saved: ${(e as Error).message}`); return; }
  }
  document.body.dataset.state = 'building';
  progress.value = 0;
  status('building…');
  worker.postMessage({ type: 'build', spec, inputs: all, handle });
});

$('open-file').addEventListener('change', (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (f) worker.postMessage({ type: 'open', file: f });
});
for (const b of Array.from(document.querySelectorAll<HTMLButtonElement>('#bootenv-edit button[data-verb]'))) {
  b.addEventListener('click', () => worker.postMessage({ type: 'bootenv', verb: b.dataset.verb, args: b.dataset.arg ? [b.dataset.arg] : [] }));
}
let edited: { blob: Blob; name: string } | null = null;
$('save-edited').addEventListener('click', () => { if (edited) download(edited.blob, edited.name.replace(/(\.img)?$/, '-edited.img')); });

worker.onmessage = (ev: MessageEvent) => {
  const m = ev.data;
  if (m.type === 'progress') {
    progress.value = Math.min(1, m.bytes / Math.max(1, m.totalDataBytes));
    status(`${m.files} of ${m.totalFiles}${m.planned ? '' : '+'} files, ${(m.bytes / 1048576).toFixed(1)} MiB written`);
  } else if (m.type === 'built') {
    progress.value = 1;
    status(`built: ${m.report.size} bytes, ${m.report.files} files, ${m.report.partitions.length} partitions`);
    if (m.blob) download(m.blob, 'kubesolo-rpi.img');
    document.body.dataset.state = 'built';
  } else if (m.type === 'opened') {
    $('inspect').textContent = `${m.text}\n\nboot state (bootenv):\n${m.bootenv}`;
    $('bootenv-edit').hidden = false;
  } else if (m.type === 'bootenv') {
    edited = { blob: m.blob, name: m.name };
    $('inspect').textContent += `\n> ${m.output}${m.note ? `note: ${m.note}\n` : ''}boot state now:\n${m.bootenv}`;
  } else if (m.type === 'error') {
    status(`${m.code}: ${m.message}`);
    document.body.dataset.state = 'error';
  }
};
