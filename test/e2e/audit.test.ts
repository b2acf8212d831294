import { describe, expect, it } from 'vitest';
import { useE2e } from '../support/e2e.ts';

/**
 * Settings > Audit log in Chromium: an admin changes a member's role and exports the company list as CSV, then
 * reads both entries (the role change with its before and after), filters by action, exports the log itself, and
 * sets the workspace's retention; a member is told the log is for owners and admins.
 */

const e2e = useE2e('audit');

describe('the audit log screen', () => {
  it('shows an admin the role change and the CSV export, with filters, the change and the log’s own export', async () => {
    const page = await (await e2e.newContext()).newPage();
    await e2e.signIn(page, 'mario@filo.local');

    await page.goto(`${e2e.filo.baseUrl}/settings/team`);
    const role = page.getByLabel('Role of Luca Verdi');
    await role.waitFor();
    await role.selectOption('admin');
    await expect.poll(() => role.inputValue()).toBe('admin');

    await page.goto(`${e2e.filo.baseUrl}/companies`);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Export CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('companies.csv');

    await page.goto(`${e2e.filo.baseUrl}/settings`);
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    const rows = page.getByTestId('audit-row');
    const roleRow = rows.filter({ hasText: 'Role changed' });
    await expect.poll(() => roleRow.count()).toBe(1);
    expect(await roleRow.textContent()).toContain('Mario Rossi');
    expect(await roleRow.textContent()).toContain('Role changed from member to admin');
    const exportRow = rows.filter({ hasText: 'CRM list exported' });
    await expect.poll(() => exportRow.count()).toBe(1);
    expect(await exportRow.textContent()).toContain('Exported the company list as CSV');
    await expect.poll(() => page.getByTestId('audit-chain').textContent()).toMatch(/Chain verified: \d+ entries/);

    await roleRow.getByRole('button', { name: 'Show the change' }).click();
    expect(JSON.parse((await page.getByTestId('audit-before').textContent())!)).toEqual({ role: 'member' });
    expect(JSON.parse((await page.getByTestId('audit-after').textContent())!)).toEqual({ role: 'admin' });

    await page.getByLabel('Action').selectOption({ label: 'Role changed' });
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => rows.count()).toBe(1);
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByTestId('audit-export').click()]);
    expect(csv.suggestedFilename()).toBe('audit-log.csv');
    const text = await new Response((await csv.createReadStream()) as unknown as ReadableStream).text();
    expect(text).toContain('member.role_changed');
    expect(text).not.toContain('export.crm_csv');
    await page.getByRole('button', { name: 'Clear' }).click();
    await expect.poll(() => rows.filter({ hasText: 'Audit log exported' }).count()).toBe(1);
  });

  it('lets an admin set the retention periods, and tells a member the log is not theirs', async () => {
    const page = await (await e2e.newContext()).newPage();
    await e2e.signIn(page, 'mario@filo.local');
    await page.goto(`${e2e.filo.baseUrl}/settings/workspace`);
    const audit = page.getByLabel('Audit log entries (days)');
    await expect.poll(() => audit.inputValue()).toBe('730');
    await audit.fill('400');
    await page.getByRole('button', { name: 'Save retention' }).click();
    await page.getByText('Retention saved').waitFor();

    const member = await (await e2e.newContext()).newPage();
    await e2e.signIn(member, 'sara@filo.local');
    await member.goto(`${e2e.filo.baseUrl}/settings/audit`);
    await member.getByText('Only owners and admins can read the audit log.').waitFor();
    expect(await member.getByTestId('audit-table').count()).toBe(0);
  });
});
