// The package as published bundles for the browser: `npm pack`, install the
// tarball into a fresh project (npm --prefer-offline: from the cache where it can), bundle
// `diskwright/core` with esbuild --platform=browser. No errors, no node:
// import left in the output. Prints the bundle sizes the README quotes.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/oracle.js';

const ROOT = path.resolve(__dirname, '../..');

const ENTRIES: Record<string, string> = {
  everything: `export * from 'diskwright/core';`,
  core: `import { buildImage, MemorySink } from 'diskwright/core';\nexport async function make(spec) { const s = new MemorySink(); await buildImage(spec, s); return s.bytes(); }`,
  'mbr+fat32': `import { encodeMbr } from 'diskwright/mbr';\nimport { planFat, openFat } from 'diskwright/fat32';\nexport { encodeMbr, planFat, openFat };`,
};

describe('browser bundle from the packed package', () => {
  const tmp = tempDir('dw-pack-');
  afterAll(() => tmp.cleanup());

  it('npm pack → fresh project → esbuild --platform=browser bundles diskwright/core without errors', async () => {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const out = execFileSync(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp.dir], { cwd: ROOT, encoding: 'utf8' });
    const tgz = path.join(tmp.dir, JSON.parse(out)[0].filename);
    const proj = path.join(tmp.dir, 'app');
    fs.mkdirSync(proj);
    fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    execFileSync(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tgz], { cwd: proj, encoding: 'utf8' });

    const sizes: Record<string, { bytes: number; gzip: number }> = {};
    for (const [name, contents] of Object.entries(ENTRIES)) {
      const r = await build({
        stdin: { contents, resolveDir: proj, loader: 'js', sourcefile: `${name}.js` },
        bundle: true, platform: 'browser', format: 'esm', minify: true, write: false, logLevel: 'silent',
      });
      expect(r.errors).toEqual([]);
      const code = r.outputFiles[0].contents;
      expect(new TextDecoder().decode(code)).not.toMatch(/["']node:/);
      sizes[name] = { bytes: code.length, gzip: gzipSync(code).length };
    }
    // The layers alone cost less than everything (sideEffects: false lets the bundler drop the rest).
    expect(sizes['mbr+fat32'].bytes).toBeLessThan(sizes.everything.bytes);
    console.log(`bundle sizes (minified / gzipped): ${Object.entries(sizes).map(([k, v]) => `${k} ${v.bytes} / ${v.gzip}`).join('; ')}`);
  }, 180_000);
});
