import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { telegramProvider } from '../server/messaging/providers/telegram.ts';
import { ProviderError } from '../server/messaging/providers/types.ts';
import { inTenant, systemActor } from '../server/tenancy.ts';
import { startFakeDiscord, type FakeDiscord } from './support/fakes/discord.ts';
import { startFakeTelegram, type FakeTelegram } from './support/fakes/telegram.ts';
import { startFakeVonage, type FakeVonage } from './support/fakes/vonage.ts';
import { apiClient, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

/**
 * Telegram, Discord and Vonage behind the one provider interface, each against a local stand-in speaking its real
 * protocol and driven by the real client (grammy, fetch, @vonage/messages): webhooks refused unless signed by the
 * provider, a valid inbound message lands once in the account's inbox (a repeat is stored once), a reply reaches the
 * provider, and a 429 is honoured by the send job (rescheduled after the delay asked for, sent once).
 */

const PUBLIC_URL = 'https://crm.filo.test';
const BOT_TOKEN = '7123456789:AAH-filoTestTokenFor_Telegram_1234567';
const VONAGE = {
  apiKey: 'a1b2c3d4',
  apiSecret: 'vonage-api-secret',
  signatureSecret: 'vonage-signature-secret-of-32-chars',
};
const OUR_NUMBER = '+393330000001';

let filo: TestFilo;
let demo: ApiClient;
let tenantId: string;
let telegram: FakeTelegram;
let discord: FakeDiscord;
let vonage: FakeVonage;

const sql = <T>(text: string, params: unknown[] = []) =>
  inTenant(filo.orm, systemActor(tenantId), async ({ em }) => (await em.execute(text, params)) as T[]);

/** The URL as Filo shows it (PUBLIC_URL) -> where this test's Filo listens, as the reverse proxy would forward it. */
const local = (url: string) => `${filo.baseUrl}${new URL(url).pathname}`;

interface Conversation {
  id: string;
  channel: string;
  contactId: string | null;
}
interface Message {
  id: string;
  direction: string;
  text: string | null;
  status: string | null;
}

async function conversationsOf(mailboxId: string): Promise<Conversation[]> {
  return (await demo.json('GET', `/api/inbox/conversations?mailboxId=${mailboxId}`)).items;
}
async function messagesOf(conversationId: string): Promise<Message[]> {
  return (await demo.json('GET', `/api/inbox/conversations/${conversationId}`)).messages;
}
async function messageStatus(id: string): Promise<string | null> {
  return (await sql<{ status: string | null }>(`select status from messages where id = ?`, [id]))[0]?.status ?? null;
}

/** The delay pg-boss was told for this message's send jobs (seconds between creation and start), largest first. */
async function sendDelays(messageId: string): Promise<number[]> {
  const { rows } = await filo.jobs!.boss.getDb().executeSql(
    `select extract(epoch from (start_after - created_on))::float as delay from pgboss.job
      where name = 'messaging.send' and data->>'messageId' = $1 order by delay desc`,
    [messageId],
  );
  return (rows as { delay: number }[]).map((r) => r.delay);
}

beforeAll(async () => {
  [telegram, discord, vonage] = await Promise.all([startFakeTelegram(), startFakeDiscord(), startFakeVonage(VONAGE)]);
  telegram.addBot(BOT_TOKEN, 'filo_support_bot');
  filo = await startTestFilo({
    PUBLIC_URL,
    MESSAGING_API_BASE: `telegram=${telegram.apiRoot},discord=${discord.url},vonage=${vonage.apiHost}`,
  });
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  tenantId = (await demo.json('GET', '/api/auth/me')).workspace.id;
}, 60_000);

afterAll(async () => {
  await filo?.close();
  await Promise.all([telegram?.close(), discord?.close(), vonage?.close()]);
});

describe('Telegram', () => {
  let account: { id: string; mailboxId: string; webhooks: Record<string, string> };
  const user = { id: 48_151_623, first_name: 'Giulia', last_name: 'Neri', username: 'giulia_n' };

  it('connecting a bot calls setWebhook with Filo’s URL and a random secret token, never returned', async () => {
    const res = await demo.call('POST', '/api/messaging/accounts', {
      provider: 'telegram',
      name: 'Support bot',
      credentials: { botToken: BOT_TOKEN },
    });
    const text = await res.text();
    expect(res.status, text).toBe(201);
    account = JSON.parse(text);
    expect(text).not.toContain(BOT_TOKEN);
    expect(account.webhooks.updates).toBe(`${PUBLIC_URL}/api/messaging/telegram/${account.id}/updates`);
    await expect.poll(() => telegram.webhooks.get(BOT_TOKEN)?.url).toBe(account.webhooks.updates);
    const secret = telegram.webhooks.get(BOT_TOKEN)!.secretToken!;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{32,256}$/);
    expect(text).not.toContain(secret);
    expect(telegram.calls.map((c) => c.method)).toEqual(['getMe', 'setWebhook']);
    // A bad token is refused on save, in words, before anything is stored.
    const bad = await demo.call('POST', '/api/messaging/accounts', {
      provider: 'telegram',
      name: 'Broken',
      credentials: { botToken: 'not-a-token' },
    });
    expect(bad.status).toBe(400);
  });

  it('refuses an update without the secret token or with another one (401), stores nothing', async () => {
    const update = telegram.textUpdate(user, 'forged');
    expect(await telegram.deliver(BOT_TOKEN, update, { secretToken: null, via: filo.baseUrl })).toBe(401);
    expect(await telegram.deliver(BOT_TOKEN, update, { secretToken: 'guessed-secret', via: filo.baseUrl })).toBe(401);
    const events = await sql(`select 1 from messaging_events where account_id = ?`, [account.id]);
    expect(events).toHaveLength(0);
  });

  it('lands a message once in the bot’s inbox (a repeated update_id is ignored) and the reply reaches the chat', async () => {
    const update = telegram.textUpdate(user, 'Ciao, il mio ordine non è arrivato');
    expect(await telegram.deliver(BOT_TOKEN, update, { via: filo.baseUrl })).toBe(200);
    expect(await telegram.deliver(BOT_TOKEN, update, { via: filo.baseUrl })).toBe(200);
    await expect.poll(async () => (await conversationsOf(account.mailboxId)).length, { timeout: 15_000 }).toBe(1);
    const [conversation] = await conversationsOf(account.mailboxId);
    expect(conversation!.channel).toBe('telegram');
    // The sender became a contact (the account creates them), linked to the conversation.
    const contact = await demo.json('GET', `/api/crm/contacts/${conversation!.contactId}`);
    expect([contact.firstName, contact.lastName]).toEqual(['Giulia', 'Neri']);
    const messages = await messagesOf(conversation!.id);
    expect(messages.map((m) => [m.direction, m.text])).toEqual([['inbound', 'Ciao, il mio ordine non è arrivato']]);
    expect(await sql(`select 1 from messaging_events where account_id = ?`, [account.id])).toHaveLength(1);

    const reply = await demo.json(
      'POST',
      '/api/messaging/messages',
      { conversationId: conversation!.id, text: 'Lo controllo subito' },
      202,
    );
    await expect
      .poll(() => telegram.sent.filter((s) => s.text === 'Lo controllo subito').length, { timeout: 15_000 })
      .toBe(1);
    expect(String(telegram.sent.at(-1)!.chatId)).toBe(String(user.id));
    await expect.poll(() => messageStatus(reply.id)).toBe('sent');
  });

  it('honours a 429 retry_after: the send job waits that long and the message goes out once', async () => {
    const [conversation] = await conversationsOf(account.mailboxId);
    telegram.limit({ times: 1, retryAfter: 3 });
    const reply = await demo.json(
      'POST',
      '/api/messaging/messages',
      { conversationId: conversation!.id, text: 'Spedito oggi' },
      202,
    );
    await expect.poll(() => telegram.sent.filter((s) => s.text === 'Spedito oggi').length, { timeout: 20_000 }).toBe(1);
    const tries = telegram.calls.filter((c) => c.method === 'sendMessage' && c.body.text === 'Spedito oggi');
    expect(tries.map((t) => t.status)).toEqual([429, 200]);
    expect((await sendDelays(reply.id))[0]).toBeGreaterThanOrEqual(2.9);
    await expect.poll(() => messageStatus(reply.id)).toBe('sent');
  });

  it('keeps to one message a second per chat: a second one at once is handed back to the job, with no API call', async () => {
    const view = {
      id: randomUUID(),
      tenantId,
      credentials: { botToken: BOT_TOKEN, webhookSecret: 'unused' },
      settings: { botUsername: null },
      webhookUrl: () => '',
    };
    const ctx = { apiBase: telegram.apiRoot, statusUrl: '' };
    const message = (text: string) => ({
      id: randomUUID(),
      channel: 'telegram' as const,
      to: '777',
      text,
      template: null,
    });
    const before = telegram.calls.length;
    await expect(telegramProvider.send(message('uno'), view, ctx)).resolves.toMatchObject({ status: 'sent' });
    const second = await telegramProvider.send(message('due'), view, ctx).catch((err: unknown) => err);
    expect(second).toBeInstanceOf(ProviderError);
    expect(second).toMatchObject({ kind: 'rate_limited', code: 'per_chat', retryAfterSeconds: 1 });
    expect(telegram.calls.slice(before).map((c) => c.body.text)).toEqual(['uno']);
  });

  it('removing the bot’s account deletes its webhook at Telegram', async () => {
    expect(telegram.webhooks.has(BOT_TOKEN)).toBe(true);
    const res = await demo.call('DELETE', `/api/messaging/accounts/${account.id}`);
    expect(res.status).toBeLessThan(300);
    expect(telegram.calls.at(-1)?.method).toBe('deleteWebhook');
    expect(telegram.webhooks.has(BOT_TOKEN)).toBe(false);
    const gone = (await demo.json('GET', `/api/audit?action=messaging_account.deleted&target=${account.id}`)).items;
    expect(gone).toHaveLength(1);
  });
});

