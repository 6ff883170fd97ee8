// A tar archive into the file tree, through tar-stream (ustar, pax, GNU).
//
// File data is never held in memory. tar-stream reads the archive as a
// stream and hands out each entry's data as a stream, but a builder wants to
// read file data later, in its own order. So each file becomes a source over
// a byte range of the archive file itself: tar-stream's entry stream carries
// `offset`, the position of the entry's own 512-byte header (after any pax or
// GNU long-name headers), and the data starts one block after it. The data
// streams are drained and dropped.
//
// tar-stream decodes pax values as UTF-8 text, which corrupts binary ones
// (security.capability). For xattrs alone we keep the raw bytes between the
// end of the previous entry and this entry's header (that is where its pax
// and GNU long headers sit) and read the pax records from them ourselves.
// Everything else — checksums, pax path/linkpath/size, GNU long names —
// comes from tar-stream. tar-stream applies pax path, linkpath and size; uid,
// gid and mtime (with its fraction) we take from the pax records here.
//
// Compressed archives (.tar.gz, any gzip stream) are gunzipped once into a
// spool file that is unlinked as soon as it is opened: nothing is left on
// disk, the descriptor is closed when the tree's sources are garbage
// collected, and the spool needs as much free space in `spoolDir` (default:
// the OS temp directory) as the uncompressed archive. Memory stays flat.
//
// Names follow GNU tar: leading '/' are stripped, a '..' component is
// TREE_PATH_ESCAPE, and a path given twice is TREE_DUPLICATE (a directory
// given twice merges). uname/gname are ignored (numeric ids, as with
// --numeric-owner). atime/ctime are not carried (times of archiving, not of
// the content). ACLs (SCHILY.acl.*) are not carried. GNU sparse members
// (type 'S', pax GNU.sparse.*) are TAR_UNSUPPORTED_ENTRY. A symlink is stored
// as written, even a loop or a dangling one: it is data, never followed.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import * as zlib from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import * as tarStream from 'tar-stream';
import { DiskwrightError, fail } from '../errors.js';
import type { Source } from '../io/source.js';
import { checkRange } from '../io/source.js';
import { FileTree, splitTreePath, joinTreePath } from '../tree/tree.js';
import type { NodeAttrs, TreeNode, Xattr, Timestamp } from '../tree/tree.js';
import { ioError } from './file-sink.js';
import { fileSource, openForRead } from './file-source.js';
import { applyOwner, clampTime, parsePaxTime } from './owner.js';
import type { InputOptions } from './owner.js';

export interface TarOptions extends InputOptions {
  /** Where a compressed archive is spooled (unlinked at once). Default: os.tmpdir(). */
  spoolDir?: string;
}

const BLOCK = 512;
const READ_CHUNK = 1 << 20;
/** Bytes of pax/GNU headers kept before an entry; tar-stream caps one long header at 4 MiB. */
const MAX_HEADER_REGION = 32 << 20;
const MAX_ID = 0xffffffff;

const utf8 = new TextDecoder('utf-8');
const readAt = promisify(fs.read);

/** The bytes of the archive stream from `keepFrom` on, in the chunks they came in. */
class ByteWindow {
  private chunks: Array<{ start: number; bytes: Uint8Array }> = [];
  private kept = 0;
  keepFrom = 0;
  /** True when bytes after keepFrom had to be dropped to stay within MAX_HEADER_REGION. */
  overflowed = false;

  push(start: number, bytes: Uint8Array): void {
    this.chunks.push({ start, bytes });
    this.kept += bytes.length;
    this.trim();
  }

  advance(to: number): void {
    this.keepFrom = to;
    this.overflowed = false;
    this.trim();
  }

  private trim(): void {
    while (this.chunks.length > 1 || (this.chunks.length === 1 && this.chunks[0].start + this.chunks[0].bytes.length <= this.keepFrom)) {
      const c = this.chunks[0];
      const end = c.start + c.bytes.length;
      if (end <= this.keepFrom) {
        // wholly before the region we need
      } else if (this.kept - c.bytes.length > MAX_HEADER_REGION) {
        this.overflowed = true;
      } else {
        return;
      }
      this.chunks.shift();
      this.kept -= c.bytes.length;
    }
  }

