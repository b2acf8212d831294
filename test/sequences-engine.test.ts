import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StepConfig } from '#contracts/sequences';
import { inTenant, systemActor } from '../server/tenancy.ts';
import { startTestFilo, type TestFilo } from './support/harness.ts';

// The sequence engine against a real database (fake clock: every call is given its `now`).

let filo: TestFilo;
let db: pg.Client;
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
  filo = await startTestFilo();
  db = new pg.Client({ connectionString: filo.databaseUrl });
  await db.connect();
  tenantId = (await db.query(`select id from tenants where slug = 'demo'`)).rows[0].id;
  ownerId = (await db.query(`select id from users where email = 'demo@filo.local'`)).rows[0].id;
});
afterAll(async () => {
  await db?.end();
  await filo?.close();
});

const email = (subject: string, body = 'Hi {{contact.first_name|there}}'): StepConfig => ({
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
