import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { pageApi, useE2e } from '../support/e2e.ts';

/**
 * The campaign screens in Chromium: a campaign started from a template, its blocks reordered by dragging, a button
 * added and a text edited, the result in the sandboxed preview; the subject's token error shown beside it; an A/B
 * variant set up; a test copy in the development outbox; an edit refused as stale and reapplied; the campaign
 * sent to a list with its progress reaching "sent". At 390 px the editor stacks and its palette stays reachable.
 */

const e2e = useE2e('newsletter-editor');

interface Campaign {
  id: string;
  name: string;
  status: string;
  version: number;
  subject: string;
  content: { blocks: { id: string; type: string; label?: string; markdown?: string }[] };
  variants: { key: string; subject: string; content: unknown }[];
  ab: { testPercent: number; metric: string } | null;
  listIds: string[];
}

const blockTypes = (page: Page) =>
  page
    .getByTestId('canvas')
    .locator(':scope > [data-testid="canvas-block"]')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-type')));

/** Every message kept in the development outbox so far, raw. */
function outbox(): string[] {
  const dir = `${e2e.dataDir}/outbox`;
  try {
    return readdirSync(dir).map((f) => readFileSync(`${dir}/${f}`, 'utf8'));
  } catch {
    return [];
  }
}

/** How far the page scrolls sideways (0 when it fits its width). */
const sideways = (page: Page) => page.locator('html').evaluate((el) => el.scrollWidth - el.clientWidth);

async function saved(page: Page) {
  await expect.poll(() => page.getByTestId('save-state').textContent()).toMatch(/^Saved/);
}

