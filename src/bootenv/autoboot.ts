// Raspberry Pi autoboot.txt (Raspberry Pi documentation, "config.txt →
// autoboot.txt" and "Conditional filters"): config.txt syntax, read by the
// bootloader from the first FAT partition. `[all]` resets the conditions,
// `[none]` never applies, `[tryboot]` applies only when the one-shot tryboot
// flag was set; other filters ([pi4], [edid=…], …) are kept as they are.
// Keys that matter here: `tryboot_a_b` and `boot_partition`.
//
// The file is kept as its raw lines; an edit changes only the value part of
// one line (or adds one), so comments, blank lines, unknown keys and other
// sections survive byte for byte.
//
// Size: an in-place edit inside an image keeps the file's size (the FAT
// reader's rewriteFile writes the same clusters). Changing boot_partition
// between 2 and 3 never changes the length, but adding a key or section does;
// so files end in a padding comment ("####…#\n") that edits grow or shrink
// (`fitAutoboot`). A line starting with '#' is ignored by the firmware's
// config parser, so the padding is inert. `formatAutoboot` writes it
// (256 bytes in all by default; the bootloader reads at most 512 bytes of
// autoboot.txt).
import { fail } from '../errors.js';

export const AUTOBOOT_DEFAULT_SIZE = 256;
/** The bootloader reads no more than this much of autoboot.txt. */
export const AUTOBOOT_MAX_SIZE = 512;

export interface AutobootLine {
  /** The line without its end of line. */
  text: string;
  /** '\n', '\r\n' or '' (last line without one). */
  eol: string;
}

export interface AutobootEntry {
  key: string;
  value: string;
  /** Filters in force for this line ([] = unconditional / [all]); lower case, without brackets. */
  filters: string[];
  line: number;
}

export type FilterMatch = (filter: string) => boolean;

const KEY_RE = /^(\s*)([A-Za-z0-9_.-]+)(\s*=\s*)(.*?)(\s*)$/;
const SECTION_RE = /^\s*\[([^\]]*)\]\s*$/;

// Bytes ↔ string one-to-one (latin1), so any byte survives a round trip.
function bytesToBinary(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}
function binaryToBytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return b;
}

