import type Mail from 'nodemailer/lib/mailer';
import type { Mailbox } from '../../../db/entities/mailbox.entity.ts';
import type { MikroORM } from '../../../db/orm.ts';
import type { ConsentService } from '../../consent/consent.service.ts';
import type { Secrets } from '../../crypto/secrets.ts';
import type { JobQueue } from '../../jobs/queue.ts';
import type { Logger } from '../../logger.ts';
import { inTenant, systemActor, type Actor, type UnitOfWork } from '../../tenancy.ts';
import { dkimOf, domainOf, smtpOf } from '../transport-settings.ts';
import { bulkMessage, classify, type BulkMessageContext } from './headers.ts';
import type { FeedbackListeners } from './feedback.ts';
import { OutcomeWriter } from './outcomes.ts';
import { Semaphore, SourcePaces } from './rate.ts';
import { bumpStats } from './stats.ts';
import type { BulkTokens } from './tokens.ts';
import type { AccountSmtpResolver, BulkRoute, BulkTransports } from './transport.ts';
import {
  BULK_DISPATCH_QUEUE,
  type BulkDispatchJob,
  type BulkHandler,
  type BulkRecipientRow,
  type BulkScope,
  type BulkSettings,
  type ComposedMail,
} from './types.ts';

interface DispatcherDeps {
  orm: MikroORM;
  queue: JobQueue;
  consent: ConsentService;
  tokens: BulkTokens;
  secrets: Secrets;
  publicUrl: string;
  inboundDomain: string;
  settings: BulkSettings;
  log: Logger;
  transports: BulkTransports;
  handler(source: BulkDispatchJob['source']): BulkHandler | undefined;
  cancelRows(uow: UnitOfWork, job: BulkDispatchJob): Promise<number>;
  finishIfDone(uow: UnitOfWork, job: BulkDispatchJob): Promise<boolean>;
  listeners?: FeedbackListeners;
  /** Mailboxes of kind `account` send through the member's own SMTP server (the accounts domain answers how). */
  accountSmtp?: AccountSmtpResolver | undefined;
}

/** What one run of a source needs once: where its mail goes and how it is signed. */
interface RunContext {
  actor: Actor;
  job: BulkDispatchJob;
  handler: BulkHandler;
  writer: OutcomeWriter;
  route: BulkRoute | null;
  mailbox: Mailbox | null;
  returnDomain: string;
  dkim: Map<string, Mail.Options['dkim'] | undefined>;
  /** Rows naming their own mailbox go through its transport (loaded once per run). */
  rowMailboxes: Map<string, Promise<{ route: BulkRoute; mailbox: Mailbox | null }>>;
  /** The source's own pace (read at each claim), for sources that send rows themselves. */
  ratePerSecond?: number | undefined;
}

type Claim = { kind: 'batch'; rows: BulkRecipientRow[] } | { kind: 'empty' | 'paused' | 'cancelled' };

/** A job works this long, then hands over to a fresh job (pg-boss expires long jobs; other sources get a turn). */
const RUN_MS = 60_000;
const IN_FLIGHT_BATCHES = 2;

/**
 * The dispatch of one source: claims due rows in batches (`for update skip locked`, so any number of jobs and
 * nodes share a source), refuses in the same transaction the addresses consent forbids, then composes and sends
 * the rest, each row marked as its SMTP answer arrives. While a batch is out its rows' lease is renewed; a row whose
 * worker died comes back when its lease ends, with the same Message-ID.
 */
export class BulkDispatcher {
  readonly #deps: DispatcherDeps;
  #stopping = false;
  readonly #running = new Set<Promise<unknown>>();
  /** Told each send's outcome once written: the metrics' outbound sends. */
  onOutcome: ((status: string) => void) | undefined;
  readonly #paces = new SourcePaces();

  constructor(deps: DispatcherDeps) {
    this.#deps = deps;
  }

