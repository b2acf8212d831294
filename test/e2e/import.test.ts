import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createTestDatabase, DEMO, tempDir } from '../support/harness.ts';
import { spawnFilo, waitHealthy, type FiloProcess } from '../support/process.ts';
import { launchBrowser } from '../support/browser.ts';

/** The CSV import screen in Chromium: upload, a progress bar to the end, the summary and the bad rows. */

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let filo: FiloProcess;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
const data = tempDir('filo-e2e-import-');

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

describe('CSV import screen', () => {
  it('imports the good rows, shows progress to the end and lists the bad rows by line', async () => {
    const csv = path.join(data.dir, 'companies.csv');
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
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    await page.goto(`${filo.baseUrl}/login`);
    await page.getByLabel('Email').fill(DEMO.email);
    await page.getByLabel('Password').fill(DEMO.password);
    await page.getByRole('button', { name: /sign in/i }).click();
    await page.waitForURL(`${filo.baseUrl}/`);
    await page.goto(`${filo.baseUrl}/companies`);
    await page.getByRole('link', { name: 'Import CSV' }).click();
    await page.waitForURL('**/companies/import');
    await page.getByLabel(/CSV file/).setInputFiles(csv);
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await expect
      .poll(() => page.getByTestId('import-status').textContent(), { timeout: 20_000 })
      .toBe('Done: 3 of 5 rows created.');
    expect(await page.getByRole('progressbar').getAttribute('aria-valuenow')).toBe('100');
    const lines = await page.getByTestId('import-errors').locator('tbody tr td:first-child').allTextContents();
    expect(lines.map((l) => l.trim())).toEqual(['3', '5']);
    await page.goto(`${filo.baseUrl}/companies`);
    await expect.poll(() => page.getByText('Csv Delta Srl').count(), { timeout: 10_000 }).toBe(1);
    await context.close();
  });

  it('saves the list filters as a view and applies it again', async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    await page.goto(`${filo.baseUrl}/login`);
    await page.getByLabel('Email').fill(DEMO.email);
    await page.getByLabel('Password').fill(DEMO.password);
    await page.getByRole('button', { name: /sign in/i }).click();
    await page.waitForURL(`${filo.baseUrl}/`);
    await page.goto(`${filo.baseUrl}/companies`);
    await page.locator('#company-type').selectOption('supplier');
    page.on('dialog', (dialog) => void (dialog.type() === 'prompt' ? dialog.accept('Suppliers') : dialog.dismiss()));
    await page.getByRole('button', { name: 'Save as view…' }).click();
    await expect.poll(() => page.locator('#company-view option').allTextContents()).toContain('Suppliers');
    await page.locator('#company-type').selectOption('');
    await page.locator('#company-view').selectOption({ label: 'Suppliers' });
    await expect.poll(() => page.locator('#company-type').inputValue()).toBe('supplier');
    // The unfiltered list also holds Gamma: wait for Alfa (a client) to go, then Gamma must still be there.
    await expect.poll(() => page.getByText('Csv Alfa Srl').count()).toBe(0);
    expect(await page.getByText('Csv Gamma Srl').count()).toBe(1);
    await context.close();
  });
});