  /** A copy of [from, to), or null when part of it was not kept. */
  slice(from: number, to: number): Uint8Array | null {
    if (to <= from) return new Uint8Array(0);
    if (this.overflowed || this.chunks.length === 0 || this.chunks[0].start > from) return null;
    const out = new Uint8Array(to - from);
    for (const c of this.chunks) {
      const s = Math.max(from, c.start);
      const e = Math.min(to, c.start + c.bytes.length);
      if (e > s) out.set(c.bytes.subarray(s - c.start, e - c.start), s - from);
    }
    return out;
  }
}

/** A numeric header field: octal text, or GNU base-256 when the top bit is set. */
function decodeNumber(block: Uint8Array, offset: number, length: number): number {
  if (block[offset] & 0x80) {
    let v = 0;
    for (let i = 1; i < length; i++) v = v * 256 + block[offset + i];
    return block[offset] === 0x80 ? v : NaN;
  }
  let v = 0;
  let i = offset;
  const end = offset + length;
  while (i < end && (block[i] === 0x20 || block[i] === 0)) i++;
  for (; i < end && block[i] >= 0x30 && block[i] <= 0x37; i++) v = v * 8 + (block[i] - 0x30);
  return v;
}

function isZeroBlock(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** Raw pax records ("LEN key=value\n"): key as UTF-8, value as bytes. Stops at the first malformed record, like tar-stream. */
export function decodePaxRecords(data: Uint8Array): Array<[string, Uint8Array]> {
  const out: Array<[string, Uint8Array]> = [];
  let p = 0;
  while (p < data.length) {
    let sp = p;
    while (sp < data.length && sp - p < 20 && data[sp] !== 0x20) sp++;
    if (sp >= data.length || data[sp] !== 0x20) break;
    const len = Number(utf8.decode(data.subarray(p, sp)));
    if (!Number.isSafeInteger(len) || len <= sp - p + 1 || p + len > data.length) break;
    const rec = data.subarray(sp + 1, p + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq < 0) break;
    out.push([utf8.decode(rec.subarray(0, eq)), rec.subarray(eq + 1)]);
    p += len;
  }
  return out;
}

/** The pax records of the extended ('x') headers in the raw region before an entry's header. */
function paxRecordsIn(region: Uint8Array): Array<[string, Uint8Array]> {
  const out: Array<[string, Uint8Array]> = [];
  let p = 0;
  while (p + BLOCK <= region.length) {
    const block = region.subarray(p, p + BLOCK);
    if (isZeroBlock(block)) {
      p += BLOCK;
      continue;
    }
    const size = decodeNumber(block, 124, 12);
    if (!Number.isSafeInteger(size) || size < 0) break;
    const dataEnd = Math.min(region.length, p + BLOCK + size);
    if (block[156] === 0x78 /* 'x' */) out.push(...decodePaxRecords(region.subarray(p + BLOCK, dataEnd)));
    p += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return out;
}

/** xattrs from pax records: SCHILY.xattr.NAME=raw (GNU tar, star), LIBARCHIVE.xattr.URLNAME=base64 (bsdtar), RHT.security.selinux (GNU tar --selinux). */
function xattrsFrom(records: Array<[string, Uint8Array]>, entry: string): Xattr[] | undefined {
  const byName = new Map<string, Uint8Array>();
  const libarchive = new Map<string, Uint8Array>();
  for (const [key, value] of records) {
    if (key.startsWith('SCHILY.xattr.')) {
      byName.set(key.slice('SCHILY.xattr.'.length), value.slice());
    } else if (key.startsWith('LIBARCHIVE.xattr.')) {
      let name: string;
      try {
        name = decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length));
      } catch {
        return fail('TAR_PAX_INVALID', `tar entry ${entry}: xattr name in ${key} is not URL-encoded`, { entry, field: key });
      }
      libarchive.set(name, new Uint8Array(Buffer.from(utf8.decode(value), 'base64')));
    } else if (key === 'RHT.security.selinux') {
      libarchive.set('security.selinux', value.slice());
    }
  }
  for (const [k, v] of libarchive) if (!byName.has(k)) byName.set(k, v);
  for (const k of byName.keys()) {
    if (k === '' || !k.includes('.')) fail('TAR_PAX_INVALID', `tar entry ${entry}: xattr name ${JSON.stringify(k)} has no namespace`, { entry, field: k });
  }
  if (byName.size === 0) return undefined;
  return [...byName.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([name, value]) => ({ name, value }));
}

/** The archive being read: its size, and how an entry's data range becomes a source. */
interface Archive {
  describe: string;
  fd: number;
  size: number;
  source(offset: number, length: number, entry: string): Source;
}

const spools = new FinalizationRegistry<number>((fd) => {
  try { fs.closeSync(fd); } catch { /* already closed */ }
});

