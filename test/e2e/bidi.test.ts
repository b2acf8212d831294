import { beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import type { Locator } from 'playwright-core';
import { apiClient, login, type ApiClient } from '../support/harness.ts';
import { pageApi, useE2e } from '../support/e2e.ts';

/**
 * Hostile Unicode in Chromium: a right-to-left override (U+202E) in a file name is shown as a visible marker
 * (`invoice\u202Efdp.exe` never reads "invoiceexe.pdf"), also in the download's name; subjects and sender names
 * are isolated so that their direction cannot flip the text around them.
 */

const e2e = useE2e('bidi');
const RLO = '\u202E';
const FILE = `invoice${RLO}fdp.exe`;
const SUBJECT = `Fattura ${RLO}fdp.exe urgente`;
const SENDER = `Amministrazione ${RLO}anoizartsinimmA`;

let owner: ApiClient;

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
    await transport.sendMail({
      from: { name: SENDER, address: 'billing@bidi-e2e.test' },
      to: support.inboundAddress,
      subject: SUBJECT,
      text: 'In allegato la fattura.',
      attachments: [{ filename: FILE, content: 'MZ not really', contentType: 'application/octet-stream' }],
    });
  } finally {
    transport.close();
  }
});

/** The tests compile without the DOM library: the one browser global used, typed here. */
type PageWindow = { getComputedStyle(el: unknown): { unicodeBidi: string } };
const unicodeBidi = (l: Locator) =>
  l.evaluate((el) => (globalThis as unknown as PageWindow).getComputedStyle(el).unicodeBidi);

describe('bidirectional controls', () => {
  it('shows an override in a file name as a marker and isolates subjects and sender names', async () => {
    const page = await (await e2e.newContext()).newPage();
    await e2e.signIn(page, 'demo@filo.local');
    await page.goto(`${e2e.filo.baseUrl}/inbox`);
    const item = page.getByTestId('conversation-item').filter({ hasText: 'urgente' });
    await expect.poll(() => item.count(), { timeout: 20_000 }).toBe(1);
    // The list: subject and sender each in their own isolate.
    expect(await unicodeBidi(item.getByTestId('conversation-subject'))).toBe('isolate');
    expect(await unicodeBidi(item.getByTestId('conversation-from'))).toBe('isolate');
    expect(await item.getByTestId('conversation-subject').textContent()).toBe(SUBJECT);

    await item.click();
    await page.waitForURL(/\/inbox\/[0-9a-f-]{36}$/);
    const chip = page.getByTestId('email-attachment');
    await expect.poll(() => chip.count(), { timeout: 15_000 }).toBe(1);
    const shown = await chip.innerText();
    expect(shown).toContain('invoice[U+202E]fdp.exe');
    expect(shown).not.toContain(RLO);
    expect(await chip.getAttribute('download')).toBe('invoice[U+202E]fdp.exe');

    const title = page.getByTestId('conversation-title');
    expect(await title.innerText()).toContain(SUBJECT);
    expect(await unicodeBidi(title.locator('bdi'))).toBe('isolate');
    const sender = page.getByTestId('email-message').getByText('Amministrazione').first();
    expect(await sender.textContent()).toBe(SENDER);
    expect(await unicodeBidi(sender)).toBe('isolate');

    // The download is named with the marker too, whatever the link says.
    const href = (await chip.getAttribute('href'))!;
    const disposition = await page.evaluate(async (url) => (await fetch(url)).headers.get('content-disposition'), href);
    expect(disposition).toContain('invoice[U+202E]fdp.exe');
    expect(disposition).not.toMatch(/%E2%80%AE|\u202E/i);
    const [download] = await Promise.all([page.waitForEvent('download'), chip.click()]);
    expect(download.suggestedFilename()).toBe('invoice[U+202E]fdp.exe');
  }, 60_000);

  it('names a document download with the marker', async () => {
    const page = await (await e2e.newContext()).newPage();
    await e2e.signIn(page, 'demo@filo.local');
    const company = await pageApi<{ id: string }>(page, 'POST', '/api/crm/companies', {
      name: 'Bidi Spa',
      type: 'client',
    });
    const uploaded = await page.evaluate(
      async ([id, name]) => {
        const form = new FormData();
        form.append('entityType', 'company');
        form.append('entityId', id);
        form.append('file', new File(['MZ not really'], name, { type: 'application/octet-stream' }));
        const r = await fetch('/api/crm/documents', { method: 'POST', body: form });
        return { status: r.status, body: (await r.json()) as { id: string; fileName: string } };
      },
      [company.id, FILE] as const,
    );
    expect(uploaded.status).toBe(201);
    // Stored as sent (browsers send the name as UTF-8), shown with the marker only on the way out.
    expect(uploaded.body.fileName).toBe(FILE);
    const disposition = await page.evaluate(
      async (id) => (await fetch(`/api/crm/documents/${id}/download`)).headers.get('content-disposition'),
      uploaded.body.id,
    );
    expect(disposition).toContain('invoice[U+202E]fdp.exe');
    expect(disposition).not.toMatch(/%E2%80%AE|\u202E/i);
  }, 60_000);
});
