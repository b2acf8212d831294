import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPayload } from '#contracts/timeline';
import { inTenant, systemActor } from '../server/tenancy.ts';
import { sweepUnconfirmed } from '../server/messaging/messaging.jobs.ts';
import { apiClient, body, errorCode, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';
import { inboundParams, postSigned, startFakeTwilio, type FakeTwilio } from './support/fakes/twilio.ts';

/**
 * Messaging through Twilio (issue 19) against a local stand-in of its REST API driven by the real `twilio` SDK:
 * webhooks verified first with `twilio.validateRequest` over PUBLIC_URL + path, stored and processed once, status
 * callbacks that never move a message backwards, the WhatsApp 24-hour window, templates, 429 and error codes.
 */

// Filo is reached at 127.0.0.1 but Twilio knows it by its public https address (a proxy in front speaks http).
const PUBLIC_URL = 'https://filo.example';
const SMS_NUMBER = '+390212345678';
const WA_SENDER = '+390298765432';

let filo: TestFilo;
let fake: FakeTwilio;
let demo: ApiClient;
let account: { id: string; mailboxId: string; webhooks: Record<string, string> };
let contact: { id: string };

type Msg = { id: string; direction: string; text: string | null; status: string | null; error: string | null };
type Detail = { id: string; channel: string; contactId: string | null; mailboxId: string; messages: Msg[] };

const inboundUrl = () => account.webhooks.inbound!;
const statusUrl = () => account.webhooks.status!;
const sms = (from: string, text: string, sid?: string) =>
  inboundParams(fake.accountSid, { from, to: SMS_NUMBER, body: text, ...(sid ? { sid } : {}) });

async function conversationsOf(mailboxId: string): Promise<{ id: string; channel: string }[]> {
  return (await demo.json('GET', `/api/inbox/conversations?mailboxId=${mailboxId}&limit=100`)).items;
}
const detail = (id: string): Promise<Detail> => demo.json('GET', `/api/inbox/conversations/${id}`);

beforeAll(async () => {
  fake = await startFakeTwilio();
  filo = await startTestFilo({ PUBLIC_URL, MESSAGING_API_BASE: `twilio=${fake.url}` });
  fake.deliverTo = filo.baseUrl;
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  contact = await demo.json('POST', '/api/crm/contacts', {
    firstName: 'Giulia',
    lastName: 'Verdi',
    // written as people write it; the webhook says +393331234567
    mobile: '333 123 4567',
    phone: '+39 02 0000000',
  });
  account = await demo.json('POST', '/api/messaging/accounts', {
    provider: 'twilio',
    name: 'Sales SMS',
    credentials: { accountSid: fake.accountSid, authToken: fake.authToken },
    settings: { smsNumbers: [SMS_NUMBER], whatsappSender: WA_SENDER },
  });
}, 60_000);
afterAll(async () => {
  await filo?.close();
  await fake?.close();
});

describe('a Twilio account', () => {
  it('keeps its credentials encrypted and never returns them', async () => {
    const got = await demo.json('GET', `/api/messaging/accounts/${account.id}`);
    expect(got).toMatchObject({ provider: 'twilio', channels: ['sms', 'whatsapp'], hasCredentials: true });
    expect(JSON.stringify(got)).not.toContain(fake.authToken);
    expect(got.webhooks.inbound).toBe(`${PUBLIC_URL}/api/messaging/twilio/${account.id}/inbound`);
    const bad = await demo.call('POST', '/api/messaging/accounts', {
      provider: 'twilio',
      name: 'Bad',
      credentials: { accountSid: 'nope', authToken: fake.authToken },
      settings: { smsNumbers: [SMS_NUMBER] },
    });
    expect(bad.status).toBe(400);
    expect((await body(bad)).error.fields['credentials.accountSid']).toBeTruthy();
  });
});

describe('inbound webhooks', () => {
  it('refuses unsigned, tampered and wrongly addressed webhooks with 403 and stores nothing', async () => {
    const params = sms('+393331234567', 'hello?');
    const unsigned = await postSigned(inboundUrl(), filo.baseUrl, fake.authToken, params, { signature: null });
    expect(unsigned.status).toBe(403);
    const tampered = await postSigned(inboundUrl(), filo.baseUrl, fake.authToken, params, {
      tamper: { Body: 'send me the invoices' },
    });
    expect(tampered.status).toBe(403);
    // Signed over the address the proxy used (http://127.0.0.1:port), not the PUBLIC_URL Twilio was given.
    const local = `${filo.baseUrl}/api/messaging/twilio/${account.id}/inbound`;
    const proxied = await postSigned(local, null, fake.authToken, params);
    expect(proxied.status).toBe(403);
    const wrongKey = await postSigned(inboundUrl(), filo.baseUrl, 'f'.repeat(32), params);
    expect(wrongKey.status).toBe(403);
    expect(await conversationsOf(account.mailboxId)).toEqual([]);
  });

  it('validates over PUBLIC_URL + path, answers empty TwiML at once, and files the SMS on the matched contact', async () => {
    const res = await postSigned(inboundUrl(), filo.baseUrl, fake.authToken, sms('+393331234567', 'Ciao, the order?'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/xml');
    expect(await res.text()).toContain('<Response></Response>');
    await expect.poll(async () => (await conversationsOf(account.mailboxId)).length, { timeout: 15_000 }).toBe(1);
    const [c] = await conversationsOf(account.mailboxId);
    const d = await detail(c!.id);
    expect(d).toMatchObject({ channel: 'sms', contactId: contact.id });
    expect(d.messages.map((m) => [m.direction, m.text])).toEqual([['inbound', 'Ciao, the order?']]);
    const timeline = (await demo.json('GET', `/api/crm/timeline?entityType=contact&entityId=${contact.id}`)).items;
    const received = timeline.find((a: { type: string }) => a.type === 'message.received');
    expect(received).toBeTruthy();
    checkPayload('message.received', received.data);
  });

  it('processes a repeated MessageSid once', async () => {
    const params = sms('+393331234567', 'twice', 'SM' + 'd'.repeat(32));
    for (let i = 0; i < 3; i++)
      expect((await postSigned(inboundUrl(), filo.baseUrl, fake.authToken, params)).status).toBe(200);
    const after = await postSigned(inboundUrl(), filo.baseUrl, fake.authToken, sms('+393331234567', 'marker'));
    expect(after.status).toBe(200);
    const [c] = await conversationsOf(account.mailboxId);
    await expect
      .poll(async () => (await detail(c!.id)).messages.map((m) => m.text), { timeout: 15_000 })
      .toEqual(['Ciao, the order?', 'twice', 'marker']);
  });
});

describe('sending', () => {
  it('replies through the SDK, then moves forward on status callbacks and never backwards', async () => {
    const [c] = await conversationsOf(account.mailboxId);
    const sent = await demo.json('POST', '/api/messaging/messages', { conversationId: c!.id, text: 'On its way' }, 202);
    expect(sent.status).toBe('queued');
    await expect.poll(() => fake.sent().length, { timeout: 15_000 }).toBe(1);
    const request = fake.sent()[0]!;
    expect(request.params).toMatchObject({ To: '+393331234567', From: SMS_NUMBER, Body: 'On its way' });
    expect(request.params.StatusCallback).toBe(statusUrl());
    const mine = async () => (await detail(c!.id)).messages.find((m) => m.id === sent.id)!;
    await expect.poll(() => sidOf(sent.id, c!.id), { timeout: 15_000 }).toMatch(/^SM/);
    const sid = await sidOf(sent.id, c!.id);
    expect((await mine()).status).toBe('queued');
    const callback = (status: string, extra: Record<string, string> = {}) =>
      postSigned(statusUrl(), filo.baseUrl, fake.authToken, {
        AccountSid: fake.accountSid,
        MessageSid: sid,
        MessageStatus: status,
        To: '+393331234567',
        From: SMS_NUMBER,
        ...extra,
      });
    expect((await callback('sent')).status).toBe(200);
    await expect.poll(async () => (await mine()).status, { timeout: 15_000 }).toBe('sent');
    expect((await callback('read')).status).toBe(200);
    await expect.poll(async () => (await mine()).status, { timeout: 15_000 }).toBe('read');
    // Late and out of order: delivered after read, and a failure after read, change nothing.
    await callback('delivered');
    await callback('undelivered', { ErrorCode: '30003' });
    const marker = await postSigned(inboundUrl(), filo.baseUrl, fake.authToken, sms('+393331234567', 'got it'));
    expect(marker.status).toBe(200);
    await expect.poll(async () => (await detail(c!.id)).messages.at(-1)?.text, { timeout: 15_000 }).toBe('got it');
    await expect.poll(async () => eventsDone(), { timeout: 15_000 }).toBe(true);
    expect(await mine()).toMatchObject({ status: 'read', error: null });
  });

  it('honours a 429 with Retry-After: the message goes out once, later', async () => {
    const before = fake.requests.length;
    fake.answerNext({ status: 429, retryAfter: 1 });
    const [c] = await conversationsOf(account.mailboxId);
    const sent = await demo.json(
      'POST',
      '/api/messaging/messages',
      { conversationId: c!.id, text: 'after a pause' },
      202,
    );
    await expect
      .poll(async () => (await detail(c!.id)).messages.find((m) => m.id === sent.id)?.status, { timeout: 20_000 })
      .toBe('queued');
    await expect
      .poll(() => fake.sent().filter((r) => r.params.Body === 'after a pause').length, { timeout: 20_000 })
      .toBe(1);
    const tries = fake.requests.slice(before).filter((r) => r.params.Body === 'after a pause');
    expect(tries.length).toBe(2);
    await expect.poll(async () => (await sidOf(sent.id, c!.id)).startsWith('SM'), { timeout: 15_000 }).toBe(true);
  });

  it('fails a refused message with the provider’s error in words', async () => {
    fake.answerNext({ status: 400, code: 21610, message: 'Attempt to send to unsubscribed recipient' });
    const [c] = await conversationsOf(account.mailboxId);
    const sent = await demo.json(
      'POST',
      '/api/messaging/messages',
      { conversationId: c!.id, text: 'are you there?' },
      202,
    );
    await expect
      .poll(async () => (await detail(c!.id)).messages.find((m) => m.id === sent.id)?.status, { timeout: 15_000 })
      .toBe('failed');
    const m = (await detail(c!.id)).messages.find((x) => x.id === sent.id)!;
    expect(m.error).toMatch(/opted out/);
  });

  it('never sends twice a message whose answer could not be recorded, and fails it in words once in doubt', async () => {
    const [c] = await conversationsOf(account.mailboxId);
    const post = (text: string) =>
      demo.json('POST', '/api/messaging/messages', { conversationId: c!.id, text }, 202) as Promise<{ id: string }>;
    const status = async (id: string) => (await detail(c!.id)).messages.find((m) => m.id === id)?.status;
    const db = filo.jobs!.boss.getDb();
    const rows = async <T>(text: string, values: unknown[] = []) =>
      ((await db.executeSql(text, values)) as { rows: T[] }).rows;
    const providerId = async (id: string) =>
      (
        await rows<{ message_id_header: string | null }>(`select message_id_header from messages where id = $1`, [id])
      )[0]?.message_id_header;
    // Earlier sends settled (a delayed one would take the SID meant for this message), and one recorded SID to repeat.
    const pending = `select count(*)::int as n from pgboss.job where name = 'messaging.send' and state in ('created', 'retry', 'active')`;
    await expect.poll(async () => (await rows<{ n: number }>(pending))[0]!.n, { timeout: 30_000 }).toBe(0);
    const [taken] = await rows<{ message_id_header: string }>(
      `select message_id_header from messages where direction = 'outbound' and message_id_header like 'SM%' limit 1`,
    );
    expect(taken).toBeDefined();
    // Twilio takes the second one, but recording its (repeated) SID fails: the message stays `sending`, and the
    // job's retries do not hand it over again.
    const accepted = fake.sent().length;
    fake.nextSid = taken!.message_id_header;
    const second = await post('second of two');
    await expect.poll(() => fake.sent().length, { timeout: 15_000 }).toBe(accepted + 1);
    const jobStates = async () =>
      (await rows<{ state: string }>(`select state from pgboss.job where data->>'messageId' = $1`, [second.id])).map(
        (j) => j.state,
      );
    // The job ran and ended (its retry found the message claimed and skipped it).
    await expect.poll(jobStates, { timeout: 30_000 }).toEqual(['completed']);
    expect(await status(second.id)).toBe('sending');
    expect(await providerId(second.id)).toBeNull();
    expect(fake.sent().length).toBe(accepted + 1);

    // Not in doubt for long enough yet: left alone. Past the limit: failed in words, still never sent again.
    expect(
      await sweepUnconfirmed(filo.jobs!.boss, filo.services.messagingOutbound, new Date(Date.now() - 3600_000)),
    ).toBe(0);
    expect(await status(second.id)).toBe('sending');
    expect(await sweepUnconfirmed(filo.jobs!.boss, filo.services.messagingOutbound, new Date(Date.now() + 1000))).toBe(
      1,
    );
    const m = (await detail(c!.id)).messages.find((x) => x.id === second.id)!;
    expect(m.status).toBe('failed');
    expect(m.error).toMatch(/may have been sent/);
    expect(fake.sent().length).toBe(accepted + 1);
  });
});

describe('the WhatsApp 24-hour window', () => {
  it('refuses free text outside it without calling Twilio, and sends an approved template with ContentSid', async () => {
    const before = fake.requests.length;
    const refused = await demo.call('POST', '/api/messaging/messages', {
      accountId: account.id,
      channel: 'whatsapp',
      to: '+393401112233',
      text: 'Hi!',
    });
    expect(refused.status).toBe(409);
    expect(await errorCode(refused)).toBe('whatsapp_window_closed');
    expect(fake.requests.length).toBe(before);
    const template = await demo.json('POST', '/api/messaging/templates', {
      channel: 'whatsapp',
      name: 'order_update',
      language: 'it',
      category: 'utility',
      body: 'Ciao {{1}}, il tuo ordine {{2}} è pronto',
      providerTemplateId: 'HX' + 'a'.repeat(32),
    });
    expect(template.variables).toEqual(['1', '2']);
    // A WhatsApp template takes numbered variables only, and a gap in them is refused: by the API as by the form.
    for (const body of ['Ciao {{name}}', 'Ciao {{1}}, ordine {{3}}']) {
      const bad = await demo.call('POST', '/api/messaging/templates', {
        channel: 'whatsapp',
        name: 'bad_vars',
        language: 'it',
        category: 'utility',
        body,
        providerTemplateId: 'HX' + 'b'.repeat(32),
      });
      expect(bad.status).toBe(400);
      expect(await errorCode(bad)).toBe('validation_failed');
    }
    const missing = await demo.call('POST', '/api/messaging/messages', {
      accountId: account.id,
      channel: 'whatsapp',
      to: '+393401112233',
      template: { templateId: template.id, variables: { 1: 'Giulia' } },
    });
    expect(await errorCode(missing)).toBe('template_variables');
    const sent = await demo.json(
      'POST',
      '/api/messaging/messages',
      {
        accountId: account.id,
        channel: 'whatsapp',
        to: '+393401112233',
        template: { templateId: template.id, variables: { 1: 'Giulia', 2: 'A-42' } },
      },
      202,
    );
    await expect.poll(() => fake.sent().filter((r) => r.params.To === 'whatsapp:+393401112233').length).toBe(1);
    const request = fake.sent().find((r) => r.params.To === 'whatsapp:+393401112233')!;
    expect(request.params).toMatchObject({
      From: `whatsapp:${WA_SENDER}`,
      ContentSid: template.providerTemplateId,
      ContentVariables: JSON.stringify({ 1: 'Giulia', 2: 'A-42' }),
    });
    expect(request.params.Body).toBeUndefined();
    const ctx = await demo.json('GET', `/api/messaging/conversations/${sent.conversationId}/compose`);
    expect(ctx).toMatchObject({ channel: 'whatsapp', to: '+393401112233', window: { open: false, closesAt: null } });
    // Their reply opens the window for 24 hours: free text goes out.
    await postSigned(
      inboundUrl(),
      filo.baseUrl,
      fake.authToken,
      inboundParams(fake.accountSid, { from: 'whatsapp:+393401112233', to: `whatsapp:${WA_SENDER}`, body: 'grazie' }),
    );
    await expect
      .poll(
        async () => (await demo.json('GET', `/api/messaging/conversations/${sent.conversationId}/compose`)).window.open,
        {
          timeout: 15_000,
        },
      )
      .toBe(true);
    await demo.json('POST', '/api/messaging/messages', { conversationId: sent.conversationId, text: 'Prego!' }, 202);
    await expect.poll(() => fake.sent().some((r) => r.params.Body === 'Prego!'), { timeout: 15_000 }).toBe(true);
  });
});

/** The provider id Filo stored for a message (Twilio's SM… sid), read as the database has it. */
async function sidOf(messageId: string, conversationId: string): Promise<string> {
  const d = (await demo.json('GET', `/api/inbox/conversations/${conversationId}`)) as {
    messages: { id: string; messageId: string | null }[];
  };
  return d.messages.find((m) => m.id === messageId)?.messageId ?? '';
}

/** Whether every stored webhook event of the account has been processed (none still `received`). */
async function eventsDone(): Promise<boolean> {
  const me = await demo.json('GET', '/api/auth/me');
  const tenantId = me.workspace.id as string;
  const rows = (await inTenant(filo.orm, systemActor(tenantId), ({ em }) =>
    em.execute(`select count(*)::int as n from messaging_events where status = 'received'`),
  )) as { n: number }[];
  return rows[0]!.n === 0;
}