describe('Discord', () => {
  let account: { id: string; mailboxId: string; webhooks: Record<string, string> };
  let hook: { id: string; token: string; url: string };
  const command = (id: string, text: string) => ({
    id,
    type: 2,
    application_id: '1100000000000000001',
    channel_id: '1100000000000000002',
    channel: { id: '1100000000000000002', name: 'support', type: 0 },
    member: { user: { id: '1100000000000000003', username: 'marco', global_name: 'Marco' } },
    data: { name: 'ask', options: [{ name: 'question', type: 3, value: text }] },
    token: 'interaction-token',
    version: 1,
  });

  it('keeps the webhook URL secret: stored encrypted, never returned', async () => {
    hook = discord.addWebhook('1100000000000000002');
    const res = await demo.call('POST', '/api/messaging/accounts', {
      provider: 'discord',
      name: 'Community',
      credentials: { support: hook.url },
      settings: { applicationPublicKey: discord.publicKey },
    });
    const text = await res.text();
    expect(res.status, text).toBe(201);
    account = JSON.parse(text);
    expect(text).not.toContain(hook.token);
    const stored = await sql<{ credentials_enc: string }>(
      `select credentials_enc from messaging_accounts where id = ?`,
      [account.id],
    );
    expect(stored[0]!.credentials_enc).not.toContain(hook.token);
    // The audit log keeps who added it and what it serves, never the webhook URL, even when it is replaced.
    const first = hook;
    const rotated = discord.addWebhook('1100000000000000002');
    const patched = await demo.call('PATCH', `/api/messaging/accounts/${account.id}`, {
      version: (await demo.json('GET', `/api/messaging/accounts/${account.id}`)).version,
      credentials: { support: rotated.url },
    });
    expect(patched.status, await patched.clone().text()).toBe(200);
    hook = rotated;
    const audited = async (action: string) =>
      (await demo.json('GET', `/api/audit?action=${action}&target=${account.id}`)).items as {
        summary: string;
        before: Record<string, unknown> | null;
        after: Record<string, unknown> | null;
      }[];
    const [created] = await audited('messaging_account.created');
    expect(created).toMatchObject({ summary: 'Messaging account added: Community', after: { provider: 'discord' } });
    const [updated] = await audited('messaging_account.updated');
    expect(updated!.after).toEqual({ credentials: '••••' });
    const log = JSON.stringify(await demo.json('GET', `/api/audit?target=${account.id}`));
    for (const secret of [first.token, rotated.token, first.url, rotated.url]) expect(log).not.toContain(secret);
    const bad = await demo.call('POST', '/api/messaging/accounts', {
      provider: 'discord',
      name: 'Broken',
      credentials: { support: 'https://example.com/not-a-webhook' },
    });
    expect(bad.status).toBe(400);
  });

  it('refuses an interaction unsigned or tampered (401); answers a signed PING', async () => {
    const url = local(account.webhooks.interactions!);
    expect((await discord.interact(url, command('1300000000000000001', 'x'), { unsigned: true })).status).toBe(401);
    expect((await discord.interact(url, command('1300000000000000001', 'x'), { tamper: true })).status).toBe(401);
    const ping = await discord.interact(url, { id: '1300000000000000000', type: 1, application_id: '1' });
    expect(ping).toEqual({ status: 200, body: { type: 1 } });
    expect(await sql(`select 1 from messaging_events where account_id = ?`, [account.id])).toHaveLength(0);
  });

  it('lands a slash command once in that person’s conversation and replies through the channel’s webhook, pinging only them', async () => {
    const url = local(account.webhooks.interactions!);
    const first = await discord.interact(url, command('1300000000000000002', 'Is the API down? @everyone'));
    expect(first.status).toBe(200);
    expect((first.body as { type: number }).type).toBe(4);
    expect((await discord.interact(url, command('1300000000000000002', 'Is the API down? @everyone'))).status).toBe(
      200,
    );
    await expect.poll(async () => (await conversationsOf(account.mailboxId)).length, { timeout: 15_000 }).toBe(1);
    const [conversation] = await conversationsOf(account.mailboxId);
    expect(conversation!.channel).toBe('discord');
    const marco = await demo.json('GET', `/api/crm/contacts/${conversation!.contactId}`);
    expect(marco.firstName).toBe('Marco');
    expect((await messagesOf(conversation!.id)).map((m) => m.text)).toEqual(['Is the API down? @everyone']);

    const reply = await demo.json(
      'POST',
      '/api/messaging/messages',
      { conversationId: conversation!.id, text: 'All green, @everyone' },
      202,
    );
    await expect
      .poll(() => discord.posted.filter((p) => String(p.body.content).endsWith('All green, @everyone')).length, {
        timeout: 15_000,
      })
      .toBe(1);
    const post = discord.posted.at(-1)!;
    expect(post.webhookId).toBe(hook.id);
    expect(post.wait).toBe(true);
    // Only the person answered is pinged: the @everyone in the text is not parsed.
    expect(post.body.content).toBe('<@1100000000000000003> All green, @everyone');
    expect(post.body.allowed_mentions).toEqual({ parse: [], users: ['1100000000000000003'] });
    await expect.poll(() => messageStatus(reply.id)).toBe('sent');
  });

  it('honours a 429: retried after retry_after, posted once', async () => {
    discord.limit({ times: 1, retryAfter: 2.5 });
    const sent = await demo.json(
      'POST',
      '/api/messaging/messages',
      { accountId: account.id, channel: 'discord', to: 'support', text: 'Maintenance tonight' },
      202,
    );
    await expect
      .poll(() => discord.posted.filter((p) => p.body.content === 'Maintenance tonight').length, { timeout: 20_000 })
      .toBe(1);
    const tries = discord.executions.filter((e) => e.body.content === 'Maintenance tonight');
    expect(tries.map((t) => t.status)).toEqual([429, 200]);
    expect((await sendDelays(sent.id))[0]).toBeGreaterThanOrEqual(2.4);
    await expect.poll(() => messageStatus(sent.id)).toBe('sent');
  });
});

