import type { z } from 'zod';
import type { Enrolment, EnrolmentDeal, EnrolResult, enrolInput, enrolmentListQuery } from '#contracts/sequences';
import type { MikroORM } from '../../db/orm.ts';
import type { Sequence } from '../../db/entities/sequence.entity.ts';
import type { ConsentService } from '../consent/consent.service.ts';
import type { RecordsService } from '../crm/records.service.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { audienceQuery } from '../newsletters/audience.ts';
import { knownLists } from '../newsletters/campaign-checks.ts';
import { pgArray } from '../newsletters/segments.ts';
import { authorOf, inTenant, requireWrite, type Actor, type UnitOfWork } from '../tenancy.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import { csvProspects, MAX_ENROL } from './enrol-csv.ts';
import { prospectZone } from './engine/schedule.ts';
import { SENDING_DEFAULTS } from './mailboxes.service.ts';
import { findSequence } from './sequence-view.ts';
import type { SequenceEnginePort } from './sequences.service.ts';

export interface EnrolmentsDeps {
  orm: MikroORM;
  consent: ConsentService;
  records: RecordsService;
  activities: ActivitiesService;
}

interface Facts {
  id: string;
  email: string | null;
  company_id: string | null;
  bounced: boolean;
  time_zone: string | null;
  country: string | null;
  active: boolean;
  open_deal: boolean;
}

// While a prospect's email waits in the bulk engine, their next run is that send's booked slot.
const ENROLMENT_SELECT = `select e.*, ct.first_name, ct.last_name, ct.email as contact_email, co.name as company_name,
       (select min(b.next_attempt_at) from bulk_sends b
         where b.tenant_id = e.tenant_id and b.source = 'sequence' and b.source_id = e.current_step_id
           and b.contact_id = e.contact_id and b.status in ('pending', 'deferred', 'sending')) as booked_at
  from sequence_enrolments e join contacts ct on ct.id = e.contact_id
  left join companies co on co.id = ct.company_id`;

type EnrolmentRow = Record<string, unknown> & { id: string; created_at: Date };
const iso = (d: unknown) => (d ? new Date(d as string).toISOString() : null);

function enrolmentDto(r: EnrolmentRow): Enrolment {
  return {
    id: r.id,
    sequenceId: r.sequence_id as string,
    contact: {
      id: r.contact_id as string,
      name: `${r.first_name as string} ${r.last_name as string}`.trim(),
      email: (r.contact_email as string | null) ?? null,
    },
    companyName: (r.company_name as string | null) ?? null,
    status: r.status as Enrolment['status'],
    stopReason: (r.stop_reason as Enrolment['stopReason']) ?? null,
    currentStepId: (r.current_step_id as string | null) ?? null,
    nextRunAt: iso(r.next_run_at ?? r.booked_at),
    mailboxId: (r.mailbox_id as string | null) ?? null,
    timeZone: r.time_zone as string,
    timeZoneSource: r.time_zone_source as Enrolment['timeZoneSource'],
    lastSentAt: iso(r.last_sent_at),
    repliedAt: iso(r.replied_at),
    positive: (r.positive as boolean | null) ?? null,
    enrolledAt: new Date(r.created_at).toISOString(),
    stoppedAt: iso(r.stopped_at),
    completedAt: iso(r.completed_at),
  };
}

const encodeCursor = (r: EnrolmentRow) =>
  Buffer.from(`${new Date(r.created_at).toISOString()}|${r.id}`).toString('base64url');
function decodeCursor(cursor: string): { at: string; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (!at || !id || Number.isNaN(Date.parse(at)) || !/^[0-9a-f-]{36}$/.test(id))
    throw new HttpError(400, 'validation_failed', 'The cursor is not valid', { cursor: 'not a cursor of this list' });
  return { at, id };
}

/**
 * Prospects in sequences: enrolment from a list or segment, a CRM selection or a CSV (never twice in active
 * sequences; suppressed, bounced, address-less and open-deal contacts left out and counted), their list, and what
 * the owner does with one (stop, pause, resume, judge the reply, make a deal of it).
 */
