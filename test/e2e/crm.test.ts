import { describe, expect, it } from 'vitest';
import type { Locator, Page } from 'playwright-core';
import { DEMO, signupLinkToken } from '../support/harness.ts';
import { useE2e } from '../support/e2e.ts';

/**
 * The CRM screens in Chromium against a real server: sign-up, a company card with a contact and a deal, the
 * deal board's drag and drop, and a mention that reaches a teammate's open card and bell without a reload.
 */

/** Playwright-style auto-waiting for any condition: retried until it holds, for up to 10 s (no fixed sleeps). */
const poll = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 10_000 });

const e2e = useE2e('crm');

async function newPage(): Promise<Page> {
  return (await e2e.newContext()).newPage();
}

/** Creates a company from the list's dialog and lands on its card; returns the card's URL. */
async function createCompany(page: Page, name: string): Promise<string> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Companies' }).click();
  await page.getByRole('button', { name: '+ New company' }).click();
  const dialog = page.getByRole('dialog', { name: 'New company' });
  await dialog.getByLabel('Name', { exact: true }).fill(name);
  await dialog.getByRole('button', { name: 'Create' }).click();
  await page.waitForURL(/\/companies\/[0-9a-f-]{36}$/);
  await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(name);
  return page.url();
}

async function openTab(page: Page, name: string) {
  await page.getByRole('tab', { name: new RegExp(`^${name}`) }).click();
  await poll(() => page.getByRole('tab', { name: new RegExp(`^${name}`) }).getAttribute('aria-selected')).toBe('true');
}

/**
 * Drags with real mouse events (svelte-dnd-action listens to them), in small steps, and lets go only once the
 * target shows where the item will land (the library checks the pointer's zone periodically, not on every move).
 */
async function drag(page: Page, item: Locator, target: Locator, landed: () => Promise<boolean>) {
  const from = (await item.boundingBox())!;
  const to = (await target.boundingBox())!;
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
  await page.mouse.down();
  await page.mouse.move(from.x + from.width / 2 + 10, from.y + from.height / 2 + 10, { steps: 5 });
  await page.mouse.move(to.x + to.width / 2, to.y + 40, { steps: 20 });
  await poll(landed).toBe(true);
  await page.mouse.up();
}

const column = (page: Page, stage: string) => page.locator(`[data-testid="deal-column"][data-stage="${stage}"]`);

