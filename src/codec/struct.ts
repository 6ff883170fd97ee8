// Declarative on-disk records. Each record is declared once, as a table of
// fields with absolute offsets and the specification's own names; that table
// drives decode, encode and size, and `checkStructLayout` proves it has no
// gaps or overlaps and adds up to the record's size (the check e2fsprogs'
// tst_super_size.c makes for the ext4 superblock).
//
// Decoding never rejects odd values: validation is a separate step, so a
// reader can be strict or lenient. Raw bytes survive: `bytes`/`reserved`
// fields are copied as they are, so encode(decode(b)) gives back b.

export type FieldKind =
  | 'u8'
  | 'u16le' | 'u32le' | 'u64le'
  | 'u16be' | 'u32be' | 'u64be'
  | 'bytes' | 'reserved';

export interface FieldSpec {
  readonly offset: number;
  readonly kind: FieldKind;
  /** Length in bytes; required for `bytes` and `reserved`. */
  readonly length?: number;
}

type FieldValue<F extends FieldSpec> =
  F['kind'] extends 'u64le' | 'u64be' ? bigint
  : F['kind'] extends 'bytes' | 'reserved' ? Uint8Array
  : number;

export type StructValue<S> = S extends Struct<infer F> ? { [K in keyof F]: FieldValue<F[K]> } : never;

export type FieldTable = Record<string, FieldSpec>;

const WIDTH: Record<Exclude<FieldKind, 'bytes' | 'reserved'>, number> = {
  u8: 1, u16le: 2, u32le: 4, u64le: 8, u16be: 2, u32be: 4, u64be: 8,
};

export function fieldLength(f: FieldSpec): number {
  if (f.kind === 'bytes' || f.kind === 'reserved') {
    if (f.length === undefined) throw new Error(`field of kind ${f.kind} needs a length`);
    return f.length;
  }
  return WIDTH[f.kind];
}

export interface Struct<F extends FieldTable> {
  readonly name: string;
  readonly size: number;
  readonly fields: F;
  /** Field names in offset order. */
  readonly order: readonly (keyof F & string)[];
  decode(buf: Uint8Array, offset?: number): { [K in keyof F]: FieldValue<F[K]> };
  /** Encode into `buf` at `offset` (default: a new zeroed buffer of `size`). */
  encode(value: { [K in keyof F]: FieldValue<F[K]> }, buf?: Uint8Array, offset?: number): Uint8Array;
  /** A value with every number 0 and every byte range zeroed. */
  zero(): { [K in keyof F]: FieldValue<F[K]> };
  offsetOf(name: keyof F & string): number;
}

const registry: Struct<FieldTable>[] = [];

/** Every struct declared so far (for the layout self-test). */
export function allStructs(): readonly Struct<FieldTable>[] {
  return registry;
}

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

