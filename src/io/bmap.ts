// Block map (.bmap), bmap-tools format version 2.0 (bmaptools/BmapCreate.py,
// the writer; BmapCopy.py, the reader that verifies it).
//
// A BmapSink watches an emission go by in offset order. Every byte the
// emitter writes and every range it declares zero is "mapped": the blocks
// that hold it must be copied to the medium, so a flash over old data gives
// the image. Free space is unmapped. Each mapped range is hashed as it passes
// (image bytes for data, zeros for zero ranges and for free bytes that share
// a block with mapped bytes), so the block map costs one pass and no re-read.
import { fail } from '../errors.js';
import { createSha256, toHex } from '../codec/sha256.js';
import type { Sink } from './sink.js';

/** A hash that the sink feeds in pieces; hex digest at the end. */
export interface RangeHasher {
  update(data: Uint8Array): void;
  digestHex(): string;
}

/** Makes one hasher per mapped range (sha256). The edge passes node:crypto; the default is pure TypeScript. */
export type RangeHasherFactory = () => RangeHasher;

export function createPureSha256Hasher(): RangeHasher {
  const h = createSha256();
  return { update: (d) => h.update(d), digestHex: () => toHex(h.digest()) };
}

/** A run of mapped blocks, inclusive at both ends, with the sha256 of its bytes. */
export interface BmapRange {
  first: number;
  last: number;
  chksum: string;
}

export interface BmapOptions {
  /** Block size in bytes; bmaptool create uses the file system's (4096). */
  blockSize?: number;
  createHasher?: RangeHasherFactory;
}

export interface BmapResult {
  imageSize: number;
  blockSize: number;
  blocksCount: number;
  mappedBlocksCount: number;
  ranges: BmapRange[];
  /** The .bmap file, ASCII. */
  bytes: Uint8Array;
}

const ZEROS = new Uint8Array(1 << 20);

/**
 * Records mapped ranges of an emission and renders the bmap. With `inner`,
 * it forwards every call to that sink after recording (a wrapper); without,
 * it only records (put it beside other sinks with a TeeSink).
 */
export class BmapSink implements Sink {
  readonly blockSize: number;
  private readonly createHasher: RangeHasherFactory;
  private readonly ranges: BmapRange[] = [];
  /** The open range, if any. */
  private first = -1;
  private last = -1;
  private hasher: RangeHasher | null = null;
  /** Bytes [.., hashedTo) of the image have been seen (hashed when inside the open range). */
  private hashedTo = 0;
  private result: BmapResult | null = null;

  constructor(private readonly inner: Sink | null = null, opts: BmapOptions = {}) {
    this.blockSize = opts.blockSize ?? 4096;
    if (!Number.isSafeInteger(this.blockSize) || this.blockSize < 512 || (this.blockSize & (this.blockSize - 1)) !== 0) {
      fail('BMAP_BLOCK_SIZE', `bmap block size ${this.blockSize} is not a power of two of at least 512`, { field: 'BlockSize', actual: this.blockSize });
    }
    this.createHasher = opts.createHasher ?? createPureSha256Hasher;
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    this.record(offset, data.length, data);
    if (this.inner) await this.inner.write(offset, data);
  }

  async zero(offset: number, length: number): Promise<void> {
    this.record(offset, length, null);
    if (this.inner) await this.inner.zero(offset, length);
  }

  async finish(size: number): Promise<void> {
    this.complete(size);
    if (this.inner) await this.inner.finish(size);
  }

  async abort(reason?: unknown): Promise<void> {
    this.hasher = null;
    if (this.inner) await this.inner.abort(reason);
  }

  /** The block map: valid after finish(). */
  bmap(): BmapResult {
    if (!this.result) fail('BMAP_NOT_FINISHED', 'the block map is known only after finish()', {});
    return this.result;
  }