describe('the CRM in Chromium', () => {
  it('signs up, builds a company card with a contact and a deal, and moves the deal on the board', async () => {
    const page = await newPage();
    const suffix = Date.now().toString(36);

    // Sign-up, reached from the sign-in page.
    await page.goto(`${e2e.filo.baseUrl}/login`);
    await page.getByRole('link', { name: 'Create a workspace' }).click();
    await page.waitForURL('**/signup');
    await page.getByLabel('Workspace name').fill(`Globex ${suffix}`);
    await page.getByLabel('Your name').fill('Grace Hopper');
    await page.getByLabel('Email').fill(`grace-${suffix}@example.com`);
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Create workspace' }).click();
    await poll(() => page.getByRole('status').textContent()).toContain('We sent a mail to');
    // The mailed link (in the development outbox) creates the workspace and signs in.
    let token: string | null = null;
    await poll(
      async () => (token = await signupLinkToken(`${e2e.dataDir}/outbox`, `grace-${suffix}@example.com`)),
    ).toBeTruthy();
    await page.goto(`${e2e.filo.baseUrl}/signup/confirm#token=${token}`);
    await page.waitForURL(`${e2e.filo.baseUrl}/`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toContain('Welcome, Grace');

    // A company, then a contact and a deal on its card.
    await createCompany(page, 'Initech');
    await openTab(page, 'Contacts');
    await page.getByRole('button', { name: '+ Add contact' }).click();
    const contactDialog = page.getByRole('dialog', { name: 'New contact' });
    await contactDialog.getByLabel('First name').fill('Peter');
    await contactDialog.getByLabel('Last name').fill('Gibbons');
    await contactDialog.getByLabel('Email').fill('peter@initech.example');
    await contactDialog.getByLabel('Primary contact of the company').check();
    await contactDialog.getByRole('button', { name: 'Create' }).click();
    await poll(() => page.getByRole('link', { name: 'Peter Gibbons' }).isVisible()).toBe(true);
    // The header shows the primary contact's email.
    await poll(() => page.getByTitle('Email of the primary contact').textContent()).toBe('peter@initech.example');

    await openTab(page, 'Deals');
    await page.getByRole('button', { name: '+ Add deal' }).click();
    const dealDialog = page.getByRole('dialog', { name: 'New deal' });
    await dealDialog.getByLabel('Title').fill('TPS reports');
    await dealDialog.getByLabel('Value', { exact: true }).fill('45000');
    await dealDialog.getByRole('button', { name: 'Create' }).click();
    await poll(() => page.getByRole('cell', { name: 'TPS reports', exact: true }).isVisible()).toBe(true);

    // The board: drag the deal from Lead to Proposal; the PATCH sticks across a reload.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Deals' }).click();
    await page.waitForURL('**/deals');
    const card = column(page, 'lead').getByTestId('deal-card').filter({ hasText: 'TPS reports' });
    await card.waitFor();
    await poll(() => column(page, 'lead').getByTestId('column-total').textContent()).toBe('€45,000');
    const inProposal = () => column(page, 'proposal').getByTestId('deal-card').filter({ hasText: 'TPS reports' });
    await drag(page, card, column(page, 'proposal').getByRole('list'), async () => (await inProposal().count()) === 1);
    // The drop offers the stage's probability, applied by default.
    const move = page.getByRole('dialog', { name: 'Move “TPS reports” to Proposal' });
    await poll(() => move.getByRole('spinbutton').inputValue()).toBe('50');
    await move.getByRole('button', { name: 'Move', exact: true }).click();
    await poll(() => column(page, 'lead').getByTestId('deal-card').count()).toBe(0);
    await poll(() =>
      page.evaluate(async () => {
        const res = await fetch('/api/crm/deals?q=TPS');
        return ((await res.json()) as { items: { stage: string }[] }).items[0]?.stage;
      }),
    ).toBe('proposal');
    await page.reload();
    await poll(() => column(page, 'proposal').getByTestId('deal-card').filter({ hasText: 'TPS reports' }).count()).toBe(
      1,
    );
    expect(await column(page, 'lead').getByTestId('deal-card').count()).toBe(0);
    expect(await column(page, 'proposal').getByTestId('column-total').textContent()).toBe('€45,000');
  }, 120_000);

  it("shows a teammate's note on an open card without a reload, and rings the mentioned user's bell", async () => {
    const owner = await newPage();
    const sara = await newPage();
    await e2e.signIn(owner, DEMO.email);
    await e2e.signIn(sara, 'sara@filo.local');
    await poll(() => sara.getByTestId('notification-count').count()).toBe(0);

    const cardUrl = await createCompany(owner, 'Umbrella Corp');
    await sara.goto(cardUrl);
    await poll(() => sara.getByRole('heading', { level: 1 }).textContent()).toBe('Umbrella Corp');
    await openTab(sara, 'Timeline');
    await poll(() => sara.getByTestId('timeline-item').count()).toBe(1);

    // The owner writes a note and picks Sara from the @ suggestions.
    await openTab(owner, 'Notes');
    const editor = owner.getByRole('combobox', { name: 'Note', exact: true });
    await editor.click();
    await editor.pressSequentially('Quarterly review with @Sa');
    await owner.getByRole('option', { name: /Sara Bianchi/ }).waitFor();
    await editor.press('Enter');
    await editor.pressSequentially('about the renewal, please follow up');
    expect(await editor.inputValue()).toBe('Quarterly review with @Sara Bianchi about the renewal, please follow up');
    await poll(() => owner.getByText('@Sara Bianchi', { exact: true }).count()).toBeGreaterThan(0);
    await owner.getByRole('button', { name: 'Add note' }).click();
    await poll(() => owner.getByRole('article').count()).toBe(1);

    // Sara's open card: the note arrives at the top of the timeline, and her bell shows it.
    const newest = sara.getByTestId('timeline-item').first();
    await poll(() => newest.textContent()).toContain('Demo added a note');
    expect(await newest.textContent()).toContain('please follow up');
    expect(await sara.getByTestId('timeline-item').count()).toBe(2);
    await poll(() => sara.getByTestId('notification-count').textContent()).toBe('1');
    expect(await sara.getByTestId('notification-bell').getAttribute('aria-label')).toBe('Notifications (1 unread)');
    await poll(() => sara.getByTestId('toast').textContent()).toContain('Demo Owner mentioned you');
    // The owner's own bell stays quiet: a mention notifies only the people mentioned.
    expect(await owner.getByTestId('notification-count').count()).toBe(0);
  }, 120_000);
});
