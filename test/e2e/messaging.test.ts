import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { apiClient, DEMO, login, type ApiClient } from '../support/harness.ts';
import { useE2e } from '../support/e2e.ts';
import { inboundParams, postSigned, startFakeTwilio, type FakeTwilio } from '../support/fakes/twilio.ts';

/**
 * SMS in the live inbox (issue 19): an account added in Settings › Messaging, an inbound SMS signed as Twilio signs it
 * appears at once in another member's inbox, and a reply from the composer reaches the fake Twilio (through the real
 * SDK) while its ticks follow the status callbacks.
 */

const SMS_NUMBER = '+390212345678';
let fake: FakeTwilio;
beforeAll(async () => {
  fake = await startFakeTwilio();
});
const e2e = useE2e('messaging', { env: () => ({ MESSAGING_API_BASE: `twilio=${fake.url}` }) });
afterAll(() => fake?.close());

const poll = <T>(fn: () => Promise<T> | T, timeout = 20_000) => expect.poll(fn, { timeout });
let owner: ApiClient;

beforeAll(async () => {
  owner = apiClient(e2e.filo.baseUrl, await login(e2e.filo.baseUrl));
  // Twilio posts to the PUBLIC_URL-based callback; here that is Filo's own address, reached at 127.0.0.1.
  fake.deliverTo = e2e.filo.baseUrl;
});

const statusOf = (page: Page) => page.getByTestId('message-status').last().getAttribute('data-status');

