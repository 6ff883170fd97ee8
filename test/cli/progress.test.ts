import { describe, expect, it } from 'vitest';
import { progressBar } from '../../src/cli/progress.js';

describe('build progress bar', () => {
  it('shows bytes, files, rate and time left, throttled, and clears itself', () => {
    const out: string[] = [];
    let t = 0;
    const bar = progressBar((s) => out.push(s), () => t, 10);
    const total = { totalFiles: 10, totalDataBytes: 4 * 1024 * 1024, planned: true };
    t = 1000;
    bar.update({ bytes: 1024 * 1024, files: 2, partition: 2, ...total });
    expect(out).toHaveLength(1);
    // 1 MiB in 1 s of 4 MiB: a quarter done, 3 s left.
    expect(out[0]).toBe('\r[###-------] 1MiB/4MiB 2/10 files 1MiB/s ETA 0:03 p2\x1b[K');
    t = 1050; // within 100 ms: not redrawn
    bar.update({ bytes: 2 * 1024 * 1024, files: 4, partition: 2, ...total });
    expect(out).toHaveLength(1);
    t = 2000;
    bar.update({ bytes: 4 * 1024 * 1024, files: 10, partition: 4, ...total });
    expect(out[1]).toContain('[##########] 4MiB/4MiB 10/10 files 2MiB/s ETA 0:00 p4');
    bar.done();
    expect(out[2]).toBe('\r\x1b[K');
  });
  it('shows the totals as unknown while later filesystems are still being planned', () => {
    const out: string[] = [];
    let t = 0;
    const bar = progressBar((s) => out.push(s), () => t, 10);
    t = 1000;
    bar.update({ bytes: 1024 * 1024, files: 2, partition: 1, totalFiles: 2, totalDataBytes: 1024 * 1024, planned: false });
    expect(out[0]).toBe('\r[----------] 1MiB/? 2/? files 1MiB/s ETA --:-- p1\x1b[K');
  });
  it('draws nothing and clears nothing when never updated', () => {
    const out: string[] = [];
    progressBar((s) => out.push(s), () => 0).done();
    expect(out).toEqual([]);
  });
});
