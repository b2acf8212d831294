import type { MikroORM } from '../../db/orm.ts';
import { ActivitySchema } from '../../db/entities/activity.entity.ts';
import { checkPayload } from '#contracts/timeline';
import type { ActivityDto, Publisher } from './publisher.ts';
import { authorOf, inTenant, type Actor, type UnitOfWork } from '../tenancy.ts';
import { notFound } from '../http/errors.ts';
import { truncateGraphemes } from '../text.ts';
import { asUuid, mailboxAudience, mailboxViewer } from './mailbox-visibility.ts';
import { may } from '../auth/scopes.ts';
import { insertActivities, type NewActivity, type PendingActivity } from './activity-rows.ts';
import { tenantFold, tenantStatement, type HotReads } from '../db-hot/hot-reads.ts';

export type { NewActivity } from './activity-rows.ts';

interface ActivityRow {
  id: string;
  seq: string | number;
  entity_type: string;
  entity_id: string;
  company_id: string | null;
  activity_type: string;
  title: string;
  description: string | null;
  metadata: Record<string, unknown>;
  created_by: string | null;
  actor_name: string | null;
  /** A Date, or ISO 8601 text (the hot statement's). */
  created_at: Date | string;
}

/** `Date.toJSON`'s form: what the hot statement already wrote is kept as it is; anything else goes through a Date. */
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const isoTime = (t: Date | string) =>
  typeof t === 'string' && ISO_MS.test(t) ? t : (t instanceof Date ? t : new Date(t)).toISOString();

// Rows are written through `record()`, whose payloads the contract checks in tests: read back, they are that type.
export const mapActivity = (r: ActivityRow): ActivityDto =>
  ({
    id: r.id,
    seq: Number(r.seq),
    entityType: r.entity_type,
    entityId: r.entity_id,
    companyId: r.company_id,
    type: r.activity_type,
    title: r.title,
    description: r.description,
    data: r.metadata,
    actor: r.created_by ? { id: r.created_by, name: r.actor_name ?? '' } : null,
    createdAt: isoTime(r.created_at),
  }) as ActivityDto;

export interface TimelineQuery {
  entityType?: string | undefined;
  entityId?: string | undefined;
  before?: number | undefined;
  after?: number | undefined;
  limit: number;
  /** Oldest first (for catching up after `after`); newest first otherwise. */
  ascending?: boolean;
}

/** What a workflow run writes carries its run and depth (`causedBy`): the workflows' loop guard reads it. */
const withCause = (actor: Actor, data: Record<string, unknown>) =>
  actor.workflow ? { ...data, causedBy: { workflowRunId: actor.workflow.runId, depth: actor.workflow.depth } } : data;

/** In tests every writer's payload is parsed with its type's contract, so a writer and the web cannot drift apart. */
const CHECK = process.env.FILO_CHECK_RESPONSES === '1';

/** A page of `filo_timeline()` (which checks the record and the viewer's mailboxes) on the hot-read pool. */
const TIMELINE_PAGE = tenantStatement(
  // The time as ISO text from PostgreSQL: no timestamp parsed into a Date for the answer to print it again.
  `select t.id, t.seq, t.entity_type, t.entity_id, t.company_id, t.activity_type, t.title, t.description, t.metadata,
          t.created_by, t.actor_name, to_char(t.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_at
     from filo_timeline(filo_tenant.id, $2::uuid, $3::text, $4::uuid, $5::bigint, $6::bigint, $7::int, $8::boolean) t
    limit $7::int`,
);

/**
 * The same page as the answer's whole JSON text, written by PostgreSQL: each activity in `mapActivity`'s shape,
 * folded in the function's order (`with ordinality`) into `{"items":[…]}`, the mail left out where $9 (the actor
 * reads mail) is false. `pg` parses one value, and the web node sends it as it is: no row, timestamp or activity's
 * data parsed only to be printed again (most of a page's CPU in the web node, with the answer's stringify).
 */
const TIMELINE_JSON = tenantFold(
  `select json_build_object('id', t.id, 'seq', t.seq, 'entityType', t.entity_type, 'entityId', t.entity_id,
            'companyId', t.company_id, 'type', t.activity_type, 'title', t.title, 'description', t.description,
            'data', t.metadata,
            'actor', case when t.created_by is null then null
                          else json_build_object('id', t.created_by, 'name', coalesce(t.actor_name, '')) end,
            'createdAt', to_char(t.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))::text as json,
          (t.metadata->>'mailboxId' is not null or t.metadata->>'conversationId' is not null) as mail, t.ordinality
     from filo_timeline(filo_tenant.id, $2::uuid, $3::text, $4::uuid, $5::bigint, $6::bigint, $7::int, $8::boolean)
          with ordinality t
    limit $7::int`,
  `'{"items":[' || coalesce(string_agg(r.json, ',' order by r.ordinality) filter (where $9::boolean or not r.mail), '')
      || ']}'`,
);