  /** Close the ranges and render the bmap for an image of `size` bytes (finish() without the inner sink). */
  complete(size: number): BmapResult {
    if (!Number.isSafeInteger(size) || size < this.hashedTo) {
      fail('SINK_ORDER', `image size ${size} ends before data already emitted (${this.hashedTo})`, { offset: size, position: this.hashedTo });
    }
    this.closeRange(size);
    const blocksCount = Math.ceil(size / this.blockSize);
    let mapped = 0;
    for (const r of this.ranges) mapped += r.last - r.first + 1;
    this.result = {
      imageSize: size,
      blockSize: this.blockSize,
      blocksCount,
      mappedBlocksCount: mapped,
      ranges: this.ranges,
      bytes: renderBmap(size, this.blockSize, this.ranges, this.createHasher),
    };
    return this.result;
  }

  private record(offset: number, length: number, data: Uint8Array | null): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      fail('SINK_RANGE', `bad extent ${length} bytes at ${offset}`, { offset, length });
    }
    if (offset < this.hashedTo) {
      fail('SINK_ORDER', `block map got offset ${offset} after ${this.hashedTo}`, { offset, position: this.hashedTo });
    }
    if (length === 0) return;
    const bs = this.blockSize;
    const firstBlock = Math.floor(offset / bs);
    const lastBlock = Math.floor((offset + length - 1) / bs);
    if (this.hasher && firstBlock <= this.last + 1) {
      // Continues the open range: free bytes in between read as zeros.
      this.hashZeros(offset - this.hashedTo);
    } else {
      this.closeRange(Infinity);
      this.first = firstBlock;
      this.hasher = this.createHasher();
      this.hashZeros(offset - firstBlock * bs);
    }
    if (data) this.hasher!.update(data);
    else this.hashZeros(length);
    this.hashedTo = offset + length;
    this.last = lastBlock;
  }

  /** Hash the rest of the open range's last block (up to the image end) and store the range. */
  private closeRange(imageSize: number): void {
    if (!this.hasher) return;
    const end = Math.min((this.last + 1) * this.blockSize, imageSize);
    this.hashZeros(end - this.hashedTo);
    this.hashedTo = end;
    this.ranges.push({ first: this.first, last: this.last, chksum: this.hasher.digestHex() });
    this.hasher = null;
  }

  private hashZeros(n: number): void {
    while (n > 0) {
      const k = Math.min(n, ZEROS.length);
      this.hasher!.update(ZEROS.subarray(0, k));
      n -= k;
    }
  }
}

// --- rendering: the text BmapCreate.generate() writes, byte for byte ---

/** bmaptools.BmapHelpers.human_size(). */
export function humanSize(size: number): string {
  if (size === 1) return '1 byte';
  if (size < 512) return `${size} bytes`;
  let s = size;
  for (const modifier of ['KiB', 'MiB', 'GiB', 'TiB']) {
    s /= 1024;
    if (s < 1024) return `${formatFixed1(s)} ${modifier}`;
  }
  return `${formatFixed1(s)} EiB`;
}

/**
 * Python's "%.1f": the exact binary value, correctly rounded, ties to even.
 * Number.prototype.toFixed breaks exact ties upward instead; an exact tie at
 * the second decimal is a multiple of 1/4 that is not a multiple of 1/2.
 */
export function formatFixed1(x: number): string {
  if (Number.isInteger(x * 4) && !Number.isInteger(x * 2) && Math.abs(x) < 2 ** 50) {
    const t = Math.floor(x * 10);
    const even = t % 2 === 0 ? t : t + 1;
    return (even / 10).toFixed(1);
  }
  return x.toFixed(1);
}

function overwrite(text: string, pos: number, value: string): string {
  return text.slice(0, pos) + value + text.slice(pos + value.length);
}

const ASCII = new TextEncoder();

