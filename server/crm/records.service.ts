import { LockMode, type EntityName, type FilterQuery } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { MikroORM } from '../../db/orm.ts';
import { CompanySchema } from '../../db/entities/company.entity.ts';
import { ContactSchema } from '../../db/entities/contact.entity.ts';
import type { RecordType } from '#contracts/common';
import { DealSchema } from '../../db/entities/deal.entity.ts';
import { MembershipSchema } from '../../db/entities/membership.entity.ts';
import { HttpError, notFound } from '../http/errors.ts';
import type { Publisher } from '../timeline/publisher.ts';
import { authorOf, inTenant, requireWrite, type Actor, type UnitOfWork } from '../tenancy.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import type { CustomFieldsService } from './custom-fields.service.ts';
import { PipelineStagesService } from './pipeline-stages.service.ts';
import { isStale, lastChange, versionConflict } from './version-conflict.ts';
import { audit } from '../audit/record.ts';
import { invalidCursor, wellFormedCursor } from './list-cursor.ts';
import { companyPage, companyPageJson, companyPagePlan } from './company-list.hot.ts';
import type { HotReads } from '../db-hot/hot-reads.ts';

export type { RecordType };

/** What the shared create/update/delete logic needs to know about one kind of record. */
export interface RecordKind {
  type: RecordType;
  schema: EntityName<RecordRow>;
  label: string;
  /** A human title for timeline entries. */
  describe(row: RecordRow): string;
  /** The company whose timeline this record's activities also belong to. */
  companyOf(row: RecordRow): string | null;
}

export type RecordRow = Record<string, unknown> & {
  id: string;
  version: number;
  customFields?: Record<string, unknown>;
};

export interface ListPage<T> {
  items: T[];
  nextCursor: string | null;
}

const SKIP_IN_CHANGES = new Set(['updatedAt', 'version']);

export const KINDS: Record<RecordType, RecordKind> = {
  company: {
    type: 'company',
    schema: CompanySchema as unknown as EntityName<RecordRow>,
    label: 'Company',
    describe: (r) => String(r.name),
    companyOf: (r) => r.id,
  },
  contact: {
    type: 'contact',
    schema: ContactSchema as unknown as EntityName<RecordRow>,
    label: 'Contact',
    describe: (r) => `${String(r.firstName)} ${String(r.lastName)}`,
    companyOf: (r) => (r.companyId as string | null) ?? null,
  },
  deal: {
    type: 'deal',
    schema: DealSchema as unknown as EntityName<RecordRow>,
    label: 'Deal',
    describe: (r) => String(r.title),
    companyOf: (r) => (r.companyId as string | null) ?? null,
  },
};

/** A list page's arguments: who asks, the record type, the filter, the sort, the page size and the cursor. */
type ListArgs = [
  actor: Actor,
  type: RecordType,
  where: FilterQuery<RecordRow>,
  orderBy: Record<string, 'asc' | 'desc'>,
  limit: number,
  cursor: string | undefined,
];
type Tail<T extends unknown[]> = T extends [unknown, ...infer R] ? R : never;

/**
 * Companies, contacts and deals share one write path: validate references and custom fields, write the row (the
 * ORM bumps its version and refuses a stale one), write the timeline activity, and publish both after commit.
 */
export class RecordsService {
  readonly #orm: MikroORM;
  readonly #activities: ActivitiesService;
  readonly #customFields: CustomFieldsService;
  readonly #publisher: Publisher;
  /** The workspace's deal stages, which a deal's stage must be one of. */
  readonly stages: PipelineStagesService;
  readonly #hot: HotReads | undefined;

  constructor(
    orm: MikroORM,
    activities: ActivitiesService,
    customFields: CustomFieldsService,
    publisher: Publisher,
    hot?: HotReads,
  ) {
    this.#orm = orm;
    this.#hot = hot;
    this.stages = new PipelineStagesService(orm, activities, publisher);
    this.#activities = activities;
    this.#customFields = customFields;
    this.#publisher = publisher;
  }