  get batchSize(): number {
    return Math.min(200, Math.max(10, Math.round(this.#deps.settings.ratePerSecond / 2)));
  }

  /** A source with its own pace claims about a second's worth at a time (fewer rows held if the worker dies). */
  #batchOf(ctx: RunContext): number {
    const rate = ctx.ratePerSecond;
    return rate ? Math.min(200, Math.max(1, Math.ceil(rate))) : this.batchSize;
  }

  /** Stops claiming; resolves when the runs in progress have written their outcomes (or after `ms`). */
  async stop(ms = 6_000): Promise<void> {
    this.#stopping = true;
    await Promise.race([Promise.allSettled(this.#running), new Promise((r) => setTimeout(r, ms).unref())]);
  }

  run(job: BulkDispatchJob): Promise<{ sent: number; stopped: string }> {
    const p = this.#run(job);
    this.#running.add(p);
    void p.finally(() => this.#running.delete(p)).catch(() => {});
    return p;
  }

  async #run(job: BulkDispatchJob): Promise<{ sent: number; stopped: string }> {
    const handler = this.#deps.handler(job.source);
    const actor = systemActor(job.tenantId, 'Filo bulk');
    if (!handler) {
      // Its domain registers it at start-up: try again shortly rather than lose the job.
      await this.#later(actor, job, new Date(Date.now() + 5_000));
      return { sent: 0, stopped: 'no handler' };
    }
    const writer = new OutcomeWriter({
      orm: this.#deps.orm,
      actor,
      job,
      handler,
      consent: this.#deps.consent,
      settings: this.#deps.settings,
      log: this.#deps.log,
      finishIfDone: this.#deps.finishIfDone,
      listeners: this.#deps.listeners,
      onOutcome: (status) => this.onOutcome?.(status),
    });
    const ctx: RunContext = {
      actor,
      job,
      handler,
      writer,
      route: null,
      mailbox: null,
      returnDomain: '',
      dkim: new Map(),
      rowMailboxes: new Map(),
    };
    const until = Date.now() + RUN_MS;
    const inflight = new Set<Promise<number>>();
    let sent = 0;
    let stopped: Claim['kind'] | 'time' | 'stopping';
    for (;;) {
      if (this.#stopping) {
        stopped = 'stopping';
        break;
      }
      if (Date.now() > until) {
        stopped = 'time';
        break;
      }
      const claim = await this.#claim(ctx);
      if (claim.kind !== 'batch') {
        stopped = claim.kind;
        break;
      }
      const p = this.#sendBatch(ctx, claim.rows);
      inflight.add(p);
      void p.then(
        (n) => {
          sent += n;
          inflight.delete(p);
        },
        () => inflight.delete(p),
      );
      while (inflight.size >= IN_FLIGHT_BATCHES) await Promise.race(inflight).catch(() => {});
    }
    await Promise.allSettled(inflight);
    await writer.drain();
    if (stopped === 'time') await this.#later(actor, job, new Date());
    else if (stopped === 'empty') await this.#next(ctx);
    return { sent, stopped };
  }

  /** Claims a batch (and refuses what consent forbids) in one transaction with the source's scope. */
  async #claim(ctx: RunContext): Promise<Claim> {
    const { job } = ctx;
    const { leaseSeconds } = this.#deps.settings;
    return inTenant(this.#deps.orm, ctx.actor, async (uow) => {
      const { em } = uow;
      const scope = await ctx.handler.scope(em, job.sourceId);
      if (!scope || scope.state === 'cancelled') {
        await this.#deps.cancelRows(uow, job);
        return { kind: 'cancelled' };
      }
      if (scope.state === 'paused') return { kind: 'paused' };
      if (!ctx.returnDomain) await this.#prepare(uow, ctx, scope);
      ctx.ratePerSecond = ctx.handler.deliver && scope.ratePerSecond ? scope.ratePerSecond : undefined;
      const n = this.#batchOf(ctx);
      const rows = (await em.execute(
        `with due as (select id, status from bulk_sends
                       where tenant_id = ? and source = ? and source_id = ? and status in ('pending', 'deferred')
                         and next_attempt_at <= now()
                       order by next_attempt_at limit ? for update skip locked),
              stale as (select id, status from bulk_sends
                         where tenant_id = ? and source = ? and source_id = ? and status = 'sending'
                           and next_attempt_at <= now()
                         limit ? for update skip locked),
              c as (select * from due union all select * from stale)
         update bulk_sends b set status = 'sending', attempts = b.attempts + 1,
                next_attempt_at = now() + ? * interval '1 second'
           from c where b.id = c.id
         returning b.id, b.contact_id, b.address, b.variant, b.message_id, b.attempts, b.mailbox_id, c.status as was`,
        [job.tenantId, job.source, job.sourceId, n, job.tenantId, job.source, job.sourceId, n, leaseSeconds],
      )) as {
        id: string;
        contact_id: string | null;
        address: string | null;
        variant: string | null;
        message_id: string;
        attempts: number;
        mailbox_id: string | null;
        was: string;
      }[];
      if (!rows.length) return { kind: 'empty' };
      // A deferred row is no longer waiting once claimed: its retry's outcome counts it again if need be.
      const wasDeferred = new Map<string, number>();
      for (const r of rows)
        if (r.was === 'deferred') wasDeferred.set(r.variant ?? '', (wasDeferred.get(r.variant ?? '') ?? 0) + 1);
      for (const [variant, k] of wasDeferred) await bumpStats(em, { ...job, variant }, { deferred: -k });
      const addresses = rows.filter((r) => r.address).map((r) => r.address!);
      const refused = await this.#deps.consent.refusals(em, scope.channel ?? 'email', addresses, scope.listIds, {
        requireConfirmed: scope.requireConfirmed,
      });
      const suppressed = rows.filter((r) => !r.address || refused.has(r.address));
      if (suppressed.length) {
        await em.execute(
          `update bulk_sends b set status = 'suppressed', last_response = v.reason
             from jsonb_to_recordset(?::jsonb) as v(id uuid, reason text) where b.id = v.id`,
          [
            JSON.stringify(
              suppressed.map((r) => ({
                id: r.id,
                reason: r.address ? `consent: ${refused.get(r.address)!.status}` : 'no address',
              })),
            ),
          ],
        );
        const byVariant = new Map<string, number>();
        for (const r of suppressed) byVariant.set(r.variant ?? '', (byVariant.get(r.variant ?? '') ?? 0) + 1);
        for (const [variant, k] of byVariant) await bumpStats(em, { ...job, variant }, { suppressed: k });
        await this.#deps.finishIfDone(uow, job);
      }
      const skip = new Set(suppressed.map((r) => r.id));
      return {
        kind: 'batch',
        rows: rows
          .filter((r) => !skip.has(r.id))
          .map((r) => ({
            id: r.id,
            tenantId: job.tenantId,
            contactId: r.contact_id,
            address: r.address!,
            variant: r.variant,
            messageId: r.message_id,
            attempts: r.attempts,
            mailboxId: r.mailbox_id,
          })),
      };
    });
  }

  /** Once per run: the workspace's return domain and the source's mailbox (its SMTP server and DKIM key). */
  async #prepare(uow: UnitOfWork, ctx: RunContext, scope: BulkScope): Promise<void> {
    const { em } = uow;
    const [tenant] = (await em.execute(`select slug from tenants where id = ?`, [ctx.job.tenantId])) as {
      slug: string;
    }[];
    ctx.returnDomain = `${(tenant?.slug ?? 'workspace').toLowerCase()}.${this.#deps.inboundDomain}`;
    // A source that sends its rows itself needs no SMTP route.
    if (ctx.handler.deliver) return;
    if (scope.mailboxId) ctx.mailbox = await loadMailbox(em, scope.mailboxId);
    ctx.route = await this.#routeOf(uow, ctx.mailbox);
  }