/** Render a bmap 2.0 file with sha256 checksums. */
export function renderBmap(imageSize: number, blockSize: number, ranges: readonly BmapRange[], createHasher: RangeHasherFactory = createPureSha256Hasher): Uint8Array {
  const blocksCount = Math.ceil(imageSize / blockSize);
  let mapped = 0;
  for (const r of ranges) mapped += r.last - r.first + 1;
  const imageHuman = humanSize(imageSize);
  const mappedHuman = humanSize(mapped * blockSize);
  const percent = blocksCount === 0 ? 0 : (mapped * 100) / blocksCount;
  const csLen = 64;

  let xml =
    '<?xml version="1.0" ?>\n' +
    '<!-- This file contains the block map for an image file, which is basically\n' +
    '     a list of useful (mapped) block numbers in the image file. In other words,\n' +
    '     it lists only those blocks which contain data (boot sector, partition\n' +
    '     table, file-system metadata, files, directories, extents, etc). These\n' +
    '     blocks have to be copied to the target device. The other blocks do not\n' +
    '     contain any useful data and do not have to be copied to the target\n' +
    '     device.\n' +
    '\n' +
    '     The block map an optimization which allows to copy or flash the image to\n' +
    '     the image quicker than copying of flashing the entire image. This is\n' +
    '     because with bmap less data is copied: <MappedBlocksCount> blocks instead\n' +
    '     of <BlocksCount> blocks.\n' +
    '\n' +
    '     Besides the machine-readable data, this file contains useful commentaries\n' +
    '     which contain human-readable information like image size, percentage of\n' +
    '     mapped data, etc.\n' +
    '\n' +
    "     The 'version' attribute is the block map file format version in the\n" +
    "     'major.minor' format. The version major number is increased whenever an\n" +
    '     incompatible block map format change is made. The minor number changes\n' +
    '     in case of minor backward-compatible changes. -->\n' +
    '\n' +
    '<bmap version="2.0">\n' +
    `    <!-- Image size in bytes: ${imageHuman} -->\n` +
    `    <ImageSize> ${imageSize} </ImageSize>\n` +
    '\n' +
    '    <!-- Size of a block in bytes -->\n' +
    `    <BlockSize> ${blockSize} </BlockSize>\n` +
    '\n' +
    '    <!-- Count of blocks in the image file -->\n' +
    `    <BlocksCount> ${blocksCount} </BlocksCount>\n` +
    '\n' +
    '    <!-- Count of mapped blocks: ';
  // BmapCreate writes blank placeholders and later seeks back to overwrite
  // them with the counts; the padding that is not overwritten stays.
  const countPos1 = xml.length;
  xml += `${' '.repeat(imageHuman.length)} or ${' '.repeat('100.0%'.length)}   -->\n`;
  xml += '    <MappedBlocksCount> ';
  const countPos2 = xml.length;
  xml += `${' '.repeat(String(blocksCount).length)} </MappedBlocksCount>\n\n`;
  xml += '    <!-- Type of checksum used in this file -->\n';
  xml += '    <ChecksumType> sha256 </ChecksumType>\n\n';
  xml += '    <!-- The checksum of this bmap file. When it is calculated, the value of\n';
  xml += '         the checksum has be zero (all ASCII "0" symbols).  -->\n';
  xml += '    <BmapFileChecksum> ';
  const chksumPos = xml.length;
  xml += '0'.repeat(csLen) + ' </BmapFileChecksum>\n\n';
  xml += "    <!-- The block map which consists of elements which may either be a\n";
  xml += "         range of blocks or a single block. The 'chksum' attribute\n";
  xml += '         (if present) is the checksum of this blocks range. -->\n';
  xml += '    <BlockMap>\n';
  const parts: string[] = [xml];
  for (const r of ranges) {
    const span = r.first !== r.last ? `${r.first}-${r.last}` : `${r.first}`;
    parts.push(`        <Range chksum="${r.chksum}"> ${span} </Range>\n`);
  }
  parts.push('    </BlockMap>\n</bmap>\n');
  let text = parts.join('');
  text = overwrite(text, countPos1, `${mappedHuman} or ${formatFixed1(percent)}%`);
  text = overwrite(text, countPos2, String(mapped));
  // BmapFileChecksum: the hash of the whole file while the field holds zeros.
  const h = createHasher();
  h.update(ASCII.encode(text));
  text = overwrite(text, chksumPos, h.digestHex());
  return ASCII.encode(text);
}
