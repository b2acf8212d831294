import { randomUUID } from 'node:crypto';
import type { MikroORM } from '../../../db/orm.ts';
import { InboundMessageSchema, type InboundMessage } from '../../../db/entities/inbound-message.entity.ts';
import type { ActivitiesService } from '../../timeline/activities.service.ts';
import type { ConversationsService } from '../conversations.service.ts';
import type { RecordsService } from '../../crm/records.service.ts';
import type { Logger } from '../../logger.ts';
import type { BlobStore, StoredBlob } from '../../storage/blob-store.ts';
import { inTenant, systemActor } from '../../tenancy.ts';
import type { InboundJob } from '../../../mail-gateway/inbound-store.ts';
import { cachingResolver } from '../../../mail/dns-cache.ts';
import { dnsResolver } from '../../net/dns.ts';
import { MailReaders, ReadersClosed, type KnownAnswer, type ReadResult } from './worker-pool.ts';
import type { Spool } from '../../../mail-gateway/spool.ts';
import type { BulkMailFeedback } from './bulk-feedback.ts';
import { writeInbound, type ProcessOutcome, type WriteDeps } from './write.ts';
import { dnsAhead, lockAll, lockKeys, threadKey } from './batch-keys.ts';
import { lockInbound, mailboxesOf, writeProcessed } from './batch-rows.ts';
import { lookUpEarlier } from './earlier.ts';
import { lookUpSenders } from './link.ts';
import type { ParsedMail } from '../../../mail/parse.ts';
import { normalizeSubject } from '../../../mail/subject.ts';

export type { ProcessOutcome } from './write.ts';

export const ATTACHMENT_MAX_BYTES = 25 * 1024 * 1024;

export type DnsResolver = (name: string, rrtype: string) => Promise<unknown>;

/** The URL a `cid:` image of a message is served from (an attachment of that message). */
export const cidUrl = (messageId: string, cid: string) =>
  `/api/inbox/messages/${messageId}/cid/${encodeURIComponent(cid)}`;

/** Each job's result, in the order of the jobs: its outcome, or why it failed (then recorded on its row). */
export type BatchResult = { ok: true; outcome: ProcessOutcome } | { ok: false; error: unknown };

const messageIdKey = (mailboxId: string, messageId: string) => `message:${mailboxId}:${messageId}`;

/** Whether a message answers or references one of these Message-IDs of its mailbox. */
const refersTo = (waiting: Set<string>, mailboxId: string, mail: ParsedMail) =>
  [mail.inReplyTo, ...mail.references].some((id) => id && waiting.has(messageIdKey(mailboxId, id)));

/** A message of a batch once read: its row, what the reader made of it, and the blobs stored for it. */
interface Read {
  at: number;
  job: InboundJob;
  inbound: InboundMessage;
  read: ReadResult;
  emailMessageId: string;
  stored: StoredBlob[];
}

/**
 * Turns accepted messages into conversation, message, documents and timeline, exactly once: the expensive
 * reading (authentication, parsing, classification, HTML cleaning; attachments to blob storage) happens first, in
 * reader threads under a time budget, then one transaction per workspace for the whole batch, in which each
 * message's write locks its inbound row and re-checks it was not processed meanwhile. Should that transaction fail,
 * each of its messages is written again alone, so that one bad message fails only itself.
 */
export class InboundProcessor {
  readonly #orm: MikroORM;
  readonly #spool: Spool;
  readonly #blobs: BlobStore;
  readonly #records: RecordsService;
  readonly #activities: ActivitiesService;
  readonly #conversations: Pick<ConversationsService, 'openOrAppend'>;
  readonly #log: Logger;
  readonly #readers: MailReaders;
  readonly #inboundDomain: string | null;
  /** DNS for SPF/DKIM/DMARC; tests give a local one. */
  resolver: DnsResolver;
  /** Bounces, complaints, unsubscribes and replies about bulk sends (set once the consent service exists). */
  bulk: BulkMailFeedback | null = null;
  /** DNS questions the reader threads asked of this thread, beyond the answers handed to them with the mail. */
  readerDnsQuestions = 0;
  /** Told the seconds from acceptance to processing of each message processed (the metrics' inbound lag). */
  onProcessed: ((lagSeconds: number) => void) | null = null;

