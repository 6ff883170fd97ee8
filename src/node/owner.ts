// Ownership and time policies shared by the host-directory and tar inputs.
//
// owner: "keep" takes uid/gid from the source (a host file's owner, a tar
// entry's numeric uid/gid; names are ignored, as with tar --numeric-owner).
// A rootless build therefore keeps the builder's own uid for host files
// unless it maps it: { "uid": { "1000": 0 }, "gid": { "1000": 0 } }.
// "root" forces 0:0 for every entry.
//
// Times: clampMtime works like GNU tar --clamp-mtime --mtime=@EPOCH: an entry
// newer than the epoch gets the epoch, older ones keep their own time.
import { fail } from '../errors.js';
import type { Timestamp } from '../tree/tree.js';

export interface OwnerMap {
  uid?: Record<string, number>;
  gid?: Record<string, number>;
}

export type OwnerPolicy = 'keep' | 'root' | OwnerMap;

const MAX_ID = 0xffffffff;

function checkIdTable(table: unknown, which: 'uid' | 'gid', path: string): void {
  if (table === undefined) return;
  if (table === null || typeof table !== 'object' || Array.isArray(table)) {
    fail('INPUT_OWNER_INVALID', `${path}.${which}: must be an object of "id": id pairs`, { path: `${path}.${which}` });
  }
  for (const [k, v] of Object.entries(table as Record<string, unknown>)) {
    if (!/^(0|[1-9][0-9]{0,9})$/.test(k) || Number(k) > MAX_ID) {
      fail('INPUT_OWNER_INVALID', `${path}.${which}: key ${JSON.stringify(k)} is not a numeric ${which}`, { path: `${path}.${which}`, field: k });
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_ID) {
      fail('INPUT_OWNER_INVALID', `${path}.${which}.${k}: ${JSON.stringify(v)} is not a ${which} (0..${MAX_ID})`, {
        path: `${path}.${which}.${k}`, actual: v,
      });
    }
  }
}

/** Check a policy from a spec; `path` is its JSON path for errors. */
export function checkOwnerPolicy(policy: unknown, path = 'owner'): OwnerPolicy {
  if (policy === undefined || policy === 'keep') return 'keep';
  if (policy === 'root') return 'root';
  if (policy === null || typeof policy !== 'object' || Array.isArray(policy)) {
    fail('INPUT_OWNER_INVALID', `${path}: must be "keep", "root" or { "uid": {…}, "gid": {…} }`, { path, actual: policy });
  }
  for (const k of Object.keys(policy)) {
    if (k !== 'uid' && k !== 'gid') fail('INPUT_OWNER_INVALID', `${path}: unknown key ${JSON.stringify(k)}`, { path, field: k });
  }
  checkIdTable((policy as OwnerMap).uid, 'uid', path);
  checkIdTable((policy as OwnerMap).gid, 'gid', path);
  return policy as OwnerMap;
}

/** The uid/gid an entry gets under `policy`. */
export function applyOwner(uid: number, gid: number, policy: OwnerPolicy | undefined): { uid: number; gid: number } {
  if (policy === undefined || policy === 'keep') return { uid, gid };
  if (policy === 'root') return { uid: 0, gid: 0 };
  const u = policy.uid && Object.prototype.hasOwnProperty.call(policy.uid, String(uid)) ? policy.uid[String(uid)] : uid;
  const g = policy.gid && Object.prototype.hasOwnProperty.call(policy.gid, String(gid)) ? policy.gid[String(gid)] : gid;
  return { uid: u, gid: g };
}

/** `t`, or `limit` when `t` is later (tar --clamp-mtime). Timestamps are never changed in place, so `limit` itself is shared. */
export function clampTime(t: Timestamp, limit: Timestamp | undefined): Timestamp {
  if (!limit) return t;
  if (t.sec > limit.sec || (t.sec === limit.sec && t.nsec > limit.nsec)) return limit;
  return t;
}

/** Nanoseconds since the epoch (bigint, from fs.lstat {bigint: true}) as a Timestamp; floors toward -∞. */
export function timestampFromNs(ns: bigint): Timestamp {
  const G = 1_000_000_000n;
  let sec = ns / G;
  let nsec = ns % G;
  if (nsec < 0n) {
    nsec += G;
    sec -= 1n;
  }
  return { sec: Number(sec), nsec: Number(nsec) };
}

/**
 * A pax time ("1700000000.123456789", "-1.5") as a Timestamp, exactly: the
 * fraction is read as decimal digits, never through a float. Digits past
 * nanoseconds are dropped (GNU tar's decode_time truncates too). Null when
 * the text is not a decimal number.
 */
export function parsePaxTime(text: string): Timestamp | null {
  const m = /^(-?)([0-9]{1,15})(?:\.([0-9]*))?$/.exec(text);
  if (!m) return null;
  const neg = m[1] === '-';
  const whole = Number(m[2]);
  const nsec = Number(((m[3] ?? '') + '000000000').slice(0, 9));
  if (!neg) return { sec: whole, nsec };
  if (nsec === 0) return { sec: -whole, nsec: 0 };
  return { sec: -whole - 1, nsec: 1_000_000_000 - nsec };
}

/** Options every input (host directory, tar archive) takes. */
export interface InputOptions {
  /** Default "keep". */
  owner?: OwnerPolicy;
  /** Entries newer than this get this mtime (tar --clamp-mtime). None: times are kept. */
  clampMtime?: Timestamp;
}