export function defineStruct<const F extends FieldTable>(name: string, size: number, fields: F): Struct<F> {
  const order = (Object.keys(fields) as (keyof F & string)[]).sort((a, b) => fields[a].offset - fields[b].offset);
  const entries = order.map((k) => [k, fields[k], fieldLength(fields[k])] as const);

  const s: Struct<F> = {
    name,
    size,
    fields,
    order,
    decode(buf, offset = 0) {
      if (offset < 0 || offset + size > buf.length) {
        throw new RangeError(`${name}: need ${size} bytes at offset ${offset}, have ${buf.length - offset}`);
      }
      const dv = view(buf);
      const out: Record<string, unknown> = {};
      for (const [k, f, len] of entries) {
        const o = offset + f.offset;
        switch (f.kind) {
          case 'u8': out[k] = buf[o]; break;
          case 'u16le': out[k] = dv.getUint16(o, true); break;
          case 'u32le': out[k] = dv.getUint32(o, true); break;
          case 'u64le': out[k] = dv.getBigUint64(o, true); break;
          case 'u16be': out[k] = dv.getUint16(o, false); break;
          case 'u32be': out[k] = dv.getUint32(o, false); break;
          case 'u64be': out[k] = dv.getBigUint64(o, false); break;
          default: out[k] = buf.slice(o, o + len);
        }
      }
      return out as { [K in keyof F]: FieldValue<F[K]> };
    },
    encode(value, buf, offset = 0) {
      const target = buf ?? new Uint8Array(size + offset);
      if (offset < 0 || offset + size > target.length) {
        throw new RangeError(`${name}: need ${size} bytes at offset ${offset}, have ${target.length - offset}`);
      }
      const dv = view(target);
      const v = value as Record<string, unknown>;
      for (const [k, f, len] of entries) {
        const o = offset + f.offset;
        const x = v[k];
        switch (f.kind) {
          case 'u8': target[o] = Number(x) & 0xff; break;
          case 'u16le': dv.setUint16(o, Number(x) & 0xffff, true); break;
          case 'u32le': dv.setUint32(o, Number(x) >>> 0, true); break;
          case 'u64le': dv.setBigUint64(o, BigInt.asUintN(64, BigInt(x as bigint | number)), true); break;
          case 'u16be': dv.setUint16(o, Number(x) & 0xffff, false); break;
          case 'u32be': dv.setUint32(o, Number(x) >>> 0, false); break;
          case 'u64be': dv.setBigUint64(o, BigInt.asUintN(64, BigInt(x as bigint | number)), false); break;
          default: {
            const bytes = (x as Uint8Array | undefined) ?? new Uint8Array(0);
            if (bytes.length > len) throw new RangeError(`${name}.${k}: ${bytes.length} bytes do not fit in ${len}`);
            target.fill(0, o, o + len);
            target.set(bytes, o);
          }
        }
      }
      return target;
    },
    zero() {
      const out: Record<string, unknown> = {};
      for (const [k, f, len] of entries) {
        out[k] = f.kind === 'u64le' || f.kind === 'u64be' ? 0n
          : f.kind === 'bytes' || f.kind === 'reserved' ? new Uint8Array(len) : 0;
      }
      return out as { [K in keyof F]: FieldValue<F[K]> };
    },
    offsetOf(k) {
      return fields[k].offset;
    },
  };
  registry.push(s as unknown as Struct<FieldTable>);
  return s;
}

/**
 * Layout problems of a struct table: overlaps, undeclared gaps, fields past
 * the end, and a total that does not add up to the record's size. Empty when
 * the table is sound.
 */
export function checkStructLayout(s: Struct<FieldTable>): string[] {
  const problems: string[] = [];
  let cursor = 0;
  let prev = '(start)';
  for (const k of s.order) {
    const f = s.fields[k];
    const len = fieldLength(f);
    if (f.offset < cursor) problems.push(`${s.name}.${k} at ${f.offset} overlaps ${prev} (ends at ${cursor})`);
    else if (f.offset > cursor) problems.push(`${s.name}: undeclared gap ${cursor}..${f.offset} before ${k}`);
    cursor = Math.max(cursor, f.offset + len);
    prev = k;
  }
  if (cursor !== s.size) problems.push(`${s.name}: fields end at ${cursor}, record size is ${s.size}`);
  return problems;
}

// Field constructors, so tables read like the specification's tables.
export const u8 = (offset: number) => ({ offset, kind: 'u8' }) as const;
export const u16le = (offset: number) => ({ offset, kind: 'u16le' }) as const;
export const u32le = (offset: number) => ({ offset, kind: 'u32le' }) as const;
export const u64le = (offset: number) => ({ offset, kind: 'u64le' }) as const;
export const u16be = (offset: number) => ({ offset, kind: 'u16be' }) as const;
export const u32be = (offset: number) => ({ offset, kind: 'u32be' }) as const;
export const u64be = (offset: number) => ({ offset, kind: 'u64be' }) as const;
export const bytes = (offset: number, length: number) => ({ offset, kind: 'bytes', length }) as const;
export const reserved = (offset: number, length: number) => ({ offset, kind: 'reserved', length }) as const;