describe('SMS in the live inbox', () => {
  it('shows an inbound SMS live in another member’s inbox, sends the reply with ticks that follow, and the contact card’s Message starts one', async () => {
    const a = await (await e2e.newContext()).newPage();
    await e2e.signIn(a, DEMO.email);

    // Settings › Messaging: the owner adds the Twilio account; its secret is never shown again.
    await a.goto(`${e2e.filo.baseUrl}/settings/messaging`);
    await a.getByRole('button', { name: 'Add an account' }).click();
    await a.getByLabel('Name').fill('Sales SMS');
    await a.getByLabel('Account SID').fill(fake.accountSid);
    await a.getByLabel('Auth token').fill(fake.authToken);
    await a.getByLabel('SMS numbers').fill(SMS_NUMBER);
    await a.getByRole('button', { name: 'Add account' }).click();
    const row = a.getByTestId('messaging-account');
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain('Sales SMS');
    expect(await a.content()).not.toContain(fake.authToken);
    const [account] = (await owner.json('GET', '/api/messaging/accounts')).items as {
      mailboxId: string;
      webhooks: Record<string, string>;
    }[];

    // Luca watches the inbox in another browser.
    const b = await (await e2e.newContext()).newPage();
    await e2e.signIn(b, 'luca@filo.local');
    await b.goto(`${e2e.filo.baseUrl}/inbox`);
    await b.getByTestId('inbox-view').first().waitFor();
    // The SMS number is a channel of its own in the sidebar, not one of the shared email inboxes.
    const group = (name: string) => b.locator(`[data-testid="inbox-mailbox-group"][data-group="${name}"]`);
    await poll(() => group('messaging').locator('[data-kind="messaging"]').count()).toBe(1);
    expect(await group('shared').locator('[data-kind="messaging"]').count()).toBe(0);
    expect(await group('messaging').locator('h3').textContent()).toBe('SMS and chat');

    const res = await postSigned(
      account!.webhooks.inbound!,
      e2e.filo.baseUrl,
      fake.authToken,
      inboundParams(fake.accountSid, { from: '+393331234567', to: SMS_NUMBER, body: 'Ciao, è pronto l’ordine?' }),
    );
    expect(res.status).toBe(200);
    const item = b.getByTestId('conversation-item').filter({ hasText: '+393331234567' });
    await poll(() => item.count()).toBe(1);
    expect(await item.getByTestId('conversation-channel').textContent()).toContain('SMS');

    // Luca opens it and replies from the composer; the fake Twilio says sent, then delivered.
    fake.autoStatus = ['sent', 'delivered'];
    await item.click();
    await poll(() => b.getByTestId('message-bubble').first().textContent()).toContain('è pronto l’ordine?');
    await b.getByPlaceholder('Reply by SMS…').fill('Sì, passi pure domani');
    await b.getByTestId('messaging-send').click();
    await poll(() => fake.sent().length).toBe(1);
    expect(fake.sent()[0]!.params).toMatchObject({
      To: '+393331234567',
      From: SMS_NUMBER,
      Body: 'Sì, passi pure domani',
    });
    await poll(() => b.getByTestId('message-bubble').count()).toBe(2);
    await poll(() => statusOf(b)).toBe('delivered');

    // Read comes later: the tick turns, live, in the demo owner's browser too.
    await a.goto(`${e2e.filo.baseUrl}/inbox`);
    await a.getByTestId('conversation-item').filter({ hasText: '+393331234567' }).click();
    await poll(() => statusOf(a)).toBe('delivered');
    const [sms] = (await owner.json('GET', `/api/inbox/conversations?mailboxId=${account!.mailboxId}`)).items as {
      id: string;
    }[];
    const detail = await owner.json('GET', `/api/inbox/conversations/${sms!.id}`);
    const outbound = (detail.messages as { direction: string; messageId: string }[]).find(
      (m) => m.direction === 'outbound',
    )!;
    await postSigned(account!.webhooks.status!, e2e.filo.baseUrl, fake.authToken, {
      AccountSid: fake.accountSid,
      MessageSid: outbound.messageId,
      MessageStatus: 'read',
    });
    await poll(() => statusOf(a)).toBe('read');
    await poll(() => statusOf(b)).toBe('read');

    // The contact card's "Message": a first SMS to the contact's mobile (written locally, read as Italian).
    const anna = await owner.json('POST', '/api/crm/contacts', {
      firstName: 'Anna',
      lastName: 'Neri',
      mobile: '347 555 1234',
    });
    fake.autoStatus = [];
    await a.goto(`${e2e.filo.baseUrl}/contacts/${anna.id}`);
    await a.getByTestId('message-action').click();
    const dialog = a.getByRole('dialog');
    await dialog.getByLabel('Message').fill('Buongiorno Anna');
    await dialog.getByRole('button', { name: 'Send' }).click();
    await a.waitForURL(/\/inbox\/[0-9a-f-]{36}$/);
    await poll(() => a.getByTestId('message-bubble').last().textContent()).toContain('Buongiorno Anna');
    await poll(() => fake.sent().find((r) => r.params.Body === 'Buongiorno Anna')?.params.To).toBe('+393475551234');
  }, 150_000);
});

