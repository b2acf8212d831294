import { ContactSchema } from '../../../db/entities/contact.entity.ts';
import type { Conversation } from '../../../db/entities/conversation.entity.ts';
import type { EmailAttachment, Message } from '../../../db/entities/message.entity.ts';
import { EmailAccountSchema, type EmailAccount } from '../../../db/entities/email-account.entity.ts';
import { EmailAccountFolderSchema } from '../../../db/entities/email-account-folder.entity.ts';
import type { InboundMessage } from '../../../db/entities/inbound-message.entity.ts';
import type { ParsedMail } from '../../../mail/parse.ts';
import { participantsOf } from '../../../mail/subject.ts';
import type { RecordsService } from '../../crm/records.service.ts';
import type { JobQueue } from '../../jobs/queue.ts';
import { MARK_SEEN_QUEUE, type MarkSeenJob } from '../../accounts/read-state.jobs.ts';
import type { Actor, UnitOfWork } from '../../tenancy.ts';
import type { ActivitiesService } from '../../timeline/activities.service.ts';
import { isBlocked } from '../blocklist.service.ts';
import { linkSender, type Linked } from './link.ts';
import { xactLock } from './batch-keys.ts';

/** Mail fetched from a member's account: the account, the addresses it sends as, and whether it sat in Sent. */
export interface AccountMail {
  account: EmailAccount;
  /** The account's address and aliases, lower-cased. */
  own: string[];
  inSent: boolean;
}

/** The workspace's own people and domains: a message among only these is internal. */
interface Ours {
  addresses: Set<string>;
  domains: string[];
}

