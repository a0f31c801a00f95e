import { defineConfig } from 'vitest/config';

/**
 * `npm run test:e2e`: the real end-to-end run against Debian's archive (test/e2e/). Not part of
 * `npm test`: it installs about 300 MB of kernel debug and headers packages into this host with
 * apt, so it needs root, Debian 12 and the network to Debian's mirrors. KDEBUGINFO_E2E=1 is what
 * lets the e2e files run; under the default config they skip.
 */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    env: { KDEBUGINFO_E2E: '1' },
    // apt downloads ~300 MB and stap compiles a module: minutes, not seconds.
    testTimeout: 1_800_000,
    hookTimeout: 600_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
