import { randomUUID } from 'node:crypto';
import { simpleParser } from 'mailparser';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StepConfig } from '#contracts/sequences';
import { bookSlot } from '../server/sequences/engine/slots.ts';
import { inTenant, systemActor } from '../server/tenancy.ts';
import { apiClient, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';

// The sequence engine against a real database (fake clock: every call is given its `now`).

let filo: TestFilo;
let db: pg.Client;
let demo: ApiClient;
const sinks: SmtpSink[] = [];
let tenantId: string;
let ownerId: string;

const ALWAYS = { start: '00:00', end: '00:00', days: [1, 2, 3, 4, 5, 6, 7], lunch: null };

/** A sequence with these steps (ids returned in order), straight in the tables as the API writes them. */
async function makeSequence(steps: StepConfig[], opts: { mailboxIds?: string[]; status?: string } = {}) {
  const id = randomUUID();
  await db.query(
    `insert into sequences (id, tenant_id, name, status, owner_id, mailbox_ids, settings, created_by)
     values ($1, $2, $3, $4, $5, $6, $7, $5)`,
    [
      id,
      tenantId,
      `Seq ${id.slice(0, 6)}`,
      opts.status ?? 'active',
      ownerId,
      JSON.stringify(opts.mailboxIds ?? []),
      JSON.stringify({
        window: ALWAYS,
        stopOnReply: true,
        excludeOpenDeals: false,
        trackOpens: true,
        trackClicks: false,
      }),
    ],
  );
  const ids: string[] = [];
  for (const [i, config] of steps.entries()) {
    const sid = randomUUID();
    ids.push(sid);
    await db.query(
      `insert into sequence_steps (id, tenant_id, sequence_id, position, kind, config) values ($1, $2, $3, $4, $5, $6)`,
      [sid, tenantId, id, i, config.kind, JSON.stringify(config)],
    );
  }
  return { id, steps: ids };
}

/** A new contact with an address, enrolled (not started) in a sequence. */
async function enrol(sequenceId: string, opts: { timeZone?: string } = {}) {
  const contactId = randomUUID();
  const email = `p-${contactId.slice(0, 8)}@prospect.test`;
  await db.query(
    `insert into contacts (id, tenant_id, first_name, last_name, email, time_zone) values ($1, $2, 'Pat', $3, $4, $5)`,
    [contactId, tenantId, contactId.slice(0, 6), email, opts.timeZone ?? null],
  );
  const id = randomUUID();
  await db.query(
    `insert into sequence_enrolments (id, tenant_id, sequence_id, contact_id, address, time_zone, time_zone_source)
     values ($1, $2, $3, $4, $5, $6, 'contact')`,
    [id, tenantId, sequenceId, contactId, email, opts.timeZone ?? 'Europe/Rome'],
  );
  return { id, contactId, email };
}

const inDemo = <T>(fn: Parameters<typeof inTenant<T>>[2]) => inTenant(filo.orm, systemActor(tenantId), fn);
const enrolment = async (id: string) =>
  (await db.query(`select * from sequence_enrolments where id = $1`, [id])).rows[0] as Record<string, unknown>;

beforeAll(async () => {
  sinks.push(await startSmtpSink(), await startSmtpSink());
  filo = await startTestFilo({ SMTP_ALLOWED_HOSTS: '127.0.0.1', BULK_RATE_PER_SECOND: '1000' });
  db = new pg.Client({ connectionString: filo.databaseUrl });
  await db.connect();
  tenantId = (await db.query(`select id from tenants where slug = 'demo'`)).rows[0].id;
  ownerId = (await db.query(`select id from users where email = 'demo@filo.local'`)).rows[0].id;
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
});
afterAll(async () => {
  await db?.end();
  await filo?.close();
  for (const s of sinks) await s.close();
});

/** A mailbox sending through an SMTP sink (or nowhere), with its sequence sending rules. */
async function makeMailbox(
  localPart: string,
  sink: SmtpSink | null,
  rules: { dailyCap?: number; hourlyCap?: number; minGap?: number; maxGap?: number; zone?: string } = {},
) {
  const box = (await demo.json('POST', '/api/inbox/mailboxes', { name: `Sales ${localPart}`, localPart })) as {
    id: string;
  };
  if (sink)
    await demo.json('PATCH', `/api/inbox/mailboxes/${box.id}`, {
      smtp: { host: '127.0.0.1', port: sink.port, secure: false },
    });
  await db.query(
    `insert into sequence_mailboxes (mailbox_id, tenant_id, daily_cap, hourly_cap, min_gap_seconds, max_gap_seconds,
                                     time_zone, workday)
     values ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      box.id,
      tenantId,
      rules.dailyCap ?? 500,
      rules.hourlyCap ?? 500,
      rules.minGap ?? 0,
      rules.maxGap ?? 0,
      rules.zone ?? 'UTC',
      JSON.stringify(ALWAYS),
    ],
  );
  return box.id;
}

const rowsOf = async (stepId: string) =>
  (
    await db.query(
      `select id, contact_id, status, message_id, mailbox_id, next_attempt_at from bulk_sends where source_id = $1`,
      [stepId],
    )
  ).rows as {
    id: string;
    contact_id: string;
    status: string;
    message_id: string;
    mailbox_id: string;
    next_attempt_at: Date;
  }[];
const header = (raw: string, name: string) =>
  new RegExp(`^${name}:[ \\t]*(.*(?:\\r?\\n[ \\t].*)*)`, 'im')
    .exec(raw)?.[1]
    ?.replace(/\r?\n[ \t]+/g, ' ')
    .trim();

const email = (subject: string, body = 'Hi {{contact.first_name | "there"}}'): StepConfig => ({
  kind: 'email',
  subject,
  body,
  newThread: false,
});

describe('sequence engine: start and stop', { timeout: 60_000 }, () => {
  it('start puts a new enrolment on its first remaining step, due now; stop cancels its queued send once', async () => {
    const now = new Date('2026-12-07T10:00:00Z');
    const seq = await makeSequence([email('First'), email('Second')]);
    await db.query(`update sequence_steps set deleted_at = now() where id = $1`, [seq.steps[0]]);
    const e = await enrol(seq.id);
    await inDemo((uow) => filo.services.sequenceEngine.start(uow, [e.id], now));
    const started = await enrolment(e.id);
    expect(started.current_step_id).toBe(seq.steps[1]);
    expect((started.next_run_at as Date).toISOString()).toBe(now.toISOString());
    // A send row queued for the prospect (as the runner books it), and one of another prospect left alone.
    const other = await enrol(seq.id);
    for (const p of [e, other])
      await db.query(
        `insert into bulk_sends (id, tenant_id, source, source_id, contact_id, address, status, next_attempt_at, message_id)
         values (gen_random_uuid(), $1, 'sequence', $2, $3, $4, 'pending', now() + interval '1 hour', gen_random_uuid()::text)`,
        [tenantId, seq.steps[1], p.contactId, p.email],
      );
    const n = await inDemo((uow) => filo.services.sequenceEngine.stop(uow, { contactId: e.contactId }, 'replied', now));
    expect(n).toBe(1);
    const stopped = await enrolment(e.id);
    expect(stopped).toMatchObject({ status: 'stopped', stop_reason: 'replied', next_run_at: null });
    const rows = (await db.query(`select contact_id, status from bulk_sends where source_id = $1`, [seq.steps[1]]))
      .rows as { contact_id: string; status: string }[];
    expect(rows.find((r) => r.contact_id === e.contactId)?.status).toBe('cancelled');
    expect(rows.find((r) => r.contact_id === other.contactId)?.status).toBe('pending');
    const stats = (await db.query(`select cancelled from delivery_stats where source_id = $1`, [seq.steps[1]])).rows;
    expect(stats).toEqual([{ cancelled: 1 }]);
    const acts = (
      await db.query(`select activity_type, metadata as data from activities where entity_id = $1`, [e.contactId])
    ).rows as { activity_type: string; data: Record<string, unknown> }[];
    expect(acts.filter((a) => a.activity_type === 'sequence.stopped')).toHaveLength(1);
    expect(acts[0]!.data).toMatchObject({ sequenceId: seq.id, enrolmentId: e.id, reason: 'replied' });
    // Idempotent: nothing more to stop, nothing written twice.
    expect(await inDemo((uow) => filo.services.sequenceEngine.stop(uow, { enrolmentId: e.id }, 'manual', now))).toBe(0);
    expect((await enrolment(e.id)).stop_reason).toBe('replied');
  });
});

describe('sequence engine: sending like a person', { timeout: 90_000 }, () => {
  it('caps and gaps hold with two bookers on one mailbox at once (its row is the lock)', async () => {
    const mailboxId = await makeMailbox('capped', null, { dailyCap: 10, hourlyCap: 3, minGap: 300, maxGap: 600 });
    const seq = await makeSequence([email('Capped')]);
    const people = await Promise.all(Array.from({ length: 24 }, () => enrol(seq.id)));
    const notBefore = new Date('2026-12-07T08:00:00Z');
    // Two bookers (as two worker nodes), each booking then writing its send row in one transaction.
    const booker = (list: typeof people) =>
      (async () => {
        for (const p of list)
          await inDemo(async (uow) => {
            const b = await bookSlot(uow.em, {
              tenantId,
              mailboxId,
              defaultZone: 'UTC',
              ownDomain: 'demo.test',
              prospect: { zone: 'Europe/Rome', window: ALWAYS },
              notBefore,
            });
            expect(b.kind).toBe('slot');
            await uow.em.execute(
              `insert into bulk_sends (id, tenant_id, source, source_id, contact_id, address, status, next_attempt_at,
                                       message_id, mailbox_id)
               values (gen_random_uuid(), ?, 'sequence', ?, ?, ?, 'pending', ?, gen_random_uuid()::text, ?)`,
              [tenantId, seq.steps[0], p.contactId, p.email, (b as { at: Date }).at, mailboxId],
            );
          });
      })();
    await Promise.all([booker(people.slice(0, 12)), booker(people.slice(12))]);
    const slots = (await rowsOf(seq.steps[0]!)).map((r) => new Date(r.next_attempt_at).getTime()).sort((a, b) => a - b);
    expect(slots).toHaveLength(24);
    expect(slots[0]).toBeGreaterThanOrEqual(notBefore.getTime());
    const perDay = new Map<string, number>();
    const perHour = new Map<string, number>();
    for (const t of slots) {
      const iso = new Date(t).toISOString();
      perDay.set(iso.slice(0, 10), (perDay.get(iso.slice(0, 10)) ?? 0) + 1);
      perHour.set(iso.slice(0, 13), (perHour.get(iso.slice(0, 13)) ?? 0) + 1);
    }
    expect(Math.max(...perDay.values())).toBeLessThanOrEqual(10);
    expect(Math.max(...perHour.values())).toBeLessThanOrEqual(3);
    // 24 sends at 10 a day spread over three days.
    expect(perDay.size).toBe(3);
    for (let i = 1; i < slots.length; i++) expect(slots[i]! - slots[i - 1]!).toBeGreaterThanOrEqual(300_000);
    // A paused mailbox books nothing.
    await db.query(`update sequence_mailboxes set paused_at = now() where mailbox_id = $1`, [mailboxId]);
    const paused = await inDemo((uow) =>
      bookSlot(uow.em, {
        tenantId,
        mailboxId,
        defaultZone: 'UTC',
        ownDomain: 'demo.test',
        prospect: { zone: 'UTC', window: ALWAYS },
        notBefore,
      }),
    );
    expect(paused.kind).toBe('paused');
  });

  it('rotates prospects over the pool, pins follow-ups to one mailbox, threads them, branches on a condition and makes tasks', async () => {
    const m1 = await makeMailbox('rep-one', sinks[0]!);
    const m2 = await makeMailbox('rep-two', sinks[1]!);
    const seq = await makeSequence(
      [
        email(
          'Quick question for {{company.name | "your team"}}',
          'Hi {{contact.first_name | "there"}},\n\nsee https://filo.example/x',
        ),
        { kind: 'condition', test: 'opened', withinDays: 0, then: 'next', else: 'next' },
        email('ignored: threaded', 'Just following up, {{contact.first_name}}.'),
        {
          kind: 'task',
          taskKind: 'call',
          title: 'Call the prospect',
          description: null,
          dueInDays: 1,
          assigneeId: null,
        },
      ],
      { mailboxIds: [m1, m2] },
    );
    // The steps' ids were made by makeSequence: point the condition at them.
    await db.query(
      `update sequence_steps set config = jsonb_set(jsonb_set(config, '{then}', to_jsonb($1::text)), '{else}', to_jsonb($2::text)) where id = $3`,
      [seq.steps[2], seq.steps[3], seq.steps[1]],
    );
    const people = [await enrol(seq.id), await enrol(seq.id), await enrol(seq.id)];
    await inDemo((uow) =>
      filo.services.sequenceEngine.start(
        uow,
        people.map((p) => p.id),
        new Date(),
      ),
    );
    const first = await filo.services.sequenceEngine.tick(new Date());
    expect(first.evaluated).toBeGreaterThanOrEqual(3);
    // One send row each, on the first email step, spread over both mailboxes and pinned there.
    await expect
      .poll(async () => (await rowsOf(seq.steps[0]!)).filter((r) => r.status === 'sent').length, { timeout: 30_000 })
      .toBe(3);
    const firstRows = await rowsOf(seq.steps[0]!);
    expect(new Set(firstRows.map((r) => r.mailbox_id))).toEqual(new Set([m1, m2]));
    for (const r of firstRows) {
      const e = (await db.query(`select mailbox_id from sequence_enrolments where contact_id = $1`, [r.contact_id]))
        .rows[0];
      expect(e.mailbox_id).toBe(r.mailbox_id);
    }
    // Each went through its own mailbox's SMTP server.
    const sinkOf = (mailboxId: string) => (mailboxId === m1 ? sinks[0]! : sinks[1]!);
    for (const [i, p] of people.entries()) {
      const row = firstRows.find((r) => r.contact_id === p.contactId)!;
      const got = sinkOf(row.mailbox_id).messages.filter((m) => m.to[0] === p.email);
      expect(got, `prospect ${i}`).toHaveLength(1);
      expect(got[0]!.messageId).toBe(row.message_id);
      expect(header(got[0]!.raw, 'Subject')).toBe('Quick question for your team');
      expect(got[0]!.raw).toMatch(/Hi Pat,/);
    }
    // The first prospect opens (a person's open is what tracking records as opened_at); the others do not.
    const [opener, ...others] = people;
    await db.query(`update bulk_sends set opened_at = now() where source_id = $1 and contact_id = $2`, [
      seq.steps[0],
      opener!.contactId,
    ]);
    await expect
      .poll(
        async () =>
          (
            await db.query(
              `select count(*)::int as n from sequence_enrolments where sequence_id = $1 and current_step_id = $2`,
              [seq.id, seq.steps[1]],
            )
          ).rows[0].n,
      )
      .toBe(3);
    await filo.services.sequenceEngine.tick(new Date());
    // The opener gets the follow-up from the same mailbox, threaded on the first mail.
    await expect
      .poll(async () => (await rowsOf(seq.steps[2]!)).map((r) => r.status), { timeout: 30_000 })
      .toEqual(['sent']);
    const [follow] = await rowsOf(seq.steps[2]!);
    const firstOfOpener = firstRows.find((r) => r.contact_id === opener!.contactId)!;
    expect(follow!.mailbox_id).toBe(firstOfOpener.mailbox_id);
    const mail = sinkOf(follow!.mailbox_id).messages.find((m) => m.messageId === follow!.message_id)!;
    expect(header(mail.raw, 'Subject')).toBe('Re: Quick question for your team');
    expect(header(mail.raw, 'In-Reply-To')).toBe(`<${firstOfOpener.message_id}>`);
    expect(header(mail.raw, 'References')).toContain(`<${firstOfOpener.message_id}>`);
    expect(mail.raw).toMatch(/Just following up, Pat\./);
    // The others took the else branch: a call task each, for the sequence's owner, about the contact.
    const tasks = (
      await db.query(`select contact_id, assignee_id, source, title from tasks where contact_id = any($1::uuid[])`, [
        people.map((p) => p.contactId),
      ])
    ).rows as { contact_id: string; assignee_id: string; source: string; title: string }[];
    expect(tasks.map((t) => t.contact_id).sort()).toEqual(others.map((p) => p.contactId).sort());
    for (const t of tasks)
      expect(t).toMatchObject({ assignee_id: ownerId, source: 'sequence', title: 'Call the prospect' });
    // Their flow ended after the task; the opener goes on to the task after the follow-up, then ends too.
    for (const p of others) expect((await enrolment(p.id)).status).toBe('completed');
    await filo.services.sequenceEngine.tick(new Date());
    expect((await enrolment(opener!.id)).status).toBe('completed');
    const timeline = (
      await db.query(`select activity_type from activities where entity_id = $1 order by seq`, [opener!.contactId])
    ).rows.map((r) => r.activity_type);
    expect(timeline.filter((t) => t === 'sequence.step_sent')).toHaveLength(2);
    expect(timeline).toContain('sequence.completed');
    // One row per prospect and step, never two.
    expect(await rowsOf(seq.steps[0]!)).toHaveLength(3);
  });

  it('a stopped enrolment sends nothing, even when its row was already claimed', async () => {
    const m = await makeMailbox('rep-stop', sinks[0]!);
    const seq = await makeSequence([email('Never sent')], { mailboxIds: [m] });
    const p = await enrol(seq.id);
    await inDemo((uow) => filo.services.sequenceEngine.start(uow, [p.id], new Date()));
    // As the runner queues it and a worker claims it: 'sending' under a lease that has just run out.
    await db.query(`update sequence_enrolments set mailbox_id = $2, next_run_at = null where id = $1`, [p.id, m]);
    const rowId = randomUUID();
    await db.query(
      `insert into bulk_sends (id, tenant_id, source, source_id, contact_id, address, status, attempts, next_attempt_at,
                               message_id, mailbox_id)
       values ($1, $2, 'sequence', $3, $4, $5, 'sending', 1, now() - interval '1 second', $6, $7)`,
      [rowId, tenantId, seq.steps[0], p.contactId, p.email, `${rowId}@demo.test`, m],
    );
    expect(await inDemo((uow) => filo.services.sequenceEngine.stop(uow, { enrolmentId: p.id }, 'manual'))).toBe(1);
    // A claimed row is not cancelled (its worker owns it) ...
    expect((await rowsOf(seq.steps[0]!))[0]!.status).toBe('sending');
    // ... but no mail is composed for it, so the engine fails it instead of sending.
    const composed = await filo.services.sequenceEngine.handler.compose(tenantId, seq.steps[0]!, [
      {
        id: rowId,
        tenantId,
        contactId: p.contactId,
        address: p.email,
        variant: null,
        messageId: `${rowId}@demo.test`,
        attempts: 1,
        mailboxId: m,
      },
    ]);
    expect(composed.size).toBe(0);
    await inDemo((uow) => filo.services.bulk.start(uow, 'sequence', seq.steps[0]!));
    await expect.poll(async () => (await rowsOf(seq.steps[0]!))[0]!.status, { timeout: 30_000 }).toBe('failed');
    expect(sinks.flatMap((s) => s.messages).some((msg) => msg.to.includes(p.email))).toBe(false);
  });

  it('mends what the send path left: a failed row is queued again, a refused one stops, a sent one moves on, an overdue step is dispatched', async () => {
    const m = await makeMailbox('rep-mend', sinks[1]!);
    const seq = await makeSequence([email('Mended {{contact.first_name}}')], { mailboxIds: [m] });
    const [failed, refused, sent, overdue] = [
      await enrol(seq.id),
      await enrol(seq.id),
      await enrol(seq.id),
      await enrol(seq.id),
    ];
    // As the runner leaves them: on the email step, pinned, waiting for their row (none due for the sweep).
    await db.query(
      `update sequence_enrolments set current_step_id = $2, step_entered_at = now(), next_run_at = null, mailbox_id = $3,
              updated_at = now() - interval '2 minutes'
        where sequence_id = $1`,
      [seq.id, seq.steps[0], m],
    );
    const row = (p: { contactId: string; email: string }, status: string, due = 'now()') =>
      db.query(
        `insert into bulk_sends (id, tenant_id, source, source_id, contact_id, address, status, next_attempt_at,
                                 message_id, mailbox_id)
         values (gen_random_uuid(), $1, 'sequence', $2, $3, $4, $5, ${due}, gen_random_uuid()::text || '@demo.test', $6)`,
        [tenantId, seq.steps[0], p.contactId, p.email, status, m],
      );
    await row(failed, 'failed');
    await row(refused, 'suppressed');
    await row(sent, 'sent');
    // Overdue and no job will come for it (as after a pause of the sequence).
    await row(overdue, 'pending', `now() - interval '10 minutes'`);
    await filo.services.sequenceEngine.tick(new Date());
    expect(await enrolment(refused.id)).toMatchObject({ status: 'stopped', stop_reason: 'suppressed' });
    expect((await enrolment(sent.id)).status).toBe('completed');
    await expect
      .poll(async () => Object.fromEntries((await rowsOf(seq.steps[0]!)).map((r) => [r.contact_id, r.status])), {
        timeout: 30_000,
      })
      .toEqual({
        [failed.contactId]: 'sent',
        [refused.contactId]: 'suppressed',
        [sent.contactId]: 'sent',
        [overdue.contactId]: 'sent',
      });
    // Each got its mail once, from the pinned mailbox's server; the failed prospect's step went again.
    for (const p of [failed, overdue])
      expect(sinks[1]!.messages.filter((msg) => msg.to[0] === p.email)).toHaveLength(1);
    expect(
      sinks.flatMap((s) => s.messages).some((msg) => msg.to.includes(refused.email) || msg.to.includes(sent.email)),
    ).toBe(false);
    await expect.poll(async () => (await enrolment(failed.id)).status).toBe('completed');
  });

  it("shows a prospect's booked send as the enrolment's next run while the send waits in the bulk engine", async () => {
    const m = await makeMailbox('rep-later', null);
    const seq = await makeSequence([email('Later')], { mailboxIds: [m] });
    const p = await enrol(seq.id);
    const later = new Date('2031-03-04T10:00:00Z');
    await inDemo((uow) => filo.services.sequenceEngine.start(uow, [p.id], later));
    await filo.services.sequenceEngine.tick(later);
    const [row] = await rowsOf(seq.steps[0]!);
    expect(row!.status).toBe('pending');
    expect((await enrolment(p.id)).next_run_at).toBeNull();
    const page = await demo.json('GET', `/api/sequences/${seq.id}/enrolments`);
    const listed = page.items.find((e: { id: string }) => e.id === p.id);
    expect(listed.nextRunAt).toBe(new Date(row!.next_attempt_at).toISOString());
    expect(Date.parse(listed.nextRunAt)).toBeGreaterThanOrEqual(later.getTime());
  });

  it('waits in business days, moves off a removed step, and a paused sequence advances nobody', async () => {
    const seq = await makeSequence([
      { kind: 'wait', days: 2, hours: 0, businessDays: true },
      {
        kind: 'task',
        taskKind: 'linkedin',
        title: 'Connect on LinkedIn',
        description: null,
        dueInDays: 0,
        assigneeId: null,
      },
    ]);
    const p = await enrol(seq.id, { timeZone: 'Europe/Rome' });
    // Friday 2027-01-08 10:00 in Rome: two business days end on Tuesday at 10:00.
    const friday = new Date('2027-01-08T09:00:00Z');
    await inDemo((uow) => filo.services.sequenceEngine.start(uow, [p.id], friday));
    await filo.services.sequenceEngine.tick(friday);
    expect((await enrolment(p.id)).next_run_at).toEqual(new Date('2027-01-12T09:00:00Z'));
    // Monday: nothing is due yet.
    await filo.services.sequenceEngine.tick(new Date('2027-01-11T09:00:00Z'));
    expect((await enrolment(p.id)).current_step_id).toBe(seq.steps[0]);
    // The wait is removed from the flow: at its time the prospect moves to the next remaining step (the task).
    await db.query(`update sequence_steps set deleted_at = now() where id = $1`, [seq.steps[0]]);
    // A paused sequence advances nobody, even when due.
    await db.query(`update sequences set status = 'paused' where id = $1`, [seq.id]);
    await filo.services.sequenceEngine.tick(new Date('2027-01-13T09:00:00Z'));
    expect((await enrolment(p.id)).status).toBe('active');
    expect(
      (await db.query(`select count(*)::int as n from tasks where contact_id = $1`, [p.contactId])).rows[0].n,
    ).toBe(0);
    await db.query(`update sequences set status = 'active' where id = $1`, [seq.id]);
    await filo.services.sequenceEngine.tick(new Date('2027-01-13T09:00:00Z'));
    expect((await enrolment(p.id)).status).toBe('completed');
    const tasks = (await db.query(`select title, source, assignee_id from tasks where contact_id = $1`, [p.contactId]))
      .rows;
    expect(tasks).toEqual([{ title: 'Connect on LinkedIn', source: 'sequence', assignee_id: ownerId }]);
  });

  it('tracks clicks when the sequence asks: the link goes through Filo, and a click by a person makes "clicked" true', async () => {
    const m = await makeMailbox('rep-click', sinks[0]!);
    const seq = await makeSequence(
      [
        email('Case study', 'Have a look: https://filo.example/case?a=1&b=2 thanks'),
        { kind: 'condition', test: 'clicked', withinDays: 3, then: 'next', else: 'end' },
        {
          kind: 'task',
          taskKind: 'call',
          title: 'They clicked: call',
          description: null,
          dueInDays: 0,
          assigneeId: null,
        },
      ],
      { mailboxIds: [m] },
    );
    await db.query(`update sequences set settings = settings || '{"trackClicks": true}' where id = $1`, [seq.id]);
    const p = await enrol(seq.id);
    await inDemo((uow) => filo.services.sequenceEngine.start(uow, [p.id], new Date()));
    await filo.services.sequenceEngine.tick(new Date());
    await expect.poll(async () => (await rowsOf(seq.steps[0]!))[0]?.status, { timeout: 30_000 }).toBe('sent');
    const got = sinks[0]!.messages.find((msg) => msg.to[0] === p.email)!;
    const parsed = await simpleParser(got.raw);
    // The text part is the person's own words; the HTML's link goes through the tracker, the address still shown.
    expect(parsed.text).toContain('https://filo.example/case?a=1&b=2');
    const href = /href="([^"]+)"/.exec(parsed.html as string)![1]!;
    const token = /\/t\/b\/([^/"?]+)$/.exec(href)![1]!;
    expect(parsed.html).toContain('>https://filo.example/case?a=1&amp;b=2</a>');
    // Not clicked yet: the condition waits (its deadline is 3 days away).
    await filo.services.sequenceEngine.tick(new Date());
    expect((await enrolment(p.id)).current_step_id).toBe(seq.steps[1]);
    // A person clicks an hour after the send (a scanner right after it would not count).
    await db.query(`update bulk_sends set sent_at = now() - interval '1 hour' where source_id = $1`, [seq.steps[0]]);
    const target = await filo.services.bulkTracking.click(token, {
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36',
    });
    expect(target?.url).toBe('https://filo.example/case?a=1&b=2');
    // The open condition is looked at again every 15 minutes.
    await filo.services.sequenceEngine.tick(new Date(Date.now() + 16 * 60_000));
    expect((await enrolment(p.id)).status).toBe('completed');
    expect((await db.query(`select title from tasks where contact_id = $1`, [p.contactId])).rows).toEqual([
      { title: 'They clicked: call' },
    ]);
  });
});