function sameFilters(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function isPaddingLine(l: AutobootLine): boolean {
  return /^#*$/.test(l.text) && l.eol !== '\r\n';
}

export class Autoboot {
  lines: AutobootLine[];

  constructor(lines: AutobootLine[]) {
    this.lines = lines;
  }

  static decode(data: Uint8Array): Autoboot {
    const s = bytesToBinary(data);
    const lines: AutobootLine[] = [];
    let p = 0;
    // bounded: every pass consumes at least one byte
    while (p < s.length) {
      const nl = s.indexOf('\n', p);
      if (nl < 0) { lines.push({ text: s.slice(p), eol: '' }); break; }
      const cr = nl > p && s[nl - 1] === '\r';
      lines.push({ text: s.slice(p, cr ? nl - 1 : nl), eol: cr ? '\r\n' : '\n' });
      p = nl + 1;
    }
    return new Autoboot(lines);
  }

  static parse(text: string): Autoboot {
    return Autoboot.decode(binaryToBytes(text));
  }

  clone(): Autoboot {
    return new Autoboot(this.lines.map((l) => ({ ...l })));
  }

  /** The bytes as they are (no padding adjustment). */
  encode(): Uint8Array {
    return binaryToBytes(this.lines.map((l) => l.text + l.eol).join(''));
  }

  /** Index of the first line of the trailing padding (lines of only '#', or empty). */
  private contentEnd(): number {
    let i = this.lines.length;
    while (i > 0 && isPaddingLine(this.lines[i - 1])) i--;
    return i;
  }

  /** Every key line with the filters in force for it, in file order. */
  entries(): AutobootEntry[] {
    const out: AutobootEntry[] = [];
    let filters: string[] = [];
    this.lines.forEach((l, i) => {
      const sec = SECTION_RE.exec(l.text);
      if (sec) {
        const f = sec[1].trim().toLowerCase();
        // [all] clears every condition; other filters add to the ones in force.
        filters = f === 'all' ? [] : [...filters, f];
        return;
      }
      if (/^\s*#/.test(l.text)) return;
      const m = KEY_RE.exec(l.text);
      if (m) out.push({ key: m[2], value: m[4], filters, line: i });
    });
    return out;
  }

  /**
   * The value the bootloader ends with for `key` (the last applicable line
   * wins), in normal mode or tryboot mode. Filters other than all/none/
   * tryboot count as not matching unless `match` says otherwise.
   */
  effective(key: string, tryboot: boolean, match: FilterMatch = () => false): string | undefined {
    let v: string | undefined;
    for (const e of this.entries()) {
      if (e.key !== key) continue;
      const applies = e.filters.every((f) => (f === 'tryboot' ? tryboot : f === 'none' ? false : match(f)));
      if (applies) v = e.value;
    }
    return v;
  }

  /** The value of the last `key` line under exactly `section` ('all' = unconditional). */
  get(section: string, key: string): string | undefined {
    const want = section.toLowerCase() === 'all' ? [] : [section.toLowerCase()];
    let v: string | undefined;
    for (const e of this.entries()) if (e.key === key && sameFilters(e.filters, want)) v = e.value;
    return v;
  }

  /**
   * Set `key` under `section` ('all' or a filter such as 'tryboot'): the last
   * such line keeps its spacing and only its value changes; otherwise a line
   * is added at the end of the last block of that section, or a new section
   * is added at the end (before the padding).
   */
  set(section: string, key: string, value: string): void {
    if (!/^[A-Za-z0-9_.-]+$/.test(key)) fail('AUTOBOOT_KEY', `not a config key: ${JSON.stringify(key)}`, { structure: 'autoboot.txt', field: 'key', actual: key });
    if (/[\r\n\0]/.test(value) || /[^\x20-\x7e]/.test(value)) {
      fail('AUTOBOOT_VALUE', `value for ${key} must be printable ASCII on one line`, { structure: 'autoboot.txt', field: key, actual: value });
    }
    const sec = section.toLowerCase();
    const want = sec === 'all' ? [] : [sec];
    const entries = this.entries();
    const hit = [...entries].reverse().find((e) => e.key === key && sameFilters(e.filters, want));
    if (hit) {
      const l = this.lines[hit.line];
      const m = KEY_RE.exec(l.text)!;
      l.text = m[1] + m[2] + m[3] + value + m[5];
      return;
    }
    const end = this.contentEnd();
    const eol = this.lines.find((l) => l.eol)?.eol ?? '\n';
    // the last line of a block of that section within the content
    let at = -1;
    let filters: string[] = [];
    for (let i = 0; i < end; i++) {
      const s = SECTION_RE.exec(this.lines[i].text);
      if (s) {
        const f = s[1].trim().toLowerCase();
        filters = f === 'all' ? [] : [...filters, f];
      }
      // an unconditional key goes before the first [tryboot] block, so the
      // [tryboot] lines keep overriding it in tryboot mode
      if (want.length === 0 && filters.includes('tryboot')) break;
      if (sameFilters(filters, want)) at = i;
    }
    const newLines: AutobootLine[] = [];
    if (at < 0 && want.length === 0) {
      // No unconditional block: the lines before the first filter are one, so
      // the key goes first in the file (a new [all] at the end would override
      // the [tryboot] lines before it).
      this.lines.splice(0, 0, { text: `${key}=${value}`, eol });
      return;
    }
    if (at < 0) {
      // filters add up until [all]: reset first so the new section stands alone
      if (filters.length > 0) newLines.push({ text: '[all]', eol });
      newLines.push({ text: `[${sec}]`, eol });
      at = end - 1;
    }
    newLines.push({ text: `${key}=${value}`, eol });
    if (at >= 0 && this.lines[at].eol === '') this.lines[at].eol = eol;
    this.lines.splice(at + 1, 0, ...newLines);
  }

  /** Remove every `key` line under exactly `section`. Returns how many. */
  unset(section: string, key: string): number {
    const want = section.toLowerCase() === 'all' ? [] : [section.toLowerCase()];
    const drop = new Set(this.entries().filter((e) => e.key === key && sameFilters(e.filters, want)).map((e) => e.line));
    this.lines = this.lines.filter((_, i) => !drop.has(i));
    return drop.size;
  }

  /** Section headers and key lines, trimmed, in file order (what `bootenv list` prints). */
  listLines(): string[] {
    const out: string[] = [];
    for (const l of this.lines.slice(0, this.contentEnd())) {
      if (SECTION_RE.test(l.text)) out.push(l.text.trim());
      else if (!/^\s*#/.test(l.text)) {
        const m = KEY_RE.exec(l.text);
        if (m) out.push(`${m[2]}=${m[4]}`);
      }
    }
    return out;
  }

  /**
   * The bytes, padded or trimmed in the trailing padding so the file is
   * exactly `size` bytes. AUTOBOOT_FULL (data.over) when the content itself
   * is longer than `size`.
   */
  encodeFitted(size: number): Uint8Array {
    const end = this.contentEnd();
    const content = this.lines.slice(0, end).map((l, i) => l.text + (l.eol || (i === end - 1 ? '\n' : ''))).join('');
    const k = size - content.length;
    if (k < 0) {
      fail('AUTOBOOT_FULL', `autoboot.txt needs ${-k} more bytes than its ${size}`, { structure: 'autoboot.txt', field: 'size', expected: size, actual: content.length, over: -k });
    }
    return binaryToBytes(content + paddingLines(k));
  }
}

/**
 * `k` bytes of padding as comment lines of at most PADDING_LINE bytes: the
 * firmware's config parser handles lines up to 80 characters (longer lines
 * are a known cause of config.txt misparses), so one long '#' run is avoided.
 */
const PADDING_LINE = 64;
function paddingLines(k: number): string {
  let out = '';
  while (k > 0) {
    if (k === 1) { out += '\n'; break; }
    // Never leave a single byte behind: it could only be a bare newline.
    const n = k - PADDING_LINE === 1 ? PADDING_LINE - 1 : Math.min(PADDING_LINE, k);
    out += '#'.repeat(n - 1) + '\n';
    k -= n;
  }
  return out;
}

export function decodeAutoboot(data: Uint8Array): Autoboot {
  return Autoboot.decode(data);
}

/** Re-encode an edited file at the size it had (see the padding note at the top). */
export function fitAutoboot(doc: Autoboot, size: number): Uint8Array {
  return doc.encodeFitted(size);
}

/** The partition that holds each slot on the Raspberry Pi MBR layout. */
export const RPI_SLOT_PARTITION = { A: 2, B: 3 } as const;

/**
 * A new autoboot.txt for the Raspberry Pi A/B layout: `[all]` boots the
 * committed slot with tryboot_a_b=1, `[tryboot]` the other one, padded to
 * `size` bytes so later edits fit in place.
 */
export function formatAutoboot(opts: { committed?: 'A' | 'B'; size?: number } = {}): Uint8Array {
  const size = opts.size ?? AUTOBOOT_DEFAULT_SIZE;
  if (size > AUTOBOOT_MAX_SIZE) {
    fail('AUTOBOOT_SIZE', `autoboot.txt is read up to ${AUTOBOOT_MAX_SIZE} bytes; ${size} asked`, { structure: 'autoboot.txt', field: 'size', expected: `<= ${AUTOBOOT_MAX_SIZE}`, actual: size });
  }
  const committed = opts.committed ?? 'A';
  const other = committed === 'A' ? 'B' : 'A';
  const text = [
    '[all]',
    'tryboot_a_b=1',
    `boot_partition=${RPI_SLOT_PARTITION[committed]}`,
    '[tryboot]',
    `boot_partition=${RPI_SLOT_PARTITION[other]}`,
    '',
  ].join('\n');
  return Autoboot.parse(text).encodeFitted(size);
}