  constructor(deps: {
    orm: MikroORM;
    spool: Spool;
    blobs: BlobStore;
    records: RecordsService;
    activities: ActivitiesService;
    /** The writer of conversations and their messages. */
    conversations: Pick<ConversationsService, 'openOrAppend'>;
    log: Logger;
    /** CPU time (ms) one message may take in its reader thread. */
    budgetMs?: number;
    /** The gateway's domain: `<workspace>.<domain>` is one of the workspace's own (internal mail). */
    inboundDomain?: string;
    /** Name servers to ask (config `DNS_SERVERS`); none: the machine's. */
    dnsServers?: readonly string[];
  }) {
    this.#orm = deps.orm;
    this.#spool = deps.spool;
    this.#blobs = deps.blobs;
    this.#records = deps.records;
    this.#activities = deps.activities;
    this.#conversations = deps.conversations;
    this.#log = deps.log;
    this.#inboundDomain = deps.inboundDomain ?? null;
    const budgetMs = deps.budgetMs ?? 30_000;
    // two threads: the reading of mail never holds the event loop that serves HTTP, sockets and SMTP
    this.#readers = new MailReaders({ threads: 2, budgetMs, wallMs: budgetMs + 90_000 });
    const dns = dnsResolver(deps.dnsServers ?? [], { timeout: 3000, tries: 2 });
    this.resolver = cachingResolver((name, rrtype) => dns.resolve(name, rrtype));
  }

  /** One message: its outcome, or the error it failed with (recorded on its row). */
  async process(job: InboundJob): Promise<ProcessOutcome> {
    const [result] = await this.processBatch([job]);
    if (!result!.ok) throw result!.error;
    return result!.outcome;
  }

