import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { readOutbox } from '../../server/delivery/mailer.ts';
import { BulkTokens } from '../../server/delivery/bulk/tokens.ts';
import { useE2e } from '../support/e2e.ts';
import { withAdmin as withDatabase } from '../support/postgres.ts';

/**
 * The public newsletter pages in Chromium, on a phone (390 px, Italian) and a desktop (English): subscribe through
 * the form, confirm through the link mailed to the outbox, open the preference center of a campaign's mail and
 * leave one list. No sign-in and no script: plain forms.
 */

const SECRET_KEY = 'e2e-newsletter-public-secret-key-0123456789';
const e2e = useE2e('newsletter-public', { env: () => ({ SECRET_KEY }) });
const tokens = new BulkTokens(SECRET_KEY);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const sql = <T = any>(q: string, params: unknown[] = []) =>
  withDatabase(e2e.databaseUrl, async (c) => (await c.query(q, params)).rows as T[]);

async function workspace(): Promise<{ id: string; name: string }> {
  const [t] = await sql(
    `select t.id, t.name from tenants t join memberships m on m.tenant_id = t.id join users u on u.id = m.user_id
      where u.email = 'demo@filo.local' limit 1`,
  );
  return t;
}

async function createList(tenantId: string, name: string, doubleOptIn: boolean, consentText: string | null) {
  const id = randomUUID();
  await sql(
    `insert into mailing_lists (id, tenant_id, name, public_form, double_opt_in, consent_text) values ($1, $2, $3, true, $4, $5)`,
    [id, tenantId, name, doubleOptIn, consentText],
  );
  return id;
}

async function confirmLink(address: string): Promise<string> {
  let link = '';
  await expect
    .poll(
      async () => {
        for (const { raw } of readOutbox(path.join(e2e.dataDir, 'outbox'))) {
          const m = await simpleParser(raw);
          const to = m.to && !Array.isArray(m.to) ? m.to.text : '';
          const found = /\/s\/confirm\/[A-Za-z0-9_-]{64}/.exec(m.text ?? '')?.[0];
          if (to === address && found) link = found;
        }
        return link;
      },
      { timeout: 10_000 },
    )
    .not.toBe('');
  return link;
}

const statusOf = async (address: string, listId: string) =>
  (await sql(`select status from consents where address = $1 and list_id = $2`, [address, listId]))[0]?.status;

