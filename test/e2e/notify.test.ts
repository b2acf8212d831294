import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { simpleParser } from 'mailparser';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { login, tempDir } from '../support/harness.ts';
import { pageApi, useE2e } from '../support/e2e.ts';

/**
 * Notices that reach people who are not looking, in Chromium: a system notification (the Notifications API) when
 * every Filo tab of the user is in the background, one for all tabs; none while one is in front; the polite offer
 * to turn them on; the preferences saved live; and the link of the unread-notice email opening the note.
 */

const poll = <T>(fn: () => Promise<T> | T, timeout = 15_000) => expect.poll(fn, { timeout });

const e2e = useE2e('notify');
let owner: string;
let bg: { browser: Browser; context: BrowserContext; close(): Promise<void> };

/** Records every notification the page constructs (the real API call) and every permission request. */
const RECORD = `(() => {
  const Real = window.Notification;
  if (!Real) return;
  window.__shown = [];
  window.__instances = [];
  window.__asked = 0;
  function Recorded(title, options) {
    const n = new Real(title, options);
    window.__shown.push({ title, body: (options && options.body) || '', tag: (options && options.tag) || '' });
    window.__instances.push(n);
    return n;
  }
  Object.defineProperty(Recorded, 'permission', { get: () => Real.permission });
  Recorded.requestPermission = (...args) => { window.__asked++; return Real.requestPermission(...args); };
  Recorded.prototype = Real.prototype;
  window.Notification = Recorded;
})();`;

type Recorded = { title: string; body: string; tag: string };
/** The page's globals, as seen from the test (no DOM types here). */
type PageGlobals = {
  __shown?: Recorded[];
  __instances: { dispatchEvent(event: unknown): boolean }[];
  __asked: number;
  Event: new (type: string) => unknown;
  document: { visibilityState: string };
  innerHeight: number;
};
const shown = (page: Page) => page.evaluate(() => (globalThis as unknown as PageGlobals).__shown ?? []);
const visibility = (page: Page) => page.evaluate(() => (globalThis as unknown as PageGlobals).document.visibilityState);

/**
 * Chromium in tabs of one window, as a person has them: Playwright's own contexts emulate focus and keep every page
 * visible, so this one is started by hand and attached without those defaults; a tab brought to front then really
 * hides the others (document.visibilityState 'hidden').
 */
async function tabbedChromium() {
  const profile = tempDir('filo-chromium-');
  const child = spawn(
    process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--lang=en-US',
      '--remote-debugging-port=0',
      `--user-data-dir=${profile.dir}`,
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const endpoint = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`Chromium did not start: ${seen}`)), 20_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const found = /DevTools listening on (ws:\/\/\S+)/.exec(seen);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]!);
      }
    });
  });
  const browser = await chromium.connectOverCDP(endpoint, { noDefaults: true, isLocal: true });
  return {
    browser,
    context: browser.contexts()[0]!,
    async close() {
      await browser.close().catch(() => {});
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      profile.remove();
    },
  };
}

