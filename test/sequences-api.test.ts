import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_STEPS } from '#contracts/sequences';
import { inTenant, systemActor } from '../server/tenancy.ts';
import {
  apiClient,
  body,
  errorCode,
  login,
  signUp,
  startTestFilo,
  type ApiClient,
  type TestFilo,
} from './support/harness.ts';

/**
 * The sequences' API: authoring with versions, checked tokens and branches; launch refusals; enrolment from a
 * selection, a list and a CSV with each exclusion counted and dedupe across sequences; each prospect's controls and
 * a deal from a reply; mailbox sending rules; the report from send rows and counters as the bulk engine keeps them;
 * members limited to their own sequences, another workspace to nothing.
 */

let filo: TestFilo;
let demo: ApiClient;
let luca: ApiClient;
let other: ApiClient;
let tenantId: string;
/** A mailbox with its own SMTP settings (can send) and one without (cannot). */
let smtpBox: { id: string };
let bareBox: { id: string };

const base = '/api/sequences';
const sql = <T>(text: string, params: unknown[] = []) =>
  inTenant(filo.orm, systemActor(tenantId), async ({ em }) => (await em.execute(text, params)) as T[]);

const email = (
  subject: string,
  body = 'Hi {{contact.first_name | "there"}}, a word about {{company.name | "your team"}}.',
) => ({
  config: { kind: 'email', subject, body },
});
const wait = (days: number) => ({ config: { kind: 'wait', days } });

async function sequenceWith(name: string, steps: unknown[], mailboxIds: string[] = [smtpBox.id]) {
  const s = await demo.json('POST', base, { name, mailboxIds }, 201);
  return demo.json('PUT', `${base}/${s.id}/steps`, { steps, version: s.version }, 200);
}

async function contact(input: Record<string, unknown>) {
  return demo.json('POST', '/api/crm/contacts', { lastName: 'Test', ...input }, 201);
}

beforeAll(async () => {
  filo = await startTestFilo();
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  luca = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'luca@filo.local', password: 'filo-demo' }));
  other = apiClient(
    filo.baseUrl,
    await signUp(filo, {
      workspace: 'Elsewhere',
      name: 'Else Owner',
      email: 'owner@elsewhere.example',
      password: 'correct horse battery',
    }),
  );
  tenantId = (await demo.json('GET', '/api/auth/me')).workspace.id;
  smtpBox = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Sales', localPart: 'sales' });
  // Its own SMTP server (the API refuses hosts it cannot reach from here: set as a saved one would be).
  await sql(`update mailboxes set smtp_host = 'smtp.sales.example', smtp_port = 587 where id = ?`, [smtpBox.id]);
  bareBox = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Bare', localPart: 'bare' });
});
afterAll(() => filo?.close());

