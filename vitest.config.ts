import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', '{server,db,realtime,mail-gateway,mail,contracts}/**/*.spec.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    // FILO_TEST_WORKERS tries another number on CI: by CPU, CI's run at 3 seems to wait more than it computes, but
    // 4 measured no faster on a loaded 2-core machine and cost more CPU (docs/testing.md, session 11).
    maxWorkers: Number(process.env.FILO_TEST_WORKERS ?? 3),
    // A worker keeps its modules from one test file to the next (each file still gets its own database and Filo):
    // importing the server anew for every file cost ~3 s of CPU per file, a third of the suite on 2 cores.
    isolate: false,
    // Browser tests on a 2-core machine running two files at once: a slow page is not a failure, a hung one still is.
    testTimeout: 60_000,
    // Waiting is polling a condition with a deadline (never sleeping): on a busy 2-core machine a page or a
    // job can take seconds, so the deadline is generous; a condition that holds ends the wait at once.
    expect: { poll: { timeout: 15_000 } },
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
