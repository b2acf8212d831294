import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { createTestDatabase, DEMO, login, tempDir } from '../support/harness.ts';
import { spawnFilo, waitHealthy, type FiloProcess } from '../support/process.ts';
import { launchBrowser } from '../support/browser.ts';

/**
 * Live collaboration in Chromium against a real server: who else is on a company card and whether they are
 * typing, the operator wall opened with a read-only token in the URL fragment, and a card that went offline
 * catching up on what it missed, each entry once.
 */

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let filo: FiloProcess;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let cookie: string;
const data = tempDir('filo-e2e-live-');
const contexts: BrowserContext[] = [];

/** Playwright-style auto-waiting for any condition: retried until it holds, for up to 10 s (no fixed sleeps). */
const poll = <T>(fn: () => Promise<T> | T, timeout = 10_000) => expect.poll(fn, { timeout });

beforeAll(async () => {
  db = await createTestDatabase();
  filo = await spawnFilo({ DATABASE_URL: db.url, DATA_DIR: data.dir, NODE_ENV: 'test', HOST: '127.0.0.1' });
  await waitHealthy(filo);
  browser = await launchBrowser();
  cookie = await login(filo.baseUrl);
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await browser?.cleanup();
  if (filo?.child.exitCode === null) {
    filo.child.kill('SIGTERM');
    await filo.exited(10_000);
  }
  await db?.drop();
  data.remove();
});

/** A POST to the API as the demo owner, from outside the browser. */
async function api<T = { id: string }>(path: string, payload: unknown): Promise<T> {
  const res = await fetch(`${filo.baseUrl}${path}`, {
    method: 'POST',
    headers: { cookie, origin: filo.baseUrl, 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** A fresh browser profile (its own cookies), in English whatever the machine's language. */
async function newContext(): Promise<BrowserContext> {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1400, height: 900 } });
  contexts.push(context);
  return context;
}

async function signIn(page: Page, email: string) {
  await page.goto(`${filo.baseUrl}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(DEMO.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${filo.baseUrl}/`);
  await poll(() => page.getByTestId('connection-status').textContent()).toContain('Live');
}

const avatars = (page: Page) => page.getByTestId('presence-avatar');

describe('live collaboration in Chromium', () => {
  it('shows who else is on a company card, and when they are typing a note', async () => {
    const acme = await api('/api/crm/companies', { name: 'Presence Acme', type: 'client' });
    const owner = await (await newContext()).newPage();
    const sara = await (await newContext()).newPage();
    await signIn(owner, DEMO.email);
    await signIn(sara, 'sara@filo.local');

    await owner.goto(`${filo.baseUrl}/companies/${acme.id}`);
    await sara.goto(`${filo.baseUrl}/companies/${acme.id}?tab=notes`);

    // Each sees the other (and not themselves), as viewing.
    await poll(() => avatars(owner).evaluateAll((els) => els.map((e) => e.getAttribute('data-user')))).toEqual([
      'Sara Bianchi',
    ]);
    await poll(() => avatars(sara).evaluateAll((els) => els.map((e) => e.getAttribute('data-user')))).toEqual([
      'Demo Owner',
    ]);
    expect(await owner.getByTestId('presence-text').textContent()).toContain('Sara is viewing');
    expect(await avatars(owner).textContent()).toContain('SB');

    // Sara types in the note editor: the owner's card says so.
    await sara.getByRole('combobox', { name: 'Note', exact: true }).pressSequentially('Calling them back at 3');
    await poll(() => owner.getByTestId('presence-text').textContent()).toContain('Sara is typing…');
    expect(await avatars(owner).getAttribute('data-state')).toBe('typing');
    // Three seconds after her last keystroke she is back to viewing.
    await poll(() => owner.getByTestId('presence-text').textContent()).toContain('Sara is viewing');

    // Sara leaves the card: her avatar goes.
    await sara.goto(`${filo.baseUrl}/companies`);
    await poll(() => avatars(owner).count()).toBe(0);
  }, 60_000);

  it('runs the operator wall with a read-only token in the fragment, live without a reload', async () => {
    const { token } = await api<{ token: string }>('/api/tokens', { name: 'Reception TV', scope: 'read' });
    const acme = await api('/api/crm/companies', { name: 'Wall Live Acme', type: 'client' });

    const context = await newContext();
    const wall = await context.newPage();
    const urls: string[] = [];
    wall.on('request', (request) => urls.push(request.url()));
    await wall.goto(`${filo.baseUrl}/wall#token=${token}`);
    await poll(() => wall.getByTestId('wall-status').textContent()).toContain('Live');
    await poll(() => wall.getByTestId('wall-feed').textContent()).toContain('Wall Live Acme');
    // A mark on this document: still there at the end means no reload happened.
    await wall.evaluate(() => ((globalThis as unknown as { wallMark: number }).wallMark = 42));

    await api('/api/crm/notes', { entityType: 'company', entityId: acme.id, content: 'Spedizione 7 consegnata' });
    const newest = wall.getByTestId('wall-item').first();
    await poll(() => newest.textContent()).toContain('Spedizione 7 consegnata');
    expect(await newest.textContent()).toContain('Wall Live Acme');
    expect(await wall.getByText('Spedizione 7 consegnata').count()).toBe(1);
    expect(await wall.evaluate(() => (globalThis as unknown as { wallMark?: number }).wallMark)).toBe(42);

    // The token went as a header and a socket handshake field, never in a URL; no cookie was ever set.
    expect(urls.some((url) => url.includes(token))).toBe(false);
    expect(await context.cookies()).toEqual([]);
  }, 60_000);

  it('catches up after going offline: back to Live, each missed note shown once', async () => {
    const acme = await api('/api/crm/companies', { name: 'Offline Acme', type: 'client' });
    const context = await newContext();
    const page = await context.newPage();
    await signIn(page, DEMO.email);
    await page.goto(`${filo.baseUrl}/companies/${acme.id}?tab=timeline`);
    await poll(() => page.getByTestId('timeline-item').count()).toBe(1);
    const status = page.getByTestId('connection-status');
    await poll(() => status.textContent()).toContain('Live');

    await context.setOffline(true);
    await poll(() => status.textContent()).toContain('Offline');
    for (const n of [1, 2, 3])
      await api('/api/crm/notes', { entityType: 'company', entityId: acme.id, content: `Missed note ${n}` });
    await context.setOffline(false);

    // Socket.io retries with a backoff of up to 5 s: give it time to come back, then to catch up.
    await poll(() => status.getAttribute('data-state'), 20_000).toBe('live');
    await poll(() => page.getByTestId('timeline-item').count()).toBe(4);
    for (const n of [1, 2, 3]) expect(await page.getByText(`Missed note ${n}`, { exact: true }).count()).toBe(1);
    // Newest first.
    expect(await page.getByTestId('timeline-item').first().textContent()).toContain('Missed note 3');
    // And a note posted now arrives live, once.
    await api('/api/crm/notes', { entityType: 'company', entityId: acme.id, content: 'Live again' });
    await poll(() => page.getByTestId('timeline-item').count()).toBe(5);
    expect(await page.getByText('Live again', { exact: true }).count()).toBe(1);
  }, 60_000);
});