  get(actor: Actor, type: RecordType, id: string): Promise<RecordRow> {
    return inTenant(this.#orm, actor, (uow) => this.find(uow, type, id));
  }

  async find({ em }: UnitOfWork, type: RecordType, id: string): Promise<RecordRow> {
    const row = (await em.findOne(KINDS[type].schema, { id } as FilterQuery<RecordRow>)) as RecordRow | null;
    if (!row) throw notFound(KINDS[type].label);
    return row;
  }

  /**
   * `list()`'s page as the answer's JSON text, written by PostgreSQL, where the hot-read pool serves it (the company
   * list's filters); null otherwise (then `list()`).
   */
  async listJson(...[actor, type, where, orderBy, limit, cursor]: ListArgs): Promise<string | null> {
    const plan = this.#hotPlan(type, where, orderBy, limit, cursor, 'json');
    return plan ? companyPageJson(this.#hot!, actor, plan) : null;
  }

  /** The company list (the busiest) as one prepared statement on the hot-read pool, for the filters the routes make. */
  #hotPlan(...[type, where, orderBy, limit, cursor, shape]: [...Tail<ListArgs>, 'rows' | 'json']) {
    if (cursor !== undefined && !wellFormedCursor(cursor)) throw invalidCursor();
    return type === 'company' && this.#hot ? companyPagePlan(where, orderBy, limit, cursor, shape) : null;
  }

  async list(...[actor, type, where, orderBy, limit, cursor]: ListArgs): Promise<ListPage<RecordRow>> {
    const plan = this.#hotPlan(type, where, orderBy, limit, cursor, 'rows');
    if (plan) return companyPage(this.#hot!, actor, plan);
    return inTenant(this.#orm, actor, async ({ em }) => {
      try {
        const page = await em.findByCursor(KINDS[type].schema, {
          where,
          first: limit,
          ...(cursor ? { after: cursor } : {}),
          orderBy: { ...orderBy, id: 'asc' },
          includeCount: false,
        });
        return { items: page.items as RecordRow[], nextCursor: page.hasNextPage ? page.endCursor : null };
      } catch (err) {
        // A cursor of another list (or forged) names values the database cannot compare: data or operator errors.
        if (
          cursor &&
          (/cursor|invalid time value/i.test((err as Error).message) ||
            /^(22|42)/.test(String((err as { code?: unknown }).code)))
        )
          throw invalidCursor();
        throw err;
      }
    });
  }

  /** Deals per stage of the workspace's pipeline, in its order: how many, and their value per currency. */
  pipeline(actor: Actor, companyId?: string) {
    return inTenant(this.#orm, actor, async (uow) => {
      const { em } = uow;
      const rows = (await em.execute(
        `select stage, currency, count(*)::int as count, coalesce(sum(value), 0)::text as total
           from deals where tenant_id = ? ${companyId ? 'and company_id = ?' : ''}
          group by stage, currency`,
        companyId ? [actor.tenantId, companyId] : [actor.tenantId],
      )) as { stage: string; currency: string; count: number; total: string }[];
      const { items } = await this.stages.listIn(uow);
      return items.map(({ key: stage }) => {
        const mine = rows.filter((r) => r.stage === stage);
        return {
          stage,
          count: mine.reduce((n, r) => n + r.count, 0),
          totals: Object.fromEntries(mine.map((r) => [r.currency, r.total])),
        };
      });
    });
  }

