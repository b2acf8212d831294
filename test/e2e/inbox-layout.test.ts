import { beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import type { Locator, Page } from 'playwright-core';
import { apiClient, login, type ApiClient } from '../support/harness.ts';
import { useE2e } from '../support/e2e.ts';

/**
 * The inbox as an app shell in Chromium: with 50 conversations the page itself never scrolls (only the list
 * and reading panes do), a long sender name is cut before the SPF/DKIM/DMARC badges, and a refused assignment
 * puts the select back.
 */

const e2e = useE2e('inbox-layout');
const COUNT = 50;
// No space nor hyphen: nothing to wrap at, so only an ellipsis keeps it off the badges.
const LONG_NAME = 'Amministrazione_Contabilita_Fornitori_Clienti_Esteri_'.repeat(4);

let owner: ApiClient;

/** The browser globals the page functions below use (the tests compile without the DOM library). */
interface Rect {
  left: number;
  top: number;
  right: number;
  bottom: number;
}
interface PageNode {
  parentElement: PageNode | null;
  getBoundingClientRect(): Rect;
}
interface PageWindow {
  document: {
    scrollingElement: { scrollTop: number; scrollHeight: number; clientHeight: number };
    createRange(): { selectNodeContents(n: PageNode): void; getBoundingClientRect(): Rect };
  };
  getComputedStyle(n: PageNode): { overflowX: string; textOverflow: string };
}

beforeAll(async () => {
  owner = apiClient(e2e.filo.baseUrl, await login(e2e.filo.baseUrl));
  const support = await owner.json<{ inboundAddress: string }>('POST', '/api/inbox/mailboxes', {
    name: 'Support',
    localPart: 'support',
  });
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: e2e.filo.smtpPort,
    secure: false,
    ignoreTLS: true,
  });
  try {
    for (let i = 1; i <= COUNT; i++)
      await transport.sendMail({
        from: i === 1 ? { name: LONG_NAME, address: 'long@cliente-layout.test' } : `Cliente ${i} <c${i}@layout.test>`,
        to: support.inboundAddress,
        subject: i === 1 ? 'Long sender' : `Layout question ${i}`,
        text: `Message ${i}`,
      });
  } finally {
    transport.close();
  }
}, 120_000);

async function openInbox(): Promise<Page> {
  // Every message processed (by the gateway's job) before the inbox is opened.
  await expect
    .poll(
      async () => (await owner.json<{ items: unknown[] }>('GET', '/api/inbox/conversations?limit=100')).items.length,
      { timeout: 60_000 },
    )
    .toBe(COUNT);
  const page = await (await e2e.newContext()).newPage();
  await e2e.signIn(page, 'demo@filo.local');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Inbox' }).click();
  await expect.poll(() => page.getByTestId('conversation-item').count(), { timeout: 15_000 }).toBe(COUNT);
  return page;
}

const scrollTop = (l: Locator) => l.evaluate((el) => el.scrollTop);
const documentScroll = (page: Page) =>
  page.evaluate(() => {
    const root = (globalThis as unknown as PageWindow).document.scrollingElement;
    return { top: root.scrollTop, below: root.scrollHeight - root.clientHeight - root.scrollTop };
  });

/** The part of the element's text that is painted: its text's box, clipped by every clipping ancestor. */
const paintedTextBox = (l: Locator) =>
  l.evaluate((el) => {
    const range = (globalThis as unknown as PageWindow).document.createRange();
    range.selectNodeContents(el);
    const r = range.getBoundingClientRect();
    let box = { left: r.left, top: r.top, right: r.right, bottom: r.bottom };
    for (let a: PageNode | null = el; a; a = a.parentElement) {
      if ((globalThis as unknown as PageWindow).getComputedStyle(a).overflowX === 'visible') continue;
      const c = a.getBoundingClientRect();
      box = {
        left: Math.max(box.left, c.left),
        top: Math.max(box.top, c.top),
        right: Math.min(box.right, c.right),
        bottom: Math.min(box.bottom, c.bottom),
      };
    }
    return box;
  });