  /** Several messages (of any workspaces): each job's result, in order. */
  async processBatch(jobs: InboundJob[]): Promise<BatchResult[]> {
    const results: BatchResult[] = new Array(jobs.length);
    const rows = await this.#rows(jobs);
    const toRead: { at: number; inbound: InboundMessage }[] = [];
    jobs.forEach((job, at) => {
      const inbound = rows.get(job.inboundId);
      if (!inbound) results[at] = { ok: true, outcome: 'gone' };
      else if (inbound.status === 'processed') results[at] = { ok: true, outcome: 'already_done' };
      else toRead.push({ at, inbound });
    });
    // The SPF and DMARC records of every sender's domain asked at once, and handed to the readers with the mail.
    const dns = await dnsAhead(
      this.resolver,
      toRead.map((r) => (r.inbound.accountId ? null : r.inbound.mailFrom)),
    );
    const read = await Promise.all(
      toRead.map(async ({ at, inbound }, i): Promise<Read | null> => {
        try {
          return { at, job: jobs[at]!, inbound, ...(await this.#read(jobs[at]!, inbound, dns[i]!)) };
        } catch (err) {
          results[at] = { ok: false, error: await this.#failed(jobs[at]!, inbound, err) };
          return null;
        }
      }),
    );
    const byTenant = new Map<string, Read[]>();
    for (const r of read) if (r) byTenant.set(r.job.tenantId, [...(byTenant.get(r.job.tenantId) ?? []), r]);
    for (const [tenantId, group] of byTenant) {
      let outcomes: ProcessOutcome[] | null = null;
      let failure: unknown;
      try {
        outcomes = await this.#writeTogether(tenantId, group);
      } catch (err) {
        failure = err;
        if (group.length > 1)
          this.#log.warn({ err, messages: group.length }, 'inbound batch failed: writing each alone');
      }
      for (const [i, r] of group.entries()) {
        let outcome = outcomes?.[i];
        if (outcome === undefined) {
          try {
            if (group.length === 1) throw failure;
            outcome = (await this.#writeTogether(tenantId, [r]))[0]!;
          } catch (err) {
            await Promise.all(r.stored.map((b) => this.#blobs.remove(b.key).catch(() => {})));
            results[r.at] = { ok: false, error: await this.#failed(r.job, r.inbound, err) };
            continue;
          }
        }
        if (outcome === 'already_done' || outcome === 'duplicate')
          await Promise.all(r.stored.map((b) => this.#blobs.remove(b.key)));
        if (outcome !== 'already_done') this.onProcessed?.((Date.now() - r.inbound.createdAt.getTime()) / 1000);
        results[r.at] = { ok: true, outcome };
      }
    }
    return results;
  }

  /** The inbound rows of the jobs, one query per workspace. */
  async #rows(jobs: InboundJob[]): Promise<Map<string, InboundMessage>> {
    const ids = new Map<string, string[]>();
    for (const job of jobs) ids.set(job.tenantId, [...(ids.get(job.tenantId) ?? []), job.inboundId]);
    const rows = new Map<string, InboundMessage>();
    for (const [tenantId, inboundIds] of ids) {
      const found = await inTenant(this.#orm, systemActor(tenantId, 'Filo mail'), ({ em }) =>
        em.find(InboundMessageSchema, { id: { $in: inboundIds } }),
      );
      for (const row of found) rows.set(row.id, row);
    }
    return rows;
  }

  /** Reads one message in a reader thread; on failure its stored attachments are removed again. */
  async #read(job: InboundJob, inbound: InboundMessage, dns: KnownAnswer[]) {
    // a message of an account is queued only once its body is in the spool
    if (!inbound.spoolKey) throw new Error('the message body has not been fetched yet');
    const stored: StoredBlob[] = [];
    // the message row's id is chosen now: the reader thread points its cid: images at it
    const emailMessageId = randomUUID();
    try {
      const read = await this.#readers.read(
        {
          path: this.#spool.path(inbound.spoolKey),
          // fetched over IMAP: no SMTP envelope to check SPF against
          envelope: inbound.accountId
            ? null
            : {
                ip: inbound.remoteAddress ?? '127.0.0.1',
                helo: inbound.heloName ?? '',
                mailFrom: inbound.mailFrom ?? '',
              },
          cidBase: cidUrl(emailMessageId, ''),
          dns,
        },
        {
          resolve: (name, rrtype) => {
            this.readerDnsQuestions++;
            return this.resolver(name, rrtype);
          },
          storeAttachment: async (_meta, content) => {
            const blob = await this.#blobs.put(content, { prefix: job.tenantId, maxBytes: ATTACHMENT_MAX_BYTES });
            if (!blob.complete) return { size: blob.size, stored: null };
            stored.push(blob);
            return { size: blob.size, stored: blob };
          },
        },
      );
      return { read, emailMessageId, stored };
    } catch (err) {
      await Promise.all(stored.map((b) => this.#blobs.remove(b.key).catch(() => {})));
      throw err;
    }
  }

  /**
   * One transaction for these messages of a workspace, written one after the other. Their inbound rows, then the
   * advisory locks their writes take (Message-ID, thread, sender), are locked first, all at once and in one order
   * (the order of a single message's write), so that two writers sharing a message, a thread or a sender wait for
   * each other instead of deadlocking; the timeline entries are written last, so that the workspace's activity
   * counter is held only while committing.
   */
  async #writeTogether(tenantId: string, group: Read[]): Promise<ProcessOutcome[]> {
    const deps: WriteDeps = {
      records: this.#records,
      activities: this.#activities,
      conversations: this.#conversations,
      bulk: this.bulk,
      inboundDomain: this.#inboundDomain,
    };
    return inTenant(this.#orm, systemActor(tenantId, 'Filo mail'), async (uow) => {
      const keys = lockKeys(
        tenantId,
        group.map((r) => ({ mailboxId: r.inbound.mailboxId, mail: r.read.mail })),
      );
      // The inbound rows first (held to commit: a second job for one of them waits, then finds it processed), in
      // one order, then the advisory locks; then what every message of the batch reads the same (its mailbox).
      const locked = await lockInbound(uow, [...new Set(group.map((r) => r.inbound.id))]);
      await lockAll(uow, keys);
      const mailboxes = await mailboxesOf(uow, [...new Set(group.map((r) => r.inbound.mailboxId))]);
      // The gateway's senders (an account's mail links its recipients too, looked up as it goes).
      await lookUpSenders(
        uow,
        group.flatMap((r) => (!r.inbound.accountId && r.read.mail.from?.address ? [r.read.mail.from.address] : [])),
      );
      await lookUpEarlier(
        uow,
        group.map((r) => ({ mailboxId: r.inbound.mailboxId, messageId: r.read.mail.messageId })),
      );
      await this.bulk?.lookUp(
        uow,
        group.map((r) => r.read.mail),
      );
      return this.#activities.batch(uow, async () => {
        const outcomes: ProcessOutcome[] = [];
        // Customer mail opening new conversations leaves its contact, conversation and message to one flush for
        // several messages (an insert per table, not per message). What a later message looks up by SQL must be
        // written first: its thread (by subject or a referenced Message-ID) among the waiting ones, or anything but
        // plain mail (bounces read contacts; an account's mail its own rows).
        const waiting = new Set<string>();
        const flush = async () => {
          await uow.em.flush();
          // the next write starts with an empty identity map, or every flush would compare all the entities before
          uow.em.clear();
          waiting.clear();
        };
        for (const r of group) {
          const mail = r.read.mail;
          const mailboxId = r.inbound.mailboxId;
          const thread = threadKey(mailboxId, normalizeSubject(mail.subject));
          const deferrable =
            !r.inbound.accountId && (r.read.kind.kind === 'message' || r.read.kind.kind === 'auto_reply');
          if (waiting.size && (!deferrable || waiting.has(thread) || refersTo(waiting, mailboxId, mail))) await flush();
          const defer = { on: deferrable, left: false };
          outcomes.push(
            await writeInbound(
              deps,
              uow,
              { inbound: r.inbound, locked: locked.get(r.inbound.id), mailbox: mailboxes.get(r.inbound.mailboxId) },
              mail,
              r.read.kind,
              r.read.auth,
              { id: r.emailMessageId, clean: r.read.clean },
              defer,
            ),
          );
          if (defer.left) {
            // what a later message of the batch would thread to: this subject, this Message-ID
            waiting.add(thread);
            if (mail.messageId) waiting.add(messageIdKey(mailboxId, mail.messageId));
          } else await flush();
        }
        // the inbound rows point at the messages written
        await flush();
        await writeProcessed(uow);
        return outcomes;
      });
    });
  }

  /** Records the failure on the message's row (unless it was processed meanwhile); the error to report. */
  async #failed(job: InboundJob, inbound: InboundMessage, err: unknown): Promise<unknown> {
    // stopping, not failing: the message stays `received` and the next start takes it up again
    if (err instanceof ReadersClosed) return err;
    const message = err instanceof Error ? err.message : String(err);
    await inTenant(this.#orm, systemActor(job.tenantId, 'Filo mail'), async ({ em }) => {
      await em.nativeUpdate(
        InboundMessageSchema,
        { id: job.inboundId, status: { $ne: 'processed' } },
        { status: 'failed', error: message.slice(0, 2000), attempts: inbound.attempts + 1 },
      );
    }).catch((e: unknown) => this.#log.error({ err: e }, 'could not record the processing failure'));
    return err;
  }

  /** Stops the reader threads at once (shutdown): messages being read stay `received` for the next start. */
  close(): Promise<void> {
    return this.#readers.close();
  }
}
