import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { useE2e, pageApi } from '../support/e2e.ts';
import { withAdmin as withDatabase } from '../support/postgres.ts';
import { readZip } from '../support/zip.ts';

/**
 * Consent and privacy on the contact page in Chromium: the evidence of a subscription, an unsubscription by hand,
 * the data export (a ZIP with contact.json arrives as a download), the suppression list, and the erasure.
 */

const e2e = useE2e('consent');

describe('consent and privacy on a contact', () => {
  it('shows the evidence, unsubscribes by hand, exports, suppresses and erases', { timeout: 90_000 }, async () => {
    const page = await (await e2e.newContext()).newPage();
    await e2e.signIn(page, 'demo@filo.local');
    const me = await pageApi<{ workspace: { id: string } }>(page, 'GET', '/api/auth/me');
    const contact = await pageApi<{ id: string }>(page, 'POST', '/api/crm/contacts', {
      firstName: 'Vera',
      lastName: 'Privata',
      email: 'vera@privata.example',
    });
    const list = await withDatabase(e2e.databaseUrl, async (c) => {
      const { rows } = await c.query<{ id: string }>(
        `insert into mailing_lists (id, tenant_id, name) values (gen_random_uuid(), $1, 'Monthly news') returning id`,
        [me.workspace.id],
      );
      await c.query(
        `insert into mailing_lists (id, tenant_id, name) values (gen_random_uuid(), $1, 'Product offers')`,
        [me.workspace.id],
      );
      return rows[0]!.id;
    });
    await pageApi(page, 'PUT', `/api/contacts/${contact.id}/consent`, { listId: list, status: 'subscribed' });
    // As the public form would have kept it: where and how the person agreed.
    await withDatabase(e2e.databaseUrl, (c) =>
      c.query(
        `update consents set source = 'form', ip = '203.0.113.9', user_agent = 'VeraBrowser/2', consent_text = 'Yes, the monthly news'
          where list_id = $1`,
        [list],
      ),
    );

    await page.goto(`${e2e.filo.baseUrl}/contacts/${contact.id}`);
    const panel = page.getByTestId('consent-panel');
    await panel.getByRole('heading', { name: 'Consent & privacy' }).waitFor();
    const row = panel.getByRole('listitem').filter({ hasText: 'Monthly news' });
    await row.getByRole('button', { name: /Subscribed/ }).click();
    const evidence = row.getByTestId('consent-evidence');
    await evidence.waitFor();
    expect(await evidence.textContent()).toContain('203.0.113.9');
    expect(await evidence.textContent()).toContain('Yes, the monthly news');
    expect(await evidence.textContent()).toContain('Subscription form');

    page.once('dialog', (dialog) => void dialog.accept('Asked on the phone'));
    await row.getByRole('button', { name: 'Unsubscribe', exact: true }).click();
    await expect.poll(() => row.getByRole('button', { name: /Unsubscribed/ }).count()).toBe(1);
    // the evidence stays open and shows the change: who, and their note
    await expect.poll(() => row.getByTestId('consent-evidence').textContent()).toContain('Asked on the phone');

    // a list they had no consent for, subscribed by hand from the picker
    const picker = panel.getByTestId('consent-pick-list');
    await picker.getByRole('combobox', { name: 'Subscribe to a list…' }).selectOption({ label: 'Product offers' });
    page.once('dialog', (dialog) => void dialog.accept(''));
    await picker.getByRole('button', { name: 'Subscribe', exact: true }).click();
    const offers = panel.getByRole('listitem').filter({ hasText: 'Product offers' });
    await expect.poll(() => offers.getByRole('button', { name: /Subscribed/ }).count()).toBe(1);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      panel.getByRole('link', { name: 'Export data' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('Vera-Privata-export.zip');
    const files = readZip(readFileSync((await download.path())!));
    const data = JSON.parse(files.get('contact.json')!.toString('utf8'));
    expect(data.contact.email).toBe('vera@privata.example');
    const byList = Object.fromEntries(
      data.consents.map((c: { list_name: string; status: string }) => [c.list_name, c.status]),
    );
    expect(byList).toEqual({ 'Monthly news': 'unsubscribed', 'Product offers': 'subscribed' });

    await page.goto(`${e2e.filo.baseUrl}/settings/suppressions`);
    await page.getByRole('link', { name: 'Suppression list' }).waitFor();
    await page.getByRole('textbox', { name: 'Address' }).fill('Nope@Nowhere.example');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    const suppressions = page.getByRole('list', { name: 'Suppression list' });
    await expect
      .poll(() => suppressions.getByRole('listitem').filter({ hasText: 'nope@nowhere.example' }).count())
      .toBe(1);

    await page.goto(`${e2e.filo.baseUrl}/contacts/${contact.id}`);
    await panel.getByRole('button', { name: 'Erase contact' }).click();
    const dialog = page.getByRole('dialog', { name: 'Erase this contact' });
    const erase = dialog.getByRole('button', { name: 'Erase for good' });
    await dialog.getByLabel('Type vera@privata.example to confirm').fill('Vera');
    expect(await erase.isDisabled()).toBe(true);
    await dialog.getByLabel('Type vera@privata.example to confirm').fill('vera@privata.example');
    await erase.click();
    await page.waitForURL(`${e2e.filo.baseUrl}/contacts`);
    const res = await page.evaluate(async (id) => (await fetch(`/api/crm/contacts/${id}`)).status, contact.id);
    expect(res).toBe(404);

    await page.goto(`${e2e.filo.baseUrl}/settings/suppressions`);
    await expect
      .poll(() => suppressions.getByRole('listitem').filter({ hasText: 'Erased person (address not kept)' }).count())
      .toBe(1);
  });
});