function fdRangeSource(holder: { fd: number }, offset: number, length: number, describe: string): Source {
  const readInto = (o: number, out: Uint8Array, to: number, n: number): void => {
    checkRange(length, o, n, describe);
    let got = 0;
    try {
      while (got < n) {
        const r = fs.readSync(holder.fd, out, to + got, n - got, offset + o + got);
        if (r === 0) fail('IO_SOURCE_CHANGED', `${describe}: the spool ended early`, { expected: n, actual: got });
        got += r;
      }
    } catch (e) {
      throw ioError(e, describe, 'read');
    }
  };
  return {
    size: length,
    describe,
    read(o, n) {
      const out = new Uint8Array(n);
      readInto(o, out, 0, n);
      return out;
    },
    // Straight into the emitter's staging buffer (see Source.readInto).
    readInto,
  };
}


function endsWithMarker(archive: Archive): boolean {
  if (archive.size < 3 * BLOCK || archive.size % BLOCK !== 0) return false;
  const tail = Buffer.alloc(2 * BLOCK);
  fs.readSync(archive.fd, tail, 0, tail.length, archive.size - tail.length);
  return isZeroBlock(tail);
}

function isGzip(fd: number): boolean {
  const b = Buffer.alloc(2);
  return fs.readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b;
}

async function spoolGunzip(file: string, spoolDir: string): Promise<Archive> {
  let dir: string;
  try {
    dir = fs.mkdtempSync(nodePath.join(spoolDir, 'diskwright-spool-'));
  } catch (e) {
    throw ioError(e, spoolDir, 'mkdtemp');
  }
  const p = nodePath.join(dir, 'archive.tar');
  // Two descriptors: the write stream owns and closes its own (it may close
  // it on an error even with autoClose: false); `fd` is ours, for reading.
  // Closing the stream's descriptor again could close a number that another
  // open in this process has been given meanwhile.
  const fd = fs.openSync(p, 'w+', 0o600);
  const wfd = fs.openSync(p, 'r+');
  fs.unlinkSync(p);
  fs.rmdirSync(dir);
  try {
    await pipeline(fs.createReadStream(file, { highWaterMark: READ_CHUNK }), zlib.createGunzip(), fs.createWriteStream(p, { fd: wfd }));
  } catch (e) {
    fs.closeSync(fd);
    const errno = (e as NodeJS.ErrnoException)?.code ?? '';
    if (errno.startsWith('Z_') || errno.startsWith('ERR_ZLIB')) {
      throw new DiskwrightError('TAR_GZIP_INVALID', `${file}: ${(e as Error).message}`, { path: file, errno }, { cause: e });
    }
    throw ioError(e, file, 'gunzip');
  }
  const holder = { fd };
  spools.register(holder, fd);
  const describe = `gzip tar ${file}`;
  return {
    describe,
    fd,
    size: fs.fstatSync(fd).size,
    source: (offset, length, entry) => fdRangeSource(holder, offset, length, `tar entry ${entry} in ${file}`),
  };
}

/** Strip leading '/' (GNU tar does, with a warning) and check the rest. */
function entryParts(name: string, origin: string): string[] {
  return splitTreePath(name.replace(/^\/+/, ''), origin);
}

function checkId(v: number, field: string, entry: string, offset: number): number {
  if (!Number.isInteger(v) || v < 0 || v > MAX_ID) {
    fail('TAR_HEADER_INVALID', `tar entry ${entry}: ${field} ${v} is not a valid id`, { entry, field, actual: v, offset });
  }
  return v;
}

function paxInt(pax: Record<string, string> | null | undefined, key: string): number | undefined {
  const v = pax?.[key];
  if (v === undefined) return undefined;
  return /^[0-9]{1,10}$/.test(v) ? Number(v) : NaN;
}

/**
 * Read the tar archive `file` (plain or gzip) into `tree` under `to`. Entry
 * data stays in the archive (or its spool) and is read when emitted.
 */
export async function treeFromTar(file: string, tree: FileTree, to = '/', opts: TarOptions = {}): Promise<FileTree> {
  const toParts = splitTreePath(to, `target ${to}`);
  const fd = openForRead(file);
  let archive: Archive;
  try {
    if (isGzip(fd)) {
      archive = await spoolGunzip(file, opts.spoolDir ?? os.tmpdir());
    } else {
      archive = {
        describe: `tar ${file}`,
        fd,
        size: fs.fstatSync(fd).size,
        source: (offset, length, entry) => fileSource(file, offset, length, `tar entry ${entry} in ${file}`),
      };
    }
    await readEntries(archive, tree, toParts, opts, file);
  } finally {
    fs.closeSync(fd);
  }
  return tree;
}

