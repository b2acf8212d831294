import { TransactionPropagation } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { MikroORM } from '../../../db/orm.ts';
import type { ConsentService } from '../../consent/consent.service.ts';
import type { Logger } from '../../logger.ts';
import { inTenant, type Actor, type UnitOfWork } from '../../tenancy.ts';
import type { FeedbackListeners } from './feedback.ts';
import { bumpStats } from './stats.ts';
import type { BulkDispatchJob, BulkHandler, BulkRecipientRow, BulkSettings } from './types.ts';

/** What happened to one claimed row. */
export interface Outcome {
  row: BulkRecipientRow;
  status: 'sent' | 'deferred' | 'bounced' | 'failed';
  response: string;
  transport?: string | undefined;
  /** A 5.1.x / 5.7.x refusal: the address is suppressed for the whole channel. */
  suppress?: boolean;
}

interface Pending extends Outcome {
  done: () => void;
  fail: (err: unknown) => void;
}

interface OutcomeDeps {
  orm: MikroORM;
  actor: Actor;
  job: BulkDispatchJob;
  handler: BulkHandler;
  consent: ConsentService;
  settings: BulkSettings;
  log: Logger;
  finishIfDone: (uow: UnitOfWork, job: BulkDispatchJob) => Promise<boolean>;
  /** The sources' feedback listeners: a refusal at send time is a bounce they hear of. */
  listeners?: FeedbackListeners;
  /** Told each outcome once it is written (the metrics' outbound sends). */
  onOutcome?: (status: Outcome['status']) => void;
}

/**
 * A source's callback in a savepoint of the engine's transaction: if it throws, its work is undone and logged, and
 * the outcomes around it are still written (a row marked sent is never sent again because a callback failed).
 */
export async function inSavepoint(
  uow: UnitOfWork,
  log: Logger,
  what: string,
  fn: (uow: UnitOfWork) => Promise<void>,
): Promise<void> {
  try {
    await uow.em.transactional((tx) => fn({ ...uow, em: tx as EntityManager }), {
      propagation: TransactionPropagation.NESTED,
    });
  } catch (err) {
    log.error({ err }, `bulk source's ${what} failed (the send outcomes are kept)`);
  }
}

const FLUSH_ROWS = 64;
const FLUSH_MS = 5;
const MAX_DELAY_S = 6 * 3600;

/**
 * Marks rows as their SMTP answers arrive, a few at a time: outcomes collected for a few milliseconds (or 64 rows)
 * are written by one `update ... from jsonb_to_recordset(...)` with their counters, suppressions and the source's `onSent` in
 * one transaction. `record()` resolves only once its row is written: nothing is reported before it is stored.
 */
export class OutcomeWriter {
  readonly #queue: Pending[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  readonly deps: OutcomeDeps;

  constructor(deps: OutcomeDeps) {
    this.deps = deps;
  }

  record(outcome: Outcome): Promise<void> {
    return new Promise<void>((done, fail) => {
      this.#queue.push({ ...outcome, done, fail });
      if (this.#queue.length >= FLUSH_ROWS) this.#kick();
      else this.#timer ??= setTimeout(() => this.#kick(), FLUSH_MS);
    });
  }

  #kick(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    // One flush at a time: each takes what has gathered since the last one.
    this.#flushing = this.#flushing.then(() => this.#flush());
  }

