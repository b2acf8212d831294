import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { DEMO } from '../support/harness.ts';
import { E2E_TIME_ZONE, useE2e } from '../support/e2e.ts';

const e2e = useE2e('smoke');

async function signIn(page: Page, password = DEMO.password) {
  await page.goto(e2e.filo.baseUrl);
  await page.waitForURL('**/login');
  await page.getByLabel('Email').fill(DEMO.email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: /sign in/i }).click();
}

describe('the web app in Chromium', () => {
  it('sends a visitor to the sign-in page and shows a wrong password', async () => {
    const page = await e2e.browser.newPage();
    // Every test's browser lives in the demo workspace's time zone, whatever the hour and zone of the machine.
    expect(await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone)).toBe(E2E_TIME_ZONE);
    await signIn(page, 'not-the-password');
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/not correct/i);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.close();
  });

  it('signs in to the demo workspace, goes live over Socket.io, shows system status, and signs out', async () => {
    const page = await e2e.browser.newPage();
    await signIn(page);
    await page.waitForURL(`${e2e.filo.baseUrl}/`);
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
    const res = await fetch(`${e2e.filo.baseUrl}/companies/123`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/<html/i);
  });
});
