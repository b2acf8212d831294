import type { MessageClass } from '#contracts/inbox';
import type { MailClass, ComplaintReport } from '../../../mail/classify.ts';
import type { ParsedMail } from '../../../mail/parse.ts';
import type { BulkFeedback, FeedbackResult } from '../../delivery/bulk/feedback.ts';
import type { BulkTokenKind, BulkTokens } from '../../delivery/bulk/tokens.ts';
import type { UnitOfWork } from '../../tenancy.ts';
import { prepared, preparedOnce, runPrepared } from '../../db-hot/prepared.ts';

/** What processing records about mail that is feedback on bulk sends: never a conversation. */
export interface BulkOutcome {
  outcome: 'bounce' | 'auto_reply';
  classification: MessageClass;
  details: Record<string, unknown>;
}

/** A bulk token in an address or URL: `b+<token>@`, `u+<token>@`, `/u/<token>`. */
const TOKEN_IN = /(?:\b([bu])\+|\/u\/)([a-z2-7]{47})(?![a-z2-7])/gi;

/**
 * Inbound mail about bulk sends: a delivery report or an auto-reply to a send's VERP return path, a spam complaint
 * (ARF) to any address, a List-Unsubscribe mailto, and (after the conversation is made as usual) a person's reply.
 * Every token is checked again here, and a send is found only in the message's own workspace.
 */
export class BulkMailFeedback {
  readonly #feedback: BulkFeedback;
  readonly #tokens: Pick<BulkTokens, 'verify'>;
  readonly #inboundDomain: string;

  constructor(deps: { feedback: BulkFeedback; tokens: Pick<BulkTokens, 'verify'>; inboundDomain: string }) {
    this.#feedback = deps.feedback;
    this.#tokens = deps.tokens;
    this.#inboundDomain = deps.inboundDomain.toLowerCase();
  }

