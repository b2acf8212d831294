import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import type { BrowserContext, Page } from 'playwright-core';
import { DEMO } from '../support/harness.ts';
import { pageApi, useE2e } from '../support/e2e.ts';

/**
 * Every page of the app on a phone (390 x 844): the routes are read from web/src/routes, so a new page is walked
 * too (one with a parameter must be given an id below). Each must not scroll sideways and must show its main
 * heading; the sidebar is a drawer behind the header's menu button.
 */

const e2e = useE2e('phone');
const PHONE = { width: 390, height: 844 };
const ROUTES = path.resolve(import.meta.dirname, '../../web/src/routes');

/** Route ids (`/(app)/companies/[id]`) of every page, from the files. */
function routeIds(dir = ROUTES, prefix = ''): string[] {
  const ids: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) ids.push(...routeIds(path.join(dir, entry.name), `${prefix}/${entry.name}`));
    else if (entry.name === '+page.svelte') ids.push(prefix || '/');
  }
  return ids.sort();
}

/** The URL of a route id: groups dropped, parameters from `params`; null when a parameter has no value. */
function urlOf(id: string, params: Record<string, string>): string | null {
  let missing = false;
  const url = id
    .split('/')
    .filter((part) => part && !/^\(.*\)$/.test(part))
    .map((part) => {
      const param = part.match(/^\[\[?(\w+)\]?\]$/);
      if (!param) return part;
      const value = params[`${id}:${param[1]}`] ?? params[param[1]!];
      if (value === undefined) missing = !part.startsWith('[[');
      return value ?? '';
    })
    .filter(Boolean)
    .join('/');
  return missing ? null : `/${url}`;
}

/** Browser globals used in page functions (the tests compile without the DOM library). */
interface El {
  tagName: string;
  className: unknown;
  parentElement: El | null;
  getBoundingClientRect(): { right: number };
}
interface Doc {
  document: { scrollingElement: { scrollWidth: number; clientWidth: number }; querySelectorAll(s: string): El[] };
}

/** Waits for the page's main heading, then measures: null when all is well, else what is wrong. */
async function check(page: Page, url: string): Promise<string | null> {
  await page.goto(`${e2e.filo.baseUrl}${url}`);
  const heading = page.locator('h1').first();
  try {
    await expect.poll(() => heading.isVisible(), { timeout: 10_000 }).toBe(true);
  } catch {
    return `${url}: no visible h1`;
  }
  const box = await heading.boundingBox();
  if (!box || box.x < 0 || box.x + Math.min(box.width, 40) > PHONE.width) return `${url}: h1 off screen`;
  const { scrollWidth, clientWidth } = await page.evaluate(() => {
    const el = (globalThis as unknown as Doc).document.scrollingElement;
    return { scrollWidth: el.scrollWidth, clientWidth: el.clientWidth };
  });
  if (scrollWidth <= clientWidth) return null;
  // The widest culprits whose parent fits: where the fix goes.
  const culprits = await page.evaluate((width) => {
    const all = (globalThis as unknown as Doc).document.querySelectorAll('body *');
    const over = (el: El | null) => (el ? el.getBoundingClientRect().right > width + 1 : false);
    return Array.from(all)
      .filter((el) => over(el) && !over(el.parentElement))
      .slice(0, 3)
      .map((el) => `${el.tagName.toLowerCase()}.${String(el.className).split(' ').slice(0, 4).join('.')}`);
  }, clientWidth);
  return `${url}: scrolls sideways (${scrollWidth} > ${clientWidth}) at ${culprits.join(', ')}`;
}

