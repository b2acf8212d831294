import { LockMode } from '@mikro-orm/core';
import { ContactSchema } from '../../../db/entities/contact.entity.ts';
import type { RecordsService } from '../../crm/records.service.ts';
import type { UnitOfWork } from '../../tenancy.ts';
import { truncateGraphemes } from '../../text.ts';
import { xactLock } from './batch-keys.ts';
import { prepared, runPrepared } from '../../db-hot/prepared.ts';

/** Mail providers whose domain says nothing about the sender's company. */
const FREEMAIL = new Set(
  'gmail.com googlemail.com yahoo.com yahoo.it ymail.com hotmail.com hotmail.it outlook.com outlook.it live.com live.it msn.com icloud.com me.com mac.com aol.com gmx.com gmx.de gmx.net web.de libero.it virgilio.it tiscali.it alice.it tin.it fastwebnet.it email.it pec.it proton.me protonmail.com yandex.com yandex.ru mail.ru qq.com 163.com zoho.com fastmail.com hey.com'.split(
    ' ',
  ),
);

export interface Linked {
  contactId: string | null;
  companyId: string | null;
  createdContact: boolean;
}

/** `https://www.acme.com/x` -> group 3 is `acme.com`. */
const WEBSITE_HOST = '^([a-z][a-z0-9+.-]*://)?(www\\.)?([^/:?#]+).*$';

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

/** The company whose website is on this domain (`https://www.acme.com/x` matches acme.com); never freemail. */
export async function companyByDomain(uow: UnitOfWork, domain: string): Promise<string | null> {
  if (!domain || FREEMAIL.has(domain)) return null;
  const held = known.get(uow.em)?.companies;
  if (held?.has(domain.replace(/^www\./, ''))) return held.get(domain.replace(/^www\./, '')) ?? null;
  const rows = await runPrepared<{ id: string }>(uow, COMPANY_BY_DOMAIN, [
    uow.actor.tenantId,
    WEBSITE_HOST,
    domain.replace(/^www\./, ''),
  ]);
  return rows[0]?.id ?? null;
}

const COMPANY_BY_DOMAIN = prepared(
  `select id from companies
    where tenant_id = $1 and website is not null and lower(regexp_replace(website, $2, '\\3', 'i')) = $3
    order by created_at limit 1`,
);

/** The oldest contact with this address (any case): its id and company. */
const CONTACT_BY_EMAIL = prepared(
  `select id, company_id from contacts where tenant_id = $1 and lower(email) = $2 order by created_at limit 1`,
);

/**
 * The customer of an inbound message: the contact with the sender's address, and their company (else the
 * company whose website is the sender's domain). An unknown sender becomes a contact when the mailbox says so.
 */
export async function linkSender(
  uow: UnitOfWork,
  records: RecordsService,
  sender: { address: string; name: string } | null,
  opts: { createContacts: boolean; deferFlush?: boolean },
): Promise<Linked> {
  if (!sender?.address) return { contactId: null, companyId: null, createdContact: false };
  // Two messages from one new sender processed at once must not make two contacts.
  await xactLock(uow, `contact:${uow.actor.tenantId}:${sender.address}`);
  const held = known.get(uow.em)?.contacts;
  const address = sender.address.toLowerCase();
  const [contact] = held?.has(address)
    ? [held.get(address)].filter((c) => c !== null)
    : await runPrepared<{ id: string; company_id: string | null }>(uow, CONTACT_BY_EMAIL, [
        uow.actor.tenantId,
        address,
      ]);
  const byDomain = () => companyByDomain(uow, domainOf(sender.address));
  if (contact)
    return { contactId: contact.id, companyId: contact.company_id ?? (await byDomain()), createdContact: false };
  const companyId = await byDomain();
  if (!opts.createContacts) return { contactId: null, companyId, createdContact: false };
  const { firstName, lastName } = splitName(sender.name, sender.address);
  const created = await records.createIn(
    uow,
    'contact',
    { firstName, lastName, email: sender.address, companyId, tags: ['from-email'] },
    { deferFlush: opts.deferFlush },
  );
  // A later message of the batch from the same sender finds this contact.
  held?.set(address, { id: created.id as string, company_id: companyId });
  return { contactId: created.id, companyId, createdContact: true };
}