describe('the campaign editor', () => {
  it('builds, previews, tests and sends a campaign from a template', async () => {
    const page = await (await e2e.newContext()).newPage();
    await e2e.signIn(page, 'demo@filo.local');

    // The audience and the transport: two contacts in a static list, a shared mailbox to send through.
    const mailbox = await pageApi<{ id: string; inboundAddress: string }>(page, 'POST', '/api/inbox/mailboxes', {
      name: 'Notizie',
      localPart: 'notizie',
    });
    const contactIds: string[] = [];
    for (const [firstName, lastName, email] of [
      ['Giulia', 'Neri', 'giulia@lettori.test'],
      ['Paolo', 'Gallo', 'paolo@lettori.test'],
    ]) {
      const body = { firstName, lastName, email };
      contactIds.push((await pageApi<{ id: string }>(page, 'POST', '/api/crm/contacts', body)).id);
    }
    const list = await pageApi<{ id: string }>(page, 'POST', '/api/newsletters/lists', { name: 'Lettori' });
    await pageApi(page, 'POST', `/api/newsletters/lists/${list.id}/members`, { contactIds });

    // From the sidebar to a new campaign made from a starter template.
    await page.getByRole('link', { name: 'Newsletters' }).click();
    await page.waitForURL(/\/newsletters\/campaigns$/);
    await page.getByRole('button', { name: 'New campaign' }).click();
    await page.getByLabel('Campaign name').fill('Autunno');
    await page.getByRole('radio', { name: /Announcement/ }).check();
    await page.getByRole('button', { name: 'Create campaign' }).click();
    await page.waitForURL(/\/newsletters\/campaigns\/[0-9a-f-]{36}$/);
    const id = page.url().split('/').at(-1)!;
    await page.getByTestId('canvas-block').first().waitFor();
    const before = await blockTypes(page);
    expect(before.at(-1)).toBe('footer');

    // Drag the third block above the first with the mouse: the order changes and is saved.
    const blocks = page.getByTestId('canvas').locator(':scope > [data-testid="canvas-block"]');
    const from = (await blocks.nth(2).boundingBox())!;
    const to = (await blocks.nth(0).boundingBox())!;
    await page.mouse.move(from.x + from.width / 2, from.y + 10);
    await page.mouse.down();
    await page.mouse.move(from.x + from.width / 2, from.y - 10, { steps: 5 });
    await page.mouse.move(to.x + to.width / 2, to.y + 2, { steps: 15 });
    await page.mouse.up();
    const dragged = [before[2], before[0], before[1], ...before.slice(3)];
    await expect.poll(() => blockTypes(page)).toEqual(dragged);
    // The list shows the new order while the drop still animates; the drop itself commits it and saves it.
    await expect
      .poll(async () =>
        (await pageApi<Campaign>(page, 'GET', `/api/newsletters/campaigns/${id}`)).content.blocks.map((b) => b.type),
      )
      .toEqual(dragged);
    await saved(page);

    // Undo and redo the drag with the keyboard.
    await page.getByRole('heading', { name: 'Autunno' }).click();
    await page.keyboard.press('Control+z');
    await expect.poll(() => blockTypes(page)).toEqual(before);
    await page.keyboard.press('Control+Shift+z');
    await expect.poll(() => blockTypes(page)).toEqual(dragged);

    // A button from the palette, its label edited; a text block's Markdown edited.
    await page.getByRole('button', { name: 'Add Button' }).click();
    await page.locator('#block-label').fill('Scopri le novità');
    await page.locator('[data-testid="canvas-block"][data-type="text"]').first().click();
    await page.locator('#block-markdown').fill('Le **offerte di autunno** sono arrivate.');
    await saved(page);
    const afterEdit = await pageApi<Campaign>(page, 'GET', `/api/newsletters/campaigns/${id}`);
    expect(afterEdit.content.blocks.some((b) => b.type === 'button' && b.label === 'Scopri le novità')).toBe(true);

    // Settings: the list, the mailbox (its address becomes the From), a subject with an unknown token refused beside it.
    await page.getByRole('tab', { name: 'Settings' }).click();
    await page.getByRole('checkbox', { name: /Lettori/ }).check();
    await page.getByLabel('Send through').selectOption(mailbox.id);
    await expect.poll(() => page.getByLabel('From address').inputValue()).toBe(mailbox.inboundAddress);
    await page.locator('#campaign-subject').fill('Ciao {{contact.nickname}}');
    await expect.poll(() => page.getByTestId('campaign-subject-error').textContent()).toMatch(/line 1, column 6/);
    await page.locator('#campaign-subject').fill('Novità per ');
    await page.locator('#campaign-subject').press('End');
    await page.getByLabel('Insert a token into Subject').selectOption({ label: 'First name (or “there”)' });
    await expect
      .poll(() => page.locator('#campaign-subject').inputValue())
      .toBe('Novità per {{contact.first_name | "there"}}');
    await saved(page);
    expect(await page.getByTestId('campaign-subject-error').count()).toBe(0);

    // The preview renders the saved campaign in a sandboxed frame, at 600 and 375 px.
    await page.getByRole('tab', { name: 'Preview' }).click();
    const frame = page.getByTestId('preview-frame-600');
    await frame.waitFor();
    expect(await frame.getAttribute('sandbox')).toBe('');
    await expect
      .poll(() => page.frameLocator('[data-testid="preview-frame-600"]').locator('body').textContent())
      .toContain('offerte di autunno');
    expect(await page.frameLocator('[data-testid="preview-frame-375"]').locator('body').textContent()).toContain(
      'Scopri le novità',
    );
    expect(await page.getByTestId('preview-subject').textContent()).toMatch(/^Novità per /);
    await page.getByRole('tab', { name: 'Plain text' }).click();
    await expect.poll(() => page.getByTestId('preview-text').textContent()).toContain('offerte di autunno');

    // A test copy reaches the development outbox.
    await page.getByLabel(/Send to \(up to 5/).fill('prova@redazione.test');
    await page.getByRole('button', { name: 'Send test' }).click();
    await expect.poll(() => page.getByText(/1 test copy sent/).count()).toBe(1);
    await expect.poll(() => outbox().some((raw) => raw.includes('prova@redazione.test'))).toBe(true);

    // A/B: variant B with its own subject and content, 20 % test group, clicks.
    await page.getByRole('tab', { name: 'A/B test' }).click();
    await page.getByRole('button', { name: 'Add variant B' }).click();
    await page.locator('#variant-B-subject').fill('Ultimi giorni di autunno');
    await page.getByLabel('Test group (% of recipients)').fill('20');
    await page.getByRole('listitem', { name: 'Variant B' }).getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Edit variant B’s content' }).click();
    await expect.poll(() => page.getByText('Editing variant B’s content').count()).toBe(1);
    await page.getByRole('button', { name: 'Add Divider' }).click();
    await saved(page);
    let stored = await pageApi<Campaign>(page, 'GET', `/api/newsletters/campaigns/${id}`);
    expect(stored.variants.map((v) => [v.key, v.subject])).toEqual([
      ['A', 'Novità per {{contact.first_name | "there"}}'],
      ['B', 'Ultimi giorni di autunno'],
    ]);
    expect(stored.ab).toMatchObject({ testPercent: 20, metric: 'clicks' });
    expect(JSON.stringify(stored.variants[1]!.content)).toContain('"divider"');
    await page.getByRole('button', { name: 'Back to the main content' }).click();

    // Someone else renames the campaign meanwhile: our next edit is refused as stale, then reapplied on top.
    await pageApi(page, 'PATCH', `/api/newsletters/campaigns/${id}`, { name: 'Autunno 2026', version: stored.version });
    await page.getByRole('button', { name: 'Add Spacer' }).click();
    await expect.poll(() => page.getByTestId('conflict').isVisible()).toBe(true);
    await page.getByRole('button', { name: 'Reapply my changes' }).click();
    await saved(page);
    stored = await pageApi<Campaign>(page, 'GET', `/api/newsletters/campaigns/${id}`);
    expect(stored.name).toBe('Autunno 2026');
    expect(stored.content.blocks.filter((b) => b.type === 'spacer').length).toBeGreaterThan(
      afterEdit.content.blocks.filter((b) => b.type === 'spacer').length,
    );

    // The A/B test waits hours for a winner: stopped here, so that the whole send can be watched to the end.
    await page.getByRole('tab', { name: 'A/B test' }).click();
    await page.getByRole('button', { name: 'Stop the A/B test' }).click();
    await saved(page);

    // Send: the review counts the list's subscribers; the progress bar reaches the end and the status "Sent".
    await page.getByRole('tab', { name: 'Send' }).click();
    await expect.poll(() => page.getByTestId('review-recipients').textContent()).toContain('2 subscribed');
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Send now' }).click();
    await expect
      .poll(() => page.getByTestId('send-progress').textContent(), { timeout: 30_000 })
      .toBe('2 of 2 handled');
    await expect.poll(() => page.getByText('Sending finished.').count(), { timeout: 30_000 }).toBe(1);
    expect(await page.getByRole('link', { name: 'View the report' }).getAttribute('href')).toBe(
      `/newsletters/campaigns/${id}/report`,
    );
    for (const address of ['giulia@lettori.test', 'paolo@lettori.test'])
      await expect.poll(() => outbox().some((raw) => raw.includes(address))).toBe(true);

    // The list shows it sent, with its rates; a draft made from it by Duplicate opens in the editor.
    await page.getByRole('link', { name: '← Campaigns' }).click();
    const row = page.getByTestId('campaign-row').filter({ hasText: 'Autunno 2026' });
    await expect.poll(() => row.textContent()).toContain('Sent');
    await row.getByRole('button', { name: 'Duplicate Autunno 2026' }).click();
    await page.waitForURL(/\/newsletters\/campaigns\/[0-9a-f-]{36}$/);
    expect(page.url()).not.toContain(id);
  }, 150_000);

  it('is usable on a 390 px phone: stacked panes, the palette at hand, no sideways scrolling', async () => {
    const context = await e2e.browser.newContext({ locale: 'en-US', viewport: { width: 390, height: 844 } });
    e2e.contexts.push(context);
    const page = await context.newPage();
    await e2e.signIn(page, 'demo@filo.local');
    const created = await pageApi<Campaign>(page, 'POST', '/api/newsletters/campaigns', {
      name: 'Da telefono',
      templateId: 'digest',
    });
    await page.goto(`${e2e.filo.baseUrl}/newsletters/campaigns/${created.id}`);
    await page.getByTestId('canvas-block').first().waitFor();
    const count = await page.getByTestId('canvas-block').count();

    // The desktop palette is hidden; the phone's bar adds a block.
    expect(await page.getByRole('button', { name: 'Add Heading' }).isVisible()).toBe(false);
    const bar = page.getByTestId('phone-palette');
    expect(await bar.isVisible()).toBe(true);
    await bar.getByRole('combobox').selectOption({ label: 'Button' });
    await bar.getByRole('button', { name: 'Add a block' }).click();
    await expect.poll(() => page.getByTestId('canvas-block').count()).toBe(count + 1);
    // Added before the footer; its Move up button (the drag's alternative) takes it one place up.
    const types = await blockTypes(page);
    expect(types.slice(-2)).toEqual(['button', 'footer']);
    const top = page.getByTestId('canvas').locator(':scope > [data-testid="canvas-block"]');
    await top
      .nth(types.length - 2)
      .getByRole('button', { name: 'Move up' })
      .click();
    await expect.poll(() => blockTypes(page)).toEqual([...types.slice(0, -3), 'button', types.at(-3), 'footer']);
    await saved(page);

    for (const step of ['Content', 'Settings', 'A/B test', 'Preview', 'Send']) {
      await page.getByRole('tab', { name: step }).click();
      await expect.poll(() => sideways(page)).toBeLessThanOrEqual(0);
    }
    await page.goto(`${e2e.filo.baseUrl}/newsletters/campaigns`);
    await page.getByTestId('campaign-row').first().waitFor();
    expect(await sideways(page)).toBeLessThanOrEqual(0);
  });
});
