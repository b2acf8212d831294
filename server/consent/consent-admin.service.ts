import type { MikroORM } from '../../db/orm.ts';
import {
  BLOCKING_CONSENT_STATUSES,
  type ConsentChangeInput,
  type ConsentChannel,
  type ConsentRecord,
  type ConsentSource,
  type ConsentStatus,
  type ContactConsent,
  type Suppression,
  type SuppressionInput,
  type suppressionQuery,
} from '#contracts/consent';
import type { z } from 'zod';
import { HttpError, notFound } from '../http/errors.ts';
import { inTenant, requireRole, requireWrite, type Actor, type UnitOfWork } from '../tenancy.ts';
import { pgArray, type ConsentService } from './consent.service.ts';

/** The contact columns consent works with. */
export interface ContactRow {
  id: string;
  company_id: string | null;
  first_name: string;
  last_name: string;
  email: string | null;
  phone: string | null;
  mobile: string | null;
}

interface RecordRow {
  id: string;
  channel: ConsentChannel;
  address: string | null;
  list_id: string | null;
  list_name: string | null;
  status: ConsentStatus;
  source: ConsentSource;
  ip: string | null;
  user_agent: string | null;
  consent_text: string | null;
  signed_up_at: Date | null;
  confirmed_at: Date | null;
  withdrawn_at: Date | null;
  updated_at: Date;
  contact_id: string | null;
}

interface EventRow {
  id: string;
  consent_id: string;
  status: ConsentStatus;
  source: ConsentSource;
  ip: string | null;
  user_agent: string | null;
  consent_text: string | null;
  note: string | null;
  actor_id: string | null;
  actor_name: string | null;
  created_at: Date;
}

const iso = (d: Date | null): string | null => (d ? new Date(d).toISOString() : null);
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const invalidCursor = () => new HttpError(400, 'invalid_cursor', 'The cursor is not valid for this list');

/** The contact, or 404 (another workspace's is not there under row-level security). */
export async function findContact(uow: UnitOfWork, id: string): Promise<ContactRow> {
  const [row] = (await uow.em.execute(
    `select id, company_id, first_name, last_name, email, phone, mobile from contacts where id = ?`,
    [id],
  )) as ContactRow[];
  if (!row) throw notFound('Contact');
  return row;
}

/** Reading and changing consent by hand: a contact's evidence and history, and the suppression list. */
export class ConsentAdminService {
  readonly #orm: MikroORM;
  readonly #consent: ConsentService;

  constructor(orm: MikroORM, consent: ConsentService) {
    this.#orm = orm;
    this.#consent = consent;
  }