  /** A mailbox's route: a member's account through its own SMTP login, else the mailbox's server, relay or outbox. */
  async #routeOf(uow: UnitOfWork, mailbox: LoadedMailbox | null): Promise<BulkRoute> {
    if (mailbox?.kind === 'account' && this.#deps.accountSmtp) {
      const account = await this.#deps.accountSmtp(uow, mailbox.id);
      if (account) return { kind: 'account', mailboxId: mailbox.id, ...account };
    }
    const smtp = mailbox ? smtpOf(mailbox, this.#deps.secrets) : null;
    return this.#deps.transports.route(mailbox ? { id: mailbox.id, smtp } : null);
  }

  /** A row's own mailbox: its SMTP server (else the relay, else the outbox) and DKIM key, once per run. */
  #rowMailbox(ctx: RunContext, mailboxId: string): Promise<{ route: BulkRoute; mailbox: Mailbox | null }> {
    let found = ctx.rowMailboxes.get(mailboxId);
    if (!found) {
      found = inTenant(this.#deps.orm, ctx.actor, async (uow) => {
        const mailbox = await loadMailbox(uow.em, mailboxId);
        return { route: await this.#routeOf(uow, mailbox), mailbox };
      });
      ctx.rowMailboxes.set(mailboxId, found);
      found.catch(() => ctx.rowMailboxes.delete(mailboxId));
    }
    return found;
  }

  #dkimFor(ctx: RunContext, from: string, mailbox = ctx.mailbox): Mail.Options['dkim'] | undefined {
    if (!mailbox) return undefined;
    const key = `${mailbox.id}:${domainOf(from)}`;
    if (!ctx.dkim.has(key)) ctx.dkim.set(key, dkimOf(mailbox, from, this.#deps.secrets));
    return ctx.dkim.get(key);
  }

  /** Composes and sends a claimed batch; each row is marked as its answer arrives. Answers how many were sent. */
  async #sendBatch(ctx: RunContext, rows: BulkRecipientRow[]): Promise<number> {
    if (!rows.length) return 0;
    const { job, writer } = ctx;
    const open = new Set(rows.map((r) => r.id));
    // While the batch is out, its rows stay reserved: another worker takes them only if this one dies.
    const renew = setInterval(
      () => void this.#renew(ctx, [...open]).catch((err: unknown) => this.#deps.log.warn({ err }, 'lease not renewed')),
      (this.#deps.settings.leaseSeconds * 1000) / 3,
    );
    let sent = 0;
    try {
      if (ctx.handler.deliver) return await this.#deliverBatch(ctx, rows, open);
      let composed: Map<string, ComposedMail>;
      try {
        composed = await ctx.handler.compose(job.tenantId, job.sourceId, rows);
      } catch (err) {
        this.#deps.log.error({ err, source: job.source, sourceId: job.sourceId }, 'bulk messages not composed');
        const response = `not composed: ${(err as Error).message ?? String(err)}`;
        await Promise.all(rows.map((row) => writer.record({ row, status: 'deferred', response })));
        return 0;
      }
      await Promise.all(
        rows.map(async (row) => {
          const mail = composed.get(row.id);
          if (!mail) {
            await writer.record({ row, status: 'failed', response: 'not composed' });
            open.delete(row.id);
            return;
          }
          try {
            const own = row.mailboxId ? await this.#rowMailbox(ctx, row.mailboxId) : null;
            const mctx: BulkMessageContext = {
              publicUrl: this.#deps.publicUrl,
              returnDomain: ctx.returnDomain,
              tokens: this.#deps.tokens,
              dkim: this.#dkimFor(ctx, mail.from.address, own ? own.mailbox : ctx.mailbox),
              feedbackId: `${job.sourceId}:${job.source}:${job.tenantId}:filo`,
            };
            const route = own ? own.route : ctx.route!;
            const result = await this.#deps.transports.send(route, bulkMessage(row, mail, mctx), job.tenantId);
            await writer.record({ row, status: 'sent', response: result.response, transport: result.transport });
            sent++;
          } catch (err) {
            const c = classify(err);
            await writer.record({ row, status: c.outcome, response: c.response, suppress: c.suppress });
          }
          open.delete(row.id);
        }),
      );
    } finally {
      clearInterval(renew);
    }
    return sent;
  }

  /** A source that sends rows itself (bulk messages): each row at the source's pace, marked as it is answered. */
  async #deliverBatch(ctx: RunContext, rows: BulkRecipientRow[], open: Set<string>): Promise<number> {
    const deliver = ctx.handler.deliver!.bind(ctx.handler);
    // Each delivery takes a few transactions: at most `connections` at once, so a fast pace cannot drain the pool.
    const slots = new Semaphore(Math.max(1, this.#deps.settings.connections));
    let sent = 0;
    await Promise.all(
      rows.map(async (row) => {
        try {
          // The slot first, then the pace: a send never goes later than its turn in a burst after a slow spell.
          const d = await slots.run(async () => {
            if (ctx.ratePerSecond) await this.#paces.take(`${ctx.job.source}:${ctx.job.sourceId}`, ctx.ratePerSecond);
            return deliver(ctx.job.tenantId, ctx.job.sourceId, row);
          });
          await ctx.writer.record({ row, status: d.status, response: d.response, transport: d.transport });
          if (d.status === 'sent') sent++;
        } catch (err) {
          this.#deps.log.warn({ err, source: ctx.job.source, rowId: row.id }, 'bulk row not delivered');
          await ctx.writer.record({ row, status: 'deferred', response: (err as Error).message ?? String(err) });
        }
        open.delete(row.id);
      }),
    );
    return sent;
  }

  async #renew(ctx: RunContext, ids: string[]): Promise<void> {
    if (!ids.length) return;
    await inTenant(this.#deps.orm, ctx.actor, (uow) =>
      uow.em.execute(
        `update bulk_sends set next_attempt_at = now() + ? * interval '1 second'
          where id in (select jsonb_array_elements_text(?::jsonb)::uuid) and tenant_id = ? and status = 'sending'`,
        [this.#deps.settings.leaseSeconds, JSON.stringify(ids), ctx.job.tenantId],
      ),
    );
  }

  /** Nothing due now: a job at the next row's time (a retry, or a lease that may end), or the end of a source. */
  async #next(ctx: RunContext): Promise<void> {
    const { job } = ctx;
    await inTenant(this.#deps.orm, ctx.actor, async (uow) => {
      const [row] = (await uow.em.execute(
        `select min(next_attempt_at) filter (where status in ('pending', 'deferred', 'sending')
                                           and next_attempt_at < 'infinity') as next,
                count(*)::int as total
           from bulk_sends where tenant_id = ? and source = ? and source_id = ?`,
        [job.tenantId, job.source, job.sourceId],
      )) as { next: Date | null; total: number }[];
      if (row?.next) await this.#deps.queue.send(BULK_DISPATCH_QUEUE, job, { uow, startAfter: new Date(row.next) });
      // A source with no recipient at all finishes at its first dispatch.
      else if (!row?.total) await this.#deps.finishIfDone(uow, job);
    });
  }

  async #later(actor: Actor, job: BulkDispatchJob, at: Date): Promise<void> {
    await inTenant(this.#deps.orm, actor, (uow) =>
      this.#deps.queue.send(BULK_DISPATCH_QUEUE, job, { uow, startAfter: at }),
    );
  }
}

/** A mailbox's transport columns (plain SQL on the hot path; the secrets stay encrypted until used). */
type LoadedMailbox = Mailbox & { kind: 'shared' | 'account' | 'messaging' };

async function loadMailbox(em: UnitOfWork['em'], id: string): Promise<LoadedMailbox | null> {
  const [m] = (await em.execute(
    `select id, kind, smtp_host, smtp_port, smtp_secure, smtp_user, smtp_password_enc, dkim_selector,
            dkim_private_key_enc from mailboxes where id = ?`,
    [id],
  )) as Record<string, unknown>[];
  if (!m) return null;
  return {
    id: m.id,
    kind: m.kind,
    smtpHost: m.smtp_host,
    smtpPort: m.smtp_port,
    smtpSecure: m.smtp_secure,
    smtpUser: m.smtp_user,
    smtpPasswordEnc: m.smtp_password_enc,
    dkimSelector: m.dkim_selector,
    dkimPrivateKeyEnc: m.dkim_private_key_enc,
  } as unknown as LoadedMailbox;
}