describe('authoring', () => {
  it('creates, edits with versions and deletes a draft; a member sees only their own', async () => {
    const s = await demo.json('POST', base, { name: 'Outbound Q1', mailboxIds: [smtpBox.id] }, 201);
    const me = (await demo.json('GET', '/api/auth/me')).user;
    expect(s).toMatchObject({ status: 'draft', owner: { id: me.id }, mailboxIds: [smtpBox.id], steps: [] });
    expect(s.settings.window).toMatchObject({ start: '09:00', end: '17:00' });
    expect((await demo.json('GET', base)).items.map((x: { id: string }) => x.id)).toContain(s.id);

    const renamed = await demo.json('PATCH', `${base}/${s.id}`, { name: 'Outbound Q2', version: s.version }, 200);
    expect(renamed).toMatchObject({ name: 'Outbound Q2', version: s.version + 1 });
    const stale = await demo.call('PATCH', `${base}/${s.id}`, { name: 'Lost', version: s.version });
    expect(stale.status).toBe(409);
    expect(await errorCode(stale)).toBe('version_conflict');
    const theirBox = await other.json('POST', '/api/inbox/mailboxes', { name: 'Theirs', localPart: 'theirs' });
    const foreign = await demo.call('PATCH', `${base}/${s.id}`, {
      mailboxIds: [theirBox.id],
      version: renamed.version,
    });
    expect(foreign.status).toBe(400);
    expect((await body(foreign)).error.fields.mailboxIds).toBeTruthy();

    // A member: another's sequence does not exist for them; their own they create and own.
    expect((await luca.call('GET', `${base}/${s.id}`)).status).toBe(404);
    expect((await luca.call('PATCH', `${base}/${s.id}`, { name: 'x', version: renamed.version })).status).toBe(404);
    expect((await luca.call('POST', `${base}/${s.id}/launch`)).status).toBe(404);
    const lucas = await luca.json('POST', base, { name: 'Luca’s' }, 201);
    expect((await luca.json('GET', base)).items.map((x: { id: string }) => x.id)).toEqual([lucas.id]);
    const given = await luca.call('PATCH', `${base}/${lucas.id}`, { ownerId: me.id, version: lucas.version });
    expect(given.status).toBe(403);
    expect((await demo.json('GET', `${base}/${lucas.id}`)).owner.name).toBeTruthy();
    expect((await other.call('GET', `${base}/${s.id}`)).status).toBe(404);
    // A segment that is no id is not this router's: it falls through (to `/reputation`'s router, or no route).
    const notAnId = await demo.call('GET', `${base}/not-a-uuid`);
    expect(notAnId.status).toBe(404);
    expect((await body(notAnId)).error.message).toMatch(/^No route/);

    await demo.json('DELETE', `${base}/${lucas.id}`, undefined, 204);
    expect((await demo.call('GET', `${base}/${lucas.id}`)).status).toBe(404);
  });

  it('checks tokens, branches and conditions of a flow on save, and keeps removed steps', async () => {
    const s = await demo.json('POST', base, { name: 'Flow' }, 201);
    const put = (steps: unknown[], version = s.version) =>
      demo.call('PUT', `${base}/${s.id}/steps`, { steps, version });

    const badToken = await put([email('Hello'), email('Again', 'Hi {{contact.shoe_size}}')]);
    expect(badToken.status).toBe(400);
    const tokenError = (await body(badToken)).error;
    expect(tokenError.code).toBe('unknown_token');
    expect(Object.keys(tokenError.fields)).toEqual(['steps.1.config.body']);

    const nowhere = await put([
      email('Hi'),
      { config: { kind: 'condition', test: 'opened', withinDays: 2, then: randomUUID(), else: 'end' } },
    ]);
    expect(nowhere.status).toBe(400);
    expect((await body(nowhere)).error).toMatchObject({
      code: 'invalid_branch',
      fields: { 'steps.1.config.then': expect.any(String) },
    });
    const firstId = randomUUID();
    const backwards = await put([
      { id: firstId, ...email('Hi') },
      {
        config: {
          kind: 'condition',
          test: 'split',
          paths: [
            { label: 'A', weight: 50, goto: firstId },
            { label: 'B', weight: 50, goto: 'next' },
          ],
        },
      },
    ]);
    expect((await body(backwards)).error).toMatchObject({
      code: 'invalid_branch',
      fields: { 'steps.1.config.paths.0.goto': expect.any(String) },
    });
    const early = await put([
      { config: { kind: 'condition', test: 'replied', withinDays: 3, then: 'next', else: 'end' } },
      email('Hi'),
    ]);
    expect(await errorCode(early)).toBe('condition_without_email');
    const tooLong = await put(Array.from({ length: MAX_STEPS + 1 }, () => wait(1)));
    expect(await errorCode(tooLong)).toBe('validation_failed');

    const followUp = randomUUID();
    const saved = await body(
      await put([
        email('Quick question'),
        wait(3),
        { config: { kind: 'condition', test: 'opened', withinDays: 2, then: followUp, else: 'end' } },
        { id: followUp, ...email('', 'Following up, {{contact.first_name}}') },
        { config: { kind: 'task', taskKind: 'call', title: 'Call them' } },
      ]),
    );
    expect(saved.steps.map((st: { config: { kind: string } }) => st.config.kind)).toEqual([
      'email',
      'wait',
      'condition',
      'email',
      'task',
    ]);
    expect(saved.steps[3].id).toBe(followUp);
    expect(saved.steps[2].config.then).toBe(followUp);
    expect(saved.version).toBe(s.version + 1);
    expect((await put([email('x')])).status).toBe(409);

    // The wait removed: kept ids stay, the wait is marked removed (its history stays), positions close up.
    const kept = saved.steps.filter((st: { config: { kind: string } }) => st.config.kind !== 'wait');
    const again = await demo.json(
      'PUT',
      `${base}/${s.id}/steps`,
      {
        steps: kept.map((st: { id: string; config: unknown }) => ({ id: st.id, config: st.config })),
        version: saved.version,
      },
      200,
    );
    expect(again.steps.map((st: { id: string }) => st.id)).toEqual(kept.map((st: { id: string }) => st.id));
    expect(again.steps.map((st: { position: number }) => st.position)).toEqual([0, 1, 2, 3]);
    const rows = await sql<{ n: number }>(
      `select count(*)::int as n from sequence_steps where sequence_id = ? and deleted_at is not null`,
      [s.id],
    );
    expect(rows[0]!.n).toBe(1);
  });
});

