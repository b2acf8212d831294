// Sending from a member's own account: who may send as which address, the account's SMTP, the copy in its Sent folder.
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import type { Sender } from '#contracts/outbound';
import { EmailAccountSchema, type EmailAccount } from '../../db/entities/email-account.entity.ts';
import { MailboxSchema, type Mailbox } from '../../db/entities/mailbox.entity.ts';
import { HttpError, notFound } from '../http/errors.ts';
import type { UnitOfWork } from '../tenancy.ts';
import { connectError, openImap, smtpOptions, smtpTransport, type ConnectDeps } from './connect.ts';

export { AccountConnectError, type ConnectDeps } from './connect.ts';

/** An account a member may send from, with the mailbox its conversations live in. */
export interface SendingAccount {
  account: EmailAccount;
  mailbox: Mailbox;
}

/** Its owner, and those its mailbox is shared with (the whole team when not private); Filo itself (auto-replies). */
function maySend(uow: UnitOfWork, account: EmailAccount, mailbox: Mailbox): boolean {
  const { actor } = uow;
  if (actor.system) return true;
  if (account.ownerId === actor.userId) return true;
  return mailbox.private || mailbox.memberIds.length ? mailbox.memberIds.includes(actor.userId) : true;
}

/**
 * The account to send through, by its id or by its mailbox's id; 404 when absent or not the actor's to send from
 * (another member's private account is as good as absent). `null` for a mailbox that is not an account's.
 */
export async function sendingAccount(
  uow: UnitOfWork,
  by: { accountId: string } | { mailboxId: string },
): Promise<SendingAccount | null> {
  const account = await uow.em.findOne(
    EmailAccountSchema,
    'accountId' in by ? { id: by.accountId } : { mailboxId: by.mailboxId },
  );
  if (!account) {
    if ('accountId' in by) throw notFound('Email account');
    return null;
  }
  const mailbox = await uow.em.findOne(MailboxSchema, { id: account.mailboxId });
  if (!mailbox || !maySend(uow, account, mailbox)) throw notFound('Email account');
  return { account, mailbox };
}

/** The addresses an account sends as: its own, then its aliases. */
export const addressesOf = (account: EmailAccount): string[] => [
  ...new Set([account.email, ...account.aliases].map((a) => a.toLowerCase())),
];

/** The From of a message sent through `account`: its address, or one of its aliases; anything else is a 400. */
export function fromAddressOf(account: EmailAccount, address: string | undefined): string {
  if (!address) return account.email.toLowerCase();
  const wanted = address.toLowerCase();
  if (!addressesOf(account).includes(wanted))
    throw new HttpError(400, 'from_not_allowed', `${address} is not an address of ${account.email}`, {
      'from.address': 'must be the account’s address or one of its aliases',
    });
  return wanted;
}

/** Every From the actor may send as through an account: each account's address and aliases, in address order. */
export async function accountSenders(uow: UnitOfWork): Promise<Sender[]> {
  const accounts = await uow.em.find(EmailAccountSchema, {}, { orderBy: { email: 'asc' } });
  if (!accounts.length) return [];
  const mailboxes = new Map(
    (await uow.em.find(MailboxSchema, { id: { $in: accounts.map((a) => a.mailboxId) } })).map((m) => [m.id, m]),
  );
  return accounts
    .filter((a) => mailboxes.has(a.mailboxId) && maySend(uow, a, mailboxes.get(a.mailboxId)!))
    .flatMap((a) =>
      addressesOf(a).map((address) => ({
        kind: 'account' as const,
        mailboxId: a.mailboxId,
        accountId: a.id,
        address,
        name: a.displayName ?? '',
      })),
    );
}

/** Sends the exact bytes through the account's own SMTP server; errors are AccountConnectError (server's words). */
export async function sendThroughAccount(
  account: EmailAccount,
  raw: Buffer,
  envelope: { from: string; to: string[] },
  deps: ConnectDeps,
): Promise<{ response: string }> {
  const transport = await smtpTransport(account, deps);
  try {
    const info = await transport.sendMail({ envelope, raw });
    return { response: String(info.response ?? '') };
  } catch (err) {
    const failure = connectError('smtp', err);
    // A refusal keeps its SMTP code: 5xx fails the message for good, 4xx is tried again.
    const code = (err as { responseCode?: unknown }).responseCode;
    throw typeof code === 'number' ? Object.assign(failure, { responseCode: code }) : failure;
  } finally {
    transport.close();
  }
}

/** How Filo sends on an account's behalf: its SMTP options, its address, and its Sent copy (null if the provider files). */
export interface AccountSmtp {
  options: SMTPTransport.Options;
  address: string;
  fileSent: ((raw: Buffer) => Promise<void>) | null;
}

/**
 * The SMTP connection (password or XOAUTH2, host checked by the target policy) of the account whose mailbox is
 * `mailboxId`, for mail Filo sends on its behalf (sequences, bulk); `null` when the mailbox is not an account's.
 */
export async function accountSmtp(uow: UnitOfWork, mailboxId: string, deps: ConnectDeps): Promise<AccountSmtp | null> {
  const account = await uow.em.findOne(EmailAccountSchema, { mailboxId });
  if (!account) return null;
  return {
    options: await smtpOptions(account, deps),
    address: account.email.toLowerCase(),
    fileSent: account.providerSavesSent ? null : async (raw) => void (await fileInSent(account, raw, deps)),
  };
}

/** Where a sent message was filed: the Sent folder, with its UIDVALIDITY and UID when the server said APPENDUID. */
export interface SentCopy {
  folder: string;
  uidValidity: number | null;
  uid: number | null;
}

/**
 * APPENDs the sent bytes to the account's Sent folder (special-use \Sent, else a folder named Sent) as `\Seen`,
 * over a connection of its own that is closed after. Throws with the server's words when it cannot.
 */
export async function fileInSent(account: EmailAccount, raw: Buffer, deps: ConnectDeps): Promise<SentCopy> {
  const client = await openImap(account, deps);
  try {
    const folders = await client.list();
    const sent =
      folders.find((f) => f.specialUse === '\\Sent' && f.specialUseSource !== 'name') ??
      folders.find((f) => f.path.toLowerCase() === 'sent' || f.name.toLowerCase() === 'sent') ??
      folders.find((f) => f.specialUse === '\\Sent');
    if (!sent) throw new Error('The account has no Sent folder');
    const appended = await client.append(sent.path, raw, ['\\Seen'], new Date());
    if (!appended) throw new Error(`The server did not take the message into ${sent.path}`);
    return {
      folder: appended.destination || sent.path,
      uidValidity: appended.uidValidity !== undefined && appended.uid ? Number(appended.uidValidity) : null,
      uid: appended.uidValidity !== undefined && appended.uid ? appended.uid : null,
    };
  } catch (err) {
    const e = err as { responseText?: string; message?: string };
    throw new Error(e.responseText || e.message || String(err), { cause: err });
  } finally {
    await client.logout().catch(() => client.close());
  }
}
