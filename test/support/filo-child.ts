import { rmSync } from 'node:fs';

/**
 * `node server/main.ts` for a test worker's Filo that must not outlive the worker: vitest ends its workers with
 * SIGTERM (no exit hooks run), and a Filo started ahead for the worker's next browser file (test/support/e2e.ts)
 * would otherwise stay running after the run. Its stdin is a pipe from the worker: it ends when the worker dies.
 */
process.stdin.once('end', () => {
  // Its database goes with the run's PostgreSQL (global-setup drops every test database); its data folder is here.
  if (process.env.DATA_DIR) rmSync(process.env.DATA_DIR, { recursive: true, force: true });
  process.kill(process.pid, 'SIGKILL');
});
process.stdin.resume();

await import('../../server/main.ts');