describe('Vonage', () => {
  let account: { id: string; mailboxId: string; webhooks: Record<string, string> };
  let contactId: string;
  const CUSTOMER = '+393331234567';

  it('connects with its API key, secret and signature secret (never returned)', async () => {
    contactId = (
      await demo.json('POST', '/api/crm/contacts', { firstName: 'Anna', lastName: 'Russo', mobile: '333 123 4567' })
    ).id;
    const res = await demo.call('POST', '/api/messaging/accounts', {
      provider: 'vonage',
      name: 'Vonage SMS',
      credentials: VONAGE,
      settings: { smsNumbers: [OUR_NUMBER] },
    });
    const text = await res.text();
    expect(res.status, text).toBe(201);
    account = JSON.parse(text);
    for (const secret of [VONAGE.apiSecret, VONAGE.signatureSecret]) expect(text).not.toContain(secret);
    expect(Object.keys(account.webhooks).sort()).toEqual(['inbound', 'status']);
  });

  it('refuses webhooks unsigned, signed with another secret, or changed after signing (401)', async () => {
    const url = local(account.webhooks.inbound!);
    const m = { from: CUSTOMER, to: OUR_NUMBER, text: 'forged' };
    expect(await vonage.inbound(url, m, { unsigned: true })).toBe(401);
    expect(await vonage.inbound(url, m, { secret: 'another-signature-secret-000000' })).toBe(401);
    expect(await vonage.inbound(url, m, { tamper: true })).toBe(401);
    expect(await sql(`select 1 from messaging_events where account_id = ?`, [account.id])).toHaveLength(0);
  });

  it('lands an inbound SMS once on the contact matched by E.164, and the reply goes out through the Messages API', async () => {
    const url = local(account.webhooks.inbound!);
    const m = {
      from: CUSTOMER,
      to: OUR_NUMBER,
      text: 'Posso spostare l’appuntamento?',
      messageUuid: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
    };
    expect(await vonage.inbound(url, m)).toBe(200);
    expect(await vonage.inbound(url, m)).toBe(200);
    await expect.poll(async () => (await conversationsOf(account.mailboxId)).length, { timeout: 15_000 }).toBe(1);
    const [conversation] = await conversationsOf(account.mailboxId);
    expect(conversation!.channel).toBe('sms');
    expect(conversation!.contactId).toBe(contactId);
    expect((await messagesOf(conversation!.id)).map((x) => x.text)).toEqual(['Posso spostare l’appuntamento?']);

    const reply = await demo.json(
      'POST',
      '/api/messaging/messages',
      { conversationId: conversation!.id, text: 'Certo, a giovedì' },
      202,
    );
    await expect
      .poll(() => vonage.accepted.filter((r) => r.body.text === 'Certo, a giovedì').length, { timeout: 15_000 })
      .toBe(1);
    const sent = vonage.accepted.at(-1)!;
    expect(sent.body).toMatchObject({ channel: 'sms', message_type: 'text', to: '393331234567', from: '393330000001' });
    expect(sent.auth).toMatch(/^Basic /);
    await expect
      .poll(() =>
        sql<{ message_id_header: string }>(`select message_id_header from messages where id = ?`, [reply.id]).then(
          (r) => r[0]?.message_id_header,
        ),
      )
      .toBe(sent.messageUuid);

    // Status webhooks, signed: delivered, then a late `submitted` which must not move it back.
    const status = local(account.webhooks.status!);
    const s = { messageUuid: sent.messageUuid!, to: CUSTOMER, from: OUR_NUMBER };
    expect(await vonage.status(status, { ...s, status: 'delivered' }, { unsigned: true })).toBe(401);
    expect(await vonage.status(status, { ...s, status: 'delivered' })).toBe(200);
    await expect.poll(() => messageStatus(reply.id), { timeout: 15_000 }).toBe('delivered');
    expect(await vonage.status(status, { ...s, status: 'submitted' })).toBe(200);
    await expect
      .poll(
        () =>
          sql(`select 1 from messaging_events where account_id = ? and status <> 'received'`, [account.id]).then(
            (r) => r.length,
          ),
        { timeout: 15_000 },
      )
      .toBe(3);
    expect(await messageStatus(reply.id)).toBe('delivered');
  });

  it('honours a 429 Retry-After: retried after it, accepted once', async () => {
    const [conversation] = await conversationsOf(account.mailboxId);
    vonage.limit({ times: 1, retryAfter: 2 });
    const reply = await demo.json(
      'POST',
      '/api/messaging/messages',
      { conversationId: conversation!.id, text: 'Confermato' },
      202,
    );
    await expect
      .poll(() => vonage.accepted.filter((r) => r.body.text === 'Confermato').length, { timeout: 20_000 })
      .toBe(1);
    expect(vonage.requests.filter((r) => r.body.text === 'Confermato').map((r) => r.status)).toEqual([429, 202]);
    expect((await sendDelays(reply.id))[0]).toBeGreaterThanOrEqual(1.9);
  });

  it('a refused send fails in words, with no retry', async () => {
    const [conversation] = await conversationsOf(account.mailboxId);
    vonage.fail(402, 'Low balance', 'This request could not be performed due to your account balance being low.');
    const reply = await demo.json(
      'POST',
      '/api/messaging/messages',
      { conversationId: conversation!.id, text: 'Non partirà' },
      202,
    );
    await expect.poll(() => messageStatus(reply.id), { timeout: 15_000 }).toBe('failed');
    const [row] = await sql<{ error: string; error_code: string }>(
      `select error, error_code from messages where id = ?`,
      [reply.id],
    );
    expect(row).toEqual({ error: 'The Vonage account is out of credit', error_code: 'low_balance' });
    expect(vonage.requests.filter((r) => r.body.text === 'Non partirà')).toHaveLength(1);
  });
});
