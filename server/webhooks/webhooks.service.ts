import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import type { MikroORM } from '../../db/orm.ts';
import type { Webhook, WebhookDelivery, webhookCreate, webhookUpdate } from '#contracts/webhooks';
import type { Secrets } from '../crypto/secrets.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { HttpTargetRefused, type HttpTargetPolicy } from '../net/http-target.ts';
import { audit } from '../audit/record.ts';
import { requireScope } from '../auth/scopes.ts';
import type { EventFeed } from '../timeline/feed.ts';
import { inTenant, requireRole, type Actor, type UnitOfWork } from '../tenancy.ts';
import type { WebhooksConfig } from './webhooks.config.ts';
import { newWebhookSecret, SECRET_PURPOSE, webhookSignature } from './signing.ts';
import type { WebhookSender } from './webhook-sender.ts';
import { WEBHOOKS_CONSUMER } from './webhook-events.ts';

interface HookRow {
  id: string;
  url: string;
  description: string | null;
  events: string[];
  active: boolean;
  disabled_reason: string | null;
  consecutive_failures: number;
  created_by: string | null;
  creator_name: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

interface DeliveryRow {
  id: string;
  event: string;
  activity_id: string | null;
  record_key: string | null;
  status: WebhookDelivery['status'];
  attempts: number;
  response_status: number | null;
  response_excerpt: string | null;
  error: string | null;
  duration_ms: number | null;
  next_attempt_at: Date | string | null;
  last_attempt_at: Date | string | null;
  delivered_at: Date | string | null;
  created_at: Date | string;
}

const iso = (d: Date | string) => new Date(d).toISOString();
const isoOrNull = (d: Date | string | null) => (d ? iso(d) : null);

const mapHook = (r: HookRow): Webhook => ({
  id: r.id,
  url: r.url,
  description: r.description,
  events: r.events,
  active: r.active,
  disabledReason: r.disabled_reason,
  consecutiveFailures: r.consecutive_failures,
  createdBy: r.created_by ? { id: r.created_by, name: r.creator_name ?? '' } : null,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

const mapDelivery = (r: DeliveryRow): WebhookDelivery => {
  const [recordType, recordId] = r.record_key ? r.record_key.split(':') : [null, null];
  return {
    id: r.id,
    event: r.event,
    activityId: r.activity_id,
    recordType: recordType ?? null,
    recordId: recordId ?? null,
    status: r.status,
    attempts: r.attempts,
    responseStatus: r.response_status,
    responseExcerpt: r.response_excerpt,
    error: r.error,
    durationMs: r.duration_ms,
    nextAttemptAt: r.status === 'pending' ? isoOrNull(r.next_attempt_at) : null,
    lastAttemptAt: isoOrNull(r.last_attempt_at),
    deliveredAt: isoOrNull(r.delivered_at),
    createdAt: iso(r.created_at),
  };
};

const HOOK_SELECT = `select w.*, u.name as creator_name from webhooks w left join users u on u.id = w.created_by`;
const DELIVERY_COLUMNS = `id, event, activity_id, record_key, status, attempts, response_status, response_excerpt,
  error, duration_ms, next_attempt_at, last_attempt_at, delivered_at, created_at`;

/** What the audit log keeps of a webhook: never its secret, never the URL's query (it may carry a token). */
const audited = (h: Webhook) => ({
  url: h.url.split('?')[0],
  events: h.events,
  active: h.active,
  description: h.description,
});

/**
 * Outbound webhooks: owners and admins manage them (the URL may carry a receiver's token; the secret speaks for the
 * workspace); every route also needs the token grant `webhooks`. The URL is checked against the outbound HTTP guard
 * when saved and again at each send.
 */
export class WebhooksService {
  readonly #orm: MikroORM;
  readonly #secrets: Secrets;
  readonly #policy: HttpTargetPolicy;
  readonly #feed: EventFeed;
  readonly #sender: WebhookSender;
  readonly #config: WebhooksConfig;

  constructor(deps: {
    orm: MikroORM;
    secrets: Secrets;
    policy: HttpTargetPolicy;
    feed: EventFeed;
    sender: WebhookSender;
    config: WebhooksConfig;
  }) {
    this.#orm = deps.orm;
    this.#secrets = deps.secrets;
    this.#policy = deps.policy;
    this.#feed = deps.feed;
    this.#sender = deps.sender;
    this.#config = deps.config;
  }

  /** The outbound HTTP guard (tests replace its `lookup`). */
  get targets(): HttpTargetPolicy {
    return this.#policy;
  }

  #manage(actor: Actor, access: 'read' | 'write'): void {
    requireScope(actor, 'webhooks', access);
    requireRole(actor, 'owner', 'admin');
  }

  async #checkUrl(url: string): Promise<void> {
    try {
      await this.#policy.resolve(url);
    } catch (err) {
      if (err instanceof HttpTargetRefused) throw new HttpError(400, err.code, err.message);
      throw err;
    }
  }

  async #find(uow: UnitOfWork, id: string): Promise<Webhook> {
    const [row] = (await uow.em.execute(`${HOOK_SELECT} where w.id = ?`, [id])) as HookRow[];
    if (!row) throw notFound('Webhook');
    return mapHook(row);
  }

