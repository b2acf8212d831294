import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { DEMO } from '../support/harness.ts';
import { pageApi, useE2e } from '../support/e2e.ts';

/**
 * The pipeline in Chromium: stages edited in Settings (add, rename, reorder, probability), the deals board at
 * 1440 px with every column in view, cards with owner and close date, a move that offers the stage's probability,
 * mixed currencies apart; an Italian timeline with old -> new changes, formatted custom values and 24-hour times;
 * the board and the editor at a 390 px phone width.
 */

const e2e = useE2e('pipeline');

/** Polls a condition with a deadline (a busy machine may take seconds); never a fixed sleep. */
const poll = <T>(fn: () => Promise<T> | T, timeout = 15_000) => expect.poll(fn, { timeout });

interface Stages {
  version: number;
  items: { key: string; name: string; probability: number; kind: string }[];
}

/** The browser's globals these checks read (the tests compile without the DOM library). */
interface Box {
  left: number;
  right: number;
}
interface PageNode {
  dataset: Record<string, string>;
  scrollWidth: number;
  clientWidth: number;
  getBoundingClientRect(): Box;
  querySelector(selector: string): PageNode;
}
interface PageWindow {
  innerWidth: number;
  document: { activeElement: unknown; querySelectorAll(selector: string): PageNode[] };
  getComputedStyle(n: unknown): { backgroundColor: string };
}

/**
 * A page whose browser already said no to the background-notification offer: the offer is a fixed panel at the
 * bottom right, over the editor's Save button at 1440 px.
 */
