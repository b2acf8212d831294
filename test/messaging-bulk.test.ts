import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inTenant, systemActor } from '../server/tenancy.ts';
import { apiClient, body, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';
import { inboundParams, postSigned, startFakeTwilio, type FakeTwilio } from './support/fakes/twilio.ts';

/**
 * Bulk messages (issue 19) through the shared bulk engine to a local stand-in of Twilio driven by the real SDK:
 * an inbound STOP withdraws the number's consent and later bulk sends skip it (START gives it back), the chosen
 * pace holds, each recipient gets one message even when rows are claimed again, and the report counts it all.
 */

const PUBLIC_URL = 'https://filo.example';
const SMS_NUMBER = '+390212345678';
const N = 10;
const number = (i: number) => `+39333100${String(i).padStart(4, '0')}`;

let filo: TestFilo;
let fake: FakeTwilio;
let demo: ApiClient;
let tenantId: string;
let account: { id: string; mailboxId: string; webhooks: Record<string, string> };
let segment: { id: string };

type Report = { recipients: number; pending: number; suppressed: number; sent: number; failed: number };
type Bulk = { id: string; state: string; report: Report & { errors: { code: string | null; count: number }[] } };

const sentTo = () => fake.sent().map((r) => r.params.To!);
const countOf = (list: string[], n: string) => list.filter((x) => x === n).length;

async function runBulk(text: string, ratePerMinute = 6000): Promise<Bulk & { launchedAt: number }> {
  const draft = await demo.json('POST', '/api/messaging/bulks', {
    name: `Bulk ${text}`,
    accountId: account.id,
    channel: 'sms',
    listIds: [segment.id],
    text,
    ratePerMinute,
  });
  const launchedAt = Date.now();
  const started = await demo.json('POST', `/api/messaging/bulks/${draft.id}/start`, undefined, 200);
  expect(started).toMatchObject({ state: 'sending', unreachable: 1 });
  await expect
    .poll(async () => (await demo.json('GET', `/api/messaging/bulks/${draft.id}`)).state, { timeout: 45_000 })
    .toBe('done');
  return { ...(await demo.json('GET', `/api/messaging/bulks/${draft.id}`)), launchedAt };
}

beforeAll(async () => {
  fake = await startFakeTwilio();
  filo = await startTestFilo({ PUBLIC_URL, MESSAGING_API_BASE: `twilio=${fake.url}` });
  fake.deliverTo = filo.baseUrl;
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  tenantId = (await demo.json('GET', '/api/auth/me')).workspace.id;
  for (let i = 0; i < N; i++)
    await demo.json('POST', '/api/crm/contacts', {
      firstName: `P${i}`,
      lastName: 'Bulk',
      // written as people write them; sent to in E.164
      mobile: `+39 333 100 ${String(i).padStart(4, '0')}`,
      tags: ['bulk'],
    });
  // In the segment but with no number: left out, counted as unreachable.
  await demo.json('POST', '/api/crm/contacts', { firstName: 'No', lastName: 'Phone', tags: ['bulk'] });
  segment = await demo.json('POST', '/api/newsletters/lists', {
    name: 'Bulk SMS',
    kind: 'segment',
    filter: { match: 'all', conditions: [{ field: 'contact.tag', op: 'has', value: 'bulk' }] },
  });
  account = await demo.json('POST', '/api/messaging/accounts', {
    provider: 'twilio',
    name: 'Bulk SMS',
    credentials: { accountSid: fake.accountSid, authToken: fake.authToken },
    settings: { smsNumbers: [SMS_NUMBER] },
  });
}, 60_000);
afterAll(async () => {
  await filo?.close();
  await fake?.close();
});

describe('bulk messages', () => {
  it('refuse bad drafts with a code: no text nor template, a channel the account lacks, an unknown list, a zero rate', async () => {
    const base = { name: 'x', accountId: account.id, channel: 'sms', listIds: [segment.id] };
    const none = await demo.call('POST', '/api/messaging/bulks', base);
    expect(none.status).toBe(400);
    const tg = await demo.call('POST', '/api/messaging/bulks', { ...base, channel: 'telegram', text: 'hi' });
    expect(tg.status).toBe(409);
    expect((await body(tg)).error.code).toBe('channel_unavailable');
    const list = await demo.call('POST', '/api/messaging/bulks', { ...base, listIds: [account.id], text: 'hi' });
    expect(list.status).toBe(404);
    const rate = await demo.call('POST', '/api/messaging/bulks', { ...base, text: 'hi', ratePerMinute: 0 });
    expect(rate.status).toBe(400);
  });

  it('send once to every reachable number; an inbound STOP suppresses the next bulk, START lifts it', async () => {
    const first = await runBulk('Hello {{first_name}}');
    expect(first.report).toMatchObject({ recipients: N, suppressed: 0, sent: N, failed: 0, pending: 0 });
    const out = sentTo();
    for (let i = 0; i < N; i++) expect(countOf(out, number(i))).toBe(1);
    expect(fake.sent().find((r) => r.params.To === number(3))?.params.Body).toBe('Hello P3');

    const stop = await postSigned(
      account.webhooks.inbound!,
      fake.deliverTo,
      fake.authToken,
      inboundParams(fake.accountSid, { from: number(3), to: SMS_NUMBER, body: 'Stop ' }),
    );
    expect(stop.status).toBe(200);
    const consentOf = async (n: string) =>
      inTenant(filo.orm, systemActor(tenantId), async ({ em }) => {
        const rows = (await em.execute(
          `select c.status, c.source, e.consent_text from consents c
             left join consent_events e on e.consent_id = c.id
            where c.channel = 'sms' and c.address = ? and c.list_id is null order by e.created_at desc limit 1`,
          [n],
        )) as { status: string; source: string; consent_text: string | null }[];
        return rows[0] ?? null;
      });
    await expect.poll(() => consentOf(number(3))).toMatchObject({ status: 'unsubscribed', source: 'stop' });
    expect((await consentOf(number(3)))!.consent_text).toContain('Stop');

    const before = sentTo().length;
    const second = await runBulk('Second {{first_name}}');
    expect(second.report).toMatchObject({ recipients: N, suppressed: 1, sent: N - 1, failed: 0 });
    const after = sentTo().slice(before);
    expect(after).toHaveLength(N - 1);
    expect(after).not.toContain(number(3));

    await postSigned(
      account.webhooks.inbound!,
      fake.deliverTo,
      fake.authToken,
      inboundParams(fake.accountSid, { from: number(3), to: SMS_NUMBER, body: 'START' }),
    );
    await expect.poll(async () => (await consentOf(number(3)))?.status).toBe('subscribed');
    // A sentence with the word in it is a message, not an opt-out.
    await postSigned(
      account.webhooks.inbound!,
      fake.deliverTo,
      fake.authToken,
      inboundParams(fake.accountSid, { from: number(4), to: SMS_NUMBER, body: 'please do not stop' }),
    );
    const n4 = await consentOf(number(4));
    expect(n4).toBeNull();
  });

  it('keep the chosen pace: the send spans at least its length at that rate', async () => {
    const before = (await demo.json('GET', '/api/messaging/bulks')).items.length;
    const bulk = await runBulk('Paced', 240); // 4 a second
    expect(bulk.report.sent).toBe(N);
    expect((await demo.json('GET', '/api/messaging/bulks')).items).toHaveLength(before + 1);
    const times = await inTenant(filo.orm, systemActor(tenantId), async ({ em }) =>
      em.execute(`select sent_at from bulk_sends where source_id = ? and sent_at is not null`, [bulk.id]),
    );
    expect(times).toHaveLength(N);
    // The spacing itself (no burst past the bucket, even after a stall) is proven on a driven clock in
    // server/delivery/bulk/rate.spec.ts. Here, end to end: at 4 a second with no burst, the N-th request cannot
    // reach the provider before (N - 1) / 4 seconds after the start (a slow machine or a stall only makes it later;
    // times written after each answer bunch up whenever the machine stalls, so they are not the measure).
    const arrivals = fake
      .sent()
      .filter((r) => r.params.Body?.includes('Paced'))
      .map((r) => r.at);
    expect(arrivals).toHaveLength(N);
    expect(Math.max(...arrivals) - bulk.launchedAt).toBeGreaterThanOrEqual(((N - 1) / 4) * 1000 * 0.9);
  });

  it('never sends a row twice when it is claimed again after its worker died, and reports provider failures', async () => {
    fake.answerNext({ status: 400, code: 21211, message: "The 'To' number is not a valid phone number." });
    const bulk = await runBulk('Once');
    expect(bulk.report).toMatchObject({ recipients: N, sent: N - 1, failed: 1 });
    expect(bulk.report.errors[0]).toMatchObject({ code: '21211', count: 1 });
    const before = sentTo().length;
    // As a dead worker leaves them: rows `sending` with an expired lease, their messages sent or in doubt.
    await inTenant(filo.orm, systemActor(tenantId), async (uow) => {
      await uow.em.execute(
        `update bulk_sends set status = 'sending', next_attempt_at = now() - interval '1 second'
          where source_id = ? and status = 'sent'`,
        [bulk.id],
      );
      await uow.em.execute(
        `update messages set status = 'sending' where id in (select id from bulk_sends where source_id = ? limit 2)`,
        [bulk.id],
      );
      await filo.services.bulk.start(uow, 'bulk_message', bulk.id);
    });
    await expect
      .poll(
        async () =>
          inTenant(filo.orm, systemActor(tenantId), async ({ em }) => {
            const [r] = (await em.execute(
              `select count(*)::int as n from bulk_sends where source_id = ? and status = 'sending'`,
              [bulk.id],
            )) as { n: number }[];
            return r!.n;
          }),
        { timeout: 30_000 },
      )
      .toBe(0);
    expect(sentTo().length).toBe(before);
  });
});