async function readEntries(archive: Archive, tree: FileTree, toParts: string[], opts: TarOptions, file: string): Promise<void> {
  const window = new ByteWindow();
  const seen = new Map<string, TreeNode>();
  let lastEntry: string | undefined;
  const extract = tarStream.extract();

  const handle = (header: tarStream.Header, headerOffset: number): void => {
    const name = header.name;
    const origin = `tar entry ${name}`;
    const type = header.type as string | null;
    const dataOffset = headerOffset + BLOCK;
    // tar-stream ≥ 3.2 also reports where the data starts; the two must agree.
    const reported = (header as { byteOffset?: unknown }).byteOffset;
    if (typeof reported === 'number' && reported !== 0 && reported !== dataOffset) {
      fail('TAR_INTERNAL', `${origin}: tar-stream places the data at ${reported}, not ${dataOffset}`, { entry: name, expected: dataOffset, actual: reported });
    }
    const size = type === 'directory' ? 0 : header.size;
    if (!Number.isSafeInteger(size) || size < 0) {
      fail('TAR_HEADER_INVALID', `${origin}: size ${header.size} is not valid`, { entry: name, field: 'size', actual: header.size, offset: headerOffset, path: file });
    }
    if (dataOffset + size > archive.size) {
      // Both an archive cut short and a size field that lies end here. An
      // archive that still ends in its end-of-archive marker (two zero
      // blocks) was written whole, so the size is what is wrong.
      const code = endsWithMarker(archive) ? 'TAR_SIZE_EXCEEDS_ARCHIVE' : 'TAR_TRUNCATED';
      fail(code, `${origin}: ${size} bytes of data at ${dataOffset}, but the archive ends at ${archive.size}`, {
        entry: name, offset: dataOffset, expected: size, actual: Math.max(0, archive.size - dataOffset), path: file,
      });
    }
    const region = window.slice(window.keepFrom, headerOffset + BLOCK);
    window.advance(dataOffset + Math.ceil(size / BLOCK) * BLOCK);
    lastEntry = name;

    const pax = (header.pax ?? null) as Record<string, string> | null;
    if (pax && Object.keys(pax).some((k) => k.startsWith('GNU.sparse.'))) {
      fail('TAR_UNSUPPORTED_ENTRY', `${origin}: GNU sparse members are not supported (archive without --sparse)`, { entry: name, offset: headerOffset, path: file });
    }
    if (type === null) {
      const flag = region && region.length >= BLOCK ? String.fromCharCode(region[region.length - BLOCK + 156]) : '?';
      if (flag === 'V') return; // GNU volume label: not a file
      fail('TAR_UNSUPPORTED_ENTRY', `${origin}: entry type '${flag}' is not supported`, { entry: name, field: 'typeflag', actual: flag, offset: headerOffset, path: file });
    }

    let xattrs: Xattr[] | undefined;
    if (pax && Object.keys(pax).some((k) => k.startsWith('SCHILY.xattr.') || k.startsWith('LIBARCHIVE.xattr.') || k === 'RHT.security.selinux')) {
      if (!region) {
        fail('TAR_HEADER_INVALID', `${origin}: its extended headers span more than ${MAX_HEADER_REGION} bytes`, { entry: name, offset: headerOffset, path: file });
      }
      xattrs = xattrsFrom(paxRecordsIn(region.subarray(0, region.length - BLOCK)), name);
    }

    const rawUid = paxInt(pax, 'uid') ?? header.uid;
    const rawGid = paxInt(pax, 'gid') ?? header.gid;
    const owner = applyOwner(checkId(rawUid, 'uid', name, headerOffset), checkId(rawGid, 'gid', name, headerOffset), opts.owner);
    let mtime: Timestamp | null = null;
    if (pax?.mtime !== undefined) {
      mtime = parsePaxTime(pax.mtime);
      if (!mtime) fail('TAR_PAX_INVALID', `${origin}: pax mtime ${JSON.stringify(pax.mtime)} is not a number`, { entry: name, field: 'mtime', actual: pax.mtime, path: file });
    } else {
      const ms = header.mtime.getTime();
      if (!Number.isFinite(ms)) fail('TAR_HEADER_INVALID', `${origin}: mtime is not valid`, { entry: name, field: 'mtime', offset: headerOffset, path: file });
      mtime = { sec: Math.floor(ms / 1000), nsec: 0 };
    }
    if (!Number.isInteger(header.mode)) fail('TAR_HEADER_INVALID', `${origin}: mode is not valid`, { entry: name, field: 'mode', offset: headerOffset, path: file });
    const attrs: NodeAttrs = {
      mode: header.mode & 0o7777,
      uid: owner.uid,
      gid: owner.gid,
      mtime: clampTime(mtime, opts.clampMtime),
      xattrs,
      origin,
    };

    const rel = entryParts(name, origin);
    const key = joinTreePath(rel);
    const path = joinTreePath([...toParts, ...rel]);
    if (rel.length === 0 && type !== 'directory') {
      fail('TAR_ENTRY_INVALID', `${origin}: a ${type} cannot be the archive's root`, { entry: name, offset: headerOffset, path: file });
    }
    let node: TreeNode;
    switch (type) {
      case 'file':
      case 'contiguous-file':
        node = tree.addFile(path, archive.source(dataOffset, size, name), attrs);
        break;
      case 'directory':
        node = tree.addDir(path, attrs);
        break;
      case 'symlink':
        node = tree.addSymlink(path, header.linkname ?? '', attrs);
        break;
      case 'link': {
        const targetRel = entryParts(header.linkname ?? '', origin);
        const targetKey = joinTreePath(targetRel);
        if (!seen.has(targetKey)) {
          fail('TAR_HARDLINK_TARGET_UNSEEN', `${origin}: hard link to ${header.linkname}, which the archive has not given before`, {
            entry: name, target: header.linkname, offset: headerOffset, path: file,
          });
        }
        node = tree.addHardlink(path, joinTreePath([...toParts, ...targetRel]), origin);
        break;
      }
      case 'character-device':
      case 'block-device':
        node = tree.addDevice(path, type === 'character-device' ? 'char' : 'block', header.devmajor, header.devminor, attrs);
        break;
      case 'fifo':
        node = tree.addSpecial(path, 'fifo', attrs);
        break;
      default:
        return fail('TAR_UNSUPPORTED_ENTRY', `${origin}: entry type ${type} is not supported`, { entry: name, actual: type, offset: headerOffset, path: file });
    }
    seen.set(key, node);
  };

  const mapStreamError = (e: unknown): DiskwrightError => {
    if (e instanceof DiskwrightError) return e;
    const msg = (e as Error)?.message ?? String(e);
    const after = lastEntry === undefined ? 'at the start' : `after tar entry ${lastEntry}`;
    if (/Unexpected end of data/.test(msg)) {
      return new DiskwrightError('TAR_TRUNCATED', `${file}: the archive ends inside a header ${after}`, {
        path: file, entry: lastEntry, offset: archive.size,
      }, { cause: e });
    }
    return new DiskwrightError('TAR_HEADER_INVALID', `${file}: ${msg} (${after})`, { path: file, entry: lastEntry, offset: window.keepFrom }, { cause: e });
  };

  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      stream.on('error', () => { /* reported through extract */ });
      try {
        handle(header, stream.offset);
      } catch (e) {
        extract.destroy(e as Error);
        return;
      }
      if (header.type === 'directory') {
        // tar-stream feeds a directory no data, and its stream never ends when
        // the header's size field is not zero (a damaged or GNU dumpdir header).
        next();
        return;
      }
      stream.on('end', () => next());
      stream.resume();
    });
    extract.on('error', (e) => reject(mapStreamError(e)));
    extract.on('finish', () => resolve());
  });
  done.catch(() => { /* observed below */ });

  let pos = 0;
  try {
    for (;;) {
      const bytes = Buffer.allocUnsafe(READ_CHUNK);
      const got = (await readAt(archive.fd, bytes, 0, READ_CHUNK, pos)).bytesRead;
      if (got === 0) break;
      const chunk = got === READ_CHUNK ? bytes : bytes.subarray(0, got);
      window.push(pos, chunk);
      pos += got;
      if (extract.destroyed) break;
      if (!extract.write(chunk)) {
        await new Promise<void>((resolve) => {
          const go = () => {
            extract.off('drain', go);
            extract.off('close', go);
            resolve();
          };
          extract.on('drain', go);
          extract.on('close', go);
        });
      }
      if (extract.destroyed) break;
    }
  } catch (e) {
    extract.destroy();
    throw ioError(e, archive.describe, 'read');
  }
  if (!extract.destroyed) extract.end(null);
  await done;
}
