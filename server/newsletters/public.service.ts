import { createHash, randomBytes } from 'node:crypto';
import type { ConsentStatus } from '#contracts/consent';
import type { MikroORM } from '../../db/orm.ts';
import type { ConsentEvidence, ConsentService } from '../consent/consent.service.ts';
import type { BulkTokens } from '../delivery/bulk/tokens.ts';
import { unsubscribeSend, type FeedbackListeners } from '../delivery/bulk/feedback.ts';
import type { Mailer } from '../delivery/mailer.ts';
import type { RecordsService } from '../crm/records.service.ts';
import type { Logger } from '../logger.ts';
import { inTenant, systemActor, type UnitOfWork } from '../tenancy.ts';
import { FixedWindows } from '../http/rate-limit.ts';
import { TEXTS, type PublicText } from './public.text.ts';

/** A double opt-in link works this long after the sign-up that mailed it. */
export const CONFIRM_TTL_HOURS = 48;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CONFIRM_TOKEN = /^[A-Za-z0-9_-]{64}$/;
/** Confirmation mails to one address of a workspace per hour (the form's IP limit aside). */
const MAILS_PER_ADDRESS = 3;

export interface ListChoice {
  id: string;
  name: string;
  status: ConsentStatus;
}

/** What `/u/<token>` shows: the mail's lists, and every list of the workspace that has the address. */
export interface UnsubscribeView {
  workspace: string;
  address: string | null;
  sendLists: { id: string; name: string }[];
  lists: ListChoice[];
  /** The channel-wide status (null: none recorded). */
  all: ConsentStatus | null;
}

export interface FormView {
  workspace: string;
  list: { id: string; name: string; description: string | null };
  /** The consent text in each language: the list's own, or the default worded for the list. */
  consentText: (t: PublicText) => string;
}

export interface ConfirmView {
  workspace: string;
  address: string;
  listName: string;
}

export interface SubscribeInput {
  email: string;
  firstName: string;
  lastName: string;
  /** SHA-256 of the consent text the form showed. */
  consentHash: string;
}

export const textHash = (text: string) => createHash('sha256').update(text).digest('hex');
const secretHash = (secret: Buffer) => createHash('sha256').update(secret).digest('hex');

/**
 * The public newsletter pages, reached with no session: a signed unsubscribe token, a list's public form or a
 * confirmation link is the only key. Each finds its workspace through a SECURITY DEFINER lookup, then works in it
 * as Filo itself; consent changes go through ConsentService (evidence, timeline).
 */
export class PublicPagesService {
  readonly #orm: MikroORM;
  readonly #consent: ConsentService;
  readonly #tokens: BulkTokens;
  readonly #records: RecordsService;
  readonly #mailer: Mailer;
  readonly #publicUrl: string;
  readonly #log: Logger;
  readonly #mails = new FixedWindows(60 * 60_000);
  /** The bulk sources' listeners (an unsubscribe stops a sequence), set once the engine exists. */
  feedback: FeedbackListeners | null = null;

  constructor(deps: {
    orm: MikroORM;
    consent: ConsentService;
    bulkTokens: BulkTokens;
    records: RecordsService;
    mailer: Mailer;
    publicUrl: string;
    log: Logger;
  }) {
    this.#orm = deps.orm;
    this.#consent = deps.consent;
    this.#tokens = deps.bulkTokens;
    this.#records = deps.records;
    this.#mailer = deps.mailer;
    this.#publicUrl = deps.publicUrl;
    this.#log = deps.log;
  }

