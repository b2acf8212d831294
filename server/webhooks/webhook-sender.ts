import type { MikroORM } from '../../db/orm.ts';
import { DrainLoop } from '../jobs/drain-loop.ts';
import type { Logger } from '../logger.ts';
import type { Secrets } from '../crypto/secrets.ts';
import { HttpTargetRefused, safeUrl, type HttpTargetPolicy } from '../net/http-target.ts';
import type { NotificationsService } from '../timeline/notifications.service.ts';
import { inTenant, systemActor, type UnitOfWork } from '../tenancy.ts';
import type { WebhooksConfig } from './webhooks.config.ts';
import { SECRET_PURPOSE, webhookSignature } from './signing.ts';

interface Claimed {
  id: string;
  webhook_id: string;
  event: string;
  payload: Record<string, unknown>;
  expires_at: Date | string;
  url: string;
  secret_enc: string;
}

interface Outcome {
  status: number | null;
  excerpt: string | null;
  error: string | null;
  durationMs: number | null;
}

const EXCERPT_BYTES = 1024;
/** The longest wait between two attempts, whatever the backoff says. */
const MAX_DELAY_MS = 3_600_000;
/** Deliveries claimed per transaction, and sent at once, per workspace. */
const BATCH = 10;

/**
 * Sends pending deliveries: claims the due ones of a workspace under `for update skip locked` (several nodes never
 * claim one twice) and leases them past the timeout, sends outside the transaction, then records the outcome. A
 * delivery waits while an earlier one of the same webhook and record is pending, so a record's events arrive in
 * order. 2xx is delivered; anything else is retried with exponential backoff and jitter until the window closes.
 * A webhook failing `disableAfter` times in a row turns itself off and its owner is notified.
 */
export class WebhookSender {
  readonly #orm: MikroORM;
  readonly #policy: HttpTargetPolicy;
  readonly #secrets: Secrets;
  readonly #notifications: NotificationsService;
  readonly #config: WebhooksConfig;
  readonly #log: Logger;
  readonly #loop: DrainLoop;

  constructor(deps: {
    orm: MikroORM;
    policy: HttpTargetPolicy;
    secrets: Secrets;
    notifications: NotificationsService;
    config: WebhooksConfig;
    log: Logger;
  }) {
    this.#orm = deps.orm;
    this.#policy = deps.policy;
    this.#secrets = deps.secrets;
    this.#notifications = deps.notifications;
    this.#config = deps.config;
    this.#log = deps.log;
    this.#loop = new DrainLoop((tenantIds) => this.sendDue(tenantIds), deps.log, 'webhook sweep');
  }

  /** New deliveries committed in this process: sent at once on a worker (others find them by polling). */
  wake(tenantId: string): void {
    this.#loop.wake(tenantId);
  }

