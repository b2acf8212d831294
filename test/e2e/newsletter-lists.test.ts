import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEMO } from '../support/harness.ts';
import { pageApi, useE2e } from '../support/e2e.ts';

/** Newsletter lists in Chromium: a segment built with its live count, a static list filled from the CRM and a CSV. */

const e2e = useE2e('newsletter-lists');

describe('newsletter lists', () => {
  it('builds a segment with a live count, fills a static list from the CRM and a CSV, skipping an unsubscribed address', async () => {
    const page = await (await e2e.newContext()).newPage();
    await e2e.signIn(page, DEMO.email);
    // CRM data of this test: a tagged client and a supplier, each with a contact.
    const client = await pageApi<{ id: string }>(page, 'POST', '/api/crm/companies', {
      name: 'E2E Lists Client',
      type: 'client',
      tags: ['e2elists'],
    });
    const supplier = await pageApi<{ id: string }>(page, 'POST', '/api/crm/companies', {
      name: 'E2E Lists Supplier',
      type: 'supplier',
      tags: ['e2elists'],
    });
    await pageApi(page, 'POST', '/api/crm/contacts', {
      firstName: 'Ann',
      lastName: 'Segment',
      email: 'ann@e2e-lists.example',
      companyId: client.id,
    });
    await pageApi(page, 'POST', '/api/crm/contacts', {
      firstName: 'Sam',
      lastName: 'Static',
      email: 'sam@e2e-lists.example',
      companyId: supplier.id,
    });
    await pageApi(page, 'POST', '/api/crm/contacts', {
      firstName: 'Gone',
      lastName: 'Away',
      email: 'gone@e2e-lists.example',
    });

    // A segment: company tag e2elists AND company type client, counted live as it is edited.
    await page.goto(`${e2e.filo.baseUrl}/newsletters/lists`);
    await page.getByRole('button', { name: 'New list' }).click();
    await page.getByLabel('Name').fill('E2E clients');
    await page.getByRole('radio', { name: /Segment/ }).check();
    const builder = page.getByTestId('segment-builder');
    await builder.getByRole('button', { name: '+ Add a condition' }).click();
    const second = builder.getByTestId('condition').nth(1);
    await second.getByLabel('Field').selectOption('company.tag');
    await second.getByLabel('Value').fill('e2elists');
    await expect.poll(() => builder.getByTestId('segment-count').textContent()).toBe('1 contact matches');
    expect(await builder.getByTestId('segment-sample').textContent()).toContain('ann@e2e-lists.example');
    await builder.getByTestId('condition').nth(0).getByLabel('Value').selectOption('supplier');
    await expect.poll(() => builder.getByTestId('segment-sample').textContent()).toContain('sam@e2e-lists.example');
    await builder.getByTestId('condition').nth(0).getByLabel('Value').selectOption('client');
    await expect.poll(() => builder.getByTestId('segment-sample').textContent()).toContain('ann@e2e-lists.example');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.waitForURL(/\/newsletters\/lists\/[0-9a-f-]{36}$/);
    await expect.poll(() => page.getByTestId('count-subscribed').textContent()).toBe('1');
    await expect.poll(() => page.getByTestId('member-row').count()).toBe(1);
    expect(await page.getByTestId('members-table').textContent()).toContain('ann@e2e-lists.example');

    // A static list, filled from the CRM search.
    await page.goto(`${e2e.filo.baseUrl}/newsletters/lists`);
    await page.getByRole('button', { name: 'New list' }).click();
    await page.getByLabel('Name').fill('E2E static');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.waitForURL(/\/newsletters\/lists\/[0-9a-f-]{36}$/);
    const listId = page.url().split('/').at(-1)!;
    await page.getByRole('button', { name: 'Add contacts' }).click();
    await page.getByLabel('Search contacts').fill('e2e-lists');
    await page.getByRole('checkbox', { name: /Sam Static/ }).check();
    await page.getByRole('checkbox', { name: /Gone Away/ }).check();
    await page.getByRole('button', { name: 'Add 2 contacts' }).click();
    await expect.poll(() => page.getByTestId('count-subscribed').textContent()).toBe('2');
    await expect.poll(() => page.getByTestId('member-row').count()).toBe(2);
    // Gone is taken off: kept as unsubscribed.
    await page
      .getByTestId('member-row')
      .filter({ hasText: 'gone@e2e-lists.example' })
      .getByRole('button', { name: 'Remove' })
      .click();
    await expect.poll(() => page.getByTestId('count-unsubscribed').textContent()).toBe('1');
    expect(await page.getByTestId('count-subscribed').textContent()).toBe('1');
    expect(await page.getByTestId('member-row').filter({ hasText: 'gone@e2e-lists.example' }).textContent()).toContain(
      'Unsubscribed',
    );
    // the growth chart beside them is read again too: two added today, one taken off, one subscriber now
    await expect.poll(() => page.getByTestId('growth-chart').textContent()).toContain('+1 net · 1 subscribers now');

    // A CSV with its columns guessed from the header: a new subscriber, the unsubscribed address (skipped), a bad row.
    const csv = path.join(e2e.dataDir, 'subscribers.csv');
    writeFileSync(
      csv,
      [
        'E-mail,Nome,Data consenso',
        'new@e2e-lists.example,Nina,2024-05-01',
        'gone@e2e-lists.example,Gone,',
        'nope,Bad,',
      ].join('\n'),
    );
    await page.getByRole('tab', { name: 'Import CSV' }).click();
    await page.getByLabel('CSV file').setInputFiles(csv);
    const mapping = page.getByTestId('import-mapping');
    expect(await mapping.getByLabel('E-mail').inputValue()).toBe('email');
    expect(await mapping.getByLabel('Nome').inputValue()).toBe('first_name');
    expect(await mapping.getByLabel('Data consenso').inputValue()).toBe('consent_date');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await expect
      .poll(() => page.getByTestId('import-status').textContent(), { timeout: 20_000 })
      .toBe('Done: 1 subscribed, 1 skipped, 1 rows with a problem');
    const errors = await page.getByTestId('import-errors').locator('tbody tr').allTextContents();
    expect(errors).toHaveLength(2);
    expect(errors.find((e) => e.startsWith('3'))).toMatch(/Skipped: unsubscribed/);
    expect(errors.find((e) => e.startsWith('4'))).toMatch(/not an email address/);
    await expect.poll(() => page.getByTestId('count-subscribed').textContent()).toBe('2');
    const members = await pageApi<{ items: { address: string; status: string; source: string }[] }>(
      page,
      'GET',
      `/api/newsletters/lists/${listId}/members`,
    );
    expect(members.items.map((m) => `${m.address} ${m.status} ${m.source}`)).toEqual([
      'gone@e2e-lists.example unsubscribed manual',
      'new@e2e-lists.example subscribed import',
      'sam@e2e-lists.example subscribed crm',
    ]);

    // The lists table shows both with their counts.
    await page.goto(`${e2e.filo.baseUrl}/newsletters/lists`);
    const rows = page.getByTestId('list-row');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.filter({ hasText: 'E2E static' }).getByTestId('list-subscribed').textContent()).toBe('2');
    expect(await rows.filter({ hasText: 'E2E clients' }).getByTestId('list-subscribed').textContent()).toBe('1');
  });
});
