import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { createTestDatabase, DEMO, tempDir } from '../support/harness.ts';
import { spawnFilo, waitHealthy, type FiloProcess } from '../support/process.ts';
import { launchBrowser } from '../support/browser.ts';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let filo: FiloProcess;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
const data = tempDir('filo-e2e-');

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

async function signIn(page: Page, password = DEMO.password) {
  await page.goto(filo.baseUrl);
  await page.waitForURL('**/login');
  await page.getByLabel('Email').fill(DEMO.email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: /sign in/i }).click();
}

describe('the web app in Chromium', () => {
  it('sends a visitor to the sign-in page and shows a wrong password', async () => {
    const page = await browser.newPage();
    await signIn(page, 'not-the-password');
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/not correct/i);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.close();
  });

  it('signs in to the demo workspace, goes live over Socket.io, shows system status, and signs out', async () => {
    const page = await browser.newPage();
    await signIn(page);
    await page.waitForURL(`${filo.baseUrl}/`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toContain('Welcome, Demo');
    await expect.poll(() => page.getByText('Filo Demo').first().isVisible()).toBe(true);
    await expect.poll(() => page.getByTestId('connection-status').textContent()).toContain('Live');
    await expect.poll(() => page.getByText('database', { exact: false }).first().isVisible()).toBe(true);
    // The pipeline chart: one bar per stage, lead to lost.
    await expect.poll(() => page.getByTestId('pipeline-chart').locator('li').count()).toBe(6);
    await page.getByRole('button', { name: /log out/i }).click();
    await page.waitForURL('**/login');
    const me = await page.evaluate(() => fetch('/api/auth/me').then((r) => r.status));
    expect(me).toBe(401);
    await page.close();
  });

  it('serves the app for a deep link (single-page fallback)', async () => {
    const res = await fetch(`${filo.baseUrl}/companies/123`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/<html/i);
  });
});
