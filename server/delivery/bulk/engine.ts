import type { EntityManager } from '@mikro-orm/postgresql';
import type { SendSource } from '#contracts/delivery';
import type { ConsentService } from '../../consent/consent.service.ts';
import type { Secrets } from '../../crypto/secrets.ts';
import type { JobQueue } from '../../jobs/queue.ts';
import type { Logger } from '../../logger.ts';
import type { MikroORM } from '../../../db/orm.ts';
import type { UnitOfWork } from '../../tenancy.ts';
import type { Mailer } from '../mailer.ts';
import { BulkDispatcher } from './dispatcher.ts';
import { FeedbackListeners, type FeedbackListener } from './feedback.ts';
import { inSavepoint } from './outcomes.ts';
import { bumpStats } from './stats.ts';
import type { BulkTokens } from './tokens.ts';
import { BulkTransports, type AccountSmtpResolver } from './transport.ts';
import { BULK_DISPATCH_QUEUE, type BulkDispatchJob, type BulkHandler, type BulkSettings } from './types.ts';

export * from './types.ts';

export interface EnqueueInput {
  source: SendSource;
  sourceId: string;
  /** Recipients: a query with the columns `contact_id uuid, address text` (deduplicated by address). */
  select: { sql: string; params: unknown[] };
  /** A/B: the test share split by weights; the remainder is held until `release()`. */
  split?: { variants: { key: string; weight: number }[]; testPercent: number };
}

export interface BulkEngineDeps {
  orm: MikroORM;
  queue: JobQueue;
  consent: ConsentService;
  tokens: BulkTokens;
  mailer: Mailer;
  secrets: Secrets;
  publicUrl: string;
  inboundDomain: string;
  relayUrl: string | undefined;
  settings: BulkSettings;
  log: Logger;
  /** Rows of a member's account mailbox go through the account's SMTP (wired from server/services.ts). */
  accountSmtp?: AccountSmtpResolver;
}

/** Exact shares of `total` by weight: floors, then the largest remainders get one more each. */
export function apportion(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (!sum) return weights.map(() => 0);
  const exact = weights.map((w) => (total * w) / sum);
  const out = exact.map(Math.floor);
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left-- <= 0) break;
    out[i]!++;
  }
  return out;
}

/**
 * The shared bulk delivery engine (`services.bulk`): sources (campaigns, sequences, bulk messages) register a handler;
 * `enqueue` freezes their recipients into `bulk_sends`, `start` queues a dispatch job, and the dispatcher claims
 * due rows in batches across nodes, checks consent in the claim's transaction, sends through the source's
 * transport and marks each row as its SMTP answer arrives.
 */
export class BulkEngine {
  readonly #handlers = new Map<SendSource, BulkHandler>();
  readonly #deps: BulkEngineDeps;
  readonly transports: BulkTransports;
  readonly dispatcher: BulkDispatcher;
  /** What recipients say back about each source's rows (`onFeedback`), heard in the transaction that marks them. */
  readonly feedbackListeners = new FeedbackListeners();

  constructor(deps: BulkEngineDeps) {
    this.#deps = deps;
    this.transports = new BulkTransports({
      mailer: deps.mailer,
      relayUrl: deps.relayUrl,
      settings: deps.settings,
      log: deps.log,
    });
    this.dispatcher = new BulkDispatcher({
      ...deps,
      transports: this.transports,
      handler: (source) => this.#handlers.get(source),
      cancelRows: (uow, job) => this.#cancelRows(uow, job),
      finishIfDone: (uow, job) => this.finishIfDone(uow, job),
      listeners: this.feedbackListeners,
    });
  }

  /** A source's listener of replies, out-of-office, bounces (DSN or 5xx), complaints and unsubscribes of its rows. */
  onFeedback(source: SendSource, listener: FeedbackListener): void {
    this.feedbackListeners.on(source, listener);
  }

  register(handler: BulkHandler): void {
    this.#handlers.set(handler.source, handler);
  }

  /** `<workspace slug>.<INBOUND_DOMAIN>`: the domain of Message-IDs, VERP and unsubscribe addresses. */
  async returnDomain(em: EntityManager, tenantId: string): Promise<string> {
    const [row] = (await em.execute(`select slug from tenants where id = ?`, [tenantId])) as { slug: string }[];
    return `${(row?.slug ?? 'workspace').toLowerCase()}.${this.#deps.inboundDomain}`;
  }

