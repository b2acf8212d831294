import { createHash } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import type { Logger } from '../../logger.ts';
import type { UnitOfWork } from '../../tenancy.ts';
import type { Mailer, SmtpSettings } from '../mailer.ts';
import { Semaphore, TokenBucket } from './rate.ts';
import type { BulkSettings } from './types.ts';

/**
 * Where a source's messages go: its mailbox's SMTP server, a member's own account (options from the accounts
 * domain, host already checked by the target policy), the operator's relay, or the development outbox.
 */
export type BulkRoute =
  | { kind: 'mailbox'; mailboxId: string; smtp: SmtpSettings }
  | ({ kind: 'account'; mailboxId: string } & AccountTransport)
  | { kind: 'relay' | 'outbox' };

/** A member's account as the accounts domain gives it: SMTP options, its address, its Sent copy (if Filo files it). */
export interface AccountTransport {
  options: SMTPTransport.Options;
  address: string;
  fileSent: ((raw: Buffer) => Promise<void>) | null;
}

/** The port to the accounts domain: an account mailbox's transport (null when the mailbox is not an account's). */
export type AccountSmtpResolver = (uow: UnitOfWork, mailboxId: string) => Promise<AccountTransport | null>;

export interface BulkSent {
  transport: 'mailbox' | 'account' | 'relay' | 'outbox';
  response: string;
}

interface Lane {
  transporter: Transporter | null;
  bucket: TokenBucket;
  slots: Semaphore;
  lastUsed: number;
  busy: number;
}

const IDLE_MS = 30_000;
const TIMEOUTS = { connectionTimeout: 20_000, greetingTimeout: 15_000, socketTimeout: 60_000 };

/**
 * One lane per transport in this process: a nodemailer pool (BULK_CONNECTIONS connections) and a token bucket
 * (BULK_RATE_PER_SECOND), shared by every dispatch job sending through it and closed when idle. A mailbox's host
 * goes through the SMTP target policy (checked when its pool opens; the pool connects to the checked address).
 */
export class BulkTransports {
  readonly #lanes = new Map<string, Lane>();
  readonly #mailer: Mailer;
  readonly #relayUrl: string | undefined;
  readonly #settings: BulkSettings;
  readonly #log: Logger;
  readonly #sweep: NodeJS.Timeout;

  constructor(deps: { mailer: Mailer; relayUrl: string | undefined; settings: BulkSettings; log: Logger }) {
    this.#mailer = deps.mailer;
    this.#relayUrl = deps.relayUrl;
    this.#settings = deps.settings;
    this.#log = deps.log;
    this.#sweep = setInterval(() => this.#closeIdle(), IDLE_MS / 3).unref();
  }

