import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', '{server,db,realtime,mail-gateway,mail,contracts}/**/*.spec.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    // On CI's 2 cores the files mostly wait (a page, a job's poll, a Filo start): at 3 workers under half of the
    // machine's CPU was used (docs/testing.md, session 11). FILO_TEST_WORKERS sets another number.
    maxWorkers: Number(process.env.FILO_TEST_WORKERS ?? 4),
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