export class EnrolmentsService {
  readonly #d: EnrolmentsDeps;
  engine!: SequenceEnginePort;

  constructor(deps: EnrolmentsDeps) {
    this.#d = deps;
  }

  enrol(actor: Actor, sequenceId: string, input: z.infer<typeof enrolInput>, now = new Date()): Promise<EnrolResult> {
    requireWrite(actor);
    return inTenant(this.#d.orm, actor, async (uow) => {
      // Under the sequence's lock: an archive running at the same time waits, then finds these enrolments.
      const s = await findSequence(uow, sequenceId, true);
      if (s.status === 'archived')
        throw new HttpError(409, 'sequence_archived', 'An archived sequence takes no new prospects');
      const skipped = { alreadyActive: 0, suppressed: 0, bounced: 0, openDeal: 0, noEmail: 0, notFound: 0 };
      const addressOf = new Map<string, string>();
      let ids: string[];
      if (input.source === 'list') {
        if (!(await knownLists(uow, [input.listId])).size) throw notFound('List');
        const audience = await audienceQuery(uow.em, actor.tenantId, [input.listId]);
        const rows = (await uow.em.execute(`${audience.sql} limit ${MAX_ENROL + 1}`, audience.params)) as {
          contact_id: string | null;
          address: string;
        }[];
        if (rows.length > MAX_ENROL) throw tooMany();
        for (const r of rows) if (r.contact_id) addressOf.set(r.contact_id, r.address);
        skipped.notFound = rows.filter((r) => !r.contact_id).length;
        ids = [...addressOf.keys()];
      } else if (input.source === 'selection') {
        ids = [...new Set(input.contactIds)];
      } else {
        const csv = await csvProspects(uow, this.#d, input.csv);
        skipped.noEmail = csv.noEmail;
        ids = csv.contactIds;
      }
      const facts = await this.#facts(uow, ids);
      skipped.notFound += ids.length - facts.length;
      const candidates = facts.map((f) => ({ ...f, address: addressOf.get(f.id) ?? f.email?.trim().toLowerCase() }));
      const refusals = await this.#d.consent.refusals(
        uow.em,
        'email',
        candidates.flatMap((c) => (c.address ? [c.address] : [])),
      );
      const chosen: (Facts & { address: string })[] = [];
      for (const c of candidates) {
        const refusal = c.address ? refusals.get(c.address) : undefined;
        if (!c.address) skipped.noEmail++;
        else if (c.active) skipped.alreadyActive++;
        else if (c.bounced || refusal?.status === 'bounced') skipped.bounced++;
        else if (refusal) skipped.suppressed++;
        else if (s.settings.excludeOpenDeals && c.open_deal) skipped.openDeal++;
        else chosen.push({ ...c, address: c.address });
      }
      const inserted = await this.#insert(uow, s, chosen, input.source);
      skipped.alreadyActive += chosen.length - inserted.length;
      await this.engine.start(
        uow,
        inserted.map((r) => r.id),
        now,
      );
      const companyOf = new Map(chosen.map((c) => [c.id, c.company_id]));
      await this.#d.activities.recordMany(
        uow,
        inserted.map((r) => ({
          entityType: 'contact',
          entityId: r.contact_id,
          companyId: companyOf.get(r.contact_id) ?? null,
          type: 'sequence.enrolled',
          title: `Enrolled in sequence ${s.name}`,
          data: { sequenceId: s.id, sequenceName: s.name, enrolmentId: r.id },
        })),
      );
      return { enrolled: inserted.length, skipped };
    });
  }

  /** What deciding needs of each contact, in one read (a missing id is simply not returned). */
  async #facts(uow: UnitOfWork, ids: string[]): Promise<Facts[]> {
    if (!ids.length) return [];
    return (await uow.em.execute(
      `select ct.id, nullif(trim(ct.email), '') as email, ct.company_id, ct.email_bounced_at is not null as bounced,
              ct.time_zone, co.billing_address->>'country' as country,
              exists (select 1 from sequence_enrolments e where e.tenant_id = ct.tenant_id and e.contact_id = ct.id
                         and e.status in ('active', 'paused')) as active,
              (ct.company_id is not null and exists (
                 select 1 from deals d join pipeline_stages ps on ps.tenant_id = d.tenant_id and ps.key = d.stage
                  where d.tenant_id = ct.tenant_id and d.company_id = ct.company_id and ps.kind = 'open')) as open_deal
         from contacts ct left join companies co on co.id = ct.company_id
        where ct.tenant_id = filo_current_tenant() and ct.id = any(?::uuid[])`,
      [pgArray(ids)],
    )) as Facts[];
  }

  /** One row each, with its zone; a contact enrolled meanwhile elsewhere is skipped by the unique index. */
  async #insert(
    uow: UnitOfWork,
    s: Sequence,
    chosen: (Facts & { address: string })[],
    source: 'list' | 'selection' | 'csv',
  ): Promise<{ id: string; contact_id: string }[]> {
    if (!chosen.length) return [];
    const [pool] = (await uow.em.execute(
      `select time_zone from sequence_mailboxes where mailbox_id = any(?::uuid[]) order by array_position(?::uuid[], mailbox_id) limit 1`,
      [pgArray(s.mailboxIds), pgArray(s.mailboxIds)],
    )) as { time_zone: string }[];
    const mailboxZone = pool?.time_zone ?? SENDING_DEFAULTS.timeZone;
    const zones = chosen.map((c) => prospectZone({ contactZone: c.time_zone, country: c.country, mailboxZone }));
    return (await uow.em.execute(
      `insert into sequence_enrolments (id, tenant_id, sequence_id, contact_id, address, status, time_zone,
                                        time_zone_source, source, enrolled_by)
       select gen_random_uuid(), filo_current_tenant(), ?, u.contact_id, u.address, 'active', u.zone, u.zone_source, ?, ?
         from unnest(?::uuid[], ?::text[], ?::text[], ?::text[]) as u(contact_id, address, zone, zone_source)
       on conflict (tenant_id, contact_id) where status in ('active', 'paused') do nothing
       returning id, contact_id`,
      [
        s.id,
        source,
        authorOf(uow.actor),
        pgArray(chosen.map((c) => c.id)),
        pgArray(chosen.map((c) => c.address)),
        pgArray(zones.map((z) => z.zone)),
        pgArray(zones.map((z) => z.source)),
      ],
    )) as { id: string; contact_id: string }[];
  }

  list(
    actor: Actor,
    sequenceId: string,
    q: z.infer<typeof enrolmentListQuery>,
  ): Promise<{ items: Enrolment[]; nextCursor: string | null }> {
    const after = q.cursor ? decodeCursor(q.cursor) : null;
    return inTenant(this.#d.orm, actor, async (uow) => {
      await findSequence(uow, sequenceId);
      const params: unknown[] = [sequenceId];
      let where = `e.tenant_id = filo_current_tenant() and e.sequence_id = ?`;
      if (q.status) {
        where += ` and e.status = ?`;
        params.push(q.status);
      }
      if (after) {
        where += ` and (e.created_at, e.id) < (?::timestamptz, ?::uuid)`;
        params.push(after.at, after.id);
      }
      const rows = (await uow.em.execute(
        `${ENROLMENT_SELECT} where ${where} order by e.created_at desc, e.id desc limit ${q.limit + 1}`,
        params,
      )) as EnrolmentRow[];
      const page = rows.slice(0, q.limit);
      return {
        items: page.map(enrolmentDto),
        nextCursor: rows.length > q.limit ? encodeCursor(page[page.length - 1]!) : null,
      };
    });
  }

  async #find(uow: UnitOfWork, sequenceId: string, enrolmentId: string, lock = false): Promise<EnrolmentRow> {
    await findSequence(uow, sequenceId);
    const [row] = (await uow.em.execute(
      `${ENROLMENT_SELECT} where e.tenant_id = filo_current_tenant() and e.sequence_id = ? and e.id = ?
        ${lock ? 'for update of e' : ''}`,
      [sequenceId, enrolmentId],
    )) as EnrolmentRow[];
    if (!row) throw notFound('Enrolment');
    return row;
  }

  #change(
    actor: Actor,
    sequenceId: string,
    enrolmentId: string,
    fn: (uow: UnitOfWork, e: EnrolmentRow) => Promise<void>,
  ) {
    requireWrite(actor);
    return inTenant(this.#d.orm, actor, async (uow) => {
      await fn(uow, await this.#find(uow, sequenceId, enrolmentId, true));
      return enrolmentDto(await this.#find(uow, sequenceId, enrolmentId));
    });
  }

  /** Stops a prospect's sequence by hand (their queued mail taken back by the engine). */
  stop(actor: Actor, sequenceId: string, enrolmentId: string): Promise<Enrolment> {
    return this.#change(actor, sequenceId, enrolmentId, async (uow, e) => {
      if (e.status !== 'active' && e.status !== 'paused') throw notRunning(e);
      await this.engine.stop(uow, { enrolmentId }, 'manual');
    });
  }

  /** Holds a prospect where they are: the engine does not advance a paused enrolment until it is resumed. */
  pause(actor: Actor, sequenceId: string, enrolmentId: string): Promise<Enrolment> {
    return this.#change(actor, sequenceId, enrolmentId, async (uow, e) => {
      if (e.status !== 'active') throw notRunning(e);
      await uow.em.execute(
        `update sequence_enrolments set status = 'paused', updated_at = now(), version = version + 1 where id = ?`,
        [enrolmentId],
      );
    });
  }

  /** Back to active: a step whose time passed while paused is due at once (the engine books its slot). */
  resume(actor: Actor, sequenceId: string, enrolmentId: string): Promise<Enrolment> {
    return this.#change(actor, sequenceId, enrolmentId, async (uow, e) => {
      if (e.status !== 'paused') throw notRunning(e);
      await uow.em.execute(
        `update sequence_enrolments set status = 'active', updated_at = now(), version = version + 1 where id = ?`,
        [enrolmentId],
      );
    });
  }

  setPositive(actor: Actor, sequenceId: string, enrolmentId: string, positive: boolean | null): Promise<Enrolment> {
    return this.#change(actor, sequenceId, enrolmentId, async (uow) => {
      await uow.em.execute(
        `update sequence_enrolments set positive = ?, updated_at = now(), version = version + 1 where id = ?`,
        [positive, enrolmentId],
      );
    });
  }

  /**
   * One click from a positive reply: a deal for the prospect's company (through the CRM, with its timeline), the
   * prospect marked positive, and their sequence stopped if it still runs (`deal_opened`).
   */
  createDeal(actor: Actor, sequenceId: string, enrolmentId: string): Promise<EnrolmentDeal> {
    requireWrite(actor);
    return inTenant(this.#d.orm, actor, async (uow) => {
      const s = await findSequence(uow, sequenceId);
      const e = await this.#find(uow, sequenceId, enrolmentId, true);
      const [contact] = (await uow.em.execute(`select company_id from contacts where id = ?`, [e.contact_id])) as {
        company_id: string | null;
      }[];
      const name = `${e.first_name as string} ${e.last_name as string}`.trim();
      const title = `${(e.company_name as string | null) ?? name} — ${s.name}`.slice(0, 255);
      const deal = await this.#d.records.createIn(uow, 'deal', {
        title,
        companyId: contact?.company_id ?? null,
        source: 'sequence',
        assignedTo: (s.ownerId as string | null) ?? null,
      });
      await uow.em.execute(
        `update sequence_enrolments set positive = true, updated_at = now(), version = version + 1 where id = ?`,
        [enrolmentId],
      );
      if (e.status === 'active' || e.status === 'paused') await this.engine.stop(uow, { enrolmentId }, 'deal_opened');
      return {
        enrolment: enrolmentDto(await this.#find(uow, sequenceId, enrolmentId)),
        deal: { id: deal.id, title },
      };
    });
  }
}

const tooMany = () =>
  new HttpError(400, 'too_many_prospects', `At most ${MAX_ENROL} prospects at once`, {
    source: `at most ${MAX_ENROL} prospects`,
  });
const notRunning = (e: EnrolmentRow) =>
  new HttpError(409, 'invalid_status', `A ${e.status as string} enrolment cannot do that`);