/** Whose mailbox an activity belongs to: the one it names, or that of the conversation it is about or names. */
const audienceKey = (input: NewActivity, data: Record<string, unknown>) => ({
  mailboxId: input.mailboxId !== undefined ? input.mailboxId : asUuid(data.mailboxId),
  conversationId:
    input.mailboxId !== undefined
      ? null
      : input.entityType === 'conversation'
        ? input.entityId
        : asUuid(data.conversationId),
});

/** `filo_timeline()`'s parameters after the tenant. */
const timelineArgs = (actor: Actor, q: TimelineQuery) => [
  mailboxViewer(actor),
  q.entityType ?? null,
  q.entityId ?? null,
  q.before ?? null,
  q.after ?? null,
  q.limit,
  q.ascending ?? false,
];

/** The timeline: activities are written only here, by other services, inside their transaction. */
export class ActivitiesService {
  readonly #orm: MikroORM;
  readonly #publisher: Publisher;
  /** Per transaction (its EntityManager) inside `batch()`: the activities recorded and not written yet. */
  readonly #held = new WeakMap<
    object,
    { items: PendingActivity[]; later: ActivityDto[]; scopes: Map<string, Awaited<ReturnType<typeof mailboxAudience>>> }
  >();
  readonly #hot: HotReads | undefined;

  constructor(orm: MikroORM, publisher: Publisher, hot?: HotReads) {
    this.#orm = orm;
    this.#publisher = publisher;
    this.#hot = hot;
  }

  /**
   * Takes the tenant's next `seq` under the tenant row's lock (held to commit, so seq order is commit order
   * and a client that has seen seq N has seen everything before it), writes the activity, publishes after commit.
   */
  async record(uow: UnitOfWork, input: NewActivity): Promise<ActivityDto> {
    const held = this.#held.get(uow.em);
    if (held) {
      // Filled in (id, seq, time) when the batch is written, before anyone can see it.
      const later = {} as ActivityDto;
      held.items.push(await this.#prepare(uow, input, held.scopes));
      held.later.push(later);
      return later;
    }
    const { em, actor } = uow;
    const data = withCause(actor, input.data ?? {});
    // As stored (jsonb): dates become strings.
    if (CHECK) checkPayload(input.type, JSON.parse(JSON.stringify(data)));
    // Mail, and what is said or done about a conversation, is seen only by those who see its mailbox.
    const scope = await mailboxAudience(em, actor.tenantId, audienceKey(input, data));
    const [{ activity_seq }] = (await em.execute(
      `update tenants set activity_seq = activity_seq + 1 where id = ? returning activity_seq`,
      [actor.tenantId],
    )) as [{ activity_seq: string }];
    const row = em.create(ActivitySchema, {
      tenantId: actor.tenantId,
      seq: Number(activity_seq),
      entityType: input.entityType,
      entityId: input.entityId,
      companyId: input.companyId,
      activityType: input.type,
      title: truncateGraphemes(input.title, 255),
      description: input.description ?? null,
      metadata: data,
      createdBy: authorOf(actor),
      mailboxId: scope?.mailboxId ?? null,
    });
    await em.flush();
    const dto = {
      id: row.id,
      seq: row.seq,
      entityType: row.entityType,
      entityId: row.entityId,
      companyId: row.companyId ?? null,
      type: row.activityType,
      title: row.title,
      description: row.description ?? null,
      data: row.metadata,
      actor: actor.system ? null : { id: actor.userId, name: actor.userName },
      createdAt: row.createdAt.toISOString(),
    } as ActivityDto;
    uow.afterCommit(() => this.#publisher.activity(actor.tenantId, dto, scope?.hiddenFrom));
    return dto;
  }

  /**
   * Many activities at once (a bulk send's batch): one `activity_seq + n` under the tenant row's lock, one
   * multi-row insert per 1,000, published after commit. Same rules as `record()`, per input.
   */
  async recordMany(uow: UnitOfWork, inputs: NewActivity[]): Promise<number> {
    if (!inputs.length) return 0;
    const scopes = new Map<string, Awaited<ReturnType<typeof mailboxAudience>>>();
    const items: PendingActivity[] = [];
    for (const input of inputs) items.push(await this.#prepare(uow, input, scopes));
    const dtos = await insertActivities(uow.em, uow.actor.tenantId, items);
    uow.afterCommit(() => {
      for (const { dto, hiddenFrom } of dtos) this.#publisher.activity(uow.actor.tenantId, dto, hiddenFrom);
    });
    return inputs.length;
  }

  /**
   * Runs `fn` with the activities it records held back, then writes them all as `recordMany` does, as its last
   * step. The tenant row's lock (which orders seq by commit) is then taken just before the caller commits, once
   * for them all, rather than from the first activity on: work that records many (a batch of inbound mail) no
   * longer holds every other writer of the workspace for the rest of its transaction.
   */
  async batch<T>(uow: UnitOfWork, fn: () => Promise<T>): Promise<T> {
    const held = { items: [] as PendingActivity[], later: [] as ActivityDto[], scopes: new Map() };
    this.#held.set(uow.em, held);
    let result: T;
    try {
      result = await fn();
    } finally {
      this.#held.delete(uow.em);
    }
    const dtos = await insertActivities(uow.em, uow.actor.tenantId, held.items);
    dtos.forEach(({ dto }, i) => Object.assign(held.later[i]!, dto));
    uow.afterCommit(() => {
      for (const { dto, hiddenFrom } of dtos) this.#publisher.activity(uow.actor.tenantId, dto, hiddenFrom);
    });
    return result;
  }

  /** The payload as stored and its mailbox audience (looked up once per mailbox or conversation in `scopes`). */
  async #prepare(
    { em, actor }: UnitOfWork,
    input: NewActivity,
    scopes: Map<string, Awaited<ReturnType<typeof mailboxAudience>>>,
  ): Promise<PendingActivity> {
    const data = withCause(actor, input.data ?? {});
    if (CHECK) checkPayload(input.type, JSON.parse(JSON.stringify(data)));
    const where = audienceKey(input, data);
    // The audience is the mailbox's: a mailbox given decides it whatever the conversation (one look-up per mailbox).
    const key = where.mailboxId ? `m:${where.mailboxId}` : `c:${where.conversationId}`;
    if (!scopes.has(key)) scopes.set(key, await mailboxAudience(em, actor.tenantId, where));
    return { actor, input, data, scope: scopes.get(key) ?? null };
  }

  /**
   * Newest first. A company's timeline includes its contacts' and deals' activities. One round trip to
   * `filo_timeline()` (tenant setting, record check, page; plans cached per connection), a named prepared statement
   * on the hot-read pool when there is one. A record of another tenant, or none, is a 404.
   */
  async timeline(actor: Actor, q: TimelineQuery): Promise<ActivityDto[]> {
    const args = timelineArgs(actor, q);
    try {
      const rows = this.#hot
        ? await this.#hot.read<ActivityRow>(actor.tenantId, TIMELINE_PAGE, args)
        : ((await this.#orm.em
            .getConnection()
            .execute(`select * from filo_timeline(?, ?, ?, ?, ?, ?, ?, ?)`, [
              actor.tenantId,
              ...args,
            ])) as ActivityRow[]);
      // An API token without an inbox grant reads no mail on timelines.
      const mail = may(actor, 'inbox', 'read');
      return rows.filter((r) => mail || !(r.metadata.mailboxId ?? r.metadata.conversationId)).map(mapActivity);
    } catch (err) {
      if ((err as { code?: string }).code === 'P0002') throw notFound('Record');
      throw err;
    }
  }

  /**
   * `timeline()`'s answer (`{"items":[…]}`) as one JSON text, read on the hot-read pool; null when there is none
   * (then `timeline()`). Same checks, same filter, same 404.
   */
  async timelineJson(actor: Actor, q: TimelineQuery): Promise<string | null> {
    if (!this.#hot) return null;
    try {
      // An API token without an inbox grant reads no mail on timelines.
      return await this.#hot.text(actor.tenantId, TIMELINE_JSON, [
        ...timelineArgs(actor, q),
        may(actor, 'inbox', 'read'),
      ]);
    } catch (err) {
      if ((err as { code?: string }).code === 'P0002') throw notFound('Record');
      throw err;
    }
  }

  /** The newest seq handed out in the workspace: where a fresh watcher starts counting. */
  lastSeq(actor: Actor): Promise<number> {
    return inTenant(this.#orm, actor, async ({ em }) => {
      const [row] = (await em.execute(`select activity_seq from tenants where id = ?`, [actor.tenantId])) as {
        activity_seq: string;
      }[];
      return Number(row?.activity_seq ?? 0);
    });
  }

