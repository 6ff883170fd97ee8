// A filesystem's `contents` from a spec: [{ from, to }] → one FileTree.
//
// `from` (relative to the spec's directory, or absolute) is:
// - a directory: walked into `to` (listDirectory on the listing thread, then treeFromListing);
// - a tar archive (.tar, .tar.gz, .tgz): read into `to` (treeFromTar);
// - any other file: placed at `to`, or inside `to` when `to` ends with '/'.
// Other compressed tars (.tar.xz, .tar.zst, .tar.bz2…) are refused rather than
// copied in as one opaque file by mistake.
//
// Times. Host directories and files carry mtimes set by the host's clock
// (checkout, copy, build time), so by default they are clamped to
// `defaultTime` (SOURCE_DATE_EPOCH or the spec's time), as tar --clamp-mtime
// does: the image then does not depend on when the inputs were made.
// Archives are already fixed data, so their times are kept unless
// clampMtime is "all". Implicit parent directories get `defaultTime`.
//
// Every error raised for an item carries `specPath` (the JSON path of the
// item, e.g. "partitions[3].filesystem.contents[1]").
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { DiskwrightError, fail } from '../errors.js';
import { FileTree, splitTreePath, joinTreePath } from '../tree/tree.js';
import type { Timestamp } from '../tree/tree.js';
import { ioError } from './file-sink.js';
import { treeFromListing, hostFileSource } from './directory.js';
import { listDirectoryAsync } from './list-worker.js';
import { applyOwner, checkOwnerPolicy, clampTime, timestampFromNs } from './owner.js';
import type { OwnerPolicy, OwnerMap } from './owner.js';

export interface ContentItem {
  from: string;
  to: string;
}

export interface ContentsOptions {
  /** Directory that relative `from` paths are resolved against (the spec file's directory). */
  baseDir: string;
  owner?: 'keep' | 'root' | OwnerMap;
  /** SOURCE_DATE_EPOCH (or the spec's time): implicit directories, and the clamp for host inputs. */
  defaultTime: Timestamp;
  /** JSON path of the contents array, for errors ("partitions[3].filesystem.contents"). */
  path: string;
  /** "host" (default): clamp host directories and files to defaultTime; "all": archives too; "none": keep every time. */
  clampMtime?: 'host' | 'all' | 'none';
  /** Where compressed archives are spooled. Default: the OS temp directory. */
  spoolDir?: string;
  /** Fill this tree instead of a new one. */
  tree?: FileTree;
}

const TAR_NAMES = /\.(tar|tar\.gz|tgz)$/i;
const UNSUPPORTED_ARCHIVES = /\.(tar\.(xz|zst|zstd|bz2|lz4|lzma|lz|z)|txz|tbz|tbz2|tzst|tlz)$/i;

function withSpecPath(e: unknown, specPath: string): unknown {
  if (e instanceof DiskwrightError && e.data.specPath === undefined) {
    (e.data as Record<string, unknown>).specPath = specPath;
  }
  return e;
}

function checkItem(item: unknown, specPath: string): ContentItem {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    fail('SPEC_CONTENTS_INVALID', `${specPath}: must be an object { "from": …, "to": … }`, { specPath });
  }
  const { from, to } = item as Record<string, unknown>;
  if (typeof from !== 'string' || from === '') fail('SPEC_CONTENTS_INVALID', `${specPath}.from: must be a non-empty string`, { specPath: `${specPath}.from`, actual: from });
  if (typeof to !== 'string' || to === '') fail('SPEC_CONTENTS_INVALID', `${specPath}.to: must be a non-empty string`, { specPath: `${specPath}.to`, actual: to });
  return { from, to };
}

/** Build one tree from every item of a filesystem's `contents`, in order. */
export async function treeFromContents(contents: readonly ContentItem[], opts: ContentsOptions): Promise<FileTree> {
  if (!Array.isArray(contents)) fail('SPEC_CONTENTS_INVALID', `${opts.path}: must be an array`, { specPath: opts.path });
  const owner: OwnerPolicy = checkOwnerPolicy(opts.owner, opts.path.replace(/\.contents$/, '') + '.owner');
  const clamp = opts.clampMtime ?? 'host';
  if (clamp !== 'host' && clamp !== 'all' && clamp !== 'none') {
    fail('SPEC_CONTENTS_INVALID', `clampMtime must be "host", "all" or "none"`, { actual: clamp });
  }
  const hostClamp = clamp === 'none' ? undefined : opts.defaultTime;
  const tarClamp = clamp === 'all' ? opts.defaultTime : undefined;
  const tree = opts.tree ?? new FileTree({ defaultTime: opts.defaultTime });

  for (let i = 0; i < contents.length; i++) {
    const specPath = `${opts.path}[${i}]`;
    try {
      const { from, to } = checkItem(contents[i], specPath);
      const abs = nodePath.resolve(opts.baseDir, from);
      let st: fs.BigIntStats;
      try {
        st = fs.statSync(abs, { bigint: true });
      } catch (e) {
        const errno = (e as NodeJS.ErrnoException)?.code;
        if (errno === 'ENOENT' || errno === 'ENOTDIR') {
          fail('SPEC_CONTENTS_MISSING', `${specPath}.from: ${from} does not exist`, { specPath: `${specPath}.from`, path: abs });
        }
        throw ioError(e, abs, 'stat');
      }
      if (st.isDirectory()) {
        treeFromListing(await listDirectoryAsync(abs), tree, to, { owner, clampMtime: hostClamp });
      } else if (st.isFile() && TAR_NAMES.test(abs)) {
        // Loaded only when an archive is given: tar-stream and zlib cost a
        // directory-only build some 20 ms of start-up.
        const { treeFromTar } = await import('./tar.js');
        await treeFromTar(abs, tree, to, { owner, clampMtime: tarClamp, spoolDir: opts.spoolDir });
      } else if (st.isFile() && UNSUPPORTED_ARCHIVES.test(abs)) {
        fail('INPUT_ARCHIVE_UNSUPPORTED', `${specPath}.from: ${from}: only .tar, .tar.gz and .tgz archives are read`, { specPath: `${specPath}.from`, path: abs });
      } else if (st.isFile()) {
        const dest = to.endsWith('/') ? joinTreePath([...splitTreePath(to), nodePath.basename(abs)]) : to;
        const ids = applyOwner(Number(st.uid), Number(st.gid), owner);
        tree.addFile(dest, hostFileSource(abs, st), {
          mode: Number(st.mode & 0o7777n),
          uid: ids.uid,
          gid: ids.gid,
          mtime: clampTime(timestampFromNs(st.mtimeNs), hostClamp),
          origin: `host file ${abs}`,
        });
      } else {
        fail('INPUT_UNSUPPORTED_TYPE', `${specPath}.from: ${from} is neither a directory nor a regular file`, { specPath: `${specPath}.from`, path: abs });
      }
    } catch (e) {
      throw withSpecPath(e, specPath);
    }
  }
  return tree;
}