  async #lookup(fn: string, id: string): Promise<string | null> {
    if (!UUID.test(id)) return null;
    const [row] = (await this.#orm.em.getConnection().execute(`select ${fn}(?) as tenant_id`, [id])) as {
      tenant_id: string | null;
    }[];
    return row?.tenant_id ?? null;
  }

  /** Runs `fn` in the workspace of an unsubscribe token's send row; null for a forged or unknown token. */
  async #inSend<T>(token: string, fn: (uow: UnitOfWork, sendId: string) => Promise<T>): Promise<T | null> {
    const claim = this.#tokens.verify(token, 'unsubscribe');
    if (!claim) return null;
    const tenantId = await this.#lookup('filo_bulk_send_tenant', claim.sendId);
    if (!tenantId) return null;
    return inTenant(this.#orm, systemActor(tenantId, 'Filo unsubscribe'), (uow) => fn(uow, claim.sendId));
  }

  async #workspace(uow: UnitOfWork): Promise<string> {
    const [t] = (await uow.em.execute(`select name from tenants where id = ?`, [uow.actor.tenantId])) as {
      name: string;
    }[];
    return t?.name ?? '';
  }

  async #view(uow: UnitOfWork, sendId: string): Promise<UnsubscribeView | null> {
    const { em } = uow;
    const [send] = (await em.execute(
      `select s.address, s.source, c.list_ids from bulk_sends s
         left join campaigns c on s.source = 'campaign' and c.id = s.source_id where s.id = ?`,
      [sendId],
    )) as { address: string | null; source: string; list_ids: string[] | null }[];
    // An erased recipient's row keeps no address: nothing left to show or choose.
    if (!send?.address) return null;
    const sendListIds = (send.list_ids ?? []).filter((id) => typeof id === 'string' && UUID.test(id));
    const hash = this.#consent.hash('email', send.address);
    const rows = (await em.execute(
      `select l.id, l.name, c.status from mailing_lists l
         left join consents c on c.list_id = l.id and c.channel = 'email' and c.address_hash = ?
        where l.archived_at is null and (c.id is not null or l.id = any(?::uuid[]))
        order by l.name, l.id`,
      [hash, `{${sendListIds.join(',')}}`],
    )) as { id: string; name: string; status: ConsentStatus | null }[];
    const [all] = (await em.execute(
      `select status from consents where channel = 'email' and address_hash = ? and list_id is null`,
      [hash],
    )) as { status: ConsentStatus }[];
    return {
      workspace: await this.#workspace(uow),
      address: send.address,
      sendLists: rows.filter((r) => sendListIds.includes(r.id)).map((r) => ({ id: r.id, name: r.name })),
      // A campaign's list without a consent row (a segment) is one the address receives.
      lists: rows.map((r) => ({ id: r.id, name: r.name, status: r.status ?? 'subscribed' })),
      all: all?.status ?? null,
    };
  }

  /** What the unsubscribe page shows (changes nothing: link scanners follow GETs). */
  unsubscribeView(token: string): Promise<UnsubscribeView | null> {
    return this.#inSend(token, (uow, sendId) => this.#view(uow, sendId));
  }

  /**
   * RFC 8058 one-click (and the page's button): the send row's recipient leaves the mail's lists. `page`: also
   * read what the page shows afterwards (a mail client's POST needs no more than the 200).
   */
  oneClick(token: string, evidence: ConsentEvidence, page: boolean): Promise<{ view: UnsubscribeView | null } | null> {
    return this.#inSend(token, async (uow, sendId) => {
      const done = await unsubscribeSend(
        uow,
        sendId,
        { source: 'one_click', evidence, listeners: this.feedback },
        this.#consent,
      );
      if (!done) return null;
      return { view: page ? await this.#view(uow, sendId) : null };
    });
  }

  /** The preference center's save: each shown list on or off, and "unsubscribe from everything". */
  savePreferences(
    token: string,
    choice: { listIds: string[]; all: boolean },
    evidence: ConsentEvidence,
  ): Promise<UnsubscribeView | null> {
    return this.#inSend(token, async (uow, sendId) => {
      const before = await this.#view(uow, sendId);
      if (!before?.address) return null;
      const [send] = (await uow.em.execute(`select contact_id from bulk_sends where id = ?`, [sendId])) as {
        contact_id: string | null;
      }[];
      const change = (listId: string | null, status: 'subscribed' | 'unsubscribed') =>
        this.#set(uow, {
          address: before.address!,
          listId,
          status,
          contactId: send?.contact_id ?? null,
          evidence,
          source: 'preference_center',
        });
      const wanted = new Set(choice.listIds);
      for (const list of before.lists) {
        if (wanted.has(list.id) && list.status === 'unsubscribed') await change(list.id, 'subscribed');
        if (!wanted.has(list.id) && (list.status === 'subscribed' || list.status === 'unconfirmed'))
          await change(list.id, 'unsubscribed');
      }
      // A bounce or a complaint is not the person's to lift here.
      if (choice.all && (before.all === null || before.all === 'subscribed')) await change(null, 'unsubscribed');
      if (!choice.all && before.all === 'unsubscribed') await change(null, 'subscribed');
      return this.#view(uow, sendId);
    });
  }

  /** A consent change of an email address (the lists' subscriber counts follow by the consents trigger). */
  async #set(
    uow: UnitOfWork,
    c: {
      address: string;
      listId: string | null;
      status: ConsentStatus;
      contactId: string | null;
      evidence: ConsentEvidence;
      source: 'preference_center' | 'form';
    },
  ): Promise<void> {
    await this.#consent.set(uow, { channel: 'email', ...c });
  }

  // ---- The public subscribe form and double opt-in ----

  async #inList<T>(listId: string, fn: (uow: UnitOfWork) => Promise<T>): Promise<T | null> {
    const tenantId = await this.#lookup('filo_public_list_tenant', listId);
    if (!tenantId) return null;
    return inTenant(this.#orm, systemActor(tenantId, 'Filo subscribe form'), fn);
  }

  async #formView(uow: UnitOfWork, listId: string): Promise<FormView | null> {
    const [list] = (await uow.em.execute(
      `select id, name, description, consent_text from mailing_lists where id = ? and public_form and archived_at is null`,
      [listId],
    )) as { id: string; name: string; description: string | null; consent_text: string | null }[];
    if (!list) return null;
    const workspace = await this.#workspace(uow);
    const own = list.consent_text?.trim();
    return {
      workspace,
      list: { id: list.id, name: list.name, description: list.description },
      consentText: (t) => own || t.consentDefault(list.name, workspace),
    };
  }

  /** The form of a list whose public form is on; null otherwise. */
  form(listId: string): Promise<FormView | null> {
    return this.#inList(listId, (uow) => this.#formView(uow, listId));
  }

  /**
   * A sign-up through the form. Answers the same whatever the address's history (no enumeration): `sent` whether a
   * confirmation went out, nothing changed (already subscribed) or the address is suppressed (bounced, complained).
   * `text_changed`: the consent text shown is no longer the list's (re-show the form). Null: no such form.
   */
  async subscribe(
    listId: string,
    input: SubscribeInput,
    evidence: { ip: string | null; userAgent: string | null },
    t: PublicText,
  ): Promise<{ result: 'sent' | 'text_changed'; view: FormView } | null> {
    const mails: { to: string; subject: string; text: string }[] = [];
    const out = await this.#inList(listId, async (uow) => {
      const view = await this.#formView(uow, listId);
      if (!view) return null;
      const shown = [t, TEXTS.en, TEXTS.it]
        .map((x) => view.consentText(x))
        .find((x) => textHash(x) === input.consentHash);
      if (!shown) return { result: 'text_changed' as const, view };
      const address = this.#consent.normalize('email', input.email);
      const hash = this.#consent.hash('email', address);
      // One sign-up of an address at a time (the contact lookup and the consent row).
      await uow.em.execute(`select pg_advisory_xact_lock(hashtextextended(?, 0))`, [`subscribe:${hash}`]);
      const rows = (await uow.em.execute(
        `select list_id, status from consents where channel = 'email' and address_hash = ? and (list_id is null or list_id = ?)`,
        [hash, listId],
      )) as { list_id: string | null; status: ConsentStatus }[];
      const all = rows.find((r) => r.list_id === null)?.status;
      const current = rows.find((r) => r.list_id === listId)?.status;
      if (all === 'bounced' || all === 'complained') return { result: 'sent' as const, view };
      if (current === 'subscribed' && all !== 'unsubscribed') return { result: 'sent' as const, view };
      const contactId = await this.#contact(uow, address, input, view.list.name);
      const [list] = (await uow.em.execute(`select double_opt_in from mailing_lists where id = ?`, [listId])) as {
        double_opt_in: boolean;
      }[];
      const full = { ...evidence, consentText: shown };
      // Who left everything (or was erased) comes back only by confirming.
      if (!list?.double_opt_in && all !== 'unsubscribed') {
        await this.#set(uow, { address, listId, status: 'subscribed', contactId, evidence: full, source: 'form' });
        return { result: 'sent' as const, view };
      }
      const budget = this.#mails.current(`${uow.actor.tenantId}:${hash}`);
      if (budget.count >= MAILS_PER_ADDRESS) return { result: 'sent' as const, view };
      budget.count++;
      const secret = randomBytes(32);
      const { id } = await this.#consent.set(uow, {
        channel: 'email',
        address,
        listId,
        status: 'unconfirmed',
        source: 'form',
        contactId,
        evidence: full,
        confirmTokenHash: secretHash(secret),
      });
      // The row's id says where to look; only the hash of the secret part is stored.
      const token = Buffer.concat([Buffer.from(id.replace(/-/g, ''), 'hex'), secret]).toString('base64url');
      const link = `${this.#publicUrl}/s/confirm/${token}`;
      mails.push({
        to: address,
        subject: t.mailSubject(view.list.name),
        text: t.mailBody(view.list.name, view.workspace, link),
      });
      return { result: 'sent' as const, view };
    });
    // After the commit: a failed send leaves a pending sign-up that the person can ask again for.
    for (const m of mails)
      await this.#mailer
        .send(m)
        .catch((err: unknown) => this.#log.error({ err }, 'subscribe: confirmation mail failed'));
    return out;
  }

  /** The CRM contact of an address (the oldest, compared case-insensitively), created when there is none. */
  async #contact(uow: UnitOfWork, address: string, input: SubscribeInput, listName: string): Promise<string> {
    const [found] = (await uow.em.execute(
      `select id from contacts where lower(email) = ? order by created_at, id limit 1`,
      [address],
    )) as { id: string }[];
    if (found) return found.id;
    const row = await this.#records.createIn(uow, 'contact', {
      firstName: input.firstName || address.split('@')[0]!.slice(0, 100),
      lastName: input.lastName,
      email: address,
      notes: `Source: the subscription form of “${listName}”.`,
    });
    return row.id as string;
  }

  async #inConfirmation<T>(
    token: string,
    fn: (
      uow: UnitOfWork,
      row: { id: string; address: string; list_id: string; contact_id: string | null },
    ) => Promise<T>,
  ): Promise<T | null> {
    if (!CONFIRM_TOKEN.test(token)) return null;
    const raw = Buffer.from(token, 'base64url');
    if (raw.length !== 48 || raw.toString('base64url') !== token) return null;
    const hex = raw.subarray(0, 16).toString('hex');
    const consentId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    const tenantId = await this.#lookup('filo_consent_tenant', consentId);
    if (!tenantId) return null;
    return inTenant(this.#orm, systemActor(tenantId, 'Filo subscribe form'), async (uow) => {
      const [row] = (await uow.em.execute(
        `select id, address, list_id, contact_id from consents
          where id = ? and confirm_token_hash = ? and status = 'unconfirmed' and list_id is not null
            and address is not null and updated_at > now() - make_interval(hours => ?) for update`,
        [consentId, secretHash(raw.subarray(16)), CONFIRM_TTL_HOURS],
      )) as { id: string; address: string; list_id: string; contact_id: string | null }[];
      return row ? fn(uow, row) : null;
    });
  }

  async #confirmView(uow: UnitOfWork, row: { address: string; list_id: string }): Promise<ConfirmView> {
    const [list] = (await uow.em.execute(`select name from mailing_lists where id = ?`, [row.list_id])) as {
      name: string;
    }[];
    return { workspace: await this.#workspace(uow), address: row.address, listName: list?.name ?? '' };
  }

  /** The confirmation page of a live link (confirms nothing: a scanner may follow it). */
  confirmation(token: string): Promise<ConfirmView | null> {
    return this.#inConfirmation(token, (uow, row) => this.#confirmView(uow, row));
  }

  /** The double opt-in's second step: subscribed, once (the token is cleared), the list's count in step. */
  confirm(token: string, evidence: ConsentEvidence): Promise<ConfirmView | null> {
    return this.#inConfirmation(token, async (uow, row) => {
      const base = { address: row.address, contactId: row.contact_id, evidence, source: 'form' as const };
      await this.#set(uow, { ...base, listId: row.list_id, status: 'subscribed' });
      const [all] = (await uow.em.execute(
        `select status from consents where channel = 'email' and address_hash = ? and list_id is null`,
        [this.#consent.hash('email', row.address)],
      )) as { status: ConsentStatus }[];
      // Confirmed explicitly: an earlier "unsubscribe from everything" (or an erasure) no longer blocks this list.
      if (all?.status === 'unsubscribed') await this.#set(uow, { ...base, listId: null, status: 'subscribed' });
      return this.#confirmView(uow, row);
    });
  }
}