describe('Messaging settings: templates, chatbot, bulk', () => {
  it('creates a WhatsApp and an SMS template (a bad variable refused at its field), saves a bot rule read back after reload, and reaches the bulk page from the nav', async () => {
    // An account for the bot: the one the inbox test added, or one made here when run alone.
    if (!((await owner.json('GET', '/api/messaging/accounts')).items as unknown[]).length)
      await owner.json('POST', '/api/messaging/accounts', {
        provider: 'twilio',
        name: 'Sales SMS',
        credentials: { accountSid: fake.accountSid, authToken: fake.authToken },
        settings: { smsNumbers: [SMS_NUMBER] },
      });
    const a = await (await e2e.newContext()).newPage();
    await e2e.signIn(a, DEMO.email);
    await a.goto(`${e2e.filo.baseUrl}/settings/messaging`);
    const templates = a.getByTestId('templates-panel');
    const bodyError = a.locator('#template-body-error');

    // WhatsApp: named variables are refused at the body; numbered ones with the Content SID are saved.
    await templates.getByRole('button', { name: 'New template' }).click();
    await a.locator('#template-channel').selectOption('whatsapp');
    await a.getByLabel('Template name').fill('order_ready');
    await a.getByLabel('Language').fill('it');
    await a.locator('#template-category').selectOption('utility');
    await a.getByLabel('Provider template id (Content SID)').fill(`HX${'a'.repeat(32)}`);
    await a.locator('#template-body').fill('Ciao {{first_name}}, il tuo ordine è pronto');
    await a.getByRole('button', { name: 'Save template' }).click();
    await poll(() => bodyError.textContent()).toContain('numbered variables');
    expect(await a.locator('#template-body').getAttribute('aria-invalid')).toBe('true');
    await a.locator('#template-body').fill('Ciao {{1}}, il tuo ordine {{2}} è pronto');
    await a.getByRole('button', { name: 'Save template' }).click();
    const rows = a.getByTestId('message-template');
    await poll(() => rows.count()).toBe(1);

    // SMS: a malformed variable is refused at the body; the SMS counter is under it.
    await templates.getByRole('button', { name: 'New template' }).click();
    await a.getByLabel('Template name').fill('Reminder');
    await a.locator('#template-body').fill('Hi {{first name}}, see you tomorrow');
    expect(await a.getByTestId('sms-counter').textContent()).toMatch(/\d/);
    await a.getByRole('button', { name: 'Save template' }).click();
    await poll(() => bodyError.textContent()).toContain('not a valid variable');
    await a.locator('#template-body').fill('Hi {{first_name}}, see you tomorrow');
    await a.getByRole('button', { name: 'Save template' }).click();
    await poll(() => rows.count()).toBe(2);
    const saved = (await owner.json('GET', '/api/messaging/templates')).items as {
      channel: string;
      name: string;
      variables: string[];
      providerTemplateId: string | null;
      category: string | null;
    }[];
    expect(saved.find((x) => x.channel === 'whatsapp')).toMatchObject({
      name: 'order_ready',
      variables: ['1', '2'],
      providerTemplateId: `HX${'a'.repeat(32)}`,
      category: 'utility',
    });
    expect(saved.find((x) => x.channel === 'sms')).toMatchObject({ name: 'Reminder', variables: ['first_name'] });

    // The first account's chatbot: a keyword rule without keywords is refused at its field, then saved.
    const bot = a.getByTestId('bot-panel').first();
    await bot.getByText('Chatbot rules').click();
    await bot.getByLabel('Chatbot on').check();
    await bot.getByRole('button', { name: 'Add a rule' }).click();
    await bot.getByLabel('Reply text').fill('Our price list: filo.example/prices');
    await bot.getByRole('button', { name: 'Add an action' }).click();
    await bot.getByLabel('Action', { exact: true }).nth(1).selectOption('handover');
    await bot.getByLabel('Set business hours').check();
    await bot.getByLabel('Time zone').fill('Europe/Rome');
    await bot.getByRole('button', { name: 'Save chatbot' }).click();
    await poll(() => bot.getByLabel('Keywords (comma separated)').getAttribute('aria-invalid')).toBe('true');
    await bot.getByLabel('Keywords (comma separated)').fill('prezzo, price');
    await bot.getByRole('button', { name: 'Save chatbot' }).click();
    await poll(() => bot.getByRole('status').textContent()).toContain('Chatbot saved');

    await a.reload();
    await a.getByTestId('bot-panel').first().getByText('Chatbot rules').click();
    const again = a.getByTestId('bot-panel').first();
    await poll(() => again.getByLabel('Keywords (comma separated)').inputValue()).toBe('prezzo, price');
    expect(await again.getByLabel('Reply text').inputValue()).toBe('Our price list: filo.example/prices');
    expect(await again.getByLabel('Action', { exact: true }).nth(1).inputValue()).toBe('handover');
    expect(await again.getByLabel('Chatbot on').isChecked()).toBe(true);
    expect(await again.getByLabel('Time zone').inputValue()).toBe('Europe/Rome');

    // The bulk page's way in: the nav's "Bulk messages".
    await a.getByRole('link', { name: 'Bulk messages', exact: true }).first().click();
    await a.waitForURL(/\/messaging\/bulk$/);
  }, 120_000);
});
