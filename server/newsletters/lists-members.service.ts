import type { EntityManager } from '@mikro-orm/postgresql';
import type { MikroORM } from '../../db/orm.ts';
import type { AddMembersInput, AddMembersResult, ListMember } from '#contracts/newsletter-lists';
import type { ConsentStatus } from '#contracts/consent';
import { BLOCKING_CONSENT_STATUSES } from '#contracts/consent';
import type { Page } from '#contracts/common';
import type { ConsentEvidence, ConsentService } from '../consent/consent.service.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { inTenant, requireWrite, type Actor, type UnitOfWork } from '../tenancy.ts';
import { compileSegment, pgArray, SEGMENT_FROM } from './segments.ts';
import { findList } from './lists.service.ts';
import { segmentFilter } from '#contracts/newsletter-lists';

/** At most this many contacts are added by one request (a saved view or companies can name many). */
export const MAX_ADD = 5000;

export interface MemberQuery {
  status?: ConsentStatus;
  q?: string;
  cursor?: string;
  limit: number;
}

interface MemberRow {
  contact_id: string | null;
  name: string | null;
  company: string | null;
  company_id: string | null;
  address: string;
  status: ConsentStatus;
  source: ListMember['source'];
  signed_up_at: Date | null;
  confirmed_at: Date | null;
  id: string;
}

const like = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
const invalidCursor = () => new HttpError(400, 'invalid_cursor', 'The cursor is not valid for this list');

const encodeCursor = (row: MemberRow) => Buffer.from(JSON.stringify([row.address, row.id])).toString('base64url');
function decodeCursor(cursor: string): [string, string] {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(v) &&
      v.length === 2 &&
      typeof v[0] === 'string' &&
      typeof v[1] === 'string' &&
      /^[0-9a-f-]{36}$/i.test(v[1])
    )
      return [v[0], v[1]];
  } catch {
    // answered below
  }
  throw invalidCursor();
}

const memberDto = (r: MemberRow): ListMember => ({
  contactId: r.contact_id,
  name: r.name,
  company: r.company,
  companyId: r.company_id,
  address: r.address,
  status: r.status,
  source: r.source,
  signedUpAt: iso(r.signed_up_at),
  confirmedAt: iso(r.confirmed_at),
});

/**
 * Who is on a list: a static list's members are its `consents` rows (every change through ConsentService.set, with
 * its evidence and timeline entry); a segment's are its live matches. Adding from the CRM never re-subscribes an
 * address that unsubscribed, bounced or complained.
 */
export class ListMembersService {
  readonly #orm: MikroORM;
  readonly #consent: ConsentService;

  constructor(orm: MikroORM, consent: ConsentService) {
    this.#orm = orm;
    this.#consent = consent;
  }