async function asOwner<T = { id: string }>(method: string, url: string, payload?: unknown): Promise<T> {
  const res = await fetch(`${e2e.filo.baseUrl}${url}`, {
    method,
    headers: { cookie: owner, origin: e2e.filo.baseUrl, 'content-type': 'application/json' },
    body: payload === undefined ? undefined : JSON.stringify(payload),
  });
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function memberId(email: string): Promise<string> {
  const { items } = await asOwner<{ items: { userId: string; email: string }[] }>('GET', '/api/team/members');
  return items.find((m) => m.email === email)!.userId;
}

/** The demo owner mentions `userId` in a note on a new company. */
async function mention(userId: string, name: string) {
  const company = await asOwner<{ id: string; name: string }>('POST', '/api/crm/companies', { name, type: 'client' });
  const note = await asOwner('POST', '/api/crm/notes', {
    entityType: 'company',
    entityId: company.id,
    content: `The contract for ${name} is ready to sign`,
    mentions: [userId],
  });
  return { company, note };
}

/** The link to the note in the mail that went out about it, once it has. */
async function mailedLink(noteId: string): Promise<string | null> {
  const outbox = path.join(e2e.dataDir, 'outbox');
  for (const file of readdirSync(outbox).filter((f) => f.endsWith('.eml'))) {
    const mail = await simpleParser(readFileSync(path.join(outbox, file)));
    const found = mail.text?.match(/https?:\/\/\S+#note-[0-9a-f-]+/)?.[0];
    if (found?.endsWith(noteId)) return found;
  }
  return null;
}

beforeAll(async () => {
  owner = await login(e2e.filo.baseUrl);
  bg = await tabbedChromium();
}, 60_000);
afterAll(() => bg?.close());

describe('browser notifications', () => {
  it('shows one system notification while every Filo tab is in the background, none while one is in front', async () => {
    const luca = await memberId('luca@filo.local');
    const { context } = bg;
    await context.grantPermissions(['notifications'], { origin: e2e.filo.baseUrl });
    await context.addInitScript(RECORD);
    const first = await context.newPage();
    await e2e.signIn(first, 'luca@filo.local');
    const second = await context.newPage();
    await second.goto(`${e2e.filo.baseUrl}/companies`);
    await poll(() => second.getByTestId('connection-status').textContent()).toContain('Live');
    // One tab leads (it holds the Web Lock); both hear each other on the BroadcastChannel.
    await poll(() =>
      first.evaluate(
        async (id) => (await navigator.locks.query()).held?.filter((l) => l.name?.endsWith(id)).length,
        luca,
      ),
    ).toBe(1);
    const elsewhere = await context.newPage();
    await elsewhere.goto('about:blank');
    await elsewhere.bringToFront();
    await poll(() => Promise.all([visibility(first), visibility(second)])).toEqual(['hidden', 'hidden']);

    const { company, note } = await mention(luca, 'Notifica Srl');
    await poll(async () => (await shown(first)).length + (await shown(second)).length).toBe(1);
    const [leader] = (await shown(first)).length ? [first] : [second];
    const [notice] = await shown(leader!);
    expect(notice).toMatchObject({
      title: 'Demo Owner mentioned you on Notifica Srl',
      body: expect.stringContaining('The contract for Notifica Srl is ready to sign'),
    });
    // Both tabs heard of it (their bells count it): still one notification.
    for (const tab of [first, second])
      await poll(() => tab.getByTestId('notification-bell').getAttribute('aria-label')).toBe(
        'Notifications (1 unread)',
      );
    expect((await shown(first)).length + (await shown(second)).length).toBe(1);

    // A click focuses that tab and opens the note on its record; the notice is read.
    await leader!.evaluate(() =>
      (globalThis as unknown as PageGlobals).__instances[0]!.dispatchEvent(
        new (globalThis as unknown as PageGlobals).Event('click'),
      ),
    );
    await poll(() => leader!.url()).toBe(`${e2e.filo.baseUrl}/companies/${company.id}?tab=notes#note-${note.id}`);
    await poll(() => leader!.locator(`#note-${note.id}`).getAttribute('data-highlighted')).toBe('true');
    await poll(async () => {
      const list = await pageApi<{ unread: number }>(leader!, 'GET', '/api/notifications');
      return list.unread;
    }).toBe(0);

    // One Filo tab in front: no system notification, though the notice arrives everywhere.
    await first.bringToFront();
    await poll(() => visibility(first)).toBe('visible');
    await mention(luca, 'Davanti Spa');
    for (const tab of [first, second])
      await poll(() => tab.getByTestId('notification-bell').getAttribute('aria-label')).toBe(
        'Notifications (1 unread)',
      );
    expect((await shown(first)).length + (await shown(second)).length).toBe(1);
    for (const page of [first, second, elsewhere]) await page.close();
  }, 90_000);

  it('offers them politely (asked only on a click, "Not now" remembered) and saves the preferences live', async () => {
    const context = await e2e.newContext({ notificationOffer: true });
    await context.addInitScript(RECORD);
    const page = await context.newPage();
    await e2e.signIn(page, 'sara@filo.local');
    const offer = page.getByTestId('notify-offer');
    await poll(() => offer.isVisible()).toBe(true);
    expect(await offer.textContent()).toContain('Get notified when Filo is in the background');
    const asked = () => page.evaluate(() => (globalThis as unknown as PageGlobals).__asked);
    expect(await asked()).toBe(0);

    await page.getByRole('link', { name: 'Notification settings' }).click();
    await page.waitForURL(`${e2e.filo.baseUrl}/settings/notifications`);
    const prefs = page.getByTestId('notification-prefs');
    const saved = () => pageApi<Record<string, unknown>>(page, 'GET', '/api/auth/me/notification-prefs');
    const when = prefs.getByLabel('Email me about what I have not read');
    const browser = prefs.getByLabel('Show a system notification when every Filo tab is in the background');
    await when.selectOption('30');
    await poll(saved).toEqual(expect.objectContaining({ emailAfterMinutes: 30, digest: 'off' }));
    await prefs.getByLabel('Mentions').uncheck();
    await poll(saved).toEqual(
      expect.objectContaining({
        emailTypes: ['assignment', 'task_reminder', 'task_assigned', 'meeting_invitation', 'webhook_disabled'],
      }),
    );
    // Browser notifications off: no offer to turn them on; on again: it is back.
    await browser.uncheck();
    await poll(saved).toEqual(expect.objectContaining({ browser: false }));
    await poll(() => offer.isVisible()).toBe(false);
    // A change made while the previous save is still on its way is not overtaken by it: the first save is held
    // in the browser until the second choice is made, then let go.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let puts = 0;
    await page.route('**/api/auth/me/notification-prefs', async (route) => {
      if (route.request().method() === 'PUT' && ++puts === 1) await held;
      await route.continue();
    });
    await browser.check();
    await poll(() => offer.isVisible()).toBe(true);
    await when.selectOption('daily');
    release();
    await poll(saved).toEqual(expect.objectContaining({ digest: 'daily', browser: true }));
    expect(await when.inputValue()).toBe('daily');
    await page.unroute('**/api/auth/me/notification-prefs');

    await offer.getByRole('button', { name: 'Not now' }).click();
    await poll(() => offer.isVisible()).toBe(false);
    await page.reload();
    await poll(() => when.inputValue()).toBe('daily');
    expect(await prefs.getByLabel('Mentions').isChecked()).toBe(false);
    expect(await browser.isChecked()).toBe(true);
    expect(await offer.isVisible()).toBe(false);
    expect(await asked()).toBe(0);
    // Asked only now, on the user's click.
    await prefs.getByRole('button', { name: 'Allow notifications' }).click();
    await poll(asked).toBe(1);
  }, 60_000);
});

describe('the email of an unread notice', () => {
  it('links straight to the note', async () => {
    const mario = await memberId('mario@filo.local');
    const { company, note } = await mention(mario, 'Email Link Spa');
    const db = new pg.Client({ connectionString: e2e.databaseUrl });
    await db.connect();
    try {
      await db.query(`update notifications set created_at = now() - interval '20 minutes' where note_id = $1`, [
        note.id,
      ]);
    } finally {
      await db.end();
    }
    // The job's next run, now rather than at the minute.
    const boss = new PgBoss({
      connectionString: e2e.databaseUrl,
      schema: 'pgboss',
      supervise: false,
      schedule: false,
      migrate: false,
    });
    await boss.start();
    try {
      await boss.send('notify.unread-mail', {});
    } finally {
      await boss.stop({ graceful: false });
    }
    await poll(() => mailedLink(note.id), 30_000).toBeTruthy();
    const url = (await mailedLink(note.id))!;
    // PUBLIC_URL is localhost here; the browser signed in at 127.0.0.1: the same server, the link's own path.
    const link = new URL(url);
    expect(`${link.pathname}${link.search}${link.hash}`).toBe(`/companies/${company.id}?tab=notes#note-${note.id}`);

    const page = await (await e2e.newContext()).newPage();
    await e2e.signIn(page, 'mario@filo.local');
    await page.goto(`${e2e.filo.baseUrl}${link.pathname}${link.search}${link.hash}`);
    const shownNote = page.locator(`#note-${note.id}`);
    await poll(() => shownNote.getAttribute('data-highlighted')).toBe('true');
    expect(await shownNote.textContent()).toContain('The contract for Email Link Spa is ready to sign');
    const inView = await shownNote.evaluate((el) => {
      const r = el.getBoundingClientRect();
      return r.top >= 0 && r.bottom <= (globalThis as unknown as PageGlobals).innerHeight;
    });
    expect(inView).toBe(true);
  }, 60_000);
});
