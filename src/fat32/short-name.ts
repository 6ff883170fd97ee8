// 8.3 short names: fatgen103 §6.1 (legal characters) and §7 "The Basis-Name
// Generation Algorithm" / "Numeric-Tail Generation". Names that fit 8.3 in
// one case per part are stored without a long name, with the Windows NT
// lowercase flags (what Linux vfat_create_shortname() does for shortname=mixed).
import { fail } from '../errors.js';
import { NTRES_LOWER_BASE, NTRES_LOWER_EXT } from './dir-entry.js';
import { MAX_LFN_LENGTH } from './lfn.js';

/** Characters besides A–Z and 0–9 allowed in a short name (fatgen103 §6.1). */
const SHORT_SPECIAL = "$%'-_@~`!(){}^#&";
/** Characters not allowed in any FAT name (fatgen103 §7), besides controls below 0x20. */
const LONG_INVALID = '"*/:<>?\\|';

function isShortChar(c: string): boolean {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || SHORT_SPECIAL.includes(c);
}

/**
 * A name upper-cased one UTF-16 unit at a time, as FAT compares names (the
 * Windows up-case table maps each unit to one unit: "ß" stays "ß", where
 * String.toUpperCase() would make it "SS").
 */
export function fatUpperCase(name: string): string {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    const u = c.toUpperCase();
    out += u.length === 1 ? u : c;
  }
  return out;
}

/** Check a name for FAT; errors name `path`. */
export function checkFatName(name: string, path: string): void {
  if (name.length === 0 || name === '.' || name === '..') {
    fail('FAT_NAME_INVALID', `${path}: "${name}" cannot be a file name on FAT`, { path, name });
  }
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x20 || LONG_INVALID.includes(name[i])) {
      fail('FAT_NAME_INVALID', `${path}: the character ${JSON.stringify(name[i])} is not allowed in FAT names`, { path, name, character: name[i] });
    }
  }
  if (name.endsWith('.') || name.endsWith(' ')) {
    fail('FAT_NAME_INVALID', `${path}: FAT names cannot end in a dot or a space`, { path, name });
  }
  if (name.length > MAX_LFN_LENGTH) {
    fail('FAT_NAME_TOO_LONG', `${path}: the name is ${name.length} UTF-16 units long; FAT allows ${MAX_LFN_LENGTH}`, { path, name, actual: name.length, expected: MAX_LFN_LENGTH });
  }
}

export interface ShortName {
  /** DIR_Name: 8 + 3 bytes, space padded. */
  raw: Uint8Array;
  /** DIR_NTRes lowercase flags. */
  ntFlags: number;
}

function pad(base: string, ext: string): Uint8Array {
  const out = new Uint8Array(11).fill(0x20);
  for (let i = 0; i < base.length; i++) out[i] = base.charCodeAt(i);
  for (let i = 0; i < ext.length; i++) out[8 + i] = ext.charCodeAt(i);
  return out;
}

/** "NAME    EXT" as a string key. */
export function shortKey(raw: Uint8Array): string {
  return String.fromCharCode(...raw);
}

function oneCase(s: string): 'lower' | 'upper' | 'none' | 'mixed' {
  const lower = /[a-z]/.test(s);
  const upper = /[A-Z]/.test(s);
  return lower && upper ? 'mixed' : lower ? 'lower' : upper ? 'upper' : 'none';
}

/**
 * The short name when `name` is a valid 8.3 name by itself (each part in one
 * case), else null. "config.txt" → CONFIG  TXT with both lowercase flags.
 */
export function exactShortName(name: string): ShortName | null {
  const dot = name.lastIndexOf('.');
  const base = dot < 0 ? name : name.slice(0, dot);
  const ext = dot < 0 ? '' : name.slice(dot + 1);
  if (base.length < 1 || base.length > 8 || ext.length > 3 || (dot >= 0 && ext.length === 0)) return null;
  for (const c of base + ext) if (!isShortChar(c)) return null;
  const bc = oneCase(base);
  const ec = oneCase(ext);
  if (bc === 'mixed' || ec === 'mixed') return null;
  const ntFlags = (bc === 'lower' ? NTRES_LOWER_BASE : 0) | (ec === 'lower' ? NTRES_LOWER_EXT : 0);
  return { raw: pad(base.toUpperCase(), ext.toUpperCase()), ntFlags };
}

function aliasChars(s: string): { out: string; lossy: boolean } {
  let out = '';
  let lossy = false;
  for (const c of s) {
    if (c === ' ' || c === '.') { lossy = true; continue; }
    if (isShortChar(c)) out += c.toUpperCase();
    // "+,;=[]", non-ASCII characters and surrogate pairs become one '_' each (fatgen103 §7 basis name).
    else { out += '_'; lossy = true; }
  }
  return { out, lossy };
}

/**
 * Generates short aliases for long names in one directory, never repeating
 * a short name already taken there (fatgen103 §7 basis name + "~N" tail).
 */
export class ShortNameAllocator {
  private readonly used = new Set<string>();
  private readonly nextTail = new Map<string, number>();

  /** Reserve a short name (an exact 8.3 name); false when it is taken. */
  reserve(raw: Uint8Array): boolean {
    const k = shortKey(raw);
    if (this.used.has(k)) return false;
    this.used.add(k);
    return true;
  }

  has(raw: Uint8Array): boolean {
    return this.used.has(shortKey(raw));
  }

  /** A unique alias for the long `name`; `path` names it in errors. */
  alias(name: string, path: string): Uint8Array {
    let n = name;
    while (n.startsWith('.')) n = n.slice(1);
    const dot = n.lastIndexOf('.');
    const b = aliasChars(dot < 0 ? n : n.slice(0, dot));
    const e = aliasChars(dot < 0 ? '' : n.slice(dot + 1));
    let base = b.out || '_';
    const ext = e.out.slice(0, 3);
    const lossy = b.lossy || e.lossy || b.out.length > 8 || e.out.length > 3 || n !== name || b.out.length === 0;
    base = base.slice(0, 8);
    if (!lossy) {
      const raw = pad(base, ext);
      if (this.reserve(raw)) return raw;
    }
    const key = `${base}.${ext}`;
    for (let tail = this.nextTail.get(key) ?? 1; tail < 1_000_000; tail++) {
      const t = `~${tail}`;
      const raw = pad(base.slice(0, 8 - t.length) + t, ext);
      if (this.reserve(raw)) {
        this.nextTail.set(key, tail + 1);
        return raw;
      }
    }
    return fail('FAT_NAME_ALIAS', `${path}: no free short alias left for this name`, { path, name });
  }
}