  /** The route of a source: the mailbox's own server when it has one, else the relay, else the outbox. */
  route(mailbox: { id: string; smtp: SmtpSettings | null } | null): BulkRoute {
    if (mailbox?.smtp) return { kind: 'mailbox', mailboxId: mailbox.id, smtp: mailbox.smtp };
    return { kind: this.#relayUrl ? 'relay' : 'outbox' };
  }

  /** Sends one message (rate-limited); throws nodemailer's error (with `responseCode` when the server answered). */
  async send(route: BulkRoute, message: Mail.Options, tenantId: string): Promise<BulkSent> {
    const key = keyOf(route);
    let lane = this.#lanes.get(key);
    if (!lane) {
      lane = {
        transporter: null,
        bucket: new TokenBucket(this.#settings.ratePerSecond),
        slots: new Semaphore(this.#settings.connections * 2),
        lastUsed: Date.now(),
        busy: 0,
      };
      this.#lanes.set(key, lane);
    }
    lane.busy++;
    lane.lastUsed = Date.now();
    try {
      return await lane.slots.run(async () => {
        await lane.bucket.take();
        if (route.kind === 'outbox') {
          const d = await this.#mailer.deliver(message, { tenantId });
          return { transport: d.transport, response: d.response };
        }
        lane.transporter ??= await this.#open(route);
        if (route.kind === 'account') return this.#viaAccount(lane.transporter, route, message);
        const info = await lane.transporter.sendMail(message);
        return { transport: route.kind, response: String(info.response ?? '') };
      });
    } finally {
      lane.busy--;
      lane.lastUsed = Date.now();
    }
  }

  /**
   * Through a member's account: the envelope sender is the account's own address (providers refuse another; a bounce
   * still finds its row by the returned Message-ID), and the exact bytes sent are filed in its Sent folder after.
   */
  async #viaAccount(
    transporter: Transporter,
    route: Extract<BulkRoute, { kind: 'account' }>,
    message: Mail.Options,
  ): Promise<BulkSent> {
    const envelope = { from: route.address, to: [String(message.to)] };
    if (!route.fileSent) {
      const info = await transporter.sendMail({ ...message, envelope });
      return { transport: 'account', response: String(info.response ?? '') };
    }
    const raw = await new MailComposer(message).compile().build();
    const info = await transporter.sendMail({ envelope, raw });
    // The copy is the account's record, not the send's outcome: a failure is logged, the row stays sent.
    void route
      .fileSent(raw)
      .catch((err: unknown) =>
        this.#log.warn({ mailboxId: route.mailboxId, reason: (err as Error).message }, 'bulk mail not filed in Sent'),
      );
    return { transport: 'account', response: String(info.response ?? '') };
  }

  async #open(route: BulkRoute): Promise<Transporter> {
    const pool = {
      pool: true,
      maxConnections: this.#settings.connections,
      maxMessages: 1000,
      // A connection lost mid-message fails that send (the engine retries it, same Message-ID) instead of nodemailer
      // silently sending it again on another connection.
      maxRequeues: 0,
      ...TIMEOUTS,
    } as const;
    if (route.kind === 'relay') return nodemailer.createTransport({ url: this.#relayUrl!, ...pool } as never);
    if (route.kind === 'account') return nodemailer.createTransport({ ...route.options, ...pool });
    if (route.kind !== 'mailbox') throw new Error('no SMTP for the outbox');
    const smtp = route.smtp;
    // Checked when the pool opens, not only when saved: the name may resolve elsewhere now.
    const policy = this.#mailer.smtpTargets;
    const target = await policy.resolve(smtp.host);
    return nodemailer.createTransport({
      host: target.address,
      ...(target.servername ? { servername: target.servername } : {}),
      port: smtp.port,
      secure: smtp.secure,
      ...(smtp.user && !smtp.secure && !(target.local && policy.allowPlainAuth) ? { requireTLS: true } : {}),
      ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
      ...pool,
    });
  }

  #closeIdle(): void {
    const now = Date.now();
    for (const [key, lane] of this.#lanes)
      if (!lane.busy && now - lane.lastUsed > IDLE_MS) {
        lane.transporter?.close();
        this.#lanes.delete(key);
        this.#log.debug({ transport: key.split(':')[0] }, 'idle bulk transport closed');
      }
  }

  close(): void {
    clearInterval(this.#sweep);
    for (const lane of this.#lanes.values()) lane.transporter?.close();
    this.#lanes.clear();
  }
}

/** A lane per distinct server and credentials (a changed password opens a new pool). */
function keyOf(route: BulkRoute): string {
  if (route.kind === 'account') {
    const o = route.options;
    const digest = createHash('sha256')
      .update(JSON.stringify([o.host, o.port, o.secure, o.auth]))
      .digest('hex')
      .slice(0, 16);
    return `account:${route.mailboxId}:${digest}`;
  }
  if (route.kind !== 'mailbox') return route.kind;
  const s = route.smtp;
  const digest = createHash('sha256')
    .update(JSON.stringify([s.host, s.port, s.secure, s.user, s.password]))
    .digest('hex')
    .slice(0, 16);
  return `mailbox:${route.mailboxId}:${digest}`;
}
