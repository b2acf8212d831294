import type {
  LinkedRecord,
  LinkedRecordEvent,
  LinkedRecordQuery,
  LinkedRecordUpsert,
  LinkedUpsertResult,
} from '#contracts/linked-records';
import type { Page } from '#contracts/common';
import type { ActivityDto } from '../timeline/publisher.ts';
import type { MikroORM } from '../../db/orm.ts';
import { notFound } from '../http/errors.ts';
import { requireScope } from '../auth/scopes.ts';
import { authorOf, inTenant, type Actor, type UnitOfWork } from '../tenancy.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import {
  findLinkedRow,
  LINKED_COLUMNS,
  listLinked,
  mapLinked,
  openOfCompany,
  tabOfKind,
  type LinkedRow,
} from './linked-records.queries.ts';
import { linkedTimeline } from './linked-records.timeline.ts';

export interface LinkedKey {
  source: string;
  kind: string;
  externalId: string;
}

/** The values an upsert stores, normalised as PostgreSQL gives them back (to tell a change from a repeat). */
interface Values {
  title: string;
  status: string | null;
  state: string;
  amount: string | null;
  currency: string | null;
  start_date: string | null;
  due_date: string | null;
  end_date: string | null;
  issued_date: string | null;
  url: string | null;
  fields: Record<string, unknown>;
  company_id: string | null;
  contact_id: string | null;
  deal_id: string | null;
}
const COMPARED = Object.keys({
  title: 1,
  status: 1,
  state: 1,
  amount: 1,
  currency: 1,
  start_date: 1,
  due_date: 1,
  end_date: 1,
  issued_date: 1,
  url: 1,
  fields: 1,
  company_id: 1,
  contact_id: 1,
  deal_id: 1,
} satisfies Record<keyof Values, 1>) as (keyof Values)[];
const CAMEL: Record<string, string> = {
  start_date: 'startDate',
  due_date: 'dueDate',
  end_date: 'endDate',
  issued_date: 'issuedDate',
  company_id: 'companyId',
  contact_id: 'contactId',
  deal_id: 'dealId',
};

/** "12.5", 12.5 -> "12.50": how numeric(15,2) reads back. */
function decimal(v: number | string | null | undefined): string | null {
  if (v == null) return null;
  const s = typeof v === 'number' ? v.toFixed(2) : v;
  const [whole, frac = ''] = s.split('.');
  const n = `${whole}.${(frac + '00').slice(0, 2)}`;
  return /^-0\.00$/.test(n) ? '0.00' : n;
}

/** JSON with keys sorted, as jsonb compares. */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );

/**
 * Linked records of other modules: idempotent upserts by (source, kind, external id) where the last write wins by
 * the source's own `updatedAt` (an older upsert arriving late is answered `stale` and changes nothing), timeline
 * entries on the CRM record (created, status changed, updated, removed, events) published after commit. Every
 * call checks the actor's grant for the record's kind (`linked` family).
 */
export class LinkedRecordsService {
  readonly #orm: MikroORM;
  readonly #activities: ActivitiesService;

  constructor(orm: MikroORM, activities: ActivitiesService) {
    this.#orm = orm;
    this.#activities = activities;
  }

