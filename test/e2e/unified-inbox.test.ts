import { beforeAll, describe, expect, it, vi } from 'vitest';
import nodemailer from 'nodemailer';
import type { Locator, Page, Route } from 'playwright-core';
import { apiClient, DEMO, login, type ApiClient } from '../support/harness.ts';
import { useE2e } from '../support/e2e.ts';
import { withAdmin as withDatabase } from '../support/postgres.ts';

/**
 * The unified inbox in a browser: the sidebar groups the team's shared inboxes and the member's accounts (a
 * failing account shows its warning), the filters and the search narrow the list and stay in the URL, and the
 * unread badge on "Inbox" in the app's navigation follows new mail without a reload.
 */

const e2e = useE2e('unified-inbox');
const poll = <T>(fn: () => Promise<T> | T, timeout = 15_000) => expect.poll(fn, { timeout });

let owner: ApiClient;
let page: Page | undefined;
const box = { support: '', gmail: '', outlook: '' };
const address = { support: '', gmail: '', outlook: '' };

async function deliver(to: string, subject: string, text: string, from = 'Marta Cliente <marta@cliente-e2e.test>') {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: e2e.filo.smtpPort,
    secure: false,
    ignoreTLS: true,
  });
  try {
    await transport.sendMail({ from, to, subject, text });
  } finally {
    transport.close();
  }
}

/** The conversation's id once the gateway has processed it (polled: processing is a background job). */
const conversationId = (subject: string): Promise<string> =>
  vi.waitFor(
    async () => {
      const page = await owner.json<{ items: { id: string; subject: string }[] }>('GET', '/api/inbox/conversations');
      const id = page.items.find((c) => c.subject === subject)?.id;
      if (!id) throw new Error(`no conversation “${subject}” yet`);
      return id;
    },
    { timeout: 20_000, interval: 100 },
  );

/** The subjects the list shows, sorted. */
const subjects = async (page: Page) =>
  (await page.getByTestId('conversation-subject').allTextContents()).map((s) => s.trim()).sort();
const group = (page: Page, name: string): Locator =>
  page.locator(`[data-testid="inbox-mailbox-group"][data-group="${name}"]`);
const navBadge = (page: Page) => page.getByTestId('nav-inbox-unread');

beforeAll(async () => {
  owner = apiClient(e2e.filo.baseUrl, await login(e2e.filo.baseUrl));
  for (const [key, name, localPart] of [
    ['support', 'Support', 'support'],
    ['gmail', 'Demo Gmail', 'demo-gmail'],
    ['outlook', 'Luca Outlook', 'luca-outlook'],
  ] as const) {
    const mailbox = await owner.json('POST', '/api/inbox/mailboxes', { name, localPart });
    box[key] = mailbox.id;
    address[key] = mailbox.inboundAddress;
  }
  await deliver(address.support, 'Fattura aprile', 'Il pagamento è in ritardo.');
  await deliver(
    address.gmail,
    'Preventivo pangolino',
    'Il preventivo richiesto.',
    'Paolo Colombo <paolo@colombo-e2e.test>',
  );
  await deliver(address.outlook, 'Spedizione casse', 'Le casse sono partite dal magazzino.');
  for (const subject of ['Fattura aprile', 'Preventivo pangolino', 'Spedizione casse']) await conversationId(subject);
  // Two of the mailboxes become accounts (the accounts' own screens connect real ones): the demo owner's own, failing
  // to sign in, and Luca's, shared with the owner.
  await withDatabase(e2e.databaseUrl, async (c) => {
    const users = await c.query<{ id: string; email: string }>(
      `select id, email from users where email in ('demo@filo.local', 'luca@filo.local')`,
    );
    const demo = users.rows.find((u) => u.email === 'demo@filo.local')!.id;
    const luca = users.rows.find((u) => u.email === 'luca@filo.local')!.id;
    for (const [mailboxId, ownerId, members, email, status, error] of [
      [box.gmail, demo, [demo], 'demo@gmail-e2e.test', 'error', 'Invalid credentials (Failure)'],
      [box.outlook, luca, [luca, demo], 'luca@outlook-e2e.test', 'connected', null],
    ] as const) {
      await c.query(`update mailboxes set kind = 'account', private = true, member_ids = $2 where id = $1`, [
        mailboxId,
        members,
      ]);
      await c.query(
        // Not enabled: the sync engine leaves it alone (its hosts do not exist), so its health stays as written.
        `insert into email_accounts (id, tenant_id, mailbox_id, owner_id, email, imap_host, imap_port, imap_user,
                                     smtp_host, smtp_port, smtp_user, enabled, status, last_error)
         select gen_random_uuid(), m.tenant_id, m.id, $2, $3, 'imap.e2e.test', 993, $3, 'smtp.e2e.test', 465, $3,
                false, $4, $5
           from mailboxes m where m.id = $1`,
        [mailboxId, ownerId, email, status, error],
      );
    }
  });
});