describe('lifecycle', () => {
  it('refuses to launch without an email step, a written email or a mailbox that can send', async () => {
    const noEmail = await sequenceWith('Waits only', [wait(1)]);
    expect(await errorCode(await demo.call('POST', `${base}/${noEmail.id}/launch`))).toBe('sequence_no_email_step');
    const noSubject = await sequenceWith('No subject', [email('  ')]);
    const notReady = await demo.call('POST', `${base}/${noSubject.id}/launch`);
    expect(notReady.status).toBe(409);
    expect((await body(notReady)).error).toMatchObject({
      code: 'sequence_not_ready',
      fields: { 'steps.0.config.subject': expect.any(String) },
    });
    for (const pool of [[], [bareBox.id]]) {
      const s = await sequenceWith(`Pool ${pool.length}`, [email('Hello')], pool);
      const refused = await demo.call('POST', `${base}/${s.id}/launch`);
      expect(refused.status).toBe(409);
      expect(await errorCode(refused)).toBe('sequence_no_mailbox');
    }
    const ready = await sequenceWith('Ready', [email('Hello')], [bareBox.id, smtpBox.id]);
    const launched = await demo.json('POST', `${base}/${ready.id}/launch`, undefined, 200);
    expect(launched.status).toBe('active');
    expect(launched.launchedAt).toBeTruthy();
    expect(await errorCode(await demo.call('POST', `${base}/${ready.id}/launch`))).toBe('invalid_status');
    expect((await demo.json('POST', `${base}/${ready.id}/pause`, undefined, 200)).status).toBe('paused');
    expect(await errorCode(await demo.call('POST', `${base}/${ready.id}/pause`))).toBe('invalid_status');
    expect((await demo.json('POST', `${base}/${ready.id}/resume`, undefined, 200)).status).toBe('active');
  });
});

