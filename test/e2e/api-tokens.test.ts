import { describe, expect, it } from 'vitest';
import { pageApi, useE2e } from '../support/e2e.ts';

const e2e = useE2e('api-tokens');

const bearer = (token: string, path: string) =>
  fetch(`${e2e.filo.baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });

describe('Settings > API tokens, in the browser', () => {
  it('creates a scoped token with expiry and limit, shows its secret once, lists its grants, revokes it', async () => {
    const context = await e2e.newContext();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: e2e.filo.baseUrl });
    const page = await context.newPage();
    await e2e.signIn(page, 'demo@filo.local');
    await page.goto(`${e2e.filo.baseUrl}/settings/tokens`);

    await page.getByLabel('Name').fill('ERP sync');
    await page.getByLabel('Access', { exact: true }).selectOption('scoped');
    // Such a token opens no socket (test/api-token-scopes.test.ts): the form says so before it is made.
    expect(await page.getByTestId('grants-no-live').textContent()).toContain('Live updates');
    await page.getByLabel('CRM: companies, contacts, deals, notes, search').selectOption('read');
    await page.getByLabel('Linked records: projects, invoices, production jobs').selectOption('write');
    await page.getByLabel('Kinds of linked record').fill('invoice, project');
    const nextYear = new Date().getFullYear() + 1;
    await page.getByLabel('Expires on (optional)').fill(`${nextYear}-06-30`);
    await page.getByLabel('Requests per minute').fill('120');
    await page.getByRole('button', { name: 'Create token' }).click();

    // The secret, once, with a copy button that puts it on the clipboard.
    const secret = page.locator('#token-value');
    await secret.waitFor();
    const token = await secret.inputValue();
    expect(token).toMatch(/^filo_/);
    await page.getByRole('button', { name: 'Copy' }).click();
    await expect
      .poll(() =>
        page.evaluate(() =>
          (
            globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }
          ).navigator.clipboard.readText(),
        ),
      )
      .toBe(token);
    // Scoped token: not the wall link of a read-everything token.
    expect(await page.locator('#token-wall').count()).toBe(0);

    // The list says what it may do, until when, and how often.
    const row = page.getByRole('row').filter({ hasText: 'ERP sync' });
    await expect
      .poll(() => row.textContent())
      .toContain('CRM: Read · Linked records (invoice): Read and write · Linked records (project): Read and write');
    expect(await row.textContent()).toContain('120/min');
    expect(await row.textContent()).toContain(String(nextYear));

    // It works as granted, and only as granted.
    expect((await bearer(token, '/api/crm/companies')).status).toBe(200);
    expect((await bearer(token, '/api/inbox/conversations')).status).toBe(403);
    const [made] = (
      await pageApi<{ items: { id: string; expiresAt: string; rateLimit: number }[] }>(page, 'GET', '/api/tokens')
    ).items;
    expect(made!.rateLimit).toBe(120);
    expect(new Date(made!.expiresAt).getFullYear()).toBe(nextYear);

    // A scoped token without any area is refused before it is sent.
    await page.getByLabel('Name').fill('Nothing');
    await page.getByLabel('CRM: companies, contacts, deals, notes, search').selectOption('none');
    await page.getByLabel('Linked records: projects, invoices, production jobs').selectOption('none');
    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByText('Choose at least one area.').waitFor();

    // The secret is not shown again.
    await page.reload();
    await row.waitFor();
    expect(await page.locator('#token-value').count()).toBe(0);

    // Revoked: gone from the list, refused at once.
    page.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: /Revoke/ }).click();
    await expect.poll(() => row.count()).toBe(0);
    expect((await bearer(token, '/api/crm/companies')).status).toBe(401);

    // In Italian too.
    await pageApi(page, 'PATCH', '/api/auth/me', { locale: 'it' });
    await page.reload();
    await page.getByLabel('Accesso', { exact: true }).selectOption('scoped');
    await page.getByLabel('Record collegati: progetti, fatture, lavorazioni').waitFor();
    expect(await page.getByLabel('Richieste al minuto').inputValue()).toBe('600');
  });
});
