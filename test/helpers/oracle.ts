// Oracle tools (sgdisk, fsck.fat, e2fsck…) for tests. A test that needs a
// tool calls `oracle(...)`: where the tool is missing the test is skipped —
// unless REQUIRE_ORACLES=1 (CI), where a missing tool fails the test.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findTool } from '../../src/node/oracles.js';

export { findTool };

export const REQUIRE_ORACLES = process.env.REQUIRE_ORACLES === '1';

/** True when every tool is present; false (skip) when not and oracles are optional; throws when they are required. */
export function haveTools(...names: string[]): boolean {
  const missing = names.filter((n) => !findTool(n));
  if (missing.length === 0) return true;
  if (REQUIRE_ORACLES) throw new Error(`REQUIRE_ORACLES=1 but these tools are missing: ${missing.join(', ')}`);
  return false;
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Run a tool synchronously (no shell). */
export function run(tool: string, args: string[], opts: { input?: string | Uint8Array; cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): RunResult {
  const exe = findTool(tool) ?? tool;
  const r: SpawnSyncReturns<string> = spawnSync(exe, args, {
    input: opts.input,
    cwd: opts.cwd,
    env: { ...process.env, LC_ALL: 'C', ...opts.env },
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix = 'dw-test-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