  list(actor: Actor, q: LinkedRecordQuery): Promise<Page<LinkedRecord>> {
    if (q.kind) requireScope(actor, 'linked', 'read', q.kind);
    return inTenant(this.#orm, actor, (uow) => listLinked(uow, q));
  }

  get(actor: Actor, id: string): Promise<LinkedRecord> {
    return inTenant(this.#orm, actor, async (uow) => mapLinked(await findLinkedRow(uow, id)));
  }

  getByKey(actor: Actor, key: LinkedKey): Promise<LinkedRecord> {
    requireScope(actor, 'linked', 'read', key.kind);
    return inTenant(this.#orm, actor, async (uow) => {
      const [found] = (await uow.em.execute(
        `select id from linked_records where source = ? and kind = ? and external_id = ?`,
        [key.source, key.kind, key.externalId],
      )) as { id: string }[];
      if (!found) throw notFound('Linked record');
      return mapLinked(await findLinkedRow(uow, found.id));
    });
  }

  /** Open records of a company per card tab, of the kinds the actor may read (full-context's transaction). */
  openOfCompany(uow: UnitOfWork, companyId: string): ReturnType<typeof openOfCompany> {
    return openOfCompany(uow, companyId);
  }

  async upsert(actor: Actor, key: LinkedKey, input: LinkedRecordUpsert): Promise<LinkedUpsertResult> {
    requireScope(actor, 'linked', 'write', key.kind);
    return inTenant(this.#orm, actor, (uow) => this.#upsert(uow, key, input));
  }

  async #upsert(uow: UnitOfWork, key: LinkedKey, input: LinkedRecordUpsert): Promise<LinkedUpsertResult> {
    const { em, actor } = uow;
    await tabOfKind(uow, key.kind);
    const links = await this.#links(uow, input);
    const next: Values = {
      title: input.title,
      status: input.status ?? null,
      state: input.state,
      amount: decimal(input.amount),
      currency: input.amount == null && !input.currency ? null : (input.currency ?? null),
      start_date: input.startDate ?? null,
      due_date: input.dueDate ?? null,
      end_date: input.endDate ?? null,
      issued_date: input.issuedDate ?? null,
      url: input.url ?? null,
      fields: input.fields ?? {},
      ...links,
    };
    const sourceAt = input.updatedAt ?? new Date().toISOString();
    // A concurrent first upsert of the same key waits here for the other to commit, then finds its row below.
    // The stored columns in the order both the insert and the update name them.
    const values = [
      next.title,
      next.status,
      next.state,
      next.amount,
      next.currency,
      next.start_date,
      next.due_date,
      next.end_date,
      next.issued_date,
      next.url,
      JSON.stringify(next.fields),
      next.company_id,
      next.contact_id,
      next.deal_id,
    ];
    const inserted = (await em.execute(
      `insert into linked_records (id, tenant_id, kind, source, external_id, title, status, state, amount, currency,
         start_date, due_date, end_date, issued_date, url, fields, company_id, contact_id, deal_id,
         source_updated_at, created_by)
       values (gen_random_uuid(), ?, ?, ?, ?, ?, ?, ?, ?::numeric, ?, ?::date, ?::date, ?::date, ?::date, ?, ?::jsonb,
         ?, ?, ?, ?::timestamptz, ?)
       on conflict (tenant_id, source, kind, external_id) do nothing returning id`,
      [actor.tenantId, key.kind, key.source, key.externalId, ...values, sourceAt, authorOf(actor)],
    )) as { id: string }[];
    if (inserted[0]) {
      const row = await findLinkedRow(uow, inserted[0].id);
      await this.#record(uow, linkedTimeline(row, 'linked_record.created'));
      return { outcome: 'created', record: mapLinked(row) };
    }
    const [current] = (await em.execute(
      `select ${LINKED_COLUMNS}, r.source_updated_at > ?::timestamptz as newer
         from linked_records r left join linked_record_kinds k on k.key = r.kind
        where r.source = ? and r.kind = ? and r.external_id = ? for update of r`,
      [sourceAt, key.source, key.kind, key.externalId],
    )) as (LinkedRow & { newer: boolean })[];
    if (!current) throw notFound('Linked record');
    const { newer, ...was } = current;
    if (newer) return { outcome: 'stale', record: mapLinked(was) };
    const changed = COMPARED.filter((f) =>
      f === 'fields' ? canonical(was.fields ?? {}) !== canonical(next.fields) : (was[f] ?? null) !== next[f],
    );
    await em.execute(
      `update linked_records set title = ?, status = ?, state = ?, amount = ?::numeric, currency = ?,
         start_date = ?::date, due_date = ?::date, end_date = ?::date, issued_date = ?::date, url = ?, fields = ?::jsonb,
         company_id = ?, contact_id = ?, deal_id = ?, source_updated_at = ?::timestamptz
         ${changed.length ? ', updated_at = now(), version = version + 1' : ''}
       where id = ?`,
      [...values, sourceAt, was.id],
    );
    const row = await findLinkedRow(uow, was.id);
    if (!changed.length) return { outcome: 'unchanged', record: mapLinked(row) };
    const statusMoved = changed.includes('status') || changed.includes('state');
    const others = changed.filter((f) => f !== 'status' && f !== 'state').map((f) => CAMEL[f] ?? f);
    await this.#record(
      uow,
      linkedTimeline(row, statusMoved ? 'linked_record.status_changed' : 'linked_record.updated', {
        ...(statusMoved ? { from: { status: was.status, state: was.state } } : {}),
        ...(others.length ? { changes: others } : {}),
      }),
    );
    return { outcome: 'updated', record: mapLinked(row) };
  }

  /** Removes a record (the source deleted it); its timeline keeps a `removed` entry. */
  remove(actor: Actor, id: string): Promise<void> {
    return inTenant(this.#orm, actor, async (uow) => {
      const row = await findLinkedRow(uow, id);
      requireScope(actor, 'linked', 'write', row.kind);
      await uow.em.execute(`delete from linked_records where id = ?`, [id]);
      await this.#record(uow, linkedTimeline(row, 'linked_record.deleted'));
    });
  }

  /** A milestone of the record posted by its module (a production phase done, an invoice paid) on the timeline. */
  postEvent(actor: Actor, id: string, input: LinkedRecordEvent): Promise<ActivityDto> {
    return inTenant(this.#orm, actor, async (uow) => {
      const row = await findLinkedRow(uow, id);
      requireScope(actor, 'linked', 'write', row.kind);
      return this.#record(
        uow,
        linkedTimeline(row, 'linked_record.event', {
          event: { title: input.title, occurredAt: input.occurredAt ?? null },
          description: input.description ?? null,
        }),
      );
    });
  }

  #record(uow: UnitOfWork, activity: ReturnType<typeof linkedTimeline>) {
    return this.#activities.record(uow, activity);
  }

  /** The CRM records it belongs to, each in the workspace; a contact's or deal's company is its company too. */
  async #links(uow: UnitOfWork, input: LinkedRecordUpsert) {
    const one = async (sql: string, id: string, what: string) => {
      const [row] = (await uow.em.execute(sql, [id])) as Record<string, string | null>[];
      if (!row) throw notFound(what);
      return row;
    };
    let companyId = input.companyId ?? null;
    if (input.dealId) {
      const d = await one(`select company_id from deals where id = ?`, input.dealId, 'Deal');
      companyId ??= d.company_id ?? null;
    }
    if (input.contactId) {
      const c = await one(`select company_id from contacts where id = ?`, input.contactId, 'Contact');
      companyId ??= c.company_id ?? null;
    }
    if (companyId) await one(`select id from companies where id = ?`, companyId, 'Company');
    return { company_id: companyId, contact_id: input.contactId ?? null, deal_id: input.dealId ?? null };
  }
}
