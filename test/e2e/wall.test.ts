import { describe, expect, it } from 'vitest';
import { login } from '../support/harness.ts';
import { useE2e } from '../support/e2e.ts';

/** The operator wall in Chromium: opened with a read-only token in the fragment, live without a reload. */

const e2e = useE2e('wall');

describe('operator wall', () => {
  it('shows the feed with a read-only token and new activity as it happens, for one company too', async () => {
    const cookie = await login(e2e.filo.baseUrl);
    const api = (path: string, payload: unknown) =>
      fetch(`${e2e.filo.baseUrl}${path}`, {
        method: 'POST',
        headers: { cookie, origin: e2e.filo.baseUrl, 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      }).then((r) => r.json() as Promise<{ id: string; token: string }>);
    const { token } = await api('/api/tokens', { name: 'Wall TV', scope: 'read' });
    const acme = await api('/api/crm/companies', { name: 'Wall Acme', type: 'client' });
    const other = await api('/api/crm/companies', { name: 'Wall Other', type: 'client' });

    const context = await e2e.browser.newContext({ locale: 'en-US' });
    const wall = await context.newPage();
    await wall.goto(`${e2e.filo.baseUrl}/wall#token=${token}`);
    await expect.poll(() => wall.getByTestId('wall-status').textContent(), { timeout: 10_000 }).toContain('Live');
    await expect.poll(() => wall.getByTestId('wall-feed').textContent()).toContain('Wall Acme');
    const company = await context.newPage();
    await company.goto(`${e2e.filo.baseUrl}/wall?company=${acme.id}#token=${token}`);
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
