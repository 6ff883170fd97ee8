// Test helpers for the ext4 builder: build a tree into a temporary image and
// ask e2fsprogs about it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'vitest';
import { FileTree } from '../../src/tree/tree.js';
import { planExt4, type Ext4Options } from '../../src/ext4/build.js';
import { FileSink } from '../../src/node/file-sink.js';
import { MemorySink } from '../../src/io/memory-sink.js';
import { run } from '../helpers/oracle.js';

export async function buildImage(tree: FileTree, file: string, options: Ext4Options): Promise<void> {
  const plan = planExt4(tree, options);
  const sink = new FileSink(file);
  await plan.emit(sink, 0);
  await sink.finish(options.size);
}

export async function buildBytes(tree: FileTree, options: Ext4Options): Promise<Uint8Array> {
  const plan = planExt4(tree, options);
  const sink = new MemorySink();
  await plan.emit(sink, 0);
  await sink.finish(options.size);
  return sink.bytes();
}

/** e2fsck -fn: returns its output; expects a clean pass (exit 0, no fix offered). */
export function expectFsckClean(img: string): string {
  const r = run('e2fsck', ['-fn', img], { timeoutMs: 600_000 });
  const out = r.stdout + r.stderr;
  expect(out, out).not.toMatch(/\?|Fix|Clear|Salvage|Relocate|Optimize|corrupt|invalid|Error|differences/i);
  expect(r.status, out).toBe(0);
  expect(out).toMatch(/Pass 5: Checking group summary information/);
  return out;
}

export function debugfs(img: string, ...cmds: string[]): string {
  const dir = path.dirname(img);
  const cmdFile = path.join(dir, `cmds-${process.pid}-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(cmdFile, cmds.join('\n') + '\n');
  try {
    return run('debugfs', ['-f', cmdFile, img], { timeoutMs: 600_000 }).stdout;
  } finally {
    fs.rmSync(cmdFile, { force: true });
  }
}