  /** Every consent row of the contact (by link or by its email's hash), grouped per channel and address. */
  forContact(actor: Actor, contactId: string): Promise<ContactConsent> {
    return inTenant(this.#orm, actor, async (uow) => {
      const contact = await findContact(uow, contactId);
      const rows = await this.#rows(uow, contact);
      const events = (await uow.em.execute(
        `select e.id, e.consent_id, e.status, e.source, e.ip, e.user_agent, e.consent_text, e.note, e.actor_id,
                u.name as actor_name, e.created_at
           from consent_events e left join users u on u.id = e.actor_id
          where e.tenant_id = filo_current_tenant() and e.consent_id = any(?::uuid[])
          order by e.created_at desc, e.id`,
        [pgArray(rows.map((r) => r.id))],
      )) as EventRow[];
      const groups = new Map<string, ContactConsent['addresses'][number]>();
      if (contact.email)
        groups.set(`email:${contact.email.toLowerCase()}`, {
          channel: 'email',
          address: contact.email.toLowerCase(),
          overall: null,
          lists: [],
        });
      for (const r of rows) {
        const address = r.address ?? (r.channel === 'email' && contact.email ? contact.email.toLowerCase() : '');
        const key = `${r.channel}:${address}`;
        const group = groups.get(key) ?? { channel: r.channel, address, overall: null, lists: [] };
        groups.set(key, group);
        const record = recordDto(
          r,
          events.filter((e) => e.consent_id === r.id),
        );
        if (r.list_id) group.lists.push(record);
        else group.overall = record;
      }
      return { contactId, addresses: [...groups.values()] };
    });
  }

  async #rows(uow: UnitOfWork, contact: ContactRow): Promise<RecordRow[]> {
    const hash = contact.email ? this.#consent.hash('email', contact.email) : null;
    return (await uow.em.execute(
      `select c.id, c.channel, c.address, c.list_id, l.name as list_name, c.status, c.source, c.ip, c.user_agent,
              c.consent_text, c.signed_up_at, c.confirmed_at, c.withdrawn_at, c.updated_at, c.contact_id
         from consents c left join mailing_lists l on l.id = c.list_id
        where c.tenant_id = filo_current_tenant()
          and (c.contact_id = ? or (c.channel = 'email' and c.address_hash = ?))
        order by c.list_id nulls first, l.name`,
      [contact.id, hash],
    )) as RecordRow[];
  }

  /**
   * A member's change by hand (source `manual`, the member recorded). Subscribing an address whose whole channel
   * bounced or complained takes `force` from an owner or admin; an erased address is subscribed only by the person.
   */
  async change(actor: Actor, contactId: string, input: ConsentChangeInput): Promise<ContactConsent> {
    requireWrite(actor);
    await inTenant(this.#orm, actor, async (uow) => {
      const contact = await findContact(uow, contactId);
      const address = await this.#addressOf(uow, contact, input);
      if (input.listId) {
        const [list] = (await uow.em.execute(`select id from mailing_lists where id = ?`, [input.listId])) as {
          id: string;
        }[];
        if (!list) throw notFound('List');
      }
      const subscribing = input.status === 'subscribed';
      if (subscribing) {
        const refusal = await this.#consent.refusal(uow.em, input.channel, address, input.listId ? [input.listId] : []);
        const [wide] = (await uow.em.execute(
          `select status, source from consents where tenant_id = filo_current_tenant() and channel = ?
              and address_hash = ? and list_id is null`,
          [input.channel, this.#consent.hash(input.channel, address)],
        )) as { status: ConsentStatus; source: ConsentSource }[];
        if (wide?.source === 'erasure')
          throw new HttpError(409, 'address_erased', 'This address was erased: only the person can subscribe it again');
        const hard = refusal && (refusal.status === 'bounced' || refusal.status === 'complained');
        if (hard && !input.force)
          throw new HttpError(409, 'address_suppressed', `This address ${refusal.status}: subscribing it takes force`, {
            force: refusal.status,
          });
        if (hard) requireRole(actor, 'owner', 'admin');
      }
      const change = {
        channel: input.channel,
        address,
        status: input.status,
        source: 'manual' as const,
        contactId,
        note: input.note ?? null,
      };
      await this.#consent.set(uow, { ...change, listId: input.listId });
      // Subscribing by hand lifts a whole-channel refusal that would still stop every list's mail.
      if (subscribing && input.listId) {
        const wide = await this.#consent.refusal(uow.em, input.channel, address, []);
        if (wide) await this.#consent.set(uow, { ...change, listId: null });
      }
    });
    return this.forContact(actor, contactId);
  }

  /** The address a change is for: given (one the contact has on that channel), or the contact's own. */
  async #addressOf(uow: UnitOfWork, contact: ContactRow, input: ConsentChangeInput): Promise<string> {
    const own =
      input.channel === 'email'
        ? [contact.email]
        : input.channel === 'sms' || input.channel === 'whatsapp'
          ? [contact.mobile, contact.phone]
          : [];
    const known = own.filter((a): a is string => !!a).map((a) => this.#consent.normalize(input.channel, a));
    const linked = (await uow.em.execute(
      `select address from consents where contact_id = ? and channel = ? and address is not null`,
      [contact.id, input.channel],
    )) as { address: string }[];
    known.push(...linked.map((r) => r.address));
    const wanted = input.address ? this.#consent.normalize(input.channel, input.address) : known[0];
    if (!wanted || !known.includes(wanted))
      throw new HttpError(400, 'no_address', `The contact has no such ${input.channel} address`, {
        address: 'Not an address of this contact',
      });
    return wanted;
  }

  /** Channel-wide refusals, newest first: unsubscribed from all, bounced, complained, and erased (no address). */
  suppressions(
    actor: Actor,
    query: z.infer<typeof suppressionQuery>,
  ): Promise<{ items: Suppression[]; nextCursor: string | null }> {
    let after: [string, string] | null = null;
    if (query.cursor) {
      try {
        const v: unknown = JSON.parse(Buffer.from(query.cursor, 'base64url').toString('utf8'));
        if (
          !Array.isArray(v) ||
          v.length !== 2 ||
          Number.isNaN(Date.parse(String(v[0]))) ||
          !/^[0-9a-f-]{36}$/.test(String(v[1]))
        )
          throw invalidCursor();
        after = [String(v[0]), String(v[1])];
      } catch {
        throw invalidCursor();
      }
    }
    return inTenant(this.#orm, actor, async ({ em }) => {
      const where = [
        `tenant_id = filo_current_tenant()`,
        `list_id is null`,
        `status in ('unsubscribed', 'bounced', 'complained')`,
      ];
      const params: unknown[] = [];
      if (query.channel) {
        where.push(`channel = ?`);
        params.push(query.channel);
      }
      if (query.status === 'erased') where.push(`source = 'erasure'`);
      else if (query.status) {
        where.push(`status = ? and source <> 'erasure'`);
        params.push(query.status);
      }
      if (query.q) {
        where.push(`address ilike ?`);
        params.push(`%${query.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      }
      if (after) {
        where.push(`(date_trunc('milliseconds', updated_at), id) < (?::timestamptz, ?::uuid)`);
        params.push(...after);
      }
      const rows = (await em.execute(
        `select id, channel, address, status, source, contact_id, updated_at from consents
          where ${where.join(' and ')} order by date_trunc('milliseconds', updated_at) desc, id desc limit ?`,
        [...params, query.limit + 1],
      )) as RecordRow[];
      const more = rows.length > query.limit;
      const items = rows.slice(0, query.limit).map(suppressionDto);
      const last = items.at(-1);
      return {
        items,
        nextCursor: more && last ? Buffer.from(JSON.stringify([last.updatedAt, last.id])).toString('base64url') : null,
      };
    });
  }

  /** Adds an address by hand: unsubscribed from the whole channel, source `manual`, the reason kept as the note. */
  async addSuppression(actor: Actor, input: SuppressionInput): Promise<Suppression> {
    requireWrite(actor);
    const address = this.#consent.normalize(input.channel, input.address);
    if (input.channel === 'email' && !EMAIL.test(address))
      throw new HttpError(400, 'validation_failed', 'The address is not valid', { address: 'Not an email address' });
    return inTenant(this.#orm, actor, async (uow) => {
      const [contact] = (await uow.em.execute(`select id from contacts where lower(email) = ? limit 1`, [
        input.channel === 'email' ? address : null,
      ])) as { id: string }[];
      const { id, erased } = await this.#consent.set(uow, {
        channel: input.channel,
        address,
        listId: null,
        status: 'unsubscribed',
        source: 'manual',
        contactId: contact?.id ?? null,
        note: input.reason ?? null,
      });
      if (erased) throw new HttpError(409, 'address_erased', 'This address is already suppressed by an erasure');
      const [row] = (await uow.em.execute(
        `select id, channel, address, status, source, contact_id, updated_at from consents where id = ?`,
        [id],
      )) as RecordRow[];
      return suppressionDto(row!);
    });
  }

  /** Lifts a channel-wide refusal (owners and admins). An erasure's stays: the person is gone, their refusal is not. */
  removeSuppression(actor: Actor, id: string): Promise<void> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    return inTenant(this.#orm, actor, async ({ em }) => {
      const [row] = (await em.execute(
        `select source, status from consents where id = ? and list_id is null for update`,
        [id],
      )) as { source: ConsentSource; status: ConsentStatus }[];
      if (!row || !BLOCKING_CONSENT_STATUSES.includes(row.status)) throw notFound('Suppression');
      if (row.source === 'erasure')
        throw new HttpError(409, 'address_erased', 'An erased person’s refusal cannot be removed');
      await em.execute(`delete from consents where id = ?`, [id]);
    });
  }
}

function recordDto(r: RecordRow, events: EventRow[]): ConsentRecord {
  return {
    id: r.id,
    channel: r.channel,
    address: r.address,
    listId: r.list_id,
    listName: r.list_name,
    status: r.status,
    source: r.source,
    ip: r.ip,
    userAgent: r.user_agent,
    consentText: r.consent_text,
    signedUpAt: iso(r.signed_up_at),
    confirmedAt: iso(r.confirmed_at),
    withdrawnAt: iso(r.withdrawn_at),
    updatedAt: iso(r.updated_at)!,
    events: events.map((e) => ({
      id: e.id,
      status: e.status,
      source: e.source,
      ip: e.ip,
      userAgent: e.user_agent,
      consentText: e.consent_text,
      note: e.note,
      actor: e.actor_id ? { id: e.actor_id, name: e.actor_name ?? '' } : null,
      createdAt: iso(e.created_at)!,
    })),
  };
}

function suppressionDto(r: RecordRow): Suppression {
  return {
    id: r.id,
    channel: r.channel,
    address: r.address,
    status: r.source === 'erasure' ? 'erased' : (r.status as Suppression['status']),
    source: r.source,
    contactId: r.contact_id,
    updatedAt: iso(r.updated_at)!,
  };
}