  members(actor: Actor, listId: string, query: MemberQuery): Promise<Page<ListMember>> {
    const after = query.cursor ? decodeCursor(query.cursor) : null;
    return inTenant(this.#orm, actor, async ({ em }) => {
      const list = await findList(em, listId);
      const params: unknown[] = [];
      let sql: string;
      if (list.kind === 'segment') {
        const filter = segmentFilter.safeParse(list.filter);
        if (!filter.success || (query.status && query.status !== 'subscribed')) return { items: [], nextCursor: null };
        const segment = await compileSegment(em, actor.tenantId, filter.data);
        sql = `select ct.id as contact_id, ct.first_name || ' ' || ct.last_name as name, co.name as company,
                 co.id as company_id, lower(ct.email) as address, 'subscribed' as status, null as source,
                 null::timestamptz as signed_up_at, null::timestamptz as confirmed_at, ct.id::text as id
            from ${SEGMENT_FROM}
           where ct.tenant_id = ? and ct.email is not null and ct.email <> '' and ${segment.where}`;
        params.push(actor.tenantId, ...segment.params);
        if (query.q) {
          sql += ` and (ct.email ilike ? or ct.first_name ilike ? or ct.last_name ilike ?)`;
          params.push(like(query.q), like(query.q), like(query.q));
        }
        if (after) {
          sql += ` and (lower(ct.email), ct.id::text) > (?, ?)`;
          params.push(...after);
        }
        sql += ` order by lower(ct.email), ct.id::text limit ?`;
      } else {
        sql = `select m.contact_id, ct.first_name || ' ' || ct.last_name as name, co.name as company,
                 co.id as company_id, m.address, m.status, m.source, m.signed_up_at, m.confirmed_at, m.id::text as id
            from consents m left join contacts ct on ct.id = m.contact_id left join companies co on co.id = ct.company_id
           where m.tenant_id = ? and m.list_id = ? and m.channel = 'email' and m.address is not null`;
        params.push(actor.tenantId, listId);
        if (query.status) {
          sql += ` and m.status = ?`;
          params.push(query.status);
        }
        if (query.q) {
          sql += ` and (m.address ilike ? or ct.first_name ilike ? or ct.last_name ilike ?)`;
          params.push(like(query.q), like(query.q), like(query.q));
        }
        if (after) {
          sql += ` and (m.address, m.id::text) > (?, ?)`;
          params.push(...after);
        }
        sql += ` order by m.address, m.id::text limit ?`;
      }
      params.push(query.limit + 1);
      const rows = (await em.execute(sql, params)) as MemberRow[];
      const more = rows.length > query.limit;
      const items = rows.slice(0, query.limit);
      return { items: items.map(memberDto), nextCursor: more ? encodeCursor(items.at(-1)!) : null };
    });
  }

  /** Subscribes CRM contacts (source `crm`: an existing relationship), counting who was skipped and why. */
  add(actor: Actor, listId: string, input: AddMembersInput, evidence: ConsentEvidence): Promise<AddMembersResult> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const { em } = uow;
      const list = await findList(em, listId, { lock: true });
      if (list.kind !== 'static')
        throw new HttpError(409, 'segment_list', "A segment's members are the contacts its filter matches");
      const contacts = await this.#resolve(uow, input);
      const result: AddMembersResult = { added: 0, already: 0, noEmail: 0, suppressed: 0 };
      const withEmail = new Map<string, string>();
      for (const c of contacts) {
        const address = c.email?.trim().toLowerCase();
        if (!address) result.noEmail++;
        else if (withEmail.has(address)) result.already++;
        else withEmail.set(address, c.id);
      }
      const states = await this.#states(em, listId, [...withEmail.keys()]);
      for (const [address, contactId] of withEmail) {
        const state = states.get(this.#consent.hash('email', address));
        if (state?.blocked) result.suppressed++;
        else if (state?.status === 'subscribed') result.already++;
        else {
          await this.#consent.set(uow, {
            channel: 'email',
            address,
            listId,
            status: 'subscribed',
            source: 'crm',
            contactId,
            evidence,
          });
          result.added++;
        }
      }
      return result;
    });
  }

  /** Takes a contact off a static list: their row becomes `unsubscribed` (source `manual`), kept as history. */
  remove(actor: Actor, listId: string, contactId: string): Promise<void> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const list = await findList(uow.em, listId, { lock: true });
      if (list.kind !== 'static')
        throw new HttpError(409, 'segment_list', "A segment's members are the contacts its filter matches");
      const rows = (await uow.em.execute(
        `select address, status from consents where list_id = ? and contact_id = ? and channel = 'email'
            and address is not null`,
        [listId, contactId],
      )) as { address: string; status: ConsentStatus }[];
      if (!rows.length) throw notFound('Member');
      for (const row of rows) {
        if (row.status === 'unsubscribed') continue;
        await this.#consent.set(uow, {
          channel: 'email',
          address: row.address,
          listId,
          status: 'unsubscribed',
          source: 'manual',
          contactId,
        });
      }
    });
  }

  /** Per address hash: the list's status, and whether the list or the whole channel forbids mailing it. */
  async #states(em: EntityManager, listId: string, addresses: string[]) {
    const out = new Map<string, { status: ConsentStatus | null; blocked: boolean }>();
    if (!addresses.length) return out;
    const rows = (await em.execute(
      `select address_hash, list_id, status from consents
        where channel = 'email' and address_hash = any(?::text[]) and (list_id is null or list_id = ?)`,
      [pgArray(addresses.map((a) => this.#consent.hash('email', a))), listId],
    )) as { address_hash: string; list_id: string | null; status: ConsentStatus }[];
    for (const r of rows) {
      const state = out.get(r.address_hash) ?? { status: null, blocked: false };
      if (BLOCKING_CONSENT_STATUSES.includes(r.status)) state.blocked = true;
      if (r.list_id) state.status = r.status;
      out.set(r.address_hash, state);
    }
    return out;
  }

  /** The contacts a request names: by id, by company, or everyone a saved view of contacts or companies shows. */
  async #resolve({ em, actor }: UnitOfWork, input: AddMembersInput): Promise<{ id: string; email: string | null }[]> {
    let rows: { id: string; email: string | null }[];
    if (input.contactIds) {
      rows = (await em.execute(`select id, email from contacts where tenant_id = ? and id = any(?::uuid[])`, [
        actor.tenantId,
        pgArray(input.contactIds),
      ])) as typeof rows;
      if (rows.length < new Set(input.contactIds).size) throw notFound('Contact');
    } else if (input.companyIds) {
      const found = (await em.execute(`select count(*)::int as n from companies where id = any(?::uuid[])`, [
        pgArray(input.companyIds),
      ])) as [{ n: number }];
      if (found[0].n < new Set(input.companyIds).size) throw notFound('Company');
      rows = (await em.execute(
        `select id, email from contacts where tenant_id = ? and company_id = any(?::uuid[]) order by id limit ?`,
        [actor.tenantId, pgArray(input.companyIds), MAX_ADD + 1],
      )) as typeof rows;
    } else {
      rows = await this.#ofView(em, actor, input.savedViewId!);
    }
    if (rows.length > MAX_ADD)
      throw new HttpError(400, 'too_many_contacts', `At most ${MAX_ADD} contacts can be added at once: import a CSV`);
    return rows;
  }

  /** A saved view's filters (the list routes' query parameters) as SQL over contacts. */
  async #ofView(em: EntityManager, actor: Actor, viewId: string) {
    const [view] = (await em.execute(
      `select entity_type, filters from saved_views where id = ? and (user_id = ? or is_shared)`,
      [viewId, actor.userId],
    )) as { entity_type: string; filters: Record<string, string> }[];
    if (!view || (view.entity_type !== 'contact' && view.entity_type !== 'company')) throw notFound('Saved view');
    const f = view.filters;
    const where: string[] = ['ct.tenant_id = ?'];
    const params: unknown[] = [actor.tenantId];
    const cf: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(f)) {
      if (!key.startsWith('cf.') || !/^[a-z][a-z0-9_]{0,99}$/.test(key.slice(3))) continue;
      cf[key.slice(3)] =
        value === 'true' ? true : value === 'false' ? false : /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
    }
    const target = view.entity_type === 'contact' ? 'ct' : 'co';
    if (Object.keys(cf).length) {
      where.push(`${target}.custom_fields @> ?::jsonb`);
      params.push(JSON.stringify(cf));
    }
    if (view.entity_type === 'contact') {
      if (f.q) {
        where.push(`(ct.first_name ilike ? or ct.last_name ilike ? or ct.email ilike ?)`);
        params.push(like(f.q), like(f.q), like(f.q));
      }
      if (f.companyId) {
        where.push(`ct.company_id::text = ?`);
        params.push(f.companyId);
      }
    } else {
      where.push('co.id is not null');
      if (f.q) {
        where.push(`co.name ilike ?`);
        params.push(like(f.q));
      }
      for (const [key, column] of [
        ['type', 'co.type'],
        ['status', 'co.status'],
        ['assignedTo', 'co.assigned_to::text'],
      ] as const) {
        if (f[key]) {
          where.push(`${column} = ?`);
          params.push(f[key]);
        }
      }
      if (f.tag) {
        where.push(`co.tags @> array[?]::text[]`);
        params.push(f.tag);
      }
    }
    return (await em.execute(
      `select ct.id, ct.email from ${SEGMENT_FROM} where ${where.join(' and ')} order by ct.id limit ?`,
      [...params, MAX_ADD + 1],
    )) as { id: string; email: string | null }[];
  }
}
