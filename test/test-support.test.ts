import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, tempDir } from './support/harness.ts';
import { listensOn, spawnFilo, waitHealthy } from './support/process.ts';

// The harness's own guarantees: a test that talks to "its" Filo talks to the process it started.
describe('waitHealthy', () => {
  const data = tempDir('filo-support-');
  afterAll(() => data.remove());

  it("does not take another process's /healthz on the port for the Filo it started", async () => {
    // Another server took the port first (as another worker's Filo may between freePort() and listen).
    const other = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const port = (other.address() as AddressInfo).port;
    const db = await createTestDatabase();
    try {
      const proc = await spawnFilo({ DATABASE_URL: db.url, DATA_DIR: data.dir, NODE_ENV: 'test', PORT: String(port) });
      expect(listensOn(process.pid, port)).toBe(true);
      // Filo cannot listen and exits: said so, never "healthy" on the other server's answer.
      await expect(waitHealthy(proc)).rejects.toThrow(/EADDRINUSE/);
      expect(listensOn(proc.child.pid!, port)).toBe(false);
    } finally {
      await new Promise((resolve) => other.close(resolve));
      await db.drop();
    }
  });
});
