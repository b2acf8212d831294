import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEMO } from '../support/harness.ts';
import { useE2e } from '../support/e2e.ts';

/** The CSV import screen in Chromium: upload, a progress bar to the end, the summary and the bad rows. */

const e2e = useE2e('import');

describe('CSV import screen', () => {
  it('imports the good rows, shows progress to the end and lists the bad rows by line', async () => {
    const csv = path.join(e2e.dataDir, 'companies.csv');
    writeFileSync(
      csv,
      [
        'name,type,website',
        'Csv Alfa Srl,client,https://alfa.example',
        'Csv Beta Spa,partner,',
        'Csv Gamma Srl,supplier,',
        ',client,',
        'Csv Delta Srl,stakeholder,',
      ].join('\n'),
    );
    const context = await e2e.browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    await page.goto(`${e2e.filo.baseUrl}/login`);
    await page.getByLabel('Email').fill(DEMO.email);
    await page.getByLabel('Password').fill(DEMO.password);
    await page.getByRole('button', { name: /sign in/i }).click();
    await page.waitForURL(`${e2e.filo.baseUrl}/`);
    await page.goto(`${e2e.filo.baseUrl}/companies`);
    await page.getByRole('link', { name: 'Import CSV' }).click();
    await page.waitForURL('**/companies/import');
    expect(await page.getByRole('radio', { name: 'Companies' }).isChecked()).toBe(true);
    await page.getByLabel(/CSV file/).setInputFiles(csv);
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    // The upload's bar, then the rows' bar, polled to the end.
    const rows = page.getByRole('progressbar', { name: 'Rows' });
    await expect.poll(() => rows.getAttribute('aria-valuenow'), { timeout: 20_000 }).toBe('100');
    await expect.poll(() => page.getByTestId('import-status').textContent()).toBe('Done: 3 of 5 rows created.');
    expect(await page.getByTestId('rows-status').textContent()).toBe('5 / 5');
    expect(await page.getByRole('progressbar').count()).toBe(1);

    // The summary, and the two bad rows by line (the header is line 1), with the field at fault.
    expect((await page.getByTestId('import-created').textContent())?.trim()).toBe('3');
    const errors = page.getByTestId('import-errors').locator('tbody tr');
    expect(await errors.count()).toBe(2);
    const lines = await errors.locator('td:first-child').allTextContents();
    expect(lines.map((l) => l.trim())).toEqual(['3', '5']);
    expect(await errors.nth(0).locator('td').nth(2).textContent()).toContain('type');
    expect(await errors.nth(1).locator('td').nth(2).textContent()).toContain('name');

    // The imported companies are in the list.
    await page.getByRole('link', { name: 'See the companies' }).click();
    await page.waitForURL(`${e2e.filo.baseUrl}/companies`);
    await expect.poll(() => page.getByText('Csv Delta Srl').count(), { timeout: 10_000 }).toBe(1);
    for (const name of ['Csv Alfa Srl', 'Csv Gamma Srl']) expect(await page.getByText(name).count()).toBe(1);
    expect(await page.getByText('Csv Beta Spa').count()).toBe(0);
    await context.close();
  });

  it('exports the companies list as CSV with the filters shown', async () => {
    const context = await e2e.browser.newContext({ locale: 'en-US', acceptDownloads: true });
    const page = await context.newPage();
    await page.goto(`${e2e.filo.baseUrl}/login`);
    await page.getByLabel('Email').fill(DEMO.email);
    await page.getByLabel('Password').fill(DEMO.password);
    await page.getByRole('button', { name: /sign in/i }).click();
    await page.waitForURL(`${e2e.filo.baseUrl}/`);
    await page.goto(`${e2e.filo.baseUrl}/companies`);
    await expect.poll(() => page.getByText('Csv Alfa Srl').count()).toBe(1);
    await page.locator('#company-type').selectOption('supplier');
    await expect.poll(() => page.getByText('Csv Alfa Srl').count()).toBe(0);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Export CSV' }).click(),
    ]);
    const text = readFileSync((await download.path())!, 'utf8');
    expect(text).toContain('Csv Gamma Srl');
    expect(text).not.toContain('Csv Alfa Srl');
    await context.close();
  });

  it('saves the list filters as a view and applies it again', async () => {
    const context = await e2e.browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    await page.goto(`${e2e.filo.baseUrl}/login`);
    await page.getByLabel('Email').fill(DEMO.email);
    await page.getByLabel('Password').fill(DEMO.password);
    await page.getByRole('button', { name: /sign in/i }).click();
    await page.waitForURL(`${e2e.filo.baseUrl}/`);
    await page.goto(`${e2e.filo.baseUrl}/companies`);
    await page.locator('#company-type').selectOption('supplier');
    page.on('dialog', (dialog) => void (dialog.type() === 'prompt' ? dialog.accept('Suppliers') : dialog.dismiss()));
    await page.getByRole('button', { name: 'Save as view…' }).click();
    await expect.poll(() => page.locator('#company-view option').allTextContents()).toContain('Suppliers');
    await page.locator('#company-type').selectOption('');
    await page.locator('#company-view').selectOption({ label: 'Suppliers' });
    await expect.poll(() => page.locator('#company-type').inputValue()).toBe('supplier');
    // The unfiltered list also holds Gamma: the filtered one has Gamma (a supplier) and not Alfa (a client). Both at
    // once: a list still loading has neither, which alone would pass for "Alfa is gone".
    await expect
      .poll(async () => [await page.getByText('Csv Alfa Srl').count(), await page.getByText('Csv Gamma Srl').count()])
      .toEqual([0, 1]);
    await context.close();
  });
});
