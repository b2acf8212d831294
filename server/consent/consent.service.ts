import { createHmac, hkdfSync } from 'node:crypto';
import {
  BLOCKING_CONSENT_STATUSES,
  type ConsentChannel,
  type ConsentSource,
  type ConsentStatus,
} from '#contracts/consent';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import type { UnitOfWork } from '../tenancy.ts';
import type { EntityManager } from '@mikro-orm/postgresql';

/** How a consent change came about: what the person saw and where from (the proof kept with it). */
export interface ConsentEvidence {
  ip?: string | null;
  userAgent?: string | null;
  /** The exact text shown to the person when they agreed. */
  consentText?: string | null;
}

export interface ConsentChange {
  channel: ConsentChannel;
  address: string;
  /** null: the whole channel (unsubscribed from everything, bounced, complained). */
  listId: string | null;
  status: ConsentStatus;
  source: ConsentSource;
  contactId?: string | null;
  evidence?: ConsentEvidence;
  /** SHA-256 of a double opt-in token to confirm (status `unconfirmed`). */
  confirmTokenHash?: string | null;
  /** A member's note on a change made by hand. */
  note?: string | null;
}

/** A PostgreSQL array literal for an `any(?::type[])` parameter (the driver would expand a JS array into a list). */
export const pgArray = (values: readonly string[]): string =>
  `{${values.map((v) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(',')}}`;

/** Why a send is refused: the blocking status and whether it was for a list or the whole channel. */
export interface Refusal {
  status: ConsentStatus;
  listId: string | null;
}

/** What `set()` did: the row, whether its status changed, and `erased` when an erasure's refusal stood. */
export interface SetResult {
  id: string;
  changed: boolean;
  previous: ConsentStatus | null;
  erased?: true;
}

interface ConsentRow {
  id: string;
  status: ConsentStatus;
  source: ConsentSource;
  list_id: string | null;
  contact_id: string | null;
}

/**
 * Consent and suppression for every channel and sender: one row per (channel, address, list or whole channel),
 * looked up by an HMAC of the address so that an erased person stays suppressed without their address being kept.
 * Senders call `refusals()` inside their send transaction; every change goes through `set()`, which keeps the
 * evidence as a `consent_events` row and writes `consent.given` / `consent.withdrawn` on the contact's timeline.
 */
export class ConsentService {
  readonly #key: Buffer;
  readonly #activities: ActivitiesService;

  constructor(deps: { secretKey: string; activities: ActivitiesService }) {
    this.#key = Buffer.from(hkdfSync('sha256', deps.secretKey, 'filo', 'filo consent address hash v1', 32));
    this.#activities = deps.activities;
  }

  /** The form an address is compared in: emails lower-cased and trimmed; numbers and chat ids trimmed. */
  normalize(channel: ConsentChannel, address: string): string {
    const a = address.trim();
    return channel === 'email' ? a.toLowerCase() : a;
  }