  /** The sends this message was addressed to by VERP (`b+`) or unsubscribe (`u+`) address at this workspace. */
  async #addressed(uow: UnitOfWork, rcptTo: string[]): Promise<{ bounce: string[]; unsubscribe: string[] }> {
    const out = { bounce: [] as string[], unsubscribe: [] as string[] };
    const candidates = rcptTo.filter((a) => /^[bu]\+/i.test(a));
    if (!candidates.length) return out;
    const [tenant] = (await uow.em.execute(`select slug from tenants where id = ?`, [uow.actor.tenantId])) as {
      slug: string;
    }[];
    const domain = `${tenant?.slug ?? ''}.${this.#inboundDomain}`;
    for (const address of candidates) {
      const at = address.lastIndexOf('@');
      if (at < 0 || address.slice(at + 1).toLowerCase() !== domain) continue;
      const kind: BulkTokenKind = address[0]!.toLowerCase() === 'b' ? 'bounce' : 'unsubscribe';
      const claim = this.#tokens.verify(address.slice(2, at), kind);
      if (claim) out[kind === 'bounce' ? 'bounce' : 'unsubscribe'].push(claim.sendId);
    }
    return out;
  }

  /** Handles mail that is feedback on bulk sends; null for any other mail (processed as usual). */
  async handle(
    uow: UnitOfWork,
    input: { inboundId: string; rcptTo: string[]; mail: ParsedMail; kind: MailClass },
  ): Promise<BulkOutcome | null> {
    const { mail, kind, inboundId } = input;
    const addressed = await this.#addressed(uow, input.rcptTo);
    if (kind.kind === 'complaint') return this.#complaint(uow, kind, addressed.bounce, inboundId);

    if (kind.kind === 'bounce') {
      // VERP names the send; without it (a server that reports to the From address) the returned Message-ID may
      const sendId =
        addressed.bounce[0] ??
        (kind.originalMessageId
          ? (await this.#feedback.findByMessageIds(uow, [kind.originalMessageId]))[0]
          : undefined);
      if (!sendId) return null;
      // one recipient per VERP envelope: the report's verdict is that recipient's
      const failure = kind.failures.find((f) => f.permanent) ?? kind.failures[0];
      const result = await this.#feedback.markBounced(uow, sendId, {
        permanent: failure ? failure.permanent : kind.permanent,
        status: failure?.status ?? kind.status,
        reason: failure?.reason ?? null,
        inboundId,
      });
      return {
        outcome: 'bounce',
        classification: 'bounce',
        details: { status: kind.status, action: kind.action, bulk: summary('bounce', sendId, result) },
      };
    }

    if (addressed.unsubscribe.length) {
      const sendId = addressed.unsubscribe[0]!;
      // an out-of-office sent to the unsubscribe address is not the person asking to leave
      if (kind.kind !== 'message')
        return {
          outcome: 'auto_reply',
          classification: 'auto_reply',
          details: { reason: kind.reason, bulk: { kind: 'unsubscribe_ignored', sendId } },
        };
      const result = await this.#feedback.unsubscribeByMail(uow, sendId, mail.from?.address ?? null);
      return {
        outcome: 'auto_reply',
        classification: 'auto_reply',
        details: { subject: mail.subject.slice(0, 200), bulk: summary('unsubscribe', sendId, result) },
      };
    }

    if (addressed.bounce.length) {
      // out-of-office answers go to the return path (RFC 3834); nobody reads that address
      if (kind.kind === 'auto_reply') await this.#feedback.autoReplied(uow, addressed.bounce[0]!, said(mail));
      return {
        outcome: 'auto_reply',
        classification: 'auto_reply',
        details: {
          reason: kind.kind === 'auto_reply' ? kind.reason : 'return_path',
          subject: mail.subject.slice(0, 200),
          bulk: { kind: 'return_path', sendId: addressed.bounce[0] },
        },
      };
    }
    return null;
  }

  async #complaint(
    uow: UnitOfWork,
    report: ComplaintReport,
    addressed: string[],
    inboundId: string,
  ): Promise<BulkOutcome> {
    const o = report.original;
    // the complainant is often redacted: the send is found by the tokens and Message-ID of the returned original
    const tokened = [o.mailFrom, o.returnPath, o.listUnsubscribe]
      .flatMap((v) => [...(v ?? '').matchAll(TOKEN_IN)])
      .map((m) => this.#tokens.verify(m[2]!, m[1]?.toLowerCase() === 'b' ? 'bounce' : 'unsubscribe'))
      .filter((c) => c !== null)
      .map((c) => c.sendId);
    const byId = o.messageId ? await this.#feedback.findByMessageIds(uow, [o.messageId]) : [];
    // the first candidate that is a send of this workspace (another's token finds nothing here)
    let found: { sendId: string; result: FeedbackResult } | null = null;
    for (const sendId of new Set([...tokened, ...addressed, ...byId])) {
      const result = await this.#feedback.markComplained(uow, sendId, { feedbackType: report.feedbackType, inboundId });
      if (result.changed || result.reason !== 'not_found') {
        found = { sendId, result };
        break;
      }
    }
    return {
      outcome: 'auto_reply',
      classification: 'auto_reply',
      details: {
        reason: 'feedback_report',
        feedbackType: report.feedbackType,
        userAgent: report.userAgent,
        bulk: found ? summary('complaint', found.sendId, found.result) : { kind: 'complaint', sendId: null },
      },
    };
  }

  /**
   * Looks up, for a batch about to be written, the bulk sends its messages' own and thread Message-IDs name: one
   * statement for the batch instead of one per message (processing writes no bulk send, so it holds to commit).
   */
  async lookUp(uow: UnitOfWork, mails: Replying[]): Promise<void> {
    const ids = new Set<string>();
    for (const mail of mails) {
      if (mail.messageId && mail.messageId.length <= 998) ids.add(mail.messageId);
      for (const id of threadIds(mail)) if (id.length <= 998) ids.add(id);
    }
    if (!ids.size) return;
    const found = await runPrepared<{ message_id: string; id: string }>(uow, SENDS_NAMED, [
      uow.actor.tenantId,
      [...ids],
    ]);
    batchSends.set(uow.em, { asked: ids, found });
  }

  /** A person's reply (never an auto-reply: the caller checks) to bulk sends it names: each marked replied once. */
  async replied(uow: UnitOfWork, mail: Replying): Promise<string[]> {
    const marked: string[] = [];
    for (const sendId of (await this.#threaded(uow, mail)) ?? []) {
      const result = await this.#feedback.markReplied(uow, sendId, said(mail));
      if (result.changed) marked.push(sendId);
    }
    return marked;
  }

  /** An out-of-office threaded to bulk sends (sent to the From address, not the return path): the sources hear it. */
  async autoReplied(uow: UnitOfWork, mail: Replying): Promise<void> {
    for (const sendId of (await this.#threaded(uow, mail)) ?? [])
      await this.#feedback.autoReplied(uow, sendId, said(mail));
  }

  /**
   * The bulk sends this message answers (named by In-Reply-To or References), or null for our own bulk mail come
   * back (a Bcc to self through the gateway, a Sent copy in an account that is not the one that sent it): its
   * Message-ID is a send's, or its sender is one of the workspace's mailboxes or accounts. Never a reply. One
   * prepared round trip at most per message.
   */
  async #threaded(uow: UnitOfWork, mail: Replying): Promise<string[] | null> {
    const from = mail.from?.address?.toLowerCase();
    if (from) {
      // Read once per transaction: a batch's messages all ask, and its writes add no mailbox nor account.
      const own = await preparedOnce(
        uow,
        OWN_ADDRESSES,
        [uow.actor.tenantId],
        (rows: { address: string }[]) => new Set(rows.map((r) => r.address)),
      );
      if (own.has(from)) return null;
    }
    const messageId = mail.messageId && mail.messageId.length <= 998 ? mail.messageId : null;
    const thread = [...new Set(threadIds(mail).filter((id) => id.length <= 998))].slice(0, 100);
    if (!messageId && !thread.length) return [];
    const held = batchSends.get(uow.em);
    if (held && (!messageId || held.asked.has(messageId)) && thread.every((id) => held.asked.has(id))) {
      if (messageId && held.found.some((s) => s.message_id === messageId)) return null;
      const named = new Set(thread);
      return held.found
        .filter((s) => named.has(s.message_id))
        .map((s) => s.id)
        .slice(0, 20);
    }
    const [row] = await runPrepared<{ own: boolean; sends: string[] }>(uow, SENDS_OF, [
      uow.actor.tenantId,
      messageId,
      thread,
    ]);
    return row!.own ? null : row!.sends;
  }
}

/** Whether the Message-ID ($2) is a send's, and the sends named by the thread's ids ($3), oldest first. */
const SENDS_OF = prepared(
  `select exists (select 1 from bulk_sends where tenant_id = $1 and message_id = $2) as own,
          array(select id::text from bulk_sends where tenant_id = $1 and message_id = any($3::text[])
                 order by created_at limit 20) as sends`,
);

/** The sends named by any of these Message-IDs ($2), oldest first. */
const SENDS_NAMED = prepared(
  `select message_id, id::text from bulk_sends where tenant_id = $1 and message_id = any($2::text[])
    order by created_at`,
);

/** Per transaction (its EntityManager): the Message-IDs a batch asked about, and the sends they named. */
const batchSends = new WeakMap<object, { asked: Set<string>; found: { message_id: string; id: string }[] }>();

/** The workspace's mailbox and account addresses, lower-cased. */
const OWN_ADDRESSES = prepared(
  `select lower(address) as address from mailboxes where tenant_id = $1 and address is not null
   union select lower(email) from email_accounts where tenant_id = $1`,
);

type Replying = Pick<ParsedMail, 'messageId' | 'inReplyTo' | 'references' | 'from' | 'subject' | 'text'>;

const threadIds = (mail: Pick<ParsedMail, 'inReplyTo' | 'references'>) =>
  [mail.inReplyTo, ...mail.references.slice(-20)].filter((id): id is string => Boolean(id));

/** What a listener may read of a reply: bounded (a stop word or a return date is in the first lines). */
const said = (mail: Pick<ParsedMail, 'from' | 'subject' | 'text'>) => ({
  from: mail.from?.address ?? null,
  subject: mail.subject.slice(0, 500),
  text: (mail.text ?? '').slice(0, 4000),
});

const summary = (kind: string, sendId: string, result: FeedbackResult) => ({
  kind,
  sendId,
  changed: result.changed,
  ...(result.changed ? {} : { reason: result.reason }),
});