/** The demo owner's browser, signed in once for the file (signing in polls, so it runs inside a test). */
async function signedIn(): Promise<Page> {
  if (!page) {
    page = await (await e2e.newContext()).newPage();
    await e2e.signIn(page, DEMO.email);
  }
  return page;
}

describe('the unified inbox', () => {
  it('groups shared inboxes and accounts, and a failing account shows its warning', async () => {
    const page = await signedIn();
    await page.goto(`${e2e.filo.baseUrl}/inbox`);
    await poll(() => group(page, 'shared').getByTestId('inbox-mailbox-item').allTextContents()).toEqual([
      expect.stringContaining('Support'),
    ]);
    expect(await group(page, 'own').getByTestId('inbox-mailbox-item').allTextContents()).toEqual([
      expect.stringContaining('Demo Gmail'),
    ]);
    expect(await group(page, 'shared-with-me').getByTestId('inbox-mailbox-item').allTextContents()).toEqual([
      expect.stringContaining('Luca Outlook'),
    ]);
    expect(await group(page, 'own').locator('h3').textContent()).toBe('My accounts');
    const warning = group(page, 'own').getByTestId('account-warning');
    expect(await warning.getAttribute('aria-label')).toBe(
      'demo@gmail-e2e.test is not syncing: Invalid credentials (Failure)',
    );
    expect(await group(page, 'shared-with-me').getByTestId('account-warning').count()).toBe(0);
    await poll(() => subjects(page)).toEqual(['Fattura aprile', 'Preventivo pangolino', 'Spedizione casse']);

    // Settings > Mailboxes lists only the team's shared inboxes: accounts have their own page.
    await page.goto(`${e2e.filo.baseUrl}/settings/mailboxes`);
    await poll(() => page.getByText('Support', { exact: true }).count()).toBeGreaterThan(0);
    expect(await page.getByText('Demo Gmail').count()).toBe(0);
    expect(await page.getByText('Luca Outlook').count()).toBe(0);
  });

  it('drops a refresh asked for under filters the user has changed since', async () => {
    const page = await signedIn();
    // A fresh load asks for the list, then refreshes it once the socket has joined the mailboxes' rooms: that
    // refresh is held unanswered until the list has been narrowed to one account.
    let held: Route | undefined;
    let unfiltered = 0;
    const heldNow = new Promise<void>((resolve) => {
      void page.route(/\/api\/inbox\/conversations\?/, async (route) => {
        if (!new URL(route.request().url()).searchParams.has('mailboxId') && ++unfiltered === 2) {
          held = route;
          resolve();
          return;
        }
        await route.continue();
      });
    });
    try {
      await page.goto(`${e2e.filo.baseUrl}/inbox`);
      await poll(() => subjects(page)).toHaveLength(3);
      await heldNow;
      await group(page, 'own').getByTestId('inbox-mailbox-item').click();
      await poll(() => subjects(page)).toEqual(['Preventivo pangolino']);

      // The late answer, for every mailbox, arrives: the narrowed list stays as it is.
      const answered = page.waitForResponse((r) => r.request() === held!.request());
      await held!.continue();
      await (await answered).finished();
      // Two frames: the answer's handling and the list's redraw are over.
      await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))');
      expect(await subjects(page)).toEqual(['Preventivo pangolino']);
    } finally {
      await page.unroute(/\/api\/inbox\/conversations\?/);
    }
  });

  it('narrows the list by account, several mailboxes, search and unread, and keeps the view in the URL', async () => {
    const page = await signedIn();
    await page.goto(`${e2e.filo.baseUrl}/inbox`);
    await poll(() => subjects(page)).toHaveLength(3);

    await group(page, 'own').getByTestId('inbox-mailbox-item').click();
    await poll(() => subjects(page)).toEqual(['Preventivo pangolino']);
    await poll(() => new URL(page.url()).search).toBe(`?mailbox=${box.gmail}`);

    await group(page, 'shared').getByTestId('inbox-mailbox-include').check();
    await poll(() => subjects(page)).toEqual(['Fattura aprile', 'Preventivo pangolino']);
    await poll(() => new URL(page.url()).search).toBe(`?mailbox=${box.gmail},${box.support}`);

    await page.getByTestId('inbox-all-mailboxes').click();
    await page.getByTestId('inbox-search').fill('magazzino');
    await page.getByTestId('inbox-search').press('Enter');
    await poll(() => subjects(page)).toEqual(['Spedizione casse']);
    await poll(() => new URL(page.url()).search).toBe('?q=magazzino');

    // The view as a bookmark: a fresh load of the URL shows the same list, the search in its box.
    await page.goto(`${e2e.filo.baseUrl}/inbox?q=colombo`);
    await poll(() => subjects(page)).toEqual(['Preventivo pangolino']);
    expect(await page.getByTestId('inbox-search').inputValue()).toBe('colombo');
    await page.getByTestId('inbox-search').fill('nessunaparolacosì');
    await page.getByTestId('inbox-search').press('Enter');
    await poll(() => page.getByTestId('conversation-list-empty').textContent()).toContain(
      'Nothing matches these filters',
    );
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await poll(() => subjects(page)).toHaveLength(3);

    // Reading a conversation takes it out of "unread only" (on the next load of the list).
    await page.getByTestId('conversation-item').filter({ hasText: 'Fattura aprile' }).click();
    await page.waitForURL(/\/inbox\/[0-9a-f-]{36}$/);
    await poll(() => page.getByTestId('conversation-title').textContent()).toContain('Fattura aprile');
    await page.goto(`${e2e.filo.baseUrl}/inbox?unread=1`);
    await poll(() => subjects(page)).toEqual(['Preventivo pangolino', 'Spedizione casse']);
    expect(await page.getByTestId('inbox-unread-filter').getAttribute('aria-pressed')).toBe('true');

    await page.getByTestId('inbox-assignee-filter').selectOption('me');
    await poll(() => page.getByTestId('conversation-list-empty').count()).toBe(1);
    await poll(() => new URL(page.url()).search).toBe('?assignee=me&unread=1');
  });

  it('updates the unread badge on "Inbox" live when mail arrives, on any screen', async () => {
    const page = await signedIn();
    await page.goto(`${e2e.filo.baseUrl}/companies`);
    // Fattura aprile was read above: the other two are unread.
    await poll(() => navBadge(page).textContent()).toContain('2');
    await deliver(address.support, 'Ordine urgente', 'Serve entro venerdì.');
    await poll(() => navBadge(page).textContent(), 20_000).toContain('3');
    expect(await navBadge(page).textContent()).toContain('3 unread conversations');

    // And in the inbox's sidebar, per mailbox.
    await page.goto(`${e2e.filo.baseUrl}/inbox`);
    await poll(() => group(page, 'shared').getByTestId('count-unread').textContent()).toBe('1');
    await deliver(address.support, 'Ordine urgente bis', 'Ancora.');
    await poll(() => group(page, 'shared').getByTestId('count-unread').textContent(), 20_000).toBe('2');
    await poll(() => navBadge(page).textContent()).toContain('4');
  });
});