/** The background-notification offer (a fixed panel at the bottom right) already declined: it covers toasts. */
const declineOffer = (context: BrowserContext) =>
  context.addInitScript(() =>
    (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem(
      'filo.notify.banner-dismissed',
      '1',
    ),
  );

describe('the app on a 390 px phone', () => {
  it('opens the navigation from the menu button, and every page fits the width with its heading shown', async () => {
    const context = await e2e.browser.newContext({ locale: 'en-US', viewport: PHONE, hasTouch: true });
    e2e.contexts.push(context);
    await declineOffer(context);
    const page = await context.newPage();
    await e2e.signIn(page, DEMO.email);

    // The sidebar is folded away; the menu button opens it, and following a link folds it again.
    const sidebar = page.getByTestId('app-sidebar');
    expect(await sidebar.isVisible()).toBe(false);
    await page.getByTestId('menu-button').click();
    await expect.poll(() => sidebar.isVisible()).toBe(true);
    await sidebar.getByRole('link', { name: 'Companies' }).click();
    await page.waitForURL(`${e2e.filo.baseUrl}/companies`);
    await expect.poll(() => sidebar.isVisible()).toBe(false);

    // Records for the pages that show one.
    const company = await pageApi<{ id: string }>(page, 'POST', '/api/crm/companies', {
      name: 'Ferramenta Telefonica di Lungo Nome S.r.l.',
      type: 'client',
      website: 'https://ferramenta-telefonica-con-un-indirizzo-molto-lungo.example/percorso/lungo',
    });
    const contact = await pageApi<{ id: string }>(page, 'POST', '/api/crm/contacts', {
      companyId: company.id,
      firstName: 'Giuseppina',
      lastName: 'Bartolomei-Santangelo',
      email: 'giuseppina.bartolomei-santangelo@ferramenta-telefonica.example',
    });
    await pageApi(page, 'POST', '/api/crm/deals', { companyId: company.id, title: 'Fornitura', value: 1200 });
    const list = await pageApi<{ id: string }>(page, 'POST', '/api/newsletters/lists', {
      name: 'Clienti',
      kind: 'static',
    });
    const campaign = await pageApi<{ id: string }>(page, 'POST', '/api/newsletters/campaigns', {
      name: 'Novità di dicembre',
    });
    const sequence = await pageApi<{ id: string }>(page, 'POST', '/api/sequences', {
      name: 'Ferramenta del nord: primo contatto, due richiami',
    });
    const meeting = await pageApi<{ id: string }>(page, 'POST', '/api/meetings', {
      title: 'Chiamata',
      companyId: company.id,
      scheduledAt: new Date(Date.now() + 86_400_000).toISOString(),
    });
    const mailbox = await pageApi<{ inboundAddress: string }>(page, 'POST', '/api/inbox/mailboxes', {
      name: 'Assistenza',
      localPart: 'assistenza',
    });
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: e2e.filo.smtpPort,
      secure: false,
      ignoreTLS: true,
    });
    try {
      await transport.sendMail({
        from: 'Cliente <cliente@ferramenta-telefonica.example>',
        to: mailbox.inboundAddress,
        subject: 'Una domanda dal telefono',
        text: 'Buongiorno, '.repeat(80),
      });
    } finally {
      transport.close();
    }
    let conversationId = '';
    await expect
      .poll(
        async () => {
          const found = await pageApi<{ items: { id: string }[] }>(page, 'GET', '/api/inbox/conversations');
          conversationId = found.items[0]?.id ?? '';
          return conversationId;
        },
        { timeout: 30_000 },
      )
      .not.toBe('');
    const { token } = await pageApi<{ token: string }>(page, 'POST', '/api/tokens', {
      name: 'Wall',
      scope: 'read',
    });

    const params: Record<string, string> = {
      '/(app)/companies/[id]:id': company.id,
      '/(app)/contacts/[id]:id': contact.id,
      '/(app)/inbox/[[id]]:id': conversationId,
      '/call/[id]:id': meeting.id,
      '/wall/company/[id]:id': company.id,
      '/(app)/newsletters/campaigns/[id]:id': campaign.id,
      '/(app)/newsletters/campaigns/[id]/report:id': campaign.id,
      '/(app)/newsletters/lists/[id]:id': list.id,
      '/(app)/sequences/[id]:id': sequence.id,
    };
    // Pages of a signed-out visitor, walked in a context of their own.
    const signedOut = new Set(['/login', '/signup', '/signup/confirm', '/invite']);
    const ids = routeIds();
    const unmapped = ids.filter((id) => urlOf(id, params) === null);
    expect(unmapped).toEqual([]);

    const problems: string[] = [];
    for (const id of ids) {
      if (signedOut.has(id)) continue;
      let url = urlOf(id, params)!;
      if (id.startsWith('/wall')) url += `#token=${token}`;
      const problem = await check(page, url);
      if (problem) problems.push(problem);
    }
    // The inbox without a conversation open too (the list pane).
    const inbox = await check(page, '/inbox');
    if (inbox) problems.push(inbox);

    const visitor = await (
      await e2e.browser.newContext({ locale: 'en-US', viewport: PHONE, hasTouch: true })
    ).newPage();
    e2e.contexts.push(visitor.context());
    for (const id of signedOut) {
      const problem = await check(visitor, urlOf(id, params)!);
      if (problem) problems.push(problem);
    }
    expect(problems).toEqual([]);
  }, 180_000);
});
