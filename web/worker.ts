// The page's Web Worker: builds images (streamed to a File System Access
// writable, or gathered into a Blob) and opens existing ones. File and Blob
// inputs are read here with FileReaderSync, piece by piece as the emitter
// needs them.
import {
  blobDisk, buildImage, DiskwrightError, editBootenvInPlace, filesTreeLoader, locateBootenv, openImage, probeFilesystem,
  SequentialSink, validateSpec, type BlobDisk, type FileEntry, type OpenedImage, type Sink,
} from '../src/core.js';

type Msg =
  | { type: 'build'; spec: Record<string, unknown>; inputs: Record<string, FileEntry[]>; handle?: FileSystemFileHandleLike }
  | { type: 'open'; file: File }
  | { type: 'bootenv'; verb: string; args: string[] };

interface WritableLike {
  write(chunk: { type: 'write'; position: number; data: Uint8Array } | { type: 'truncate'; size: number }): Promise<void>;
  close(): Promise<void>;
  abort(reason?: unknown): Promise<void>;
}
interface FileSystemFileHandleLike { createWritable(): Promise<WritableLike> }

const post = (m: unknown, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);

/** Positional writes into a File System Access file: free space and zero ranges stay unwritten (a new file reads as zeros there). */
function writableSink(w: WritableLike): Sink {
  return {
    write: (position, data) => w.write({ type: 'write', position, data: data.slice() }),
    zero: async () => {},
    finish: async (size) => { await w.write({ type: 'truncate', size }); await w.close(); },
    abort: (reason) => w.abort(reason),
  };
}

/** Gathers the stream into a Blob; every 64 MiB the parts are folded into one Blob, which the browser may keep on disk. */
function blobSink(done: (b: Blob) => void): Sink {
  let blob = new Blob([]);
  let parts: Uint8Array[] = [];
  let pending = 0;
  const fold = () => { blob = new Blob([blob, ...parts] as never); parts = []; pending = 0; };
  return new SequentialSink({
    push: async (chunk) => {
      parts.push(chunk.slice());
      pending += chunk.length;
      if (pending >= 64 << 20) fold();
    },
    end: async () => { fold(); done(blob); },
    destroy: async () => { parts = []; blob = new Blob([]); },
  });
}

function errorOf(e: unknown) {
  return e instanceof DiskwrightError ? { code: e.code, message: e.message } : { code: 'INTERNAL', message: String((e as Error)?.stack ?? e) };
}

let opened: { disk: BlobDisk; image: OpenedImage; name: string } | null = null;

function describeImage(): string {
  const { image } = opened!;
  const lines = [`table ${image.table ?? 'none'}  disk id ${image.diskId ?? '-'}`];
  for (const p of image.partitions) {
    const info = p.container ? null : image.filesystemInfo(p.index);
    lines.push(`p${p.index}  ${p.type ?? ''}  ${p.name ?? ''}  start ${p.start}  size ${p.size}${p.bootable ? '  boot' : ''}  ${info ? `${info.type} ${info.label ?? ''}` : ''}`);
    if (!info) continue;
    try {
      const fs = image.filesystem(p.index);
      const walk = (dir: string, depth: number) => {
        if (depth > 3) return;
        for (const e of fs.list(dir).slice(0, 200)) {
          const path = dir === '/' ? `/${e.name}` : `${dir}/${e.name}`;
          lines.push(`    ${path}${e.type === 'dir' ? '/' : ''}`);
          if (e.type === 'dir') walk(path, depth + 1);
        }
      };
      walk('/', 0);
    } catch (e) { lines.push(`    (${errorOf(e).code})`); }
  }
  for (const w of image.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}

function bootenv(verb: string, args: string[]): { output: string; note?: string; changed: boolean } {
  const { image } = opened!;
  const partitions = image.partitions.filter((p) => !p.container).map((p) => ({ index: p.index, type: p.type ?? '', disk: image.partitionDisk(p.index) }));
  const loc = locateBootenv(partitions, probeFilesystem);
  const res = editBootenvInPlace(loc, verb, args);
  return { output: new TextDecoder().decode(res.output), note: res.note, changed: res.changed };
}

self.onmessage = async (ev: MessageEvent<Msg>) => {
  const m = ev.data;
  try {
    if (m.type === 'build') {
      const size = validateSpec(m.spec).size;
      let result: Blob | null = null;
      const sink = m.handle ? writableSink(await m.handle.createWritable()) : blobSink((b) => { result = b; });
      let last = 0;
      const report = await buildImage(m.spec, sink, {
        loadTree: filesTreeLoader(m.inputs),
        onProgress: (p) => {
          if (p.bytes - last < 1 << 20 && p.bytes !== 0) return;
          last = p.bytes;
          post({ type: 'progress', planned: p.planned, bytes: p.bytes, files: p.files, totalFiles: p.totalFiles, totalDataBytes: p.totalDataBytes, size });
        },
      });
      post({ type: 'built', report, blob: result });
    } else if (m.type === 'open') {
      const disk = blobDisk(m.file, true);
      opened = { disk, image: openImage(disk), name: m.file.name };
      let state = '';
      try { state = bootenv('state', []).output; } catch (e) { state = `(${errorOf(e).code})`; }
      post({ type: 'opened', text: describeImage(), bootenv: state });
    } else if (m.type === 'bootenv') {
      if (!opened) throw new DiskwrightError('IMAGE_NOT_OPEN', 'open an image first', {});
      const res = bootenv(m.verb, m.args);
      const state = bootenv('state', []).output;
      post({ type: 'bootenv', output: res.output, note: res.note, bootenv: state, blob: opened.disk.patchedBlob(), name: opened.name });
    }
  } catch (e) {
    post({ type: 'error', ...errorOf(e) });
  }
};