  create(actor: Actor, type: RecordType, input: Record<string, unknown>): Promise<RecordRow> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, (uow) => this.createIn(uow, type, input));
  }

  /**
   * Creates a record inside the caller's transaction (inbound mail creates contacts this way); `deferFlush`: the row
   * is inserted by the caller's next flush (a batch writes many in one statement).
   */
  async createIn(
    uow: UnitOfWork,
    type: RecordType,
    input: Record<string, unknown>,
    opts: { deferFlush?: boolean } = {},
  ): Promise<RecordRow> {
    const { em, actor } = uow;
    const kind = KINDS[type];
    await this.#checkReferences(uow, input);
    if (type === 'deal') input = { ...input, stage: (await this.stages.resolveIn(uow, input.stage as string)).key };
    const customFields = await this.#customFields.validate(
      uow,
      type,
      (input.customFields as Record<string, unknown>) ?? {},
      null,
    );
    const row = em.create(kind.schema, {
      ...input,
      customFields,
      tenantId: actor.tenantId,
      createdBy: authorOf(actor),
    } as never) as RecordRow;
    if (type === 'contact' && input.isPrimary) await this.#demoteOtherPrimaries(em, row);
    if (!opts.deferFlush) await em.flush();
    await this.#activities.record(uow, {
      entityType: type,
      entityId: row.id,
      companyId: kind.companyOf(row),
      type: `${type}.created`,
      title: `${kind.label} created: ${kind.describe(row)}`,
      data: { name: kind.describe(row) },
    });
    return row;
  }

  /**
   * Applies a patch made on `version` of the record: a stale version (checked on load, and again by the ORM's
   * `where version = ?` at flush, for a concurrent writer) rolls everything back and answers 409 with the record as
   * it is now. Without a version (API clients written before versions) the row is locked and the last write wins.
   */
  async update(
    actor: Actor,
    type: RecordType,
    id: string,
    { version, ...patch }: Record<string, unknown> & { version?: number },
  ): Promise<RecordRow> {
    requireWrite(actor);
    try {
      return await inTenant(this.#orm, actor, (uow) => this.#update(uow, type, id, patch, version));
    } catch (err) {
      if (!isStale(err)) throw err;
      throw await inTenant(this.#orm, actor, async (uow) => {
        const current = await this.find(uow, type, id);
        const trail = { entityType: type, entityId: id, activityTypes: [`${type}.created`, `${type}.updated`] };
        if (type === 'deal') trail.activityTypes.push('deal.stage_changed');
        return versionConflict(KINDS[type].label, current, await lastChange(uow, trail, current.updatedAt as Date));
      });
    }
  }

  async #update(
    uow: UnitOfWork,
    type: RecordType,
    id: string,
    patch: Record<string, unknown>,
    version: number | undefined,
  ): Promise<RecordRow> {
    const { em, actor } = uow;
    const kind = KINDS[type];
    const row = (await em.findOne(kind.schema, { id } as FilterQuery<RecordRow>, {
      ...(version === undefined
        ? { lockMode: LockMode.PESSIMISTIC_WRITE }
        : { lockMode: LockMode.OPTIMISTIC, lockVersion: version }),
    })) as RecordRow | null;
    if (!row) throw notFound(kind.label);
    await this.#checkReferences(uow, patch);
    const stageName =
      type === 'deal' && typeof patch.stage === 'string' ? (await this.stages.resolveIn(uow, patch.stage)).name : null;
    const next: Record<string, unknown> = { ...patch };
    if (patch.customFields)
      next.customFields = await this.#customFields.validate(
        uow,
        type,
        patch.customFields as Record<string, unknown>,
        row.customFields ?? {},
      );
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    for (const [key, value] of Object.entries(next)) {
      if (SKIP_IN_CHANGES.has(key) || JSON.stringify(row[key] ?? null) === JSON.stringify(value ?? null)) continue;
      changes[key] = { from: row[key] ?? null, to: value ?? null };
    }
    if (Object.keys(changes).length === 0) return row;
    // a new address has not bounced (yet)
    if (type === 'contact' && changes.email) Object.assign(next, { emailBouncedAt: null, emailBounceReason: null });
    em.assign(row, next as never);
    if (type === 'contact' && patch.isPrimary) await this.#demoteOtherPrimaries(em, row);
    await em.flush();
    const stage = changes.stage;
    if (type === 'deal' && stage) {
      await this.#activities.record(uow, {
        entityType: type,
        entityId: row.id,
        companyId: kind.companyOf(row),
        type: 'deal.stage_changed',
        title: `Deal moved to "${stageName ?? String(stage.to)}": ${kind.describe(row)}`,
        data: {
          name: kind.describe(row),
          from: stage.from,
          to: stage.to,
          value: row.value ?? null,
          currency: row.currency ?? null,
          probability: row.probability ?? null,
        },
      });
    }
    const rest = Object.keys(changes).filter((k) => !(type === 'deal' && k === 'stage'));
    if (rest.length) {
      await this.#activities.record(uow, {
        entityType: type,
        entityId: row.id,
        companyId: kind.companyOf(row),
        type: `${type}.updated`,
        title: `${kind.label} updated: ${kind.describe(row)}`,
        data: {
          name: kind.describe(row),
          changes: Object.fromEntries(rest.map((k) => [k, changes[k]])),
          ...(type === 'deal' ? { currency: row.currency } : {}),
        },
      });
    }
    const flat = Object.fromEntries(Object.entries(changes).map(([k, v]) => [k, v.to]));
    uow.afterCommit(() =>
      this.#publisher.recordUpdated(actor.tenantId, { type, id: row.id, changes: flat, version: row.version }),
    );
    return row;
  }

  remove(actor: Actor, type: RecordType, id: string): Promise<void> {
    requireWrite(actor);
    const kind = KINDS[type];
    return inTenant(this.#orm, actor, async (uow) => {
      const { em } = uow;
      const row = await this.find(uow, type, id);
      const companyId = type === 'company' ? null : kind.companyOf(row);
      em.remove(row);
      await em.flush();
      await this.#activities.record(uow, {
        entityType: type,
        entityId: row.id,
        companyId,
        type: `${type}.deleted`,
        title: `${kind.label} deleted: ${kind.describe(row)}`,
        data: { name: kind.describe(row) },
      });
      await audit(uow, {
        action: 'record.deleted',
        targetType: type,
        targetId: row.id,
        summary: `${kind.label} deleted: ${kind.describe(row)}`,
        before: { name: kind.describe(row) },
      });
      uow.afterCommit(() =>
        this.#publisher.recordUpdated(actor.tenantId, {
          type,
          id: row.id,
          changes: {},
          version: row.version + 1,
          deleted: true,
        }),
      );
    });
  }

  /** References must point inside the actor's workspace: another tenant's id is as good as no id. */
  async #checkReferences(uow: UnitOfWork, input: Record<string, unknown>): Promise<void> {
    const { em } = uow;
    if (typeof input.companyId === 'string') {
      const found = await em.count(CompanySchema, { id: input.companyId });
      if (!found) throw new HttpError(400, 'validation_failed', 'Unknown company', { companyId: 'no such company' });
    }
    if (typeof input.assignedTo === 'string') {
      const member = await em.count(MembershipSchema, {
        tenant: uow.actor.tenantId,
        user: input.assignedTo,
      } as never);
      if (!member) throw new HttpError(400, 'validation_failed', 'Unknown team member', { assignedTo: 'not a member' });
    }
  }

  /** One primary contact per company. */
  async #demoteOtherPrimaries(em: EntityManager, row: RecordRow): Promise<void> {
    if (!row.companyId) return;
    await em.nativeUpdate(
      ContactSchema,
      { companyId: row.companyId as string, isPrimary: true, id: { $ne: row.id } },
      { isPrimary: false },
    );
  }
}
