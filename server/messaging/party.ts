import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';
import type { MessagingChannel } from '#contracts/messaging';
import type { RecordsService } from '../crm/records.service.ts';
import type { UnitOfWork } from '../tenancy.ts';
import { truncateGraphemes } from '../text.ts';

const PHONE_CHANNELS: ReadonlySet<MessagingChannel> = new Set(['sms', 'whatsapp']);

/** A number in E.164 (`+393331234567`), read in `country` when it has no prefix; null when it is no number. */
export function toE164(raw: string | null | undefined, country?: CountryCode): string | null {
  if (!raw) return null;
  const parsed = parsePhoneNumberFromString(raw.replace(/^whatsapp:/, ''), country);
  return parsed?.isPossible() ? parsed.number : null;
}

/** The country of an E.164 number (`+39…` -> IT), or undefined. */
export function countryOf(e164: string): CountryCode | undefined {
  return parsePhoneNumberFromString(e164)?.country;
}

/** The party's key in a conversation's participants: E.164 for phones, the provider's id otherwise. */
export function partyKey(channel: MessagingChannel, address: string): string {
  return PHONE_CHANNELS.has(channel) ? (toE164(address) ?? address) : address.toLowerCase();
}

export interface PartyLink {
  contactId: string | null;
  companyId: string | null;
}

/**
 * The customer behind a party: by phone (E.164, each contact's phone and mobile read in the caller's country), else
 * the contact of the party's latest conversation on this mailbox (Telegram / Discord users). An unknown party
 * becomes a contact when the account says so.
 */
export async function linkParty(
  uow: UnitOfWork,
  records: RecordsService,
  party: { channel: MessagingChannel; key: string; name: string | null; mailboxId: string },
  opts: { createContacts: boolean },
): Promise<PartyLink & { createdContact: boolean }> {
  const { em, actor } = uow;
  // Two messages from one new party processed at once must not make two contacts.
  await em.execute(`select pg_advisory_xact_lock(hashtext(?))`, [`party:${actor.tenantId}:${party.key}`]);
  const phone = PHONE_CHANNELS.has(party.channel) ? parsePhoneNumberFromString(party.key) : undefined;
  if (phone) {
    const digits = phone.nationalNumber.slice(-7);
    // Candidates by the last digits (any format), then compared exactly in E.164.
    const rows = (await em.execute(
      `select id, company_id, phone, mobile from contacts
        where tenant_id = ?
          and (right(regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g'), 7) = ?
               or right(regexp_replace(coalesce(mobile, ''), '[^0-9]', '', 'g'), 7) = ?)
        order by created_at limit 50`,
      [actor.tenantId, digits, digits],
    )) as { id: string; company_id: string | null; phone: string | null; mobile: string | null }[];
    const match = rows.find((r) => [r.mobile, r.phone].some((n) => toE164(n, phone.country) === phone.number));
    if (match) return { contactId: match.id, companyId: match.company_id, createdContact: false };
  }
  const earlier = (await em.execute(
    `select contact_id, company_id from conversations
      where tenant_id = ? and mailbox_id = ? and ? = any(participants) and contact_id is not null
      order by last_message_at desc limit 1`,
    [actor.tenantId, party.mailboxId, party.key],
  )) as { contact_id: string; company_id: string | null }[];
  if (earlier[0]) return { contactId: earlier[0].contact_id, companyId: earlier[0].company_id, createdContact: false };
  if (!opts.createContacts) return { contactId: null, companyId: null, createdContact: false };
  const words = (party.name ?? '').trim().split(/\s+/).filter(Boolean);
  const created = await records.createIn(uow, 'contact', {
    firstName: truncateGraphemes(words.length > 1 ? words.slice(0, -1).join(' ') : (words[0] ?? party.key), 100),
    lastName: truncateGraphemes(words.length > 1 ? words.at(-1)! : '', 100),
    ...(phone ? { mobile: phone.number } : {}),
    tags: [`from-${party.channel}`],
  });
  return { contactId: created.id, companyId: null, createdContact: true };
}
