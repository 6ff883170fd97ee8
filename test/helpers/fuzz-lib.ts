// The library as the fuzz engine (fuzz/engine.mjs) takes it, over the
// TypeScript sources: the public index plus the modules it does not export
// (yet), added as the fuzz command adds them from dist/.
import * as lib from '../../src/index.js';
// @ts-expect-error plain ESM without types
import { addExtras } from '../../fuzz/engine.mjs';

const extras: Record<string, () => Promise<unknown>> = {
  'ext4/read': () => import('../../src/ext4/read.js'),
  'ext4/build': () => import('../../src/ext4/build.js'),
  'ext4/probe': () => import('../../src/ext4/probe.js'),
  'ext4/driver': () => import('../../src/ext4/driver.js'),
  'image/build': () => import('../../src/image/build.js'),
};

/** A fresh copy of the library with the extras added. */
export function fuzzLib(): Promise<any> {
  return addExtras({ ...lib }, (p: string) => extras[p]());
}