  list(actor: Actor): Promise<Webhook[]> {
    this.#manage(actor, 'read');
    return inTenant(this.#orm, actor, async ({ em }) =>
      ((await em.execute(`${HOOK_SELECT} order by w.created_at`)) as HookRow[]).map(mapHook),
    );
  }

  get(actor: Actor, id: string): Promise<Webhook> {
    this.#manage(actor, 'read');
    return inTenant(this.#orm, actor, (uow) => this.#find(uow, id));
  }

  async create(actor: Actor, input: z.infer<typeof webhookCreate>): Promise<{ webhook: Webhook; secret: string }> {
    this.#manage(actor, 'write');
    await this.#checkUrl(input.url);
    const secret = newWebhookSecret();
    return inTenant(this.#orm, actor, async (uow) => {
      const id = randomUUID();
      await uow.em.execute(
        `insert into webhooks (id, tenant_id, url, description, events, active, secret_enc, created_by)
         values (?, ?, ?, ?, ?::jsonb, ?, ?, ?)`,
        [
          id,
          actor.tenantId,
          input.url,
          input.description ?? null,
          JSON.stringify([...new Set(input.events)]),
          input.active ?? true,
          this.#secrets.encrypt(secret, SECRET_PURPOSE),
          actor.system ? null : actor.userId,
        ],
      );
      // From now on the workspace's activities are read for webhooks (a no-op when they already are).
      await this.#feed.start(uow, WEBHOOKS_CONSUMER);
      const webhook = await this.#find(uow, id);
      await audit(uow, {
        action: 'webhook.created',
        targetType: 'webhook',
        targetId: id,
        summary: `Webhook to ${audited(webhook).url} created`,
        after: audited(webhook),
      });
      return { webhook, secret };
    });
  }

  async update(actor: Actor, id: string, patch: z.infer<typeof webhookUpdate>): Promise<Webhook> {
    this.#manage(actor, 'write');
    if (patch.url !== undefined) await this.#checkUrl(patch.url);
    return inTenant(this.#orm, actor, async (uow) => {
      const before = await this.#find(uow, id);
      const sets: string[] = ['updated_at = now()', 'version = version + 1'];
      const params: unknown[] = [];
      const set = (sql: string, value: unknown) => {
        sets.push(sql);
        params.push(value);
      };
      if (patch.url !== undefined) set('url = ?', patch.url);
      if (patch.description !== undefined) set('description = ?', patch.description);
      if (patch.events !== undefined) set('events = ?::jsonb', JSON.stringify([...new Set(patch.events)]));
      if (patch.active !== undefined) set('active = ?', patch.active);
      // Turned on again by hand: the failure count starts over.
      if (patch.active) sets.push('disabled_reason = null', 'consecutive_failures = 0');
      await uow.em.execute(`update webhooks set ${sets.join(', ')} where id = ?`, [...params, id]);
      const after = await this.#find(uow, id);
      await audit(uow, {
        action: 'webhook.updated',
        targetType: 'webhook',
        targetId: id,
        summary: `Webhook to ${audited(after).url} changed`,
        before: audited(before),
        after: audited(after),
      });
      if (after.active) uow.afterCommit(() => this.#sender.wake(actor.tenantId));
      return after;
    });
  }

