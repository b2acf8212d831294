import nodemailer from 'nodemailer';
import { beforeAll, describe, expect, it } from 'vitest';
import { apiClient, login, type ApiClient } from '../support/harness.ts';
import { useE2e } from '../support/e2e.ts';

/**
 * Issue 12 in Chromium: a stranger's "RE: invoice" that reuses another message's Message-ID is its own
 * conversation, says why under the message, and links to the conversation it may be related to.
 */

const e2e = useE2e('inbound-notices');
let owner: ApiClient;
let support: { inboundAddress: string };
const ids: { first?: string; second?: string } = {};

beforeAll(async () => {
  owner = apiClient(e2e.filo.baseUrl, await login(e2e.filo.baseUrl));
  support = await owner.json<{ inboundAddress: string }>('POST', '/api/inbox/mailboxes', {
    name: 'Support',
    localPart: 'support',
  });
});

/** Two messages under one Message-ID: Anna's "Invoice", then Bruno's "RE: invoice". */
async function deliverBoth() {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: e2e.filo.smtpPort,
    secure: false,
    ignoreTLS: true,
  });
  try {
    const common = { to: support.inboundAddress, messageId: '<reused@alpha-notices.test>' };
    await transport.sendMail({ ...common, from: 'anna@alpha-notices.test', subject: 'Invoice', text: 'Where is it?' });
    await expect
      .poll(async () => (await owner.json<{ items: unknown[] }>('GET', '/api/inbox/conversations')).items.length, {
        timeout: 15_000,
      })
      .toBe(1);
    await transport.sendMail({ ...common, from: 'bruno@beta-notices.test', subject: 'RE: invoice', text: 'Mine too.' });
  } finally {
    transport.close();
  }
  await expect
    .poll(
      async () => {
        const { items } = await owner.json<{ items: { id: string; subject: string }[] }>(
          'GET',
          '/api/inbox/conversations',
        );
        ids.first = items.find((c) => c.subject === 'Invoice')?.id;
        ids.second = items.find((c) => c.subject === 'RE: invoice')?.id;
        return Boolean(ids.first && ids.second);
      },
      { timeout: 15_000 },
    )
    .toBe(true);
}

describe('inbound notices', () => {
  it('shows the reused Message-ID note and the possibly related conversation, which the link opens', async () => {
    await deliverBoth();
    const page = await (await e2e.newContext()).newPage();
    await e2e.signIn(page, 'demo@filo.local');
    await page.goto(`${e2e.filo.baseUrl}/inbox/${ids.second}`);
    const notice = page.locator('[data-notice="duplicate_message_id"]');
    await notice.waitFor();
    expect(await notice.textContent()).toContain('same Message-ID');
    const related = page.getByTestId('conversation-related');
    expect(await related.textContent()).toContain('Possibly related');
    await related.click();
    await page.waitForURL(new RegExp(`/inbox/${ids.first}$`));
    await expect.poll(() => page.getByTestId('conversation-title').textContent()).toContain('Invoice');
    expect(await page.getByTestId('conversation-related').count()).toBe(0);
  });
});
