import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, login, tempDir } from '../support/harness.ts';
import { spawnFilo, waitHealthy, type FiloProcess } from '../support/process.ts';
import { launchBrowser } from '../support/browser.ts';

/** The operator wall in Chromium: opened with a read-only token in the fragment, live without a reload. */

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let filo: FiloProcess;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
const data = tempDir('filo-e2e-wall-');

beforeAll(async () => {
  db = await createTestDatabase();
  filo = await spawnFilo({ DATABASE_URL: db.url, DATA_DIR: data.dir, NODE_ENV: 'test', HOST: '127.0.0.1' });
  await waitHealthy(filo);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.cleanup();
  if (filo?.child.exitCode === null) {
    filo.child.kill('SIGTERM');
    await filo.exited(10_000);
  }
  await db?.drop();
  data.remove();
});

describe('operator wall', () => {
  it('shows the feed with a read-only token and new activity as it happens, for one company too', async () => {
    const cookie = await login(filo.baseUrl);
    const api = (path: string, payload: unknown) =>
      fetch(`${filo.baseUrl}${path}`, {
        method: 'POST',
        headers: { cookie, origin: filo.baseUrl, 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      }).then((r) => r.json() as Promise<{ id: string; token: string }>);
    const { token } = await api('/api/tokens', { name: 'Wall TV', scope: 'read' });
    const acme = await api('/api/crm/companies', { name: 'Wall Acme', type: 'client' });
    const other = await api('/api/crm/companies', { name: 'Wall Other', type: 'client' });

    const context = await browser.newContext({ locale: 'en-US' });
    const wall = await context.newPage();
    await wall.goto(`${filo.baseUrl}/wall#token=${token}`);
    await expect.poll(() => wall.getByTestId('wall-status').textContent(), { timeout: 10_000 }).toContain('Live');
    await expect.poll(() => wall.getByTestId('wall-feed').textContent()).toContain('Wall Acme');
    const company = await context.newPage();
    await company.goto(`${filo.baseUrl}/wall?company=${acme.id}#token=${token}`);
    await expect.poll(() => company.getByTestId('wall-status').textContent(), { timeout: 10_000 }).toContain('Live');

    await api('/api/crm/notes', { entityType: 'company', entityId: acme.id, content: 'Lotto 42 in produzione' });
    await api('/api/crm/notes', { entityType: 'company', entityId: other.id, content: 'Nota di un altro cliente' });
    await expect
      .poll(() => wall.getByTestId('wall-feed').textContent(), { timeout: 10_000 })
      .toContain('Nota di un altro cliente');
    await expect.poll(() => company.getByTestId('wall-feed').textContent(), { timeout: 10_000 }).toContain('Lotto 42');
    expect(await company.getByTestId('wall-feed').textContent()).not.toContain('Nota di un altro cliente');
    expect(await wall.getByText('Lotto 42 in produzione').count()).toBe(1);
    // The read-only token cannot write, and no cookie was ever set on this browser.
    expect(await context.cookies()).toEqual([]);
    await context.close();
  });
});
