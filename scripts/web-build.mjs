// Bundles the page (web/app.ts, web/worker.ts, importing src/core.ts) into
// web/dist/ with esbuild for the browser. `npm run web:build`.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const result = await build({
  absWorkingDir: root,
  entryPoints: ['web/app.ts', 'web/worker.ts'],
  outdir: 'web/dist',
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
});
if (result.errors.length) process.exit(1);