  async #flush(): Promise<void> {
    const batch = this.#queue.splice(0, this.#queue.length);
    if (!batch.length) return;
    let lastErr: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.#write(batch);
        for (const p of batch) this.deps.onOutcome?.(p.status);
        for (const p of batch) p.done();
        return;
      } catch (err) {
        lastErr = err;
        this.deps.log.warn({ err, rows: batch.length, attempt }, 'bulk outcomes not written; trying again');
      }
    }
    for (const p of batch) p.fail(lastErr);
  }

  /** A 4xx waits retryDelay * 2^(attempts-1) seconds; past the attempts allowed the row fails. */
  #final(o: Outcome): { status: Outcome['status']; delay: number } {
    if (o.status !== 'deferred') return { status: o.status, delay: 0 };
    const { retryDelay, maxAttempts } = this.deps.settings;
    if (o.row.attempts >= maxAttempts) return { status: 'failed', delay: 0 };
    return { status: 'deferred', delay: Math.min(MAX_DELAY_S, retryDelay * 2 ** Math.max(0, o.row.attempts - 1)) };
  }

  async #write(batch: Outcome[]): Promise<void> {
    const { job, handler, consent } = this.deps;
    await inTenant(this.deps.orm, this.deps.actor, async (uow) => {
      const finals = batch.map((o) => ({ o, ...this.#final(o) }));
      const written = (await uow.em.execute(
        // A DSN that came back before the server's 250 was written left bounced_at: the row ends bounced, with its reason.
        `update bulk_sends b set status = case when v.status = 'sent' and b.bounced_at is not null then 'bounced' else v.status end,
                last_response = case when v.status = 'sent' and b.bounced_at is not null then b.last_response else v.response end,
                transport = coalesce(v.transport, b.transport),
                sent_at = case when v.status = 'sent' then now() else b.sent_at end,
                bounced_at = case when v.status = 'bounced' then now() else b.bounced_at end,
                next_attempt_at = case when v.status = 'deferred' then now() + v.delay * interval '1 second'
                                       else b.next_attempt_at end
           from jsonb_to_recordset(?::jsonb) as v(id uuid, status text, response text, transport text, delay float8)
          where b.id = v.id and b.tenant_id = ? and b.status = 'sending'
          returning b.id`,
        // One JSON value: em.execute() inlines parameters, and would spread an array into a list.
        [
          JSON.stringify(
            finals.map((f) => ({
              id: f.o.row.id,
              status: f.status,
              response: f.o.response.slice(0, 2000),
              transport: f.o.transport ?? null,
              delay: f.delay,
            })),
          ),
          job.tenantId,
        ],
      )) as { id: string }[];
      const mine = new Set(written.map((r) => r.id));
      const counts = new Map<string, Record<string, number>>();
      const sent: Outcome['row'][] = [];
      let terminal = 0;
      for (const f of finals) {
        if (!mine.has(f.o.row.id)) continue;
        const variant = f.o.row.variant ?? '';
        const c = counts.get(variant) ?? {};
        c[f.status] = (c[f.status] ?? 0) + 1;
        // `sent` counts what a server answered for, refused there and then included: delivered = sent - bounced.
        if (f.status === 'bounced') c.sent = (c.sent ?? 0) + 1;
        counts.set(variant, c);
        if (f.status !== 'deferred') terminal++;
        if (f.status === 'sent') sent.push(f.o.row);
        if (f.status === 'bounced' && f.o.suppress)
          await consent.set(uow, {
            channel: 'email',
            address: f.o.row.address,
            listId: null,
            status: 'bounced',
            source: 'bounce',
            contactId: f.o.row.contactId,
          });
      }
      for (const [variant, c] of counts) await bumpStats(uow.em, { ...job, variant }, c);
      const bounced = finals.filter((f) => f.status === 'bounced' && mine.has(f.o.row.id)).map((f) => f.o.row);
      const listeners = this.deps.listeners;
      if (bounced.length && listeners)
        await inSavepoint(uow, this.deps.log, 'feedback', async (u) => {
          for (const r of bounced)
            await listeners.emit(u, {
              kind: 'bounced',
              sendId: r.id,
              source: job.source,
              sourceId: job.sourceId,
              contactId: r.contactId,
              address: r.address,
              atSend: true,
            });
        });
      const onSent = handler.onSent?.bind(handler);
      if (sent.length && onSent) await inSavepoint(uow, this.deps.log, 'onSent', (u) => onSent(u, job.sourceId, sent));
      if (terminal) await this.deps.finishIfDone(uow, job);
    });
  }

  /** Resolves once everything recorded so far is written. */
  async drain(): Promise<void> {
    if (this.#queue.length) this.#kick();
    await this.#flushing;
  }
}
