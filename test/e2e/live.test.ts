import { beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { DEMO, login } from '../support/harness.ts';
import { useE2e } from '../support/e2e.ts';

/**
 * Live collaboration in Chromium against a real server: who else is on a company card and whether they are
 * typing, the operator wall opened with a read-only token in the URL fragment, and a card that went offline
 * catching up on what it missed, each entry once.
 */

let cookie: string;

/** Playwright-style auto-waiting for any condition: retried until it holds, for up to 10 s (no fixed sleeps). */
const poll = <T>(fn: () => Promise<T> | T, timeout = 10_000) => expect.poll(fn, { timeout });

const e2e = useE2e('live');
beforeAll(async () => {
  cookie = await login(e2e.filo.baseUrl);
});

/** A POST to the API as the demo owner, from outside the browser. */
async function api<T = { id: string }>(path: string, payload: unknown): Promise<T> {
  const res = await fetch(`${e2e.filo.baseUrl}${path}`, {
    method: 'POST',
    headers: { cookie, origin: e2e.filo.baseUrl, 'content-type': 'application/json' },
    body: JSON.stringify(payload),
  });
  if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

const avatars = (page: Page) => page.getByTestId('presence-avatar');

describe('live collaboration in Chromium', () => {
  it('shows who else is on a company card, and when they are typing a note', async () => {
    const acme = await api('/api/crm/companies', { name: 'Presence Acme', type: 'client' });
    const owner = await (await e2e.newContext()).newPage();
    const sara = await (await e2e.newContext()).newPage();
    await e2e.signIn(owner, DEMO.email);
    await e2e.signIn(sara, 'sara@filo.local');

    await owner.goto(`${e2e.filo.baseUrl}/companies/${acme.id}`);
    await sara.goto(`${e2e.filo.baseUrl}/companies/${acme.id}?tab=notes`);

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
    await sara.goto(`${e2e.filo.baseUrl}/companies`);
    await poll(() => avatars(owner).count()).toBe(0);
  }, 60_000);

  it('runs the operator wall with a read-only token in the fragment, live without a reload', async () => {
    const { token } = await api<{ token: string }>('/api/tokens', { name: 'Reception TV', scope: 'read' });
    const acme = await api('/api/crm/companies', { name: 'Wall Live Acme', type: 'client' });

    const context = await e2e.newContext();
    const wall = await context.newPage();
    const urls: string[] = [];
    wall.on('request', (request) => urls.push(request.url()));
    await wall.goto(`${e2e.filo.baseUrl}/wall#token=${token}`);
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
    const context = await e2e.newContext();
    const page = await context.newPage();
    await e2e.signIn(page, DEMO.email);
    await page.goto(`${e2e.filo.baseUrl}/companies/${acme.id}?tab=timeline`);
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