  remove(actor: Actor, id: string): Promise<void> {
    this.#manage(actor, 'write');
    return inTenant(this.#orm, actor, async (uow) => {
      const before = await this.#find(uow, id);
      await uow.em.execute(`delete from webhooks where id = ?`, [id]);
      await audit(uow, {
        action: 'webhook.deleted',
        targetType: 'webhook',
        targetId: id,
        summary: `Webhook to ${audited(before).url} deleted`,
        before: audited(before),
      });
    });
  }

  /** A new secret, shown in this answer only; the old one stops signing at once. */
  rotateSecret(actor: Actor, id: string): Promise<{ webhook: Webhook; secret: string }> {
    this.#manage(actor, 'write');
    const secret = newWebhookSecret();
    return inTenant(this.#orm, actor, async (uow) => {
      await this.#find(uow, id);
      await uow.em.execute(`update webhooks set secret_enc = ?, updated_at = now() where id = ?`, [
        this.#secrets.encrypt(secret, SECRET_PURPOSE),
        id,
      ]);
      const webhook = await this.#find(uow, id);
      await audit(uow, {
        action: 'webhook.updated',
        targetType: 'webhook',
        targetId: id,
        summary: `Webhook to ${audited(webhook).url}: secret rotated`,
      });
      return { webhook, secret };
    });
  }

  deliveries(actor: Actor, id: string, limit: number): Promise<WebhookDelivery[]> {
    this.#manage(actor, 'read');
    return inTenant(this.#orm, actor, async (uow) => {
      await this.#find(uow, id);
      const rows = (await uow.em.execute(
        `select ${DELIVERY_COLUMNS} from webhook_deliveries where webhook_id = ? order by created_at desc, activity_seq desc nulls last limit ?`,
        [id, limit],
      )) as DeliveryRow[];
      return rows.map(mapDelivery);
    });
  }

  async #delivery(uow: UnitOfWork, webhookId: string, deliveryId: string): Promise<WebhookDelivery> {
    const [row] = (await uow.em.execute(
      `select ${DELIVERY_COLUMNS} from webhook_deliveries where id = ? and webhook_id = ?`,
      [deliveryId, webhookId],
    )) as DeliveryRow[];
    if (!row) throw notFound('Delivery');
    return mapDelivery(row);
  }

  /** The same body again, from now: pending with a fresh retry window (a delivered one too: the receiver asked). */
  async resend(actor: Actor, id: string, deliveryId: string): Promise<WebhookDelivery> {
    this.#manage(actor, 'write');
    await inTenant(this.#orm, actor, async (uow) => {
      await this.#find(uow, id);
      await this.#delivery(uow, id, deliveryId);
      await uow.em.execute(
        `update webhook_deliveries set status = 'pending', next_attempt_at = now(), delivered_at = null,
                expires_at = now() + make_interval(secs => ?) where id = ?`,
        [this.#config.retryWindowSeconds, deliveryId],
      );
    });
    await this.#sender.sendNow(actor.tenantId, deliveryId);
    return inTenant(this.#orm, actor, (uow) => this.#delivery(uow, id, deliveryId));
  }

  /** A signed `webhook.ping` now, its outcome in the answer and in the log. */
  async ping(actor: Actor, id: string): Promise<WebhookDelivery> {
    this.#manage(actor, 'write');
    const deliveryId = randomUUID();
    await inTenant(this.#orm, actor, async (uow) => {
      const hook = await this.#find(uow, id);
      if (!hook.active) throw new HttpError(409, 'webhook_inactive', 'Turn the webhook on to test it');
      const body = {
        id: deliveryId,
        type: 'webhook.ping',
        occurredAt: new Date().toISOString(),
        tenant: { id: actor.tenantId },
        data: { webhookId: id },
      };
      await uow.em.execute(
        `insert into webhook_deliveries (id, tenant_id, webhook_id, event, payload, expires_at)
         values (?, ?, ?, 'webhook.ping', ?::jsonb, now())`,
        [deliveryId, actor.tenantId, id, JSON.stringify(body)],
      );
    });
    await this.#sender.sendNow(actor.tenantId, deliveryId);
    return inTenant(this.#orm, actor, (uow) => this.#delivery(uow, id, deliveryId));
  }

  /**
   * One signed POST now (the workflows' "call a webhook"): the outbound guard applies; a refused URL is a 400.
   * Answers the receiver's status and the first bytes of its answer; no retries (the caller's run retries).
   */
  async callOnce(
    actor: Actor,
    input: { url: string; body: unknown; secret?: string },
  ): Promise<{ ok: boolean; status: number; body: string; durationMs: number }> {
    requireScope(actor, 'webhooks', 'write');
    const body = JSON.stringify(input.body);
    const headers: Record<string, string> = { 'filo-event': 'workflow.call', 'filo-delivery': randomUUID() };
    if (input.secret) headers['filo-signature'] = webhookSignature(input.secret, body);
    try {
      const res = await this.#policy.post(input.url, body, headers, { timeoutMs: this.#config.timeoutMs });
      return { ok: res.status >= 200 && res.status < 300, ...res };
    } catch (err) {
      if (err instanceof HttpTargetRefused) throw new HttpError(400, err.code, err.message);
      throw err;
    }
  }
}