describe('inbox layout', () => {
  it('scrolls only the panes: wheel over the header leaves the page at the top, the list scrolls', async () => {
    const page = await openInbox();
    const header = page.locator('header').first();
    const box = (await header.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    for (let i = 0; i < 5; i++) await page.mouse.wheel(0, 1000);
    // Wheel over the list afterwards: once the list has moved, the header's wheel events were handled too.
    const pane = page.getByTestId('conversation-list-pane');
    const paneBox = (await pane.boundingBox())!;
    await page.mouse.move(paneBox.x + paneBox.width / 2, paneBox.y + paneBox.height / 2);
    await page.mouse.wheel(0, 600);
    await expect.poll(() => scrollTop(pane)).toBeGreaterThan(0);
    // The page is exactly the window, at its top: nothing below it to scroll to.
    expect(await documentScroll(page)).toEqual({ top: 0, below: 0 });
    // The last conversation is reachable inside the list.
    await page.getByTestId('conversation-item').last().scrollIntoViewIfNeeded();
    expect(await documentScroll(page)).toEqual({ top: 0, below: 0 });
    expect(await page.getByTestId('conversation-item').last().isVisible()).toBe(true);
  }, 60_000);

  it('cuts a long sender name with an ellipsis before the authentication badges', async () => {
    const page = await openInbox();
    await page.getByTestId('conversation-item').filter({ hasText: 'Long sender' }).click();
    await page.waitForURL(/\/inbox\/[0-9a-f-]{36}$/);
    const message = page.getByTestId('email-message');
    await expect.poll(() => message.count(), { timeout: 15_000 }).toBe(1);
    const name = message.getByText(LONG_NAME.slice(0, 40)).first();
    expect(await name.textContent()).toContain(LONG_NAME);
    const text = await paintedTextBox(name);
    const header = (await message.locator('header').boundingBox())!;
    expect(text.right).toBeLessThanOrEqual(header.x + header.width);
    for (const check of ['spf', 'dkim', 'dmarc']) {
      const badge = (await page.getByTestId(`auth-${check}`).boundingBox())!;
      const apart =
        text.right <= badge.x ||
        badge.x + badge.width <= text.left ||
        text.bottom <= badge.y ||
        badge.y + badge.height <= text.top;
      expect(apart, `${check} badge ${JSON.stringify(badge)} under the name ${JSON.stringify(text)}`).toBe(true);
    }
    expect(await name.evaluate((el) => (globalThis as unknown as PageWindow).getComputedStyle(el).textOverflow)).toBe(
      'ellipsis',
    );
    expect(await name.evaluate((el) => el.scrollWidth > el.clientWidth)).toBe(true);
  }, 60_000);

  it('puts the assignee select back and says so when the change is refused', async () => {
    const page = await openInbox();
    await page.getByTestId('conversation-item').filter({ hasText: 'Layout question 7' }).click();
    const select = page.getByTestId('assignee-select');
    await expect.poll(() => select.count(), { timeout: 15_000 }).toBe(1);
    expect(await select.inputValue()).toBe('');
    await page.route('**/api/inbox/conversations/*', (route) =>
      route.request().method() === 'PATCH'
        ? route.fulfill({
            status: 500,
            contentType: 'application/json',
            body: JSON.stringify({ error: { code: 'internal_error', message: 'Something went wrong on our side' } }),
          })
        : route.fallback(),
    );
    await select.selectOption({ label: 'Sara Bianchi' });
    await expect.poll(() => page.getByTestId('toast').textContent()).toContain('Something went wrong');
    await expect.poll(() => select.inputValue()).toBe('');
    expect(await select.isEnabled()).toBe(true);
    // The list row shows no assignee either.
    const row = page.getByTestId('conversation-item').filter({ hasText: 'Layout question 7' });
    expect(await row.getByTestId('conversation-assignee').count()).toBe(0);
  }, 60_000);
});
