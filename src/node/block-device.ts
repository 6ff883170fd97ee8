// Block devices as targets: stat() says size 0 for them, so their size and
// logical block size come from sysfs (/sys/dev/block/MAJ:MIN, as lsblk reads
// them), or, where sysfs is absent, from probing reads past the end.
import * as fs from 'node:fs';

export interface BlockDeviceInfo {
  size: number;
  /** Bytes per logical block: every write is widened to whole blocks. */
  logicalBlockSize: number;
}

// Linux's dev_t encoding (glibc gnu_dev_major / gnu_dev_minor).
function devMajor(rdev: number): number {
  return Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
}
function devMinor(rdev: number): number {
  return Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));
}

function readSysNumber(path: string): number | null {
  try {
    const v = Number(fs.readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(v) && v >= 0 ? v : null;
  } catch {
    return null;
  }
}

/** The largest offset at which a 1-byte read succeeds, plus one: a device's size without stat or sysfs. */
function probeSize(fd: number): number {
  const b = new Uint8Array(1);
  const readsAt = (o: number) => {
    try {
      return fs.readSync(fd, b, 0, 1, o) === 1;
    } catch {
      return false;
    }
  };
  if (!readsAt(0)) return 0;
  let lo = 0; // readable
  let hi = 1;
  while (readsAt(hi) && hi < 2 ** 52) { lo = hi; hi *= 2; }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (readsAt(mid)) lo = mid; else hi = mid;
  }
  return lo + 1;
}

/** Size and logical block size of the block device open at fd. */
export function blockDeviceInfo(fd: number, st: fs.Stats): BlockDeviceInfo {
  const sys = `/sys/dev/block/${devMajor(st.rdev)}:${devMinor(st.rdev)}`;
  const sectors = readSysNumber(`${sys}/size`); // always in 512-byte units
  // A partition has no queue/ of its own: its disk's is one level up.
  const lbs = readSysNumber(`${sys}/queue/logical_block_size`) ?? readSysNumber(`${sys}/../queue/logical_block_size`) ?? 512;
  return { size: sectors !== null ? sectors * 512 : probeSize(fd), logicalBlockSize: lbs > 0 ? lbs : 512 };
}