  async timelineIn({ em, actor }: UnitOfWork, q: TimelineQuery): Promise<ActivityDto[]> {
    // Only what comes from no mailbox, or from one this actor sees.
    const where = ['a.tenant_id = ?', '(a.mailbox_id is null or v.ids is null or a.mailbox_id = any(v.ids))'];
    const params: unknown[] = [mailboxViewer(actor), actor.tenantId];
    if (!may(actor, 'inbox', 'read')) where.push('a.mailbox_id is null');
    if (q.entityType === 'company' && q.entityId) {
      // A company's own activities carry its id in company_id too: one index range, newest first.
      where.push(`a.company_id = ?`);
      params.push(q.entityId);
    } else if (q.entityType && q.entityId) {
      where.push('a.entity_type = ? and a.entity_id = ?');
      params.push(q.entityType, q.entityId);
    } else if (q.entityType) {
      where.push('a.entity_type = ?');
      params.push(q.entityType);
    }
    if (q.before !== undefined) {
      where.push('a.seq < ?');
      params.push(q.before);
    }
    if (q.after !== undefined) {
      where.push('a.seq > ?');
      params.push(q.after);
    }
    params.push(q.limit);
    const rows = (await em.execute(
      `select a.*, u.name as actor_name from activities a left join users u on u.id = a.created_by
             cross join (select filo_visible_mailboxes(?::uuid) as ids) v
        where ${where.join(' and ')} order by a.seq ${q.ascending ? 'asc' : 'desc'} limit ?`,
      params,
    )) as ActivityRow[];
    return rows.map(mapActivity);
  }
}