  /** The key senders look an address up by (and what an erasure keeps). */
  hash(channel: ConsentChannel, address: string): string {
    return createHmac('sha256', this.#key)
      .update(`${channel}:${this.normalize(channel, address)}`)
      .digest('hex');
  }

  /**
   * Which of `addresses` may not receive mail of `listIds` now (a blocking status for one of those lists, or for
   * the whole channel), read in the caller's transaction; with `requireConfirmed`, an address whose consent for
   * every one of the lists is still `unconfirmed` is refused too. Keys of the map are the addresses as given.
   */
  async refusals(
    em: EntityManager,
    channel: ConsentChannel,
    addresses: string[],
    listIds: string[] = [],
    opts: { requireConfirmed?: boolean } = {},
  ): Promise<Map<string, Refusal>> {
    const out = new Map<string, Refusal>();
    if (!addresses.length) return out;
    const byHash = new Map(addresses.map((a) => [this.hash(channel, a), a]));
    const rows = (await em.execute(
      `select address_hash, status, list_id from consents
        where tenant_id = filo_current_tenant() and channel = ? and address_hash = any(?::text[])
          and (list_id is null or list_id = any(?::uuid[]))`,
      [channel, pgArray([...byHash.keys()]), pgArray(listIds)],
    )) as { address_hash: string; status: ConsentStatus; list_id: string | null }[];
    const confirmed = new Set<string>();
    const unconfirmed = new Set<string>();
    for (const r of rows) {
      const address = byHash.get(r.address_hash)!;
      if (BLOCKING_CONSENT_STATUSES.includes(r.status)) {
        // A channel-wide refusal outranks a list's.
        if (!out.has(address) || r.list_id === null) out.set(address, { status: r.status, listId: r.list_id });
      } else if (r.status === 'unconfirmed') unconfirmed.add(address);
      else if (r.list_id) confirmed.add(address);
    }
    if (opts.requireConfirmed) {
      for (const a of unconfirmed) {
        if (!confirmed.has(a) && !out.has(a)) out.set(a, { status: 'unconfirmed', listId: null });
      }
    }
    return out;
  }

  /** One address: the refusal, or null when it may be sent to. */
  async refusal(
    em: EntityManager,
    channel: ConsentChannel,
    address: string,
    listIds: string[] = [],
    opts: { requireConfirmed?: boolean } = {},
  ): Promise<Refusal | null> {
    return (await this.refusals(em, channel, [address], listIds, opts)).get(address) ?? null;
  }

  /**
   * Records a consent change in the caller's transaction: the row (created or updated under its unique key), the
   * evidence as an event, and the timeline entry on the contact when the status changed. Answers the row's id.
   * Repeating the current status and source with no new evidence writes nothing (a second bounce, a re-import).
   * An erased address is never subscribed again but by a fresh opt-in on the public form (`erased` in the answer).
   */
  async set(uow: UnitOfWork, change: ConsentChange): Promise<SetResult> {
    const { em } = uow;
    const address = this.normalize(change.channel, change.address);
    const hash = this.hash(change.channel, address);
    const ev = change.evidence ?? {};
    // The target row and the whole channel's, in one indexed read, locked to the end of the transaction.
    const rows = (await em.execute(
      `select id, status, source, list_id, contact_id from consents
        where tenant_id = filo_current_tenant() and channel = ? and address_hash = ?
          and (list_id is null or list_id = ?::uuid) for update`,
      [change.channel, hash, change.listId],
    )) as ConsentRow[];
    const existing = rows.find((r) => r.list_id === change.listId);
    const channelWide = rows.find((r) => r.list_id === null);
    const given = change.status === 'subscribed' || change.status === 'unconfirmed';
    // An erasure's refusal stands against everything but the person's own opt-in on the form.
    if (channelWide?.source === 'erasure' && change.source !== 'form' && (given || change.listId === null)) {
      return { id: channelWide.id, changed: false, previous: channelWide.status, erased: true };
    }
    const noEvidence = !ev.ip && !ev.userAgent && !ev.consentText && !change.note && !change.confirmTokenHash;
    if (existing && existing.status === change.status && existing.source === change.source && noEvidence) {
      return { id: existing.id, changed: false, previous: existing.status };
    }
    const written = await this.#write(uow, change, { address, hash, existing });
    // A confirmed opt-in on the public form is the fresh consent that lifts an erasure's refusal.
    if (
      channelWide?.source === 'erasure' &&
      change.source === 'form' &&
      change.status === 'subscribed' &&
      change.listId
    )
      await this.#write(uow, { ...change, listId: null }, { address, hash, existing: channelWide });
    return written;
  }

  async #write(
    uow: UnitOfWork,
    change: ConsentChange,
    at: { address: string; hash: string; existing: ConsentRow | undefined },
  ): Promise<SetResult> {
    const { em, actor } = uow;
    const { address, hash, existing } = at;
    const ev = change.evidence ?? {};
    const now = new Date();
    const given = change.status === 'subscribed' || change.status === 'unconfirmed';
    let id: string;
    let previous: ConsentStatus | null = null;
    let contactId = change.contactId ?? null;
    if (existing) {
      id = existing.id;
      previous = existing.status;
      contactId ??= existing.contact_id;
      await em.execute(
        `update consents set status = ?, source = ?, address = ?, contact_id = coalesce(?, contact_id), updated_at = now(),
           ip = coalesce(?, ip), user_agent = coalesce(?, user_agent), consent_text = coalesce(?, consent_text),
           signed_up_at = case when ? and signed_up_at is null then now() else signed_up_at end,
           confirmed_at = case when ? = 'subscribed' and ? <> 'subscribed' then now() else confirmed_at end,
           withdrawn_at = case when ? then null else now() end,
           confirm_token_hash = ?
         where id = ?`,
        [
          change.status,
          change.source,
          address,
          change.contactId ?? null,
          ev.ip ?? null,
          ev.userAgent ?? null,
          ev.consentText ?? null,
          given,
          change.status,
          previous,
          given,
          change.confirmTokenHash ?? null,
          id,
        ],
      );
    } else {
      const [row] = (await em.execute(
        `insert into consents (id, tenant_id, channel, address, address_hash, contact_id, list_id, status, source, ip,
           user_agent, consent_text, signed_up_at, confirmed_at, withdrawn_at, confirm_token_hash)
         values (gen_random_uuid(), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning id`,
        [
          actor.tenantId,
          change.channel,
          address,
          hash,
          contactId,
          change.listId,
          change.status,
          change.source,
          ev.ip ?? null,
          ev.userAgent ?? null,
          ev.consentText ?? null,
          given ? now : null,
          change.status === 'subscribed' ? now : null,
          given ? null : now,
          change.confirmTokenHash ?? null,
        ],
      )) as { id: string }[];
      id = row!.id;
    }
    const changed = previous !== change.status;
    await em.execute(
      `insert into consent_events (id, tenant_id, consent_id, status, source, ip, user_agent, consent_text, note, actor_id)
       values (gen_random_uuid(), ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        actor.tenantId,
        id,
        change.status,
        change.source,
        ev.ip ?? null,
        ev.userAgent ?? null,
        ev.consentText ?? null,
        change.note ?? null,
        actor.system ? null : actor.userId,
      ],
    );
    if (changed && contactId && change.status !== 'unconfirmed') {
      await this.#timeline(uow, { ...change, address, contactId });
    }
    return { id, changed, previous };
  }

  async #timeline(uow: UnitOfWork, change: ConsentChange & { contactId: string }): Promise<void> {
    const [contact] = (await uow.em.execute(`select company_id from contacts where id = ?`, [change.contactId])) as {
      company_id: string | null;
    }[];
    if (!contact) return;
    const list = change.listId
      ? (
          (await uow.em.execute(`select name from mailing_lists where id = ?`, [change.listId])) as { name: string }[]
        )[0]
      : undefined;
    const given = change.status === 'subscribed';
    await this.#activities.record(uow, {
      entityType: 'contact',
      entityId: change.contactId,
      companyId: contact.company_id,
      type: given ? 'consent.given' : 'consent.withdrawn',
      title: given
        ? `Subscribed to ${list?.name ?? 'all mailings'}`
        : `Unsubscribed from ${list?.name ?? 'all mailings'}`,
      data: {
        channel: change.channel,
        address: change.address,
        listId: change.listId,
        listName: list?.name ?? null,
        status: change.status,
        source: change.source,
      },
    });
  }
}
