import type { Campaign } from '../../db/entities/campaign.entity.ts';
import type { Mailbox } from '../../db/entities/mailbox.entity.ts';
import { HttpError } from '../http/errors.ts';
import type { MailboxesService } from '../inbox/mailboxes.service.ts';
import { senderAllowed } from '../outbound/sending-domains.service.ts';
import type { UnitOfWork } from '../tenancy.ts';
import { variantSources } from './campaign-mail.ts';
import { checkTokens, tokenFields } from './merge.ts';

/** What a campaign must have before it is scheduled or sent, and the From it goes out with. */

export interface CampaignSender {
  from: { name: string; address: string };
  replyTo: string | null;
  /** The transport: the mailbox's SMTP server (else the relay, else the development outbox). */
  mailbox: Mailbox | null;
}

export const notReady = (fields: Record<string, string>) =>
  new HttpError(400, 'campaign_not_ready', 'The campaign is not ready to send yet', fields);

async function tenantSlug(uow: UnitOfWork): Promise<string> {
  const [row] = (await uow.em.execute(`select slug from tenants where id = ?`, [uow.actor.tenantId])) as {
    slug: string;
  }[];
  return row!.slug;
}

/** The lists of these ids that exist in the workspace (not archived). */
export async function knownLists(uow: UnitOfWork, ids: string[]): Promise<Set<string>> {
  if (!ids.length) return new Set();
  const rows = (await uow.em.execute(
    `select id from mailing_lists where tenant_id = ? and id = any(?::uuid[]) and archived_at is null`,
    [uow.actor.tenantId, `{${ids.join(',')}}`],
  )) as { id: string }[];
  return new Set(rows.map((r) => r.id));
}

/**
 * The From: the campaign's address, else its mailbox's; an address other than the mailbox's own must be at the
 * workspace's inbound domain or a verified sending domain (as outbound mail is checked). Null with the reason.
 */
export async function resolveSender(
  uow: UnitOfWork,
  c: Campaign,
  deps: { mailboxes: MailboxesService; inboundDomain: string },
): Promise<CampaignSender | string> {
  let mailbox: Mailbox | null = null;
  const slug = await tenantSlug(uow);
  if (c.mailboxId) {
    mailbox = await deps.mailboxes.findVisible(uow, c.mailboxId).catch(() => null);
    if (!mailbox) return 'the mailbox is gone or not visible to you: choose another';
  }
  const mailboxAddress = mailbox ? (mailbox.address ?? deps.mailboxes.addressOf(slug, mailbox.localPart)) : null;
  const address = c.fromEmail ?? mailboxAddress;
  if (!address) return 'choose a mailbox or a From address';
  if (address !== mailboxAddress && !(await senderAllowed(uow.em, address, `${slug}.${deps.inboundDomain}`)))
    return `${address.slice(address.indexOf('@') + 1)} is not a verified sending domain of this workspace`;
  return {
    from: { name: c.fromName ?? mailbox?.name ?? '', address },
    replyTo: c.replyTo ?? null,
    mailbox,
  };
}

/** Throws 400 `unknown_token` at the first bad token of the campaign's texts. */
export function checkCampaignTokens(c: Pick<Campaign, 'subject' | 'preheader' | 'content' | 'variants'>): void {
  checkTokens([
    ['subject', c.subject],
    ['preheader', c.preheader],
    ...tokenFields(c.content, 'content'),
    ...c.variants.flatMap((v, i): [string, string][] => [
      [`variants.${i}.subject`, v.subject],
      ...(v.content ? [...tokenFields(v.content, `variants.${i}.content`)] : []),
    ]),
  ]);
}

/** Everything sending needs, else 400 `campaign_not_ready` with a field for each thing missing. */
export async function checkReady(
  uow: UnitOfWork,
  c: Campaign,
  deps: { mailboxes: MailboxesService; inboundDomain: string },
): Promise<CampaignSender> {
  const fields: Record<string, string> = {};
  if (!c.listIds.length) fields.listIds = 'choose at least one list';
  else if ((await knownLists(uow, c.listIds)).size !== c.listIds.length)
    fields.listIds = 'a list is gone or archived: choose again';
  const sender = await resolveSender(uow, c, deps);
  if (typeof sender === 'string') fields.fromEmail = sender;
  for (const v of variantSources(c)) {
    const at = v.key ? `variants.${v.key}` : 'subject';
    if (!v.subject.trim()) fields[at] = 'write a subject';
    const footer = v.content.blocks.find((b) => b.type === 'footer');
    if (!footer?.address.trim())
      fields[v.key ? `variants.${v.key}.content` : 'content'] = 'add a footer block with your postal address';
  }
  if (c.ab && c.variants.length < 2) fields.variants = 'an A/B test needs at least two variants';
  try {
    checkCampaignTokens(c);
  } catch (err) {
    if (!(err instanceof HttpError) || !err.fields) throw err;
    Object.assign(fields, err.fields);
  }
  if (Object.keys(fields).length || typeof sender === 'string') throw notReady(fields);
  return sender;
}
