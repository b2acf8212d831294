import type { ParsedMail } from '../../../mail/parse.ts';
import { normalizeSubject } from '../../../mail/subject.ts';
import type { UnitOfWork } from '../../tenancy.ts';
import { toPgArray } from './pg-array.ts';
import { failure, type KnownAnswer } from './worker-pool.ts';

/** Per transaction (its EntityManager): the advisory locks a batch took up front. */
const held = new WeakMap<object, Set<string>>();

/** Takes these advisory locks now, in this order, for the rest of the transaction. */
export async function lockAll(uow: UnitOfWork, keys: string[]): Promise<void> {
  if (!keys.length) return;
  await uow.em.execute(
    `select pg_advisory_xact_lock(hashtext(k)) from unnest(?::text[]) with ordinality as t(k, n) order by n`,
    [toPgArray(keys)],
  );
  const mine = held.get(uow.em) ?? new Set<string>();
  for (const k of keys) mine.add(k);
  held.set(uow.em, mine);
}

/** The advisory lock `key` to commit; a round trip saved when the batch holds it already. */
export async function xactLock(uow: UnitOfWork, key: string): Promise<void> {
  if (held.get(uow.em)?.has(key)) return;
  await uow.em.execute(`select pg_advisory_xact_lock(hashtext(?))`, [key]);
}

/** A thread's key: its mailbox and normalized subject (the advisory lock findThread takes; a batch's waiting rows). */
export const threadKey = (mailboxId: string, normalizedSubject: string) => `thread:${mailboxId}:${normalizedSubject}`;

/**
 * The advisory locks the writes of these messages will take (sameMessage's Message-ID, findThread's thread,
 * linkSender's sender: the same key strings), in the order a single message takes them (Message-ID, thread,
 * sender), then by key. Taken up front in this order, two transactions that share keys wait for each other rather
 * than each holding one the other wants.
 */
export function lockKeys(tenantId: string, items: { mailboxId: string; mail: ParsedMail }[]): string[] {
  const keys = new Map<string, number>();
  for (const { mailboxId, mail } of items) {
    if (mail.messageId) keys.set(`message-id:${tenantId}:${mail.messageId}`, 0);
    keys.set(threadKey(mailboxId, normalizeSubject(mail.subject)), 1);
    if (mail.from?.address) keys.set(`contact:${tenantId}:${mail.from.address}`, 2);
  }
  return [...keys].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([k]) => k);
}

/**
 * Asks the SPF record of each envelope sender's domain and the DMARC records of it and its parents, all at once,
 * through the caching resolver: a batch's look-ups overlap instead of each reader waiting for its own in turn.
 * Each message's answers (or failures) go to its reader with it, which then asks the main thread only for names
 * beyond these (an SPF include, a DKIM key): an answer through the main thread waits for a turn of its event loop,
 * busy writing the batch before.
 */
export async function dnsAhead(
  resolve: (name: string, rrtype: string) => Promise<unknown>,
  mailFroms: (string | null | undefined)[],
): Promise<KnownAnswer[][]> {
  const asked = new Map<string, Promise<KnownAnswer>>();
  const answer = (name: string) => {
    let known = asked.get(name);
    if (!known)
      asked.set(
        name,
        (known = resolve(name, 'TXT').then(
          (value): KnownAnswer => ({ name, rrtype: 'TXT', ok: true, value }),
          (err: unknown): KnownAnswer => ({ name, rrtype: 'TXT', ok: false, error: failure(err) }),
        )),
      );
    return known;
  };
  return Promise.all(
    mailFroms.map((from) => {
      const domain = from?.slice(from.lastIndexOf('@') + 1).toLowerCase();
      if (!domain || !from!.includes('@')) return [];
      const labels = domain.split('.');
      // DMARC's record of the domain and of each parent up to the top level (mailauth walks them when one is missing)
      const names = [domain, ...labels.map((_, i) => `_dmarc.${labels.slice(i).join('.')}`)];
      return Promise.all(names.map(answer));
    }),
  );
}
