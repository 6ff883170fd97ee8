// The boot tests: `npm run test:boot` (x86_64) and `npm run test:boot:arm64`
// (arm64 UEFI and raspi3b). One QEMU at a time: TCG takes a core per guest.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..'),
  test: {
    include: ['test/boot/**/*.boot.ts'],
    testTimeout: 15 * 60_000,
    hookTimeout: 30 * 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