/** The whole flow for one person; `it` pages at 390 px check that nothing scrolls sideways. */
async function flow(page: Page, o: { address: string; lang: 'it' | 'en'; width: number }) {
  const base = e2e.filo.baseUrl;
  const ws = await workspace();
  const L = o.lang === 'it';
  const letter = await createList(ws.id, `Lettera ${o.lang}`, true, L ? 'Voglio la lettera.' : 'I want the letter.');
  const events = await createList(ws.id, `Eventi ${o.lang}`, false, null);
  const fitsWidth = async () =>
    expect(
      await page.evaluate(
        () =>
          (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement
            .scrollWidth,
      ),
    ).toBeLessThanOrEqual(o.width);

  // 1. The form of a list with double opt-in.
  await page.goto(`${base}/s/${letter}`);
  await page.getByText(ws.name).first().waitFor();
  await page
    .getByRole('heading', { name: L ? `Iscriviti a Lettera ${o.lang}` : `Subscribe to Lettera ${o.lang}` })
    .waitFor();
  await fitsWidth();
  await page.getByLabel('Email', { exact: true }).fill(o.address);
  await page.getByLabel(L ? /^Nome/ : /^First name/).fill('Giulia');
  await page.getByRole('checkbox', { name: L ? 'Voglio la lettera.' : 'I want the letter.' }).check();
  await page.getByRole('button', { name: L ? 'Iscriviti' : 'Subscribe' }).click();
  await page.getByRole('heading', { name: L ? 'Controlla la tua casella' : 'Check your inbox' }).waitFor();
  expect(await statusOf(o.address, letter)).toBe('unconfirmed');

  // 2. The mailed link: a page with a button; only the button subscribes.
  await page.goto(`${base}${await confirmLink(o.address)}`);
  await page.getByRole('button', { name: L ? 'Conferma l’iscrizione' : 'Confirm subscription' }).waitFor();
  await fitsWidth();
  expect(await statusOf(o.address, letter)).toBe('unconfirmed');
  await page.getByRole('button', { name: L ? 'Conferma l’iscrizione' : 'Confirm subscription' }).click();
  await page.getByRole('heading', { name: L ? 'Iscrizione confermata' : 'Subscription confirmed' }).waitFor();
  expect(await statusOf(o.address, letter)).toBe('subscribed');

  // 3. A second list without double opt-in (the default consent text, in the page's language).
  await page.goto(`${base}/s/${events}`);
  await page.getByLabel('Email', { exact: true }).fill(o.address);
  await page.getByRole('checkbox', { name: L ? /Accetto di ricevere/ : /I agree to receive/ }).check();
  await page.getByRole('button', { name: L ? 'Iscriviti' : 'Subscribe' }).click();
  await page.getByRole('heading', { name: L ? 'Controlla la tua casella' : 'Check your inbox' }).waitFor();
  expect(await statusOf(o.address, events)).toBe('subscribed');

  // 4. A campaign of the letter reached them: its unsubscribe link opens the preference center.
  const campaignId = randomUUID();
  const sendId = randomUUID();
  await sql(
    `insert into campaigns (id, tenant_id, name, list_ids, content) values ($1, $2, 'Autunno', $3::jsonb, '{}')`,
    [campaignId, ws.id, JSON.stringify([letter])],
  );
  await sql(
    `insert into bulk_sends (id, tenant_id, source, source_id, address, status, message_id, sent_at)
     values ($1, $2, 'campaign', $3, $4, 'sent', $5, now())`,
    [sendId, ws.id, campaignId, o.address, `<${sendId}@e2e.test>`],
  );
  await page.goto(`${base}/u/${tokens.sign({ sendId, kind: 'unsubscribe', index: 0 })}`);
  await page
    .getByRole('heading', {
      name: L
        ? `Annullare l’iscrizione di ${o.address} a “Lettera ${o.lang}”?`
        : `Unsubscribe ${o.address} from “Lettera ${o.lang}”?`,
    })
    .waitFor();
  await fitsWidth();
  const eventsBox = page.getByRole('checkbox', { name: `Eventi ${o.lang}` });
  expect(await eventsBox.isChecked()).toBe(true);
  expect(await page.getByRole('checkbox', { name: `Lettera ${o.lang}` }).isChecked()).toBe(true);
  // Opening the page changed nothing.
  expect(await statusOf(o.address, letter)).toBe('subscribed');

  // 5. Leave one list.
  await eventsBox.uncheck();
  await page.getByRole('button', { name: L ? 'Salva le preferenze' : 'Save preferences' }).click();
  await page.getByRole('heading', { name: L ? 'Preferenze salvate' : 'Preferences saved' }).waitFor();
  expect(await page.getByRole('checkbox', { name: `Eventi ${o.lang}` }).isChecked()).toBe(false);
  expect(await statusOf(o.address, events)).toBe('unsubscribed');
  expect(await statusOf(o.address, letter)).toBe('subscribed');
}

describe('the public newsletter pages in a browser', () => {
  it(
    'subscribe, confirm from the outbox, and leave one list in the preference center: phone and desktop',
    { timeout: 90_000 },
    async () => {
      const phone = await e2e.browser.newContext({
        locale: 'it-IT',
        viewport: { width: 390, height: 844 },
        isMobile: true,
        hasTouch: true,
        javaScriptEnabled: false,
      });
      e2e.contexts.push(phone);
      await flow(await phone.newPage(), { address: 'giulia@example.test', lang: 'it', width: 390 });

      const desktop = await e2e.newContext();
      await flow(await desktop.newPage(), { address: 'mario@example.test', lang: 'en', width: 1400 });
    },
  );
});