async function newPage(): Promise<Page> {
  const context = await e2e.newContext();
  await context.addInitScript(() =>
    (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem(
      'filo.notify.banner-dismissed',
      '1',
    ),
  );
  return context.newPage();
}

const column = (page: Page, key: string) => page.locator(`[data-testid="deal-column"][data-stage="${key}"]`);

/** The parts of the board that do not fit in the viewport's width (columns, their titles clipped). */
const overflowing = (page: Page) =>
  page.evaluate(() => {
    const w = globalThis as unknown as PageWindow;
    const out: string[] = [];
    for (const col of w.document.querySelectorAll('[data-testid="deal-column"]')) {
      const box = col.getBoundingClientRect();
      if (box.right > w.innerWidth || box.left < 0) out.push(`${col.dataset.stage} at ${box.left}-${box.right}`);
      const title = col.querySelector('h2')!;
      if (title.scrollWidth > title.clientWidth) out.push(`${col.dataset.stage} title clipped`);
    }
    return out;
  });

describe('the pipeline in Chromium', () => {
  it('edits the stages, shows every column at 1440 px, and moves a card offering the probability', async () => {
    const page = await newPage();
    await page.setViewportSize({ width: 1440, height: 900 });
    await e2e.signIn(page, DEMO.email);

    // Settings > Pipeline: rename Qualified, change Proposal's probability, add a stage and move it up once.
    await page.getByRole('link', { name: 'Settings' }).first().click();
    await page.getByRole('navigation', { name: 'Settings sections' }).getByRole('link', { name: 'Pipeline' }).click();
    await page.waitForURL('**/settings/pipeline');
    const rows = page.getByTestId('stage-row');
    await poll(() => rows.count()).toBe(6);
    await rows.nth(1).getByTestId('stage-name').fill('Qualified lead');
    await rows.nth(2).getByTestId('stage-probability').fill('55');
    await page.getByRole('button', { name: '+ Add stage' }).click();
    await poll(() => rows.count()).toBe(7);
    // a new open stage lands before the closing ones, with its name selected to type over
    const fresh = rows.nth(4).getByTestId('stage-name');
    await poll(() => fresh.evaluate((el) => el === (globalThis as unknown as PageWindow).document.activeElement)).toBe(
      true,
    );
    await page.keyboard.type('Demo booked');
    await rows.nth(4).getByTestId('stage-probability').fill('60');
    await page.getByRole('button', { name: 'Move Demo booked up' }).click();
    await page.getByRole('button', { name: 'Save stages' }).click();
    await poll(async () => (await pageApi<Stages>(page, 'GET', '/api/crm/pipeline/stages')).version).toBe(2);
    const stages = await pageApi<Stages>(page, 'GET', '/api/crm/pipeline/stages');
    expect(stages.items.map((s) => [s.key, s.name, s.probability])).toEqual([
      ['lead', 'Lead', 10],
      ['qualified', 'Qualified lead', 25],
      ['proposal', 'Proposal', 55],
      ['demo-booked', 'Demo booked', 60],
      ['negotiation', 'Negotiation', 75],
      ['won', 'Won', 100],
      ['lost', 'Lost', 0],
    ]);

    // Two deals in Proposal in two currencies, one overdue and owned by Mario.
    const members = await pageApi<{ items: { userId: string; email: string }[] }>(page, 'GET', '/api/team/members');
    const mario = members.items.find((m) => m.email === 'mario@filo.local')!.userId;
    const company = await pageApi<{ id: string }>(page, 'POST', '/api/crm/companies', {
      name: 'Pipeline Board Spa',
      type: 'client',
    });
    const deal = await pageApi<{ id: string }>(page, 'POST', '/api/crm/deals', {
      companyId: company.id,
      title: 'Board overdue deal',
      value: 38500,
      currency: 'EUR',
      stage: 'proposal',
      probability: 40,
      assignedTo: mario,
      expectedCloseDate: '2026-01-15',
    });
    await pageApi(page, 'POST', '/api/crm/deals', {
      companyId: company.id,
      title: 'Board dollar deal',
      value: 1200,
      currency: 'USD',
      stage: 'proposal',
    });

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Deals' }).click();
    await page.waitForURL('**/deals');
    const card = column(page, 'proposal').getByTestId('deal-card').filter({ hasText: 'Board overdue deal' });
    await card.waitFor();
    // every stage's column, title included, within the 1440 px viewport
    expect(await page.getByTestId('deal-column').count()).toBe(7);
    expect(await column(page, 'qualified').locator('h2').textContent()).toContain('Qualified lead');
    expect(await overflowing(page)).toEqual([]);
    // won and lost columns look different from the open ones
    const background = (key: string) =>
      column(page, key).evaluate((el) => (globalThis as unknown as PageWindow).getComputedStyle(el).backgroundColor);
    expect(new Set([await background('lead'), await background('won'), await background('lost')]).size).toBe(3);
    // the card: owner and close date, the overdue one highlighted
    expect(await card.getByTestId('deal-owner').textContent()).toContain('Mario Rossi');
    expect(await card.getByTestId('deal-owner').textContent()).toContain('MR');
    const close = card.getByTestId('deal-close');
    expect(await close.textContent()).toContain('15 Jan 2026');
    expect(await close.getAttribute('data-overdue')).toBe('true');
    // mixed currencies: one line each, never run together
    const totals = column(page, 'proposal').getByTestId('column-total').getByTestId('currency-total');
    expect(await totals.allTextContents()).toEqual(['€38,500', 'US$1,200']);
    const totalBoxes = await Promise.all([0, 1].map(async (i) => (await totals.nth(i).boundingBox())!));
    expect(totalBoxes[1]!.y).toBeGreaterThanOrEqual(totalBoxes[0]!.y + totalBoxes[0]!.height);

    // The card's menu moves it: the stage's probability is offered, edited, applied.
    await card.getByLabel('Move “Board overdue deal”').selectOption('demo-booked');
    const dialog = page.getByRole('dialog', { name: 'Move “Board overdue deal” to Demo booked' });
    await poll(() => dialog.getByText('Set probability to 60 %?').isVisible()).toBe(true);
    const input = dialog.getByRole('spinbutton');
    expect(await input.inputValue()).toBe('60');
    await input.fill('65');
    await dialog.getByRole('button', { name: 'Move', exact: true }).click();
    await poll(async () => {
      const saved = await pageApi<{ stage: string; probability: number }>(page, 'GET', `/api/crm/deals/${deal.id}`);
      return [saved.stage, saved.probability];
    }).toEqual(['demo-booked', 65]);
    const moved = column(page, 'demo-booked').getByTestId('deal-card').filter({ hasText: 'Board overdue deal' });
    await poll(() => moved.getByTestId('deal-probability').textContent()).toBe('65 %');

    // Cancelling a move leaves the card where it was.
    await moved.getByLabel('Move “Board overdue deal”').selectOption('won');
    await page
      .getByRole('dialog', { name: 'Move “Board overdue deal” to Won' })
      .getByRole('button', { name: 'Cancel' })
      .click();
    await poll(() => moved.count()).toBe(1);
    expect((await pageApi<{ stage: string }>(page, 'GET', `/api/crm/deals/${deal.id}`)).stage).toBe('demo-booked');

    // The timeline says the change old -> new.
    await page.goto(`${e2e.filo.baseUrl}/companies/${company.id}`);
    await page.getByRole('tab', { name: /^Timeline/ }).click();
    await poll(async () => (await page.getByTestId('timeline-item').allTextContents()).join('\n')).toContain(
      'Probability 40 % → 65 %',
    );
  }, 120_000);

  it('speaks Italian with 24-hour times and formatted custom values, and works at 390 px', async () => {
    const page = await newPage();
    await e2e.signIn(page, DEMO.email);
    await pageApi(page, 'PATCH', '/api/auth/me', { locale: 'it' });
    for (const [fieldName, fieldLabel, fieldType] of [
      ['budget', 'Budget', 'number'],
      ['rinnovo', 'Rinnovo', 'date'],
    ])
      await pageApi(page, 'POST', '/api/crm/custom-fields', {
        entityType: 'company',
        fieldName,
        fieldLabel,
        fieldType,
      });
    const company = await pageApi<{ id: string; version: number }>(page, 'POST', '/api/crm/companies', {
      name: 'Formati Italiani Srl',
      type: 'client',
    });
    await pageApi(page, 'PATCH', `/api/crm/companies/${company.id}`, {
      customFields: { budget: 48500000, rinnovo: '2027-03-31' },
    });
    const deal = await pageApi<{ id: string }>(page, 'POST', '/api/crm/deals', {
      companyId: company.id,
      title: 'Trattativa formattata',
      value: '185000.00',
      probability: 40,
    });
    await pageApi(page, 'PATCH', `/api/crm/deals/${deal.id}`, { probability: 60, value: '190000.50' });

    await page.goto(`${e2e.filo.baseUrl}/companies/${company.id}`);
    // the card's custom values, formatted
    await poll(() => page.getByText('48.500.000').first().isVisible()).toBe(true);
    await poll(() => page.getByText('31 mar 2027').first().isVisible()).toBe(true);
    await page.getByRole('tab', { name: /^Cronologia/ }).click();
    const items = page.getByTestId('timeline-item');
    await poll(() => items.count()).toBe(4);
    const timeline = (await items.allTextContents()).join('\n');
    expect(timeline).toContain('Probabilità 40 % → 60 %');
    expect(timeline).toMatch(/Valore 185\.000\s€ → 190\.000,50\s€/);
    expect(timeline).toContain('Budget nessuno → 48.500.000');
    expect(timeline).toContain('Rinnovo nessuno → 31 mar 2027');
    expect(timeline).not.toMatch(/2027-03-31|48500000|Modificat[oi]: /);
    expect(timeline).toMatch(/Oggi ([01]\d|2[0-3]):[0-5]\d/);
    expect(timeline).not.toMatch(/\b(AM|PM)\b/i);

    // Home's status card says when it checked, in 24-hour time (the browser's own locale is en-US).
    await page.goto(`${e2e.filo.baseUrl}/`);
    const checked = page.locator('section[aria-labelledby="system-status-heading"] time');
    await checked.waitFor();
    expect(await checked.textContent()).toMatch(/^([01]\d|2[0-3]):[0-5]\d$/);

    // 390 px: the board scrolls sideways inside its region; the stage editor's rows fit the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${e2e.filo.baseUrl}/deals`);
    const board = page.getByTestId('deal-board');
    await board.waitFor();
    const box = (await board.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(390);
    expect(await board.evaluate((el) => el.scrollWidth > el.clientWidth)).toBe(true);
    await poll(() => column(page, 'lead').isVisible()).toBe(true);
    const first = (await column(page, 'lead').boundingBox())!;
    expect(first.x).toBeGreaterThanOrEqual(0);
    expect(first.x + first.width).toBeLessThanOrEqual(390);
    await page.goto(`${e2e.filo.baseUrl}/settings/pipeline`);
    const rows = page.getByTestId('stage-row');
    // the first test's edits: seven stages
    await poll(() => rows.count()).toBe(7);
    for (const row of await rows.all()) {
      const r = (await row.boundingBox())!;
      expect(r.x).toBeGreaterThanOrEqual(0);
      expect(r.x + r.width).toBeLessThanOrEqual(390);
    }
    expect(await rows.first().getByTestId('stage-name').inputValue()).toBe('Lead');
    expect(await rows.nth(6).getByTestId('stage-kind').inputValue()).toBe('lost');
  }, 120_000);
});
