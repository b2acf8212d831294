import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', '{server,db,realtime,mail-gateway,mail,contracts}/**/*.spec.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 3,
    testTimeout: 30_000,
    // Waiting is polling a condition with a deadline (never sleeping): on a busy 2-core machine a page or a
    // job can take seconds, so the deadline is generous; a condition that holds ends the wait at once.
    expect: { poll: { timeout: 15_000 } },
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
