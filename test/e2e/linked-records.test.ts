import { beforeAll, describe, expect, it } from 'vitest';
import { apiClient, login, type ApiClient } from '../support/harness.ts';
import { useE2e } from '../support/e2e.ts';

/**
 * Linked records in Chromium (issue 17): an external module's upserts appear live, without a reload, in the right
 * tab of a company card open in another browser (status chip, money, due date, the link out), and on its timeline.
 */
const e2e = useE2e('linked-records');
let owner: ApiClient;
let module: ApiClient;
let company: { id: string };

beforeAll(async () => {
  owner = apiClient(e2e.filo.baseUrl, await login(e2e.filo.baseUrl));
  const token = await owner.json('POST', '/api/tokens', { name: 'Gestionale' });
  module = apiClient(e2e.filo.baseUrl, token.token, true);
  company = await owner.json('POST', '/api/crm/companies', { name: 'Officine Collegate', type: 'client' });
});

describe('linked records on the company card', () => {
  it('shows a module’s projects, invoices and production jobs live in their tabs', { timeout: 60_000 }, async () => {
    const page = await (await e2e.newContext()).newPage();
    await e2e.signIn(page, 'luca@filo.local');
    await page.goto(`${e2e.filo.baseUrl}/companies/${company.id}?tab=projects`);
    const projects = page.getByTestId('linked-projects');
    await projects.getByText('No projects from other modules yet.').waitFor();
    // Written whether or not the card's watch is already up: a missed activity is caught up by seq.

    await module.json(
      'PUT',
      '/api/linked-records/pm/project/PRJ-77',
      {
        companyId: company.id,
        title: 'Revamping linea 3',
        status: 'In corso',
        state: 'active',
        amount: 48000,
        currency: 'EUR',
        dueDate: '2027-02-28',
        url: 'https://pm.example/projects/77',
        updatedAt: '2026-12-01T10:00:00Z',
      },
      201,
    );
    const row = projects.getByRole('row').filter({ hasText: 'Revamping linea 3' });
    await row.waitFor({ timeout: 15_000 });
    expect(await row.textContent()).toContain('In corso');
    expect(await row.textContent()).toContain('€48,000');
    expect(await row.textContent()).toContain('28 Feb 2027');
    const link = row.getByRole('link', { name: /Open in pm/ });
    expect(await link.getAttribute('href')).toBe('https://pm.example/projects/77');
    expect(await link.getAttribute('rel')).toContain('noopener');

    // A status change from the module changes the chip, still without a reload.
    await module.json('PUT', '/api/linked-records/pm/project/PRJ-77', {
      companyId: company.id,
      title: 'Revamping linea 3',
      status: 'Collaudo',
      state: 'active',
      amount: 48000,
      currency: 'EUR',
      dueDate: '2027-02-28',
      url: 'https://pm.example/projects/77',
      updatedAt: '2026-12-02T10:00:00Z',
    });
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toContain('Collaudo');

    // An invoice and a production job land in their own tabs, whose counts move.
    await module.json(
      'PUT',
      '/api/linked-records/accounting/invoice/FT-118',
      { companyId: company.id, title: 'Fattura acconto', state: 'pending', amount: '12500.5', currency: 'EUR' },
      201,
    );
    await module.json(
      'PUT',
      '/api/linked-records/mes/production_job/JOB-12',
      { companyId: company.id, title: 'Stampo 12', status: 'In lavorazione', state: 'active' },
      201,
    );
    await expect.poll(() => page.locator('#company-tab-invoices').textContent(), { timeout: 15_000 }).toContain('1');
    expect(await projects.getByRole('row').filter({ hasText: 'Fattura acconto' }).count()).toBe(0);
    await page.locator('#company-tab-invoices').click();
    const invoice = page.getByTestId('linked-invoices').getByRole('row').filter({ hasText: 'Fattura acconto' });
    await invoice.waitFor();
    expect(await invoice.textContent()).toContain('€12,500.5');
    expect(await invoice.textContent()).toContain('Pending');
    await page.locator('#company-tab-production').click();
    await page.getByTestId('linked-production').getByText('Stampo 12').waitFor();

    // The timeline tells of them in words.
    await page.locator('#company-tab-timeline').click();
    await page.getByText('Project “Revamping linea 3” changed status').waitFor();
    await page.getByText('Invoice “Fattura acconto” added').waitFor();
    await page.context().close();

    // The company's wall (a read-only token) lists what is in production and in progress, and follows live.
    const wallToken = await owner.json('POST', '/api/tokens', { name: 'Reparto', scope: 'read' });
    const wall = await (await e2e.newContext()).newPage();
    await wall.goto(`${e2e.filo.baseUrl}/wall/company/${company.id}#token=${wallToken.token}`);
    const linked = wall.getByTestId('wall-linked');
    await expect.poll(() => linked.textContent(), { timeout: 15_000 }).toContain('Stampo 12');
    expect(await linked.textContent()).toContain('Revamping linea 3');
    expect(await linked.textContent()).not.toContain('Fattura acconto');
    await module.json(
      'PUT',
      '/api/linked-records/mes/production_job/JOB-13',
      { companyId: company.id, title: 'Stampo 13', status: 'In coda', state: 'pending' },
      201,
    );
    await expect.poll(() => linked.textContent(), { timeout: 15_000 }).toContain('Stampo 13');
    await wall.context().close();
  });

  it(
    'lets an admin add a kind of its own, shown in its tab; members only see the list',
    { timeout: 60_000 },
    async () => {
      const page = await (await e2e.newContext()).newPage();
      await e2e.signIn(page, 'demo@filo.local');
      await page.goto(`${e2e.filo.baseUrl}/settings/linked-records`);
      const kinds = page.getByTestId('linked-kinds');
      await kinds.getByRole('row').filter({ hasText: 'production_job' }).waitFor();
      await page.getByRole('button', { name: '+ Add kind' }).click();
      await page.locator('#linked-kind-key').fill('shipment');
      await page.locator('#linked-kind-label').fill('Shipment');
      await page.locator('#linked-kind-tab').selectOption('production');
      await page.getByRole('button', { name: 'Create' }).click();
      const row = kinds.getByRole('row').filter({ hasText: 'Shipment' });
      await row.waitFor();
      expect(await row.textContent()).toContain('Production');
      expect(await row.textContent()).toContain('Custom');

      // The same key again is refused at its field.
      await page.getByRole('button', { name: '+ Add kind' }).click();
      await page.locator('#linked-kind-key').fill('shipment');
      await page.locator('#linked-kind-label').fill('Spedizione');
      await page.getByRole('button', { name: 'Create' }).click();
      await expect.poll(() => page.locator('#linked-kind-key-error').textContent()).toContain('exists already');
      expect(await page.locator('#linked-kind-key').getAttribute('aria-invalid')).toBe('true');
      await page.getByRole('button', { name: 'Cancel' }).click();

      // A record of that kind, upserted by a module, shows in the Production tab.
      await module.json(
        'PUT',
        '/api/linked-records/logistics/shipment/DDT-5',
        { companyId: company.id, title: 'Spedizione stampi', status: 'In viaggio', state: 'active' },
        201,
      );
      await page.goto(`${e2e.filo.baseUrl}/companies/${company.id}?tab=production`);
      await page.getByTestId('linked-production').getByText('Spedizione stampi').waitFor();
      await page.context().close();

      // A member sees the kinds but no add, edit or delete.
      const member = await (await e2e.newContext()).newPage();
      await e2e.signIn(member, 'luca@filo.local');
      await member.goto(`${e2e.filo.baseUrl}/settings/linked-records`);
      await member.getByTestId('linked-kinds').getByRole('row').filter({ hasText: 'Shipment' }).waitFor();
      await member.getByText('Only workspace owners and admins can change the kinds.').waitFor();
      expect(await member.getByRole('button', { name: '+ Add kind' }).count()).toBe(0);
      expect(await member.getByRole('button', { name: /Delete/ }).count()).toBe(0);
      await member.context().close();
    },
  );
});