  /**
   * Freezes the recipients in one insert ... select (message ids made in SQL); with a split, the first
   * floor(N * testPercent / 100) rows in a random order go to the variants by weight (largest remainder) and the
   * rest are held (variant null, due at 'infinity') until `release()`. Bumps `recipients` per variant ('' = none).
   */
  async enqueue(
    uow: UnitOfWork,
    input: EnqueueInput,
  ): Promise<{ recipients: number; byVariant: Record<string, number> }> {
    const { em, actor } = uow;
    const tenantId = actor.tenantId;
    const domain = await this.returnDomain(em, tenantId);
    const distinct = `select distinct on (lower(s.address)) s.contact_id::uuid as contact_id, s.address::text as address
        from (${input.select.sql}) s where s.address is not null and s.address <> ''
        order by lower(s.address), s.contact_id`;
    let variantSql = `null::varchar`;
    let dueSql = `now()`;
    const caseParams: unknown[] = [];
    if (input.split?.variants.length) {
      const [{ n }] = (await em.execute(`select count(*)::int as n from (${distinct}) d`, input.select.params)) as [
        { n: number },
      ];
      const test = Math.floor((n * Math.min(100, Math.max(0, input.split.testPercent))) / 100);
      const shares = apportion(
        test,
        input.split.variants.map((v) => Math.max(0, v.weight)),
      );
      let bound = 0;
      const whens: string[] = [];
      input.split.variants.forEach((v, i) => {
        bound += shares[i]!;
        whens.push(`when rn <= ${bound} then ?`);
        caseParams.push(v.key);
      });
      variantSql = `(case ${whens.join(' ')} else null end)::varchar`;
      dueSql = `case when rn <= ${bound} then now() else 'infinity'::timestamptz end`;
    }
    const rows = (await em.execute(
      `with d as (${distinct}),
            r as (select contact_id, address, row_number() over (order by random()) as rn from d),
            ins as (
              insert into bulk_sends (id, tenant_id, source, source_id, contact_id, address, variant, status,
                                      next_attempt_at, message_id)
              select gen_random_uuid(), ?, ?, ?, contact_id, address, ${variantSql}, 'pending', ${dueSql},
                     replace(gen_random_uuid()::text, '-', '') || '@' || ?
                from r
              on conflict do nothing
              returning variant)
       select coalesce(variant, '') as variant, count(*)::int as n from ins group by 1`,
      [...input.select.params, tenantId, input.source, input.sourceId, ...caseParams, domain],
    )) as { variant: string; n: number }[];
    const byVariant: Record<string, number> = {};
    let recipients = 0;
    for (const r of rows) {
      byVariant[r.variant] = r.n;
      recipients += r.n;
      await bumpStats(
        em,
        { tenantId, source: input.source, sourceId: input.sourceId, variant: r.variant },
        { recipients: r.n },
      );
    }
    return { recipients, byVariant };
  }

  /** The held rows get the winning variant and are due now (a dispatch job is queued). */
  async release(uow: UnitOfWork, source: SendSource, sourceId: string, variant: string): Promise<number> {
    const { em, actor } = uow;
    const [{ n }] = (await em.execute(
      `with u as (update bulk_sends set variant = ?, next_attempt_at = now()
                   where tenant_id = ? and source = ? and source_id = ? and status = 'pending'
                     and variant is null and next_attempt_at = 'infinity'
                   returning 1)
       select count(*)::int as n from u`,
      [variant, actor.tenantId, source, sourceId],
    )) as [{ n: number }];
    if (n) {
      const key = { tenantId: actor.tenantId, source, sourceId };
      await bumpStats(em, { ...key, variant: null }, { recipients: -n });
      await bumpStats(em, { ...key, variant }, { recipients: n });
      await this.start(uow, source, sourceId);
    }
    return n;
  }

  /** Queues a dispatch job in the caller's transaction (also how a paused source resumes). */
  async start(uow: UnitOfWork, source: SendSource, sourceId: string): Promise<void> {
    const job: BulkDispatchJob = { tenantId: uow.actor.tenantId, source, sourceId };
    await this.#deps.queue.send(BULK_DISPATCH_QUEUE, job, { uow });
  }

  /** Rows not yet claimed (pending, deferred, held) are cancelled; rows being sent finish as they are answered. */
  async cancel(uow: UnitOfWork, source: SendSource, sourceId: string): Promise<number> {
    return this.#cancelRows(uow, { tenantId: uow.actor.tenantId, source, sourceId });
  }

  async #cancelRows(uow: UnitOfWork, job: BulkDispatchJob): Promise<number> {
    const rows = (await uow.em.execute(
      `with t as (select id, status, variant from bulk_sends
                   where tenant_id = ? and source = ? and source_id = ? and status in ('pending', 'deferred')
                   for update),
            u as (update bulk_sends b set status = 'cancelled', last_response = 'cancelled'
                    from t where b.id = t.id returning t.status as was, t.variant)
       select coalesce(variant, '') as variant, count(*)::int as n,
              (count(*) filter (where was = 'deferred'))::int as deferred
         from u group by 1`,
      [job.tenantId, job.source, job.sourceId],
    )) as { variant: string; n: number; deferred: number }[];
    let total = 0;
    for (const r of rows) {
      total += r.n;
      await bumpStats(uow.em, { ...job, variant: r.variant }, { cancelled: r.n, deferred: -r.deferred });
    }
    if (total) await this.finishIfDone(uow, job);
    return total;
  }

  /**
   * Called by every transaction that made rows terminal: under the source's advisory lock, the one that leaves no
   * row pending, deferred or sending (it sees the others' committed writes) calls `onFinished`, so it runs once.
   */
  async finishIfDone(uow: UnitOfWork, job: BulkDispatchJob): Promise<boolean> {
    const { em } = uow;
    await em.execute(`select pg_advisory_xact_lock(hashtextextended(?, 7310))`, [`bulk:${job.source}:${job.sourceId}`]);
    const [row] = (await em.execute(
      `select exists (select 1 from bulk_sends where tenant_id = ? and source = ? and source_id = ?
                         and status in ('pending', 'deferred', 'sending')) as busy`,
      [job.tenantId, job.source, job.sourceId],
    )) as { busy: boolean }[];
    if (row?.busy) return false;
    const handler = this.#handlers.get(job.source);
    const onFinished = handler?.onFinished?.bind(handler);
    if (onFinished) await inSavepoint(uow, this.#deps.log, 'onFinished', (u) => onFinished(u, job.sourceId));
    return true;
  }

  /** Runs one dispatch job (the `bulk.dispatch` worker). */
  dispatch(job: BulkDispatchJob): ReturnType<BulkDispatcher['run']> {
    return this.dispatcher.run(job);
  }

  /** Stops claiming, lets the runs in progress write their outcomes, then closes the SMTP pools. */
  async close(): Promise<void> {
    await this.dispatcher.stop();
    this.transports.close();
  }
}