  run(): void {
    // Retries come due at the backoff's pace: poll at about that pace (fast in tests, every 5 s at most).
    this.#loop.run(Math.min(Math.max(this.#config.retryBaseMs, 100), 5_000));
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** Sends what is due in these workspaces (all of them by default); answers how many attempts were made. */
  async sendDue(tenantIds?: string[]): Promise<number> {
    const tenants =
      tenantIds ??
      (
        (await this.#orm.em.getConnection().execute(`select tenant_id from filo_webhooks_due(200)`)) as {
          tenant_id: string;
        }[]
      ).map((r) => r.tenant_id);
    let attempts = 0;
    for (const tenantId of tenants) {
      for (;;) {
        const claimed = await this.#claim(tenantId);
        if (!claimed.length) break;
        await Promise.all(claimed.map((c) => this.#attempt(tenantId, c)));
        attempts += claimed.length;
      }
    }
    return attempts;
  }

  /** One delivery now, due or not (a test ping, a resend): answers false when another node holds it. */
  async sendNow(tenantId: string, deliveryId: string): Promise<boolean> {
    const claimed = await this.#claim(tenantId, deliveryId);
    for (const c of claimed) await this.#attempt(tenantId, c);
    return claimed.length > 0;
  }

  #claim(tenantId: string, only?: string): Promise<Claimed[]> {
    return inTenant(this.#orm, systemActor(tenantId), async ({ em }) => {
      const rows = (await em.execute(
        `select d.id, d.webhook_id, d.event, d.payload, d.expires_at, w.url, w.secret_enc
           from webhook_deliveries d join webhooks w on w.id = d.webhook_id
          where d.tenant_id = ? and d.status = 'pending' and w.active
            and ${only ? 'd.id = ?' : 'd.next_attempt_at <= now()'}
            and not exists (
              select 1 from webhook_deliveries e
               where e.tenant_id = d.tenant_id and e.webhook_id = d.webhook_id and e.record_key = d.record_key
                 and e.status = 'pending' and e.activity_seq < d.activity_seq)
          order by d.activity_seq nulls first, d.created_at
          limit ${BATCH}
          for update of d skip locked`,
        only ? [tenantId, only] : [tenantId],
      )) as Claimed[];
      if (!rows.length) return [];
      // The lease: past the timeout, a node that died mid-send leaves the delivery to be tried again.
      await em.execute(
        `update webhook_deliveries set next_attempt_at = now() + make_interval(secs => ?) where id = any(?::uuid[])`,
        [this.#config.timeoutMs / 1000 + 30, `{${rows.map((r) => r.id).join(',')}}`],
      );
      return rows;
    });
  }

  async #attempt(tenantId: string, c: Claimed): Promise<void> {
    let outcome: Outcome;
    try {
      const body = JSON.stringify(c.payload);
      const secret = this.#secrets.decrypt(c.secret_enc, SECRET_PURPOSE);
      const res = await this.#policy.post(
        c.url,
        body,
        { 'filo-signature': webhookSignature(secret, body), 'filo-event': c.event, 'filo-delivery': c.id },
        { timeoutMs: this.#config.timeoutMs, maxBody: EXCERPT_BYTES },
      );
      outcome = { status: res.status, excerpt: res.body, error: null, durationMs: res.durationMs };
    } catch (err) {
      const error =
        err instanceof HttpTargetRefused ? `${err.code}: ${err.message}` : (err as Error).message || String(err);
      if (err instanceof HttpTargetRefused)
        this.#log.warn({ url: safeUrl(c.url), detail: err.detail }, 'webhook target refused at send');
      outcome = { status: null, excerpt: null, error: error.slice(0, 500), durationMs: null };
    }
    try {
      await inTenant(this.#orm, systemActor(tenantId), (uow) => this.#record(uow, c, outcome));
    } catch (err) {
      this.#log.warn({ err, deliveryId: c.id }, 'webhook outcome not recorded (the lease retries it)');
    }
  }

  async #record(uow: UnitOfWork, c: Claimed, o: Outcome): Promise<void> {
    const { em } = uow;
    const ok = o.status !== null && o.status >= 200 && o.status < 300;
    const ping = c.event === 'webhook.ping';
    if (ok) {
      await em.execute(
        `update webhook_deliveries set status = 'delivered', attempts = attempts + 1, last_attempt_at = now(),
                delivered_at = now(), response_status = ?, response_excerpt = ?, error = null, duration_ms = ?
          where id = ?`,
        [o.status, o.excerpt, o.durationMs, c.id],
      );
      if (!ping) await em.execute(`update webhooks set consecutive_failures = 0 where id = ?`, [c.webhook_id]);
      return;
    }
    const [{ attempts }] = (await em.execute(
      `update webhook_deliveries set attempts = attempts + 1, last_attempt_at = now(), response_status = ?,
              response_excerpt = ?, error = ?, duration_ms = ?
        where id = ? returning attempts`,
      [o.status, o.excerpt, o.error ?? (o.status ? `HTTP ${o.status}` : null), o.durationMs, c.id],
    )) as [{ attempts: number }];
    const delay = Math.min(MAX_DELAY_MS, this.#config.retryBaseMs * 2 ** (attempts - 1)) * (0.8 + Math.random() * 0.4);
    const next = new Date(Date.now() + delay);
    // A test ping is tried once; a delivery until its window closes.
    const final = ping || next.getTime() >= new Date(c.expires_at).getTime();
    await em.execute(`update webhook_deliveries set status = ?, next_attempt_at = ? where id = ?`, [
      final ? 'failed' : 'pending',
      final ? new Date() : next,
      c.id,
    ]);
    if (ping) return;
    const [hook] = (await em.execute(
      `update webhooks set consecutive_failures = consecutive_failures + 1 where id = ?
       returning consecutive_failures, active, created_by, url`,
      [c.webhook_id],
    )) as { consecutive_failures: number; active: boolean; created_by: string | null; url: string }[];
    if (hook && hook.active && hook.consecutive_failures >= this.#config.disableAfter)
      await this.#disable(uow, c.webhook_id, hook.created_by, hook.url, hook.consecutive_failures);
  }

  async #disable(uow: UnitOfWork, webhookId: string, ownerId: string | null, url: string, failures: number) {
    const reason = `${failures} failed deliveries in a row`;
    await uow.em.execute(`update webhooks set active = false, disabled_reason = ?, updated_at = now() where id = ?`, [
      reason,
      webhookId,
    ]);
    // The owner, or the workspace's admins when the owner has left (someone must hear that events stopped).
    const recipients = (await uow.em.execute(
      `select user_id::text as id from memberships where tenant_id = ?
          and (user_id = ? or (not exists (select 1 from memberships m where m.tenant_id = ? and m.user_id = ?)
               and role in ('owner', 'admin')))`,
      [uow.actor.tenantId, ownerId, uow.actor.tenantId, ownerId],
    )) as { id: string }[];
    const shown = safeUrl(url);
    for (const r of recipients)
      await this.#notifications.create(uow, r.id, {
        type: 'webhook_disabled',
        title: `Webhook to ${shown} turned off: ${reason}`,
        data: { webhookId, url: shown, reason },
      });
    this.#log.warn({ webhookId, url: shown, failures }, 'webhook disabled after repeated failures');
  }
}
