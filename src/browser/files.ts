// Filesystem contents from in-memory or browser files. A spec's `contents`
// item { "from": KEY, "to": DIR } names a list of entries the caller supplies
// (files dropped on a web page, say): each entry's relative path is placed
// under DIR. Modes are 0644 for files and 0755 for directories (File objects
// carry none); times are the file's lastModified clamped to the build's time,
// as the Node edge clamps host files (tar --clamp-mtime), so the same files
// give the same image under Node and in a browser.
import { fail } from '../errors.js';
import type { BuildOptions } from '../image/build.js';
import type { Source } from '../io/source.js';
import { bytesSource } from '../io/source.js';
import { clampTime } from '../node/owner.js';
import { FileTree, joinTreePath, splitTreePath, type Timestamp } from '../tree/tree.js';
import { blobSource } from './blob-source.js';

export interface FileEntry {
  /** Path relative to the item's `to` ("overlays/disable-bt.dtbo"). */
  path: string;
  /** The data: bytes, or a File/Blob (read in a Web Worker). */
  data: Uint8Array | Blob;
  /** Milliseconds since the epoch (File.lastModified); default: the build's time. */
  lastModified?: number;
  /** Permission bits; default 0o644. */
  mode?: number;
}

function sourceOf(e: FileEntry): Source {
  return e.data instanceof Uint8Array ? bytesSource(e.data, e.path) : blobSource(e.data, `file ${e.path}`);
}

/** Add `entries` to `tree` under `to`. */
export function addFileEntries(tree: FileTree, entries: readonly FileEntry[], to: string, defaultTime: Timestamp): FileTree {
  const base = splitTreePath(to);
  for (const e of entries) {
    const ms = e.lastModified;
    const mtime: Timestamp = ms === undefined || !Number.isFinite(ms)
      ? defaultTime
      : clampTime({ sec: Math.floor(ms / 1000), nsec: (ms - Math.floor(ms / 1000) * 1000) * 1_000_000 }, defaultTime);
    tree.addFile(joinTreePath([...base, ...splitTreePath(e.path)]), sourceOf(e), {
      mode: e.mode ?? 0o644, uid: 0, gid: 0, mtime, origin: `file ${e.path}`,
    });
  }
  return tree;
}

/** A loadTree for buildImage that resolves each `contents` item's `from` in `inputs`. */
export function filesTreeLoader(inputs: Readonly<Record<string, readonly FileEntry[]>>): NonNullable<BuildOptions['loadTree']> {
  return async (fsSpec, specPath, defaultTime) => {
    const tree = new FileTree({ defaultTime });
    const contents = (fsSpec.contents ?? []) as unknown;
    if (!Array.isArray(contents)) fail('SPEC_CONTENTS_INVALID', `${specPath}.contents: must be an array`, { specPath: `${specPath}.contents` });
    contents.forEach((item: unknown, i) => {
      const p = `${specPath}.contents[${i}]`;
      const { from, to } = (item ?? {}) as { from?: unknown; to?: unknown };
      if (typeof from !== 'string' || typeof to !== 'string' || to === '') {
        fail('SPEC_CONTENTS_INVALID', `${p}: must be an object { "from": …, "to": … }`, { specPath: p });
      }
      const entries = inputs[from];
      if (!entries) fail('SPEC_CONTENTS_MISSING', `${p}.from: no files were given for ${JSON.stringify(from)}`, { specPath: `${p}.from`, path: from });
      addFileEntries(tree, entries, to, defaultTime);
    });
    return tree;
  };
}