describe('enrolment', () => {
  it('enrols a selection, leaving out and counting each exclusion, with each prospect’s zone and timeline', async () => {
    const italia = await demo.json('POST', '/api/crm/companies', {
      name: 'Ottica Riva',
      type: 'client',
      billingAddress: { country: 'Italia' },
    });
    const dealCo = await demo.json('POST', '/api/crm/companies', { name: 'In Trattativa', type: 'client' });
    await demo.json('POST', '/api/crm/deals', { companyId: dealCo.id, title: 'Open deal' }, 201);
    const giulia = await contact({ firstName: 'Giulia', email: 'giulia@riva.test', companyId: italia.id });
    const ny = await contact({ firstName: 'Nora', email: 'nora@ny.test' });
    // The CRM contract takes a contact's own IANA zone, and refuses anything else.
    const badZone = await demo.call('PATCH', `/api/crm/contacts/${ny.id}`, { timeZone: 'Mars/Olympus' });
    expect(badZone.status).toBe(400);
    expect((await body(badZone)).error.fields.timeZone).toBeTruthy();
    expect((await demo.json('PATCH', `/api/crm/contacts/${ny.id}`, { timeZone: 'America/New_York' })).timeZone).toBe(
      'America/New_York',
    );
    const noEmail = await contact({ firstName: 'Nomail' });
    const bounced = await contact({ firstName: 'Bounced', email: 'bounced@x.test' });
    await sql(`update contacts set email_bounced_at = now() where id = ?`, [bounced.id]);
    const suppressed = await contact({ firstName: 'Suppressed', email: 'suppressed@x.test' });
    await demo.json('POST', '/api/consent/suppressions', { address: 'suppressed@x.test' }, 201);
    const unsubscribed = await contact({ firstName: 'Unsub', email: 'unsub@x.test' });
    await demo.json('PUT', `/api/contacts/${unsubscribed.id}/consent`, { listId: null, status: 'unsubscribed' }, 200);
    const inDeal = await contact({ firstName: 'Dealing', email: 'deal@x.test', companyId: dealCo.id });

    const s = await sequenceWith('Selection', [email('Hello'), wait(2), email('')]);
    const ids = [
      giulia.id,
      ny.id,
      noEmail.id,
      bounced.id,
      suppressed.id,
      unsubscribed.id,
      inDeal.id,
      randomUUID(),
      giulia.id,
    ];
    const result = await demo.json('POST', `${base}/${s.id}/enrolments`, { source: 'selection', contactIds: ids }, 200);
    expect(result).toEqual({
      enrolled: 2,
      skipped: { alreadyActive: 0, suppressed: 2, bounced: 1, openDeal: 1, noEmail: 1, notFound: 1 },
    });
    const page = await demo.json('GET', `${base}/${s.id}/enrolments`);
    const byContact = new Map(page.items.map((e: { contact: { id: string } }) => [e.contact.id, e]));
    expect(byContact.get(giulia.id)).toMatchObject({
      status: 'active',
      timeZone: 'Europe/Rome',
      timeZoneSource: 'country',
      companyName: 'Ottica Riva',
      currentStepId: s.steps[0].id,
    });
    expect(byContact.get(ny.id)).toMatchObject({ timeZone: 'America/New_York', timeZoneSource: 'contact' });
    // The engine set them going: due now on the first step.
    expect((byContact.get(giulia.id) as { nextRunAt: string | null }).nextRunAt).toBeTruthy();
    const timeline = await demo.json('GET', `/api/crm/timeline?entityType=contact&entityId=${giulia.id}`);
    const enrolled = (timeline.items ?? timeline).find((a: { type: string }) => a.type === 'sequence.enrolled');
    expect(enrolled.data).toMatchObject({ sequenceId: s.id, sequenceName: 'Selection' });

    // The open-deal rule is the sequence's: off, that contact goes in.
    const lax = await sequenceWith('Lax', [email('Hello')]);
    await demo.json(
      'PATCH',
      `${base}/${lax.id}`,
      { settings: { ...lax.settings, excludeOpenDeals: false }, version: lax.version },
      200,
    );
    const laxResult = await demo.json(
      'POST',
      `${base}/${lax.id}/enrolments`,
      { source: 'selection', contactIds: [inDeal.id, giulia.id] },
      200,
    );
    // ...and never twice in active sequences: Giulia is in "Selection" already.
    expect(laxResult).toMatchObject({ enrolled: 1, skipped: { alreadyActive: 1, openDeal: 0 } });
    const again = await demo.json(
      'POST',
      `${base}/${s.id}/enrolments`,
      { source: 'selection', contactIds: [ny.id] },
      200,
    );
    expect(again).toMatchObject({ enrolled: 0, skipped: { alreadyActive: 1 } });
    expect(
      (await other.call('POST', `${base}/${s.id}/enrolments`, { source: 'selection', contactIds: [ny.id] })).status,
    ).toBe(404);
  });

  it('enrols a list’s members and a CSV (new addresses become contacts with their company)', async () => {
    const s = await sequenceWith('Lists and CSV', [email('Hello')]);
    const member = await contact({ firstName: 'Listed', email: 'listed@x.test' });
    const list = await demo.json('POST', '/api/newsletters/lists', { name: 'Prospects' }, 201);
    await demo.json('POST', `/api/newsletters/lists/${list.id}/members`, { contactIds: [member.id] }, 200);
    const fromList = await demo.json('POST', `${base}/${s.id}/enrolments`, { source: 'list', listId: list.id }, 200);
    expect(fromList).toMatchObject({ enrolled: 1, skipped: { notFound: 0 } });
    expect(
      (await demo.call('POST', `${base}/${s.id}/enrolments`, { source: 'list', listId: randomUUID() })).status,
    ).toBe(404);

    const csv = [
      'Email,First Name,Last Name,Company',
      'marco@nuova.test,Marco,Neri,Nuova Srl',
      'LISTED@x.test,Listed,Again,',
      'not-an-address,Bad,Row,',
      'marco@nuova.test,Marco,Twice,Nuova Srl',
    ].join('\n');
    const fromCsv = await demo.json('POST', `${base}/${s.id}/enrolments`, { source: 'csv', csv }, 200);
    expect(fromCsv).toEqual({
      enrolled: 1,
      skipped: { alreadyActive: 1, suppressed: 0, bounced: 0, openDeal: 0, noEmail: 1, notFound: 0 },
    });
    const made = await demo.json('GET', '/api/crm/contacts?q=marco@nuova.test');
    expect(made.items).toHaveLength(1);
    expect(made.items[0]).toMatchObject({ firstName: 'Marco', lastName: 'Neri', email: 'marco@nuova.test' });
    const company = await demo.json('GET', `/api/crm/companies/${made.items[0].companyId}`);
    expect(company.name).toBe('Nuova Srl');
    const noColumn = await demo.call('POST', `${base}/${s.id}/enrolments`, { source: 'csv', csv: 'name\nMarco' });
    expect(noColumn.status).toBe(400);
    expect((await body(noColumn)).error.fields.csv).toBeTruthy();

    // Keyset pages, newest first.
    const first = await demo.json('GET', `${base}/${s.id}/enrolments?limit=1`);
    expect(first.items).toHaveLength(1);
    const second = await demo.json('GET', `${base}/${s.id}/enrolments?limit=1&cursor=${first.nextCursor}`);
    expect(second.items).toHaveLength(1);
    expect(second.items[0].id).not.toBe(first.items[0].id);
    expect(second.nextCursor).toBeNull();
    expect((await demo.json('GET', `${base}/${s.id}/enrolments?status=stopped`)).items).toEqual([]);
  });

  it('stops, pauses, resumes and judges a prospect, makes a deal of a reply, and archiving stops the rest', async () => {
    const co = await demo.json('POST', '/api/crm/companies', { name: 'Reply Spa', type: 'client' });
    const [a, b, c] = await Promise.all(
      ['a', 'b', 'c'].map((n) => contact({ firstName: n.toUpperCase(), email: `${n}@reply.test`, companyId: co.id })),
    );
    const s = await sequenceWith('Controls', [email('Hello')]);
    await demo.json('POST', `${base}/${s.id}/enrolments`, { source: 'selection', contactIds: [a.id, b.id, c.id] }, 200);
    const items = (await demo.json('GET', `${base}/${s.id}/enrolments`)).items as {
      id: string;
      contact: { id: string };
    }[];
    const of = (x: { id: string }) => items.find((e) => e.contact.id === x.id)!.id;
    const path = (x: { id: string }) => `${base}/${s.id}/enrolments/${of(x)}`;

    expect(await demo.json('POST', `${path(a)}/stop`, undefined, 200)).toMatchObject({
      status: 'stopped',
      stopReason: 'manual',
    });
    expect(await errorCode(await demo.call('POST', `${path(a)}/stop`))).toBe('invalid_status');
    expect((await demo.json('POST', `${path(b)}/pause`, undefined, 200)).status).toBe('paused');
    expect((await demo.json('POST', `${path(b)}/resume`, undefined, 200)).status).toBe('active');
    expect((await demo.json('PATCH', path(a), { positive: false }, 200)).positive).toBe(false);

    const made = await demo.json('POST', `${path(b)}/deal`, undefined, 201);
    expect(made.enrolment).toMatchObject({ positive: true, status: 'stopped', stopReason: 'deal_opened' });
    const deal = await demo.json('GET', `/api/crm/deals/${made.deal.id}`);
    expect(deal).toMatchObject({ companyId: co.id, title: made.deal.title });
    expect((await luca.call('POST', `${path(c)}/deal`)).status).toBe(404);

    const archived = await demo.json('POST', `${base}/${s.id}/archive`, undefined, 200);
    expect(archived.status).toBe('archived');
    const cNow = (await demo.json('GET', `${base}/${s.id}/enrolments`)).items.find(
      (e: { contact: { id: string } }) => e.contact.id === c.id,
    );
    expect(cNow).toMatchObject({ status: 'stopped', stopReason: 'sequence_archived' });
    const closed = await demo.call('POST', `${base}/${s.id}/enrolments`, { source: 'selection', contactIds: [c.id] });
    expect(await errorCode(closed)).toBe('sequence_archived');
    expect(
      await errorCode(await demo.call('PUT', `${base}/${s.id}/steps`, { steps: [], version: archived.version })),
    ).toBe('sequence_archived');
  });
  it('archiving a large sequence stops the first prospects at once and the rest in the archive job', async () => {
    const s = await sequenceWith('Large', [email('Hello')]);
    const rows = Array.from({ length: 130 }, (_, i) => `bulk${i}@large.test,Bulk,${i}`);
    const csv = ['email,first name,last name', ...rows].join('\n');
    expect((await demo.json('POST', `${base}/${s.id}/enrolments`, { source: 'csv', csv }, 200)).enrolled).toBe(130);
    await demo.json('POST', `${base}/${s.id}/archive`, undefined, 200);
    const count = async (status: string) => {
      const [row] = await sql<{ n: number }>(
        `select count(*)::int as n from sequence_enrolments where sequence_id = ? and status = ? and (? = 'active' or stop_reason = 'sequence_archived')`,
        [s.id, status, status],
      );
      return row!.n;
    };
    // The request stopped a batch; the job the rest (polled: it runs on the worker).
    await expect.poll(() => count('active'), { timeout: 30_000, interval: 200 }).toBe(0);
    expect(await count('stopped')).toBe(130);
  });
});

