import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTenant, systemActor } from '../server/tenancy.ts';
import { apiClient, body, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';
import { inboundParams, postSigned, startFakeTwilio, type FakeTwilio } from './support/fakes/twilio.ts';

/**
 * The chatbot of a messaging account (issue 19), over SMS through a local stand-in of Twilio: it answers the first
 * message, asks for a field and stores it on the contact, tags and hands over; once a person has replied it stays
 * quiet; it never loops with another bot.
 */

const PUBLIC_URL = 'https://filo.example';
const SMS_NUMBER = '+390212345678';

let filo: TestFilo;
let fake: FakeTwilio;
let demo: ApiClient;
let tenantId: string;
let account: { id: string; webhooks: Record<string, string> };

const RULES = [
  {
    id: 'price',
    trigger: { kind: 'keyword', words: ['price', 'prezzo'] },
    actions: [
      { kind: 'ask', field: 'email', prompt: 'What is your email?' },
      { kind: 'tag', tag: 'lead' },
      { kind: 'reply', text: 'Thanks, a colleague will write to you.' },
      { kind: 'handover' },
    ],
  },
  {
    id: 'hello',
    trigger: { kind: 'first_message' },
    actions: [{ kind: 'reply', text: 'Hi! Ask us about the price.' }],
  },
];

const say = (from: string, text: string) =>
  postSigned(
    account.webhooks.inbound!,
    fake.deliverTo,
    fake.authToken,
    inboundParams(fake.accountSid, { from, to: SMS_NUMBER, body: text }),
  );
const repliesTo = (n: string) =>
  fake
    .sent()
    .filter((r) => r.params.To === n)
    .map((r) => r.params.Body);
const db = <T>(sql: string, params: unknown[]) =>
  inTenant(filo.orm, systemActor(tenantId), async ({ em }) => (await em.execute(sql, params)) as T[]);
const conversationOf = async (n: string) =>
  (
    await db<{ id: string; tags: string[]; contact_id: string | null; bot: string | null }>(
      `select c.id, c.tags, c.contact_id, b.status as bot from conversations c
         left join conversation_bots b on b.conversation_id = c.id
        where ? = any(c.participants) order by c.created_at desc limit 1`,
      [n],
    )
  )[0];
/** Every inbound message of a number is processed (its job ran and the bot, if any, decided). */
const processed = async (n: string, count: number) =>
  expect
    .poll(async () => {
      const [r] = await db<{ n: number }>(
        `select count(*)::int as n from messages m join conversations c on c.id = m.conversation_id
          where ? = any(c.participants) and m.direction = 'inbound'`,
        [n],
      );
      return r!.n;
    })
    .toBe(count);

beforeAll(async () => {
  fake = await startFakeTwilio();
  filo = await startTestFilo({ PUBLIC_URL, MESSAGING_API_BASE: `twilio=${fake.url}` });
  fake.deliverTo = filo.baseUrl;
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  tenantId = (await demo.json('GET', '/api/auth/me')).workspace.id;
  account = await demo.json('POST', '/api/messaging/accounts', {
    provider: 'twilio',
    name: 'Bot SMS',
    credentials: { accountSid: fake.accountSid, authToken: fake.authToken },
    settings: { smsNumbers: [SMS_NUMBER] },
  });
  await demo.json('PUT', `/api/messaging/accounts/${account.id}/bot`, { enabled: true, rules: RULES }, 200);
}, 60_000);
afterAll(async () => {
  await filo?.close();
  await fake?.close();
});

describe('the chatbot', () => {
  it('keeps valid rules only, and another account id answers 404', async () => {
    const bad = await demo.call('PUT', `/api/messaging/accounts/${account.id}/bot`, {
      enabled: true,
      rules: [{ id: 'x', trigger: { kind: 'keyword', words: [] }, actions: [{ kind: 'reply' }] }],
      hours: { timeZone: 'Mars/Olympus', days: [] },
    });
    expect(bad.status).toBe(400);
    expect((await demo.json('GET', `/api/messaging/accounts/${account.id}/bot`)).rules).toEqual(RULES);
    const other = await demo.call('GET', `/api/messaging/accounts/${tenantId}/bot`);
    expect(other.status).toBe(404);
  });

  it('answers, asks for the email and stores it, tags, hands over, then stays quiet', async () => {
    const n = '+393335550001';
    await say(n, 'hello');
    await expect.poll(() => repliesTo(n)).toEqual(['Hi! Ask us about the price.']);
    expect((await conversationOf(n))!.bot).toBe('bot');
    await say(n, 'what is the price?');
    await expect.poll(() => repliesTo(n).length).toBe(2);
    expect(repliesTo(n)[1]).toBe('What is your email?');
    await say(n, 'sure, it is Marta@Example.com');
    await expect.poll(() => repliesTo(n).length).toBe(3);
    expect(repliesTo(n)[2]).toBe('Thanks, a colleague will write to you.');
    const c = (await conversationOf(n))!;
    expect(c).toMatchObject({ bot: 'open', tags: ['lead'] });
    const [contact] = await db<{ email: string }>(`select email from contacts where id = ?`, [c.contact_id]);
    expect(contact!.email).toBe('marta@example.com');
    // Handed over: the keyword again gets no answer.
    await say(n, 'price');
    await processed(n, 4);
    await expect.poll(async () => (await conversationOf(n))!.bot).toBe('open');
    expect(repliesTo(n)).toHaveLength(3);
  });

  it('stays quiet once a person replied, and hands over rather than loop with another bot', async () => {
    const person = '+393335550002';
    await say(person, 'hello');
    await expect.poll(() => repliesTo(person)).toHaveLength(1);
    const c = (await conversationOf(person))!;
    const sent = await demo.call('POST', '/api/messaging/messages', { conversationId: c.id, text: 'Marco here, hi!' });
    expect(sent.status).toBe(202);
    await expect.poll(() => repliesTo(person)).toHaveLength(2);
    await say(person, 'price?');
    await processed(person, 2);
    await expect.poll(async () => (await conversationOf(person))!.bot).toBe('open');
    expect(repliesTo(person)).toEqual(['Hi! Ask us about the price.', 'Marco here, hi!']);

    // Another bot echoes our answer back: the bot hands over instead of answering it.
    const echo = '+393335550003';
    await say(echo, 'hello');
    await expect.poll(() => repliesTo(echo)).toHaveLength(1);
    await say(echo, repliesTo(echo)[0]!);
    await processed(echo, 2);
    await expect.poll(async () => (await conversationOf(echo))!.bot).toBe('open');
    await say(echo, 'price');
    await processed(echo, 3);
    expect(repliesTo(echo)).toHaveLength(1);
    expect((await body(await demo.call('GET', `/api/messaging/accounts/${account.id}/bot`))).enabled).toBe(true);
  });
});
