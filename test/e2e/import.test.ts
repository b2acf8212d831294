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
    await page.getByRole('button', { name: 'Next: match the columns' }).click();
    // The mapping step: each header already points at its field.
    await expect.poll(() => page.getByLabel('website', { exact: true }).inputValue()).toBe('website');
    expect(await page.getByLabel('type', { exact: true }).inputValue()).toBe('type');
    await page.getByRole('button', { name: 'Import 5 rows' }).click();
    // The upload's bar, then the rows' bar, polled to the end.
    const rows = page.getByRole('progressbar', { name: 'Rows' });
    await expect.poll(() => rows.getAttribute('aria-valuenow'), { timeout: 20_000 }).toBe('100');
    await expect
      .poll(() => page.getByTestId('import-status').textContent())
      .toBe('Done: 3 created, 0 updated, 0 skipped, 2 not imported.');
    expect(await page.getByTestId('rows-status').textContent()).toBe('5 / 5');
    expect(await page.getByRole('progressbar').count()).toBe(1);

    // The summary, and the two bad rows by line (the header is line 1), with the field at fault named in words.
    expect((await page.getByTestId('import-created').textContent())?.trim()).toBe('3');
    const errors = page.getByTestId('import-errors').locator('tbody tr');
    expect(await errors.count()).toBe(2);
    const lines = await errors.locator('td:first-child').allTextContents();
    expect(lines.map((l) => l.trim())).toEqual(['3', '5']);
    expect(await errors.nth(0).locator('td').nth(1).textContent()).toBe(
      'Row 3: Type “partner” is not one of the allowed values',
    );
    expect(await errors.nth(1).locator('td').nth(1).textContent()).toBe('Row 5: Name is required');

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

  it('maps ordinary headers, skips a duplicate, words a bad row and gives it back as CSV, on a 390 px phone', async () => {
    const csv = path.join(e2e.dataDir, 'rubrica.csv');
    writeFileSync(
      csv,
      [
        'Company name,Web site,Codice IVA,Notes',
        'Csv Epsilon Srl,csv-epsilon.example,IT555,call back',
        'CSV ALFA s.r.l.,,IT556,already there',
        'Csv Zeta Spa,not a site,IT557,',
        'Csv Eta Srl,www.csv-eta.example,IT558,',
      ].join('\n'),
    );
    const context = await e2e.browser.newContext({
      locale: 'en-US',
      viewport: { width: 390, height: 844 },
      acceptDownloads: true,
    });
    const page = await context.newPage();
    await page.goto(`${e2e.filo.baseUrl}/login`);
    await page.getByLabel('Email').fill(DEMO.email);
    await page.getByLabel('Password').fill(DEMO.password);
    await page.getByRole('button', { name: /sign in/i }).click();
    await page.waitForURL(`${e2e.filo.baseUrl}/`);
    await page.goto(`${e2e.filo.baseUrl}/companies/import`);
    await page.getByLabel(/CSV file/).setInputFiles(csv);
    await page.getByRole('button', { name: 'Next: match the columns' }).click();
    // Ordinary headers are guessed; an unknown one is ignored until the user points it at a field.
    const vat = page.getByLabel('Codice IVA', { exact: true });
    await expect.poll(() => page.getByLabel('Company name', { exact: true }).inputValue()).toBe('name');
    expect(await page.getByLabel('Web site', { exact: true }).inputValue()).toBe('website');
    expect(await page.getByLabel('Notes', { exact: true }).inputValue()).toBe('');
    expect(await vat.inputValue()).toBe('');
    await vat.selectOption({ label: 'VAT number' });
    // The preview shows the rows as they will be stored: the bare domain as an https address, the VAT column in.
    const preview = page.getByTestId('import-preview');
    expect(await preview.locator('thead th').allTextContents()).toEqual(['Name', 'Website', 'VAT number']);
    expect(await preview.locator('tbody tr').first().locator('td').allTextContents()).toEqual([
      'Csv Epsilon Srl',
      'https://csv-epsilon.example',
      'IT555',
    ]);
    expect(await page.locator('html').evaluate((el) => el.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await page.getByRole('radio', { name: /Skip them/ }).isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Import 4 rows' }).click();

    await expect
      .poll(() => page.getByTestId('import-status').textContent(), { timeout: 20_000 })
      .toBe('Done: 2 created, 0 updated, 1 skipped, 1 not imported.');
    expect((await page.getByTestId('import-skipped').textContent())?.trim()).toBe('1');
    const errors = page.getByTestId('import-errors').locator('tbody tr');
    expect(await errors.locator('td').nth(1).textContent()).toBe(
      'Row 4: Website “not a site” is not a web address (such as acme.com)',
    );
    expect(await page.locator('html').evaluate((el) => el.scrollWidth)).toBeLessThanOrEqual(390);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('import-rejected').click()]);
    const rejected = readFileSync((await download.path())!, 'utf8').replace(/^\uFEFF/, '');
    expect(rejected.split(/\r?\n/).filter(Boolean)).toEqual([
      'Company name,Web site,Codice IVA,Notes,Error',
      'Csv Zeta Spa,not a site,IT557,,Row 4: Website “not a site” is not a web address (such as acme.com)',
    ]);
    await context.close();
  });

  it("shows a company form's bad website under the field, in words, and focuses it", async () => {
    const context = await e2e.browser.newContext({ locale: 'en-US', viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${e2e.filo.baseUrl}/login`);
    await page.getByLabel('Email').fill(DEMO.email);
    await page.getByLabel('Password').fill(DEMO.password);
    await page.getByRole('button', { name: /sign in/i }).click();
    await page.waitForURL(`${e2e.filo.baseUrl}/`);
    await page.goto(`${e2e.filo.baseUrl}/companies`);
    await page.getByRole('button', { name: '+ New company' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name', { exact: true }).fill('Form Check Srl');
    const website = dialog.getByLabel('Website', { exact: true });
    await website.fill('not a site');
    await dialog.getByRole('button', { name: 'Create' }).click();
    // No browser tooltip stops the form: the server's answer is shown under the field, and the field has the focus.
    await expect.poll(() => website.getAttribute('aria-invalid')).toBe('true');
    const describedBy = (await website.getAttribute('aria-describedby'))!;
    expect(await page.locator(`[id="${describedBy}"]`).textContent()).toBe(
      'Enter a web address such as acme.com or https://acme.com.',
    );
    expect(await website.evaluate((el) => el === el.ownerDocument.activeElement)).toBe(true);
    expect(await dialog.getByRole('alert').textContent()).toContain('Some fields need attention');
    expect(await dialog.textContent()).not.toContain('The request body is not valid');
    // A bare domain is taken: saved as https.
    await website.fill('form-check.example');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
    await page.goto(`${e2e.filo.baseUrl}/companies?q=Form%20Check`);
    await expect.poll(() => page.getByText('Form Check Srl').count()).toBeGreaterThan(0);
    await context.close();
  });
});
