import { describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import type { Page } from 'playwright-core';
import { readOutbox } from '../../server/delivery/mailer.ts';
import { DEMO } from '../support/harness.ts';
import { pageApi, useE2e } from '../support/e2e.ts';

const e2e = useE2e('settings');
const poll = expect.poll;
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

/** Texts of the mails the development outbox kept for `to`, oldest first. */
async function mailsTo(to: string): Promise<string[]> {
  const texts: string[] = [];
  for (const { raw } of readOutbox(`${e2e.dataDir}/outbox`)) {
    const mail = await simpleParser(raw);
    if (mail.to && !Array.isArray(mail.to) && mail.to.text === to) texts.push(mail.text ?? '');
  }
  return texts;
}

const newPage = async (width = 1440, height = 900) => {
  const page = await (await e2e.newContext()).newPage();
  await page.setViewportSize({ width, height });
  return page;
};

/** Nothing on the page is wider than the window (no sideways scrolling at a phone's width). */
const fitsWidth = (page: Page) =>
  page.evaluate(() => {
    const w = globalThis as unknown as { innerWidth: number; document: { documentElement: { scrollWidth: number } } };
    return w.document.documentElement.scrollWidth <= w.innerWidth;
  });

describe('settings a team needs, in the browser', () => {
  it('changes name, picture and language on the profile page', async () => {
    const page = await newPage();
    await e2e.signIn(page, 'mario@filo.local');
    await page.goto(`${e2e.filo.baseUrl}/settings/account`);
    await page.getByLabel('Name').fill('Mario Verdi');
    await page.getByTestId('avatar-input').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: PNG });
    const avatar = page.getByTestId('user-menu-avatar');
    await avatar.waitFor();
    await poll(() => avatar.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth > 0)).toBe(
      true,
    );
    await page.getByLabel('Language').selectOption('it');
    await page.getByRole('button', { name: 'Save profile' }).click();
    // Saved in Italian: the page now speaks it, and the name is in the user menu.
    await page.getByRole('status').filter({ hasText: 'Profilo salvato' }).waitFor();
    await poll(() => page.getByRole('heading', { name: 'Profilo' }).isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: /Menu/i }).textContent()).toContain('Mario Verdi');
    // The notification preferences live on the same page.
    await page.getByTestId('notification-prefs').waitFor();
    const me = await pageApi<{ user: { name: string; locale: string; avatarUrl: string } }>(
      page,
      'GET',
      '/api/auth/me',
    );
    expect(me.user).toMatchObject({ name: 'Mario Verdi', locale: 'it' });
    expect(me.user.avatarUrl).toMatch(/^\/api\/users\//);
  }, 90_000);

  it('resets a forgotten password through the mailed link, then signs in with it; the link works once', async () => {
    const page = await newPage(390, 844);
    await page.goto(`${e2e.filo.baseUrl}/login`);
    await page.getByRole('link', { name: 'Forgot password?' }).click();
    // The sign-in page has an Email field too: fill the reset page's, once it is there.
    await page.waitForURL(/\/forgot-password$/);
    await page.getByRole('button', { name: 'Email me a link' }).waitFor();
    await page.getByLabel('Email').fill('luca@filo.local');
    await page.getByRole('button', { name: 'Email me a link' }).click();
    await page.getByRole('status').filter({ hasText: 'luca@filo.local' }).waitFor();
    expect(await fitsWidth(page)).toBe(true);
    let link = '';
    await poll(
      async () =>
        (link =
          /https?:\/\/\S+\/reset-password#token=[\w-]+/.exec((await mailsTo('luca@filo.local')).at(-1) ?? '')?.[0] ??
          ''),
      { timeout: 10_000 },
    ).not.toBe('');
    const newPassword = 'Velvet-compass-harbour-93';
    // The mail links to PUBLIC_URL (localhost); the test's browser speaks to the same server by its address.
    const { pathname, hash } = new URL(link);
    link = `${e2e.filo.baseUrl}${pathname}${hash}`;
    await page.goto(link);
    await page.getByLabel('New password', { exact: true }).fill(newPassword);
    await page.getByLabel('New password again').fill(newPassword);
    await page.getByRole('button', { name: 'Set the new password' }).click();
    await page.waitForURL(`${e2e.filo.baseUrl}/`);
    await poll(() => page.getByTestId('connection-status').textContent(), { timeout: 10_000 }).toContain('Live');

    // Used: a second visit says so.
    const again = await newPage();
    await again.goto(link);
    await again.getByText('This link was already used').waitFor();
    // The new password signs in; the old one no longer does.
    await again.goto(`${e2e.filo.baseUrl}/login`);
    await again.getByLabel('Email').fill('luca@filo.local');
    await again.getByLabel('Password').fill(DEMO.password);
    await again.getByRole('button', { name: 'Sign in' }).click();
    await again.getByText('Email or password is not correct').waitFor();
    await again.getByLabel('Password').fill(newPassword);
    await again.getByRole('button', { name: 'Sign in' }).click();
    await again.waitForURL(`${e2e.filo.baseUrl}/`);
  }, 90_000);

  it('edits the workspace settings and logo, at 1440 px and at 390 px', async () => {
    const page = await newPage();
    await e2e.signIn(page, DEMO.email);
    await page.goto(`${e2e.filo.baseUrl}/settings/workspace`);
    const name = page.getByLabel('Workspace name');
    await poll(() => name.inputValue()).not.toBe('');
    await name.fill('Filo Demo Italia');
    await page.getByLabel('Default currency').selectOption('USD');
    await page.getByLabel('Time zone').selectOption('America/New_York');
    await page.getByLabel('Set business hours').check();
    await page.getByLabel('Saturday').check();
    await page.getByLabel('Opens').fill('08:30');
    await page.getByLabel('Closes').fill('17:00');
    await page.getByRole('button', { name: 'Save workspace settings' }).click();
    await page.getByRole('status').filter({ hasText: 'Workspace settings saved' }).waitFor();
    await page.getByTestId('logo-input').setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: PNG });
    await page.getByTestId('workspace-logo').waitFor();
    const settings = await pageApi<Record<string, unknown>>(page, 'GET', '/api/team/workspace');
    expect(settings).toMatchObject({
      name: 'Filo Demo Italia',
      currency: 'USD',
      timeZone: 'America/New_York',
      businessHours: { days: [1, 2, 3, 4, 5, 6], start: '08:30', end: '17:00' },
    });

    // A member sees the settings and cannot change them.
    const phone = await newPage(390, 844);
    await e2e.signIn(phone, 'sara@filo.local');
    await phone.goto(`${e2e.filo.baseUrl}/settings/workspace`);
    await phone.getByText('Only owners and admins can change').waitFor();
    await poll(() => phone.getByLabel('Workspace name').inputValue()).toBe('Filo Demo Italia');
    expect(await phone.getByLabel('Workspace name').isDisabled()).toBe(true);
    expect(await phone.getByRole('button', { name: 'Save workspace settings' }).count()).toBe(0);
    expect(await fitsWidth(phone)).toBe(true);
  }, 90_000);

  it('resends and revokes invitations: the old link fails, then none does', async () => {
    const page = await newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    await e2e.signIn(page, DEMO.email);
    await page.goto(`${e2e.filo.baseUrl}/settings/team`);
    await page.getByLabel('Email').fill('newcomer@example.com');
    await page.getByRole('button', { name: /Send invitation/i }).click();
    const row = page.getByTestId('pending-invitation').filter({ hasText: 'newcomer@example.com' });
    await row.waitFor();
    const firstLink = /\/invite#[\w-]+/.exec((await mailsTo('newcomer@example.com'))[0] ?? '')![0];

    await row.getByRole('button', { name: 'Resend' }).click();
    await page.getByText('A new link was mailed to newcomer@example.com').waitFor();
    await poll(async () => (await mailsTo('newcomer@example.com')).length).toBe(2);
    const secondLink = /\/invite#[\w-]+/.exec((await mailsTo('newcomer@example.com'))[1]!)![0];
    expect(secondLink).not.toBe(firstLink);

    const join = async (link: string) => {
      const guest = await newPage();
      await guest.goto(`${e2e.filo.baseUrl}${link}`);
      await guest.getByLabel('Your name').fill('New Comer');
      await guest.getByLabel('Password').fill('Granite-willow-river-42');
      await guest.getByRole('button', { name: 'Join workspace' }).click();
      return guest;
    };
    await (await join(firstLink)).getByText('This invitation is not valid any more').waitFor();

    await row.getByRole('button', { name: 'Revoke' }).click();
    await poll(() => row.count()).toBe(0);
    await (await join(secondLink)).getByText('This invitation is not valid any more').waitFor();
  }, 90_000);

  it('opens the bell: the latest notices, live; a click goes there and marks it read; mark all; see all', async () => {
    const owner = await newPage();
    await e2e.signIn(owner, DEMO.email);
    const sara = await newPage(390, 844);
    await e2e.signIn(sara, 'sara@filo.local');
    const members = await pageApi<{ items: { userId: string; email: string }[] }>(owner, 'GET', '/api/team/members');
    const saraId = members.items.find((m) => m.email === 'sara@filo.local')!.userId;
    const companies = { items: [] as { id: string }[] };
    for (const name of ['Bell Alpha', 'Bell Beta'])
      companies.items.push(
        await pageApi<{ id: string }>(owner, 'POST', '/api/crm/companies', { name, type: 'client' }),
      );
    const mention = (company: { id: string }, text: string) =>
      pageApi(owner, 'POST', '/api/crm/notes', {
        entityType: 'company',
        entityId: company.id,
        content: text,
        mentions: [saraId],
      });
    await mention(companies.items[0]!, 'First look at the numbers');

    await poll(() => sara.getByTestId('notification-count').textContent()).toBe('1');
    await sara.getByTestId('notification-bell').click();
    const dropdown = sara.getByTestId('notification-dropdown');
    await dropdown.waitFor();
    const box = (await dropdown.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(390);
    // A notice arriving while the dropdown is open appears at its top, unread (bold).
    await mention(companies.items[1]!, 'Second: the renewal');
    await poll(() => dropdown.getByTestId('bell-item').count()).toBe(2);
    expect(await dropdown.getByTestId('bell-item').first().getAttribute('data-unread')).toBe('true');
    expect(await dropdown.getByTestId('bell-item').first().locator('.font-semibold').count()).toBe(1);
    await poll(() => sara.getByTestId('notification-count').textContent()).toBe('2');

    await dropdown.getByTestId('bell-item').first().click();
    await sara.waitForURL(`**/companies/${companies.items[1]!.id}**`);
    await poll(() => sara.getByTestId('notification-count').textContent()).toBe('1');

    // The list the dropdown asks for on opening answers only after "Mark all read" did: that stale answer must not
    // bring the notices back unread (the list is asked again).
    const isList = (url: URL) => url.pathname === '/api/notifications';
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await sara.route(isList, async (route) => {
      if (route.request().method() === 'GET') await held;
      await route.continue();
    });
    const firstList = sara.waitForRequest((r) => isList(new URL(r.url())) && r.method() === 'GET');
    await sara.getByTestId('notification-bell').click();
    await firstList;
    await dropdown.getByRole('button', { name: 'Mark all read' }).click();
    await poll(() => sara.getByTestId('notification-count').count()).toBe(0);
    const askedAgain = sara.waitForRequest((r) => isList(new URL(r.url())) && r.method() === 'GET');
    release();
    await askedAgain;
    await sara.unroute(isList);
    await poll(() => dropdown.locator('[data-unread]').count()).toBe(0);
    expect(await sara.getByTestId('notification-count').count()).toBe(0);
    await dropdown.getByRole('link', { name: 'See all notifications' }).click();
    await sara.waitForURL(`${e2e.filo.baseUrl}/notifications`);
    expect(await sara.getByTestId('notification').count()).toBe(2);
  }, 90_000);
  it('shows an admin the system health (database, queues) refreshing by itself, and a member nothing of it', async () => {
    const page = await newPage();
    await e2e.signIn(page, DEMO.email);
    await page.goto(`${e2e.filo.baseUrl}/settings`);
    await page.getByRole('link', { name: 'System' }).click();
    await page.getByRole('heading', { name: 'System health' }).waitFor();
    await poll(() => page.getByTestId('system-status').textContent()).toBe('Ready');
    const database = page.locator('[data-testid="system-check"][data-check="database"]');
    expect(await database.textContent()).toContain('OK');
    // No REDIS_URL here: a single node has no Redis check to show.
    expect(await page.locator('[data-testid="system-check"][data-check="redis"]').count()).toBe(0);
    const inbound = page.locator('[data-testid="queue-row"][data-queue="inbound.process"]');
    await inbound.waitFor();
    expect(Number(await inbound.getByTestId('queue-depth').textContent())).toBeGreaterThanOrEqual(0);
    // Refreshed without a reload: the time of the check moves on.
    const checked = () => page.getByTestId('checked-at').getAttribute('datetime');
    const first = await checked();
    await poll(checked, { timeout: 20_000 }).not.toBe(first);

    // Sara: Luca's password was reset by the test above.
    const member = await newPage();
    await e2e.signIn(member, 'sara@filo.local');
    await member.goto(`${e2e.filo.baseUrl}/settings/system`);
    await member.getByText('Only workspace owners and admins see the system health.').waitFor();
    expect(await member.getByTestId('queue-row').count()).toBe(0);
    const refused = await pageApi(member, 'GET', '/api/system/health').then(String, (e: Error) => e.message);
    expect(refused).toContain('403');
  });
});
