#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/cli/main.js (built by `npm ci` / `npm run build`).
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (status) => { process.exitCode = status; },
  (err) => {
    process.stderr.write(`diskwright: INTERNAL: ${err && err.message ? err.message : String(err)}\n`);
    if (process.env.DISKWRIGHT_DEBUG === '1' && err && err.stack) process.stderr.write(err.stack + '\n');
    process.exitCode = 1;
  },
);