/** Per transaction (its EntityManager): the senders' contacts and their domains' companies, looked up for a batch. */
const known = new WeakMap<
  object,
  { contacts: Map<string, { id: string; company_id: string | null } | null>; companies: Map<string, string | null> }
>();

/** The oldest contact of each address (lower-cased). */
const CONTACTS_BY_EMAILS = prepared(
  `select distinct on (lower(email)) lower(email) as address, id, company_id from contacts
    where tenant_id = $1 and lower(email) = any($2::text[]) order by lower(email), created_at`,
);

/** The oldest company whose website is on each domain: every website's host read once, not once per message. */
const COMPANIES_BY_DOMAINS = prepared(
  `select distinct on (h.host) h.host as domain, h.id
     from (select id, created_at, lower(regexp_replace(website, $3, '\\3', 'i')) as host
             from companies where tenant_id = $1 and website is not null) h
    where h.host = any($2::text[]) order by h.host, h.created_at`,
);

/**
 * Looks up, for a batch about to be written, the contacts of its senders and the companies of their domains: two
 * statements for the batch instead of two per message. Call it after the batch holds its senders' advisory locks,
 * so that no other inbound write makes one of these contacts meanwhile; `linkSender` then reads these answers.
 */
export async function lookUpSenders(uow: UnitOfWork, addresses: string[]): Promise<void> {
  const lower = [...new Set(addresses.map((a) => a.toLowerCase()))];
  if (!lower.length) return;
  const domains = [
    ...new Set(
      lower
        .map(domainOf)
        .filter((d) => d && !FREEMAIL.has(d))
        .map((d) => d.replace(/^www\./, '')),
    ),
  ];
  const contacts = new Map<string, { id: string; company_id: string | null } | null>(lower.map((a) => [a, null]));
  const rows = await runPrepared<{ address: string; id: string; company_id: string | null }>(uow, CONTACTS_BY_EMAILS, [
    uow.actor.tenantId,
    lower,
  ]);
  for (const r of rows) contacts.set(r.address, { id: r.id, company_id: r.company_id });
  const companies = new Map<string, string | null>(domains.map((d) => [d, null]));
  if (domains.length) {
    const found = await runPrepared<{ domain: string; id: string }>(uow, COMPANIES_BY_DOMAINS, [
      uow.actor.tenantId,
      domains,
      WEBSITE_HOST,
    ]);
    for (const r of found) companies.set(r.domain, r.id);
  }
  known.set(uow.em, { contacts, companies });
}

/** "Rossi, Mario" / "Mario Rossi" / mario.rossi@x -> first and last name (100 characters each at most). */
export function splitName(name: string, address: string): { firstName: string; lastName: string } {
  let clean = name.replace(/["<>]/g, '').trim();
  if (!clean || clean.includes('@')) {
    clean = address
      .slice(0, address.indexOf('@'))
      .split(/[._-]+/)
      .filter(Boolean)
      .map((w) => w[0]!.toUpperCase() + w.slice(1))
      .join(' ');
  }
  if (clean.includes(',')) {
    const [last, first] = clean.split(',', 2).map((s) => s.trim());
    clean = `${first} ${last}`.trim();
  }
  const words = clean.split(/\s+/).filter(Boolean);
  const firstName = truncateGraphemes(words.length > 1 ? words.slice(0, -1).join(' ') : (words[0] ?? '?'), 100);
  const lastName = truncateGraphemes(words.length > 1 ? words.at(-1)! : '', 100);
  return { firstName, lastName };
}

/** Contacts with one of these addresses: their mail bounced permanently, for the reason given. */
export async function markBouncing(
  uow: UnitOfWork,
  failures: { recipient: string; status: string | null; reason: string | null }[],
): Promise<string[]> {
  const marked: string[] = [];
  for (const failure of failures.slice(0, 50)) {
    // Locked: the contact's version is checked at flush, and a teammate's edit meanwhile must not fail the mail.
    const rows = await uow.em.find(
      ContactSchema,
      { email: { $ilike: failure.recipient.replace(/[\\%_]/g, (c) => `\\${c}`) } },
      { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true },
    );
    for (const row of rows) {
      row.emailBouncedAt = new Date();
      row.emailBounceReason =
        (failure.reason ?? (failure.status ? `Status ${failure.status}` : null))?.slice(0, 500) ?? null;
      marked.push(row.id);
    }
  }
  await uow.em.flush();
  return marked;
}
