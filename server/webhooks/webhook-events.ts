import type { FeedConsumer } from '../timeline/feed.ts';
import type { ActivityDto } from '../timeline/publisher.ts';
import type { UnitOfWork } from '../tenancy.ts';
import type { RecordsService } from '../crm/records.service.ts';
import { RECORD_TYPES, type RecordType } from '#contracts/common';

interface HookRow {
  id: string;
  events: string[];
  created_by: string | null;
}

/** The feed consumer's name: its cursor in `feed_cursors`. */
export const WEBHOOKS_CONSUMER = 'webhooks';

/** The JSON body of a delivery: the event, its workspace, the activity's data and the record as it is now. */
export function eventBody(tenantId: string, a: ActivityDto, record: unknown): Record<string, unknown> {
  return {
    id: a.id,
    type: a.type,
    occurredAt: a.createdAt,
    tenant: { id: tenantId },
    seq: a.seq,
    entity: { type: a.entityType, id: a.entityId },
    companyId: a.companyId,
    title: a.title,
    actor: a.actor,
    data: a.data,
    record,
  };
}

/**
 * Turns the feed's activities into delivery rows, in the feed's transaction (so each activity is delivered once per
 * webhook, crash or not). An activity of a mailbox the webhook's owner does not see is not sent to that webhook.
 */
export function webhookEvents(deps: {
  records: Pick<RecordsService, 'find'>;
  windowSeconds: () => number;
  wake: (tenantId: string) => void;
}): FeedConsumer {
  return {
    name: WEBHOOKS_CONSUMER,
    batchSize: 200,
    async handle(uow: UnitOfWork, activities: ActivityDto[]) {
      const { em, actor } = uow;
      const hooks = (await em.execute(`select id, events, created_by from webhooks where tenant_id = ? and active`, [
        actor.tenantId,
      ])) as HookRow[];
      if (!hooks.length) return;
      const wanted = activities.filter((a) => hooks.some((h) => h.events.includes(a.type)));
      if (!wanted.length) return;
      const hidden = await hiddenFromOwners(uow, hooks, wanted);
      const params: unknown[] = [];
      const values: string[] = [];
      const records = new Map<string, unknown>();
      for (const a of wanted) {
        const key = `${a.entityType}:${a.entityId}`;
        if (!records.has(key)) records.set(key, await snapshot(uow, deps.records, a));
        for (const h of hooks) {
          if (!h.events.includes(a.type) || hidden.get(h.id)?.has(a.id)) continue;
          values.push(`(gen_random_uuid(), ?, ?, ?, ?, ?, ?, ?::jsonb, now() + make_interval(secs => ?))`);
          params.push(
            actor.tenantId,
            h.id,
            a.type,
            a.id,
            a.seq,
            key,
            JSON.stringify(eventBody(actor.tenantId, a, records.get(key))),
            deps.windowSeconds(),
          );
        }
      }
      if (!values.length) return;
      await em.execute(
        `insert into webhook_deliveries (id, tenant_id, webhook_id, event, activity_id, activity_seq, record_key,
                                         payload, expires_at) values ${values.join(', ')}`,
        params,
      );
      uow.afterCommit(() => deps.wake(actor.tenantId));
    },
  };
}

/** The record the activity is about, as the API shows it (null once deleted, or for a conversation or meeting). */
async function snapshot(uow: UnitOfWork, records: Pick<RecordsService, 'find'>, a: ActivityDto): Promise<unknown> {
  if (!(RECORD_TYPES as readonly string[]).includes(a.entityType)) return null;
  try {
    return JSON.parse(JSON.stringify(await records.find(uow, a.entityType as RecordType, a.entityId)));
  } catch {
    return null;
  }
}

/** Per webhook, the activities of mailboxes its owner does not see (all mailbox activities when the owner left). */
async function hiddenFromOwners(uow: UnitOfWork, hooks: HookRow[], activities: ActivityDto[]) {
  const hidden = new Map<string, Set<string>>();
  const ids = activities.map((a) => a.id);
  const owners = [...new Set(hooks.map((h) => h.created_by))];
  const byOwner = new Map<string | null, Set<string>>();
  for (const owner of owners) {
    const rows = (await uow.em.execute(
      `select a.id from activities a cross join (select filo_visible_mailboxes(?::uuid) as ids) v
        where a.tenant_id = ? and a.id = any(?::uuid[]) and a.mailbox_id is not null
          and (?::uuid is null or (v.ids is not null and not (a.mailbox_id = any(v.ids))))`,
      [owner, uow.actor.tenantId, `{${ids.join(',')}}`, owner],
    )) as { id: string }[];
    byOwner.set(owner, new Set(rows.map((r) => r.id)));
  }
  for (const h of hooks) hidden.set(h.id, byOwner.get(h.created_by)!);
  return hidden;
}