describe('mailboxes and the report', () => {
  it('lists sending rules with defaults, lets admins change them and checks them', async () => {
    const list = await demo.json('GET', `${base}/mailboxes`);
    const sales = list.items.find((m: { mailboxId: string }) => m.mailboxId === smtpBox.id);
    expect(sales).toMatchObject({ dailyCap: 40, hourlyCap: 7, timeZone: 'Europe/Rome', pausedAt: null, sentToday: 0 });
    const path = `${base}/mailboxes/${smtpBox.id}`;
    expect((await luca.call('PATCH', path, { dailyCap: 10 })).status).toBe(403);
    expect((await other.call('PATCH', path, { dailyCap: 10 })).status).toBe(404);
    const badZone = await demo.call('PATCH', path, { timeZone: 'Europe/Atlantis' });
    expect(badZone.status).toBe(400);
    expect((await body(badZone)).error.fields.timeZone).toBeTruthy();
    const gaps = await demo.call('PATCH', path, { minGapSeconds: 600, maxGapSeconds: 300 });
    expect((await body(gaps)).error.fields.minGapSeconds).toBeTruthy();
    const set = await demo.json('PATCH', path, {
      dailyCap: 30,
      timeZone: 'America/New_York',
      warmup: { enabled: true, startCap: 5, increment: 5 },
      paused: true,
    });
    expect(set).toMatchObject({ dailyCap: 30, timeZone: 'America/New_York', warmup: { enabled: true, currentCap: 5 } });
    expect(set.pausedAt).toBeTruthy();
    const resumed = await demo.json('PATCH', path, {
      paused: false,
      warmup: { enabled: false, startCap: 5, increment: 5 },
    });
    expect(resumed).toMatchObject({ pausedAt: null, warmup: { enabled: false, currentCap: 30 } });
    // Members read them too (the mailboxes they may send from).
    expect(
      (await luca.json('GET', `${base}/mailboxes`)).items.find((m: { mailboxId: string }) => m.mailboxId === smtpBox.id)
        .dailyCap,
    ).toBe(30);
  });

  it('reports per step, per day and per mailbox from the sends and counters the bulk engine keeps', async () => {
    const s = await sequenceWith('Reported', [email('Hello'), wait(1), email('')]);
    const people = await Promise.all(
      ['r1', 'r2', 'r3'].map((n) => contact({ firstName: n, email: `${n}@report.test` })),
    );
    await demo.json(
      'POST',
      `${base}/${s.id}/enrolments`,
      { source: 'selection', contactIds: people.map((p) => p.id) },
      200,
    );
    const [first, , third] = s.steps as { id: string }[];
    // What the engine and the bulk engine write for two sends of step 1 and one of step 3 from the pool's mailbox.
    for (const [step, p] of [
      [first!, people[0]!],
      [first!, people[1]!],
      [third!, people[0]!],
    ] as const)
      await sql(
        `insert into bulk_sends (id, tenant_id, source, source_id, contact_id, address, status, message_id, mailbox_id, sent_at)
         values (gen_random_uuid(), ?, 'sequence', ?, ?, ?, 'sent', ?, ?, now())`,
        [tenantId, step.id, p.id, p.email, `<${randomUUID()}@filo.test>`, smtpBox.id],
      );
    await sql(
      `insert into delivery_stats (source, source_id, variant, tenant_id, recipients, sent, opened, clicked, replied, bounced, unsubscribed)
       values ('sequence', ?, '', ?, 2, 2, 2, 1, 1, 0, 0), ('sequence', ?, '', ?, 1, 1, 0, 0, 0, 1, 1)`,
      [first!.id, tenantId, third!.id, tenantId],
    );
    await sql(
      `insert into delivery_stat_hours (source, source_id, hour, tenant_id, sent) values
         ('sequence', ?, date_trunc('hour', now()), ?, 2), ('sequence', ?, date_trunc('hour', now()), ?, 1)`,
      [first!.id, tenantId, third!.id, tenantId],
    );
    await sql(`update sequence_enrolments set replied_at = now(), positive = true where contact_id = ?`, [
      people[1]!.id,
    ]);

    const report = await demo.json('GET', `${base}/${s.id}/report`);
    expect(report).toMatchObject({
      enrolled: 3,
      positiveReplies: 1,
      totals: { sent: 3, opened: 2, clicked: 1, replied: 1, bounced: 1, unsubscribed: 1 },
    });
    expect(report.steps.map((st: { kind: string; sent: number }) => [st.kind, st.sent])).toEqual([
      ['email', 2],
      ['wait', 0],
      ['email', 1],
    ]);
    expect(report.days).toHaveLength(1);
    expect(report.days[0]).toMatchObject({ sent: 3, replied: 1 });
    const sales = report.mailboxes.find((m: { mailboxId: string }) => m.mailboxId === smtpBox.id);
    expect(sales.days).toHaveLength(14);
    expect(sales.days[13]).toMatchObject({ sent: 3, cap: 30 });
    expect(
      (await demo.json('GET', `${base}/mailboxes`)).items.find((m: { mailboxId: string }) => m.mailboxId === smtpBox.id)
        .sentToday,
    ).toBe(3);
    expect((await other.call('GET', `${base}/${s.id}/report`)).status).toBe(404);
  });
});