const lower = (a: string) => a.trim().toLowerCase();
const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1);
const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** The account an inbound row was fetched from (null for the gateway's mail). */
export async function accountOf(uow: UnitOfWork, inbound: InboundMessage): Promise<AccountMail | null> {
  if (!inbound.accountId) return null;
  const account = await uow.em.findOne(EmailAccountSchema, { id: inbound.accountId });
  if (!account) return null;
  const folder = inbound.folderId ? await uow.em.findOne(EmailAccountFolderSchema, { id: inbound.folderId }) : null;
  const own = [...new Set([account.email, ...account.aliases].map(lower))];
  return { account, own, inSent: folder?.specialUse === 'sent' };
}

/**
 * When a message of an account was written: its Date (a first sync reads months of history, which must sort by when
 * it was written, not by when Filo read it), but never in the future and never for a Date that does not parse.
 */
export function writtenAt(mail: ParsedMail, now = new Date()): Date {
  const date = mail.date && !Number.isNaN(mail.date.getTime()) ? mail.date : null;
  return date && date.getTime() < now.getTime() ? date : now;
}

/** Written by the account's owner: From is the account or an alias, or it was filed in the account's Sent folder. */
export function sentByAccount(acct: AccountMail, mail: ParsedMail): boolean {
  return acct.inSent || (Boolean(mail.from?.address) && acct.own.includes(lower(mail.from!.address)));
}

/** Whether a membership `ms` sees mailbox `b` (the rule of filo_visible_mailboxes, for any role). */
const sees = (b: string) => `((${b}.private and ms.user_id::text = any(${b}.member_ids))
  or (not ${b}.private and (cardinality(${b}.member_ids) = 0 or ms.role <> 'member' or ms.user_id::text = any(${b}.member_ids))))`;

/**
 * The message already in the workspace under this Message-ID and from the same sender: the same mail in another
 * account, or the Sent copy of mail Filo sent. Locked on the Message-ID to commit, so that two accounts' copies
 * processed at once make one message. The same Message-ID from someone else is kept (`collision`).
 *
 * The earlier copy stands for this one only when everyone who sees this account's mailbox sees the earlier copy's
 * too: the same mail in two members' private accounts stays one message per account (each owner sees their own),
 * never a message its own account's owner cannot read.
 */
export async function sameMessage(
  uow: UnitOfWork,
  mail: ParsedMail,
  mailboxId: string,
): Promise<{ duplicate: string | null; collision: boolean }> {
  if (!mail.messageId) return { duplicate: null, collision: false };
  const { em, actor } = uow;
  await xactLock(uow, `message-id:${actor.tenantId}:${mail.messageId}`);
  const rows = (await em.execute(
    `select m.id, lower(coalesce(m.from_address, '')) as sender,
            not exists (select 1 from memberships ms join mailboxes nb on nb.id = ?::uuid
                          join mailboxes ob on ob.id = m.mailbox_id
                         where ms.tenant_id = m.tenant_id and ${sees('nb')} and not ${sees('ob')}) as covers
       from messages m
      where m.tenant_id = ? and m.message_id_header = ? order by m.created_at limit 20`,
    [mailboxId, actor.tenantId, mail.messageId],
  )) as { id: string; sender: string; covers: boolean }[];
  const sender = lower(mail.from?.address ?? '');
  const same = rows.filter((r) => r.sender === sender);
  const duplicate = same.find((r) => r.covers)?.id ?? null;
  return { duplicate, collision: same.length === 0 && rows.length > 0 };
}

async function ours(uow: UnitOfWork, acct: AccountMail | null, inboundDomain: string | null): Promise<Ours> {
  const { em, actor } = uow;
  const rows = (await em.execute(
    `select lower(u.email) as address from memberships m join users u on u.id = m.user_id where m.tenant_id = ?
     union select lower(address) from mailboxes where tenant_id = ? and address is not null
     union select lower(email) from email_accounts where tenant_id = ?
     union select lower(unnest(aliases)) from email_accounts where tenant_id = ?`,
    [actor.tenantId, actor.tenantId, actor.tenantId, actor.tenantId],
  )) as { address: string }[];
  const domains = (await em.execute(
    `select lower(domain) as domain from sending_domains where tenant_id = ? and verified_at is not null
     union select lower(slug) || '.' || ? from tenants where id = ? and ?::text is not null`,
    [actor.tenantId, inboundDomain ?? '', actor.tenantId, inboundDomain],
  )) as { domain: string }[];
  return {
    addresses: new Set([...rows.map((r) => r.address), ...(acct?.own ?? [])]),
    domains: domains.map((d) => d.domain),
  };
}

const isOurs = (o: Ours, address: string) => {
  const domain = domainOf(address);
  return o.addresses.has(address) || o.domains.some((d) => domain === d || domain.endsWith(`.${d}`));
};

/** Recipients of a message in To then Cc order, lower-cased, without repeats. */
const recipientsOf = (mail: ParsedMail) => [...new Set([...mail.to, ...mail.cc].map((a) => lower(a.address)))];

export interface Counterparts {
  /** `internal`: only our own people and domains; `blocked`: the other side is on the blocklist. */
  excluded: 'internal' | 'blocked' | null;
  /** The customers the message is with, in order: the sender of mail received, the recipients of mail sent. */
  addresses: string[];
}

/**
 * Who the message is with, and whether it stays out of the CRM. Mail of the gateway is checked against the
 * blocklist only (a teammate writing to a shared mailbox is a real ticket); mail of an account is internal when
 * every participant is a member, a mailbox, an account or on one of the workspace's own domains.
 */
export async function counterparts(
  uow: UnitOfWork,
  mail: ParsedMail,
  acct: AccountMail | null,
  opts: { sent: boolean; inboundDomain: string | null },
): Promise<Counterparts> {
  const sender = mail.from?.address ? lower(mail.from.address) : null;
  if (!acct) return { excluded: (await isBlocked(uow, sender)) ? 'blocked' : null, addresses: sender ? [sender] : [] };
  const o = await ours(uow, acct, opts.inboundDomain);
  const external = participantsOf(mail).filter((a) => !isOurs(o, a));
  if (!external.length) return { excluded: 'internal', addresses: [] };
  const candidates =
    opts.sent || !sender || isOurs(o, sender) ? recipientsOf(mail).filter((a) => external.includes(a)) : [sender];
  const allowed: string[] = [];
  for (const a of candidates) if (!(await isBlocked(uow, a))) allowed.push(a);
  return { excluded: candidates.length && !allowed.length ? 'blocked' : null, addresses: allowed };
}

/** The customer of mail a member sent (or was sent among the team): the first recipient who is a contact, else
 * the first recipient, made a contact when the mailbox says so. */
export async function linkCounterpart(
  uow: UnitOfWork,
  records: RecordsService,
  mail: ParsedMail,
  addresses: string[],
  opts: { createContacts: boolean },
): Promise<Linked> {
  const names = new Map([mail.from, ...mail.to, ...mail.cc].flatMap((a) => (a ? [[lower(a.address), a.name]] : [])));
  let chosen = addresses[0];
  for (const address of addresses) {
    const known = await uow.em.findOne(ContactSchema, { email: { $ilike: escapeLike(address) } }, { fields: ['id'] });
    if (known) {
      chosen = address;
      break;
    }
  }
  if (!chosen) return { contactId: null, companyId: null, createdContact: false };
  return linkSender(uow, records, { address: chosen, name: names.get(chosen) ?? '' }, opts);
}

/** The teammate who wrote mail found in their account: the timeline names them, as for mail sent from Filo. */
export async function ownerActor(uow: UnitOfWork, ownerId: string | null | undefined): Promise<Actor> {
  if (!ownerId) return uow.actor;
  const [user] = (await uow.em.execute(`select name from users where id = ?`, [ownerId])) as { name: string }[];
  if (!user) return uow.actor;
  const actor: Actor = { ...uow.actor, userId: ownerId, userName: user.name };
  delete actor.system;
  return actor;
}

/**
 * A member read a conversation in Filo: the messages of it fetched from accounts that mirror read state, up to
 * what was read and not yet `\Seen` there, get a job that sets `\Seen` on exactly those UIDs (one job per folder).
 * Accounts without the switch are never touched.
 */
export async function mirrorReadState(uow: UnitOfWork, queue: JobQueue, conversationId: string): Promise<void> {
  const rows = (await uow.em.execute(
    `select i.account_id, i.folder_id, i.imap_uid_validity, array_agg(i.imap_uid order by i.imap_uid) as uids
       from messages m
       join inbound_messages i on i.tenant_id = m.tenant_id and i.email_message_id = m.id
       join email_accounts a on a.id = i.account_id and a.tenant_id = i.tenant_id
      where m.tenant_id = ? and m.conversation_id = ? and a.mirror_read_state
        and m.created_at <= (select r.last_read_at from conversation_reads r
                              where r.tenant_id = m.tenant_id and r.user_id = ? and r.conversation_id = m.conversation_id)
        and i.folder_id is not null and i.imap_uid is not null and i.imap_expunged_at is null
        and not ('\\Seen' = any(coalesce(i.imap_flags, '{}')))
      group by i.account_id, i.folder_id, i.imap_uid_validity`,
    [uow.actor.tenantId, conversationId, uow.actor.userId],
  )) as { account_id: string; folder_id: string; imap_uid_validity: string; uids: (string | number)[] }[];
  for (const r of rows) {
    const job: MarkSeenJob = {
      tenantId: uow.actor.tenantId,
      accountId: r.account_id,
      folderId: r.folder_id,
      uidValidity: Number(r.imap_uid_validity),
      uids: r.uids.map(Number),
    };
    await queue.send(MARK_SEEN_QUEUE, job, { uow });
  }
}

/** `email.sent` on the customer's timeline for mail a member sent from their account, naming that teammate. */
export async function recordSent(
  uow: UnitOfWork,
  activities: ActivitiesService,
  acct: AccountMail,
  m: {
    conversation: Conversation;
    message: Message;
    link: { contactId: string | null; companyId: string | null };
    mail: ParsedMail;
    attachments: EmailAttachment[];
  },
): Promise<void> {
  const to = m.mail.to.map((a) => a.name || a.address).join(', ') || '(no recipient)';
  const owner = await ownerActor(uow, acct.account.ownerId);
  await activities.record(
    { ...uow, actor: owner },
    {
      entityType: m.link.contactId ? 'contact' : m.link.companyId ? 'company' : 'conversation',
      entityId: m.link.contactId ?? m.link.companyId ?? m.conversation.id,
      companyId: m.link.companyId,
      type: 'email.sent',
      title: `Email to ${to}: ${m.message.subject}`,
      description: (m.mail.text ?? '').replace(/\s+/g, ' ').trim().slice(0, 200),
      data: {
        conversationId: m.conversation.id,
        emailMessageId: m.message.id,
        mailboxId: m.message.mailboxId,
        messageId: m.mail.messageId,
        to: m.mail.to,
        cc: m.mail.cc,
        subject: m.message.subject,
        attachments: m.attachments.length,
        transport: null,
        sentBy: owner.system ? null : { id: owner.userId, name: owner.userName },
      },
    },
  );
}
