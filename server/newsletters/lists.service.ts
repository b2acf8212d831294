import type { EntityManager } from '@mikro-orm/postgresql';
import type { MikroORM } from '../../db/orm.ts';
import type { ListInput, ListPatch, MailingListDto, SegmentFilter, SegmentPreview } from '#contracts/newsletter-lists';
import { segmentFilter } from '#contracts/newsletter-lists';
import type { ListKind } from '#contracts/newsletters';
import { HttpError, notFound } from '../http/errors.ts';
import { inTenant, requireWrite, type Actor } from '../tenancy.ts';
import { compileSegment, pgArray, SEGMENT_FROM } from './segments.ts';

/** A `mailing_lists` row as read with SQL. */
export interface ListRow {
  id: string;
  name: string;
  description: string | null;
  kind: ListKind;
  filter: unknown;
  double_opt_in: boolean;
  public_form: boolean;
  consent_text: string | null;
  subscriber_count: number;
  archived_at: Date | null;
  created_at: Date;
  updated_at: Date;
  version: number;
}

/** Campaigns in these states still read their lists: such a list cannot be deleted. */
const LIVE_CAMPAIGN_STATUSES = ['scheduled', 'sending', 'paused'];
const SAMPLE_SIZE = 20;

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/** A stored segment filter as the API shows it (null for a static list, or one that no longer parses). */
const storedFilter = (row: ListRow): SegmentFilter | null => {
  if (row.kind !== 'segment') return null;
  const parsed = segmentFilter.safeParse(row.filter);
  return parsed.success ? parsed.data : null;
};

/** Reads one list in the caller's transaction; another workspace's id is not found. */
export async function findList(em: EntityManager, id: string, opts: { lock?: boolean } = {}): Promise<ListRow> {
  const [row] = (await em.execute(`select * from mailing_lists where id = ?${opts.lock ? ' for update' : ''}`, [
    id,
  ])) as ListRow[];
  if (!row) throw notFound('List');
  return row;
}

/**
 * Newsletter lists: static lists (members are `consents` rows, their subscribed count kept by a trigger on every
 * change) and live segments (contacts matching a filter now, counted and previewed live, frozen only when a
 * campaign starts sending).
 */
export class ListsService {
  readonly #orm: MikroORM;

  constructor(orm: MikroORM) {
    this.#orm = orm;
  }

  list(actor: Actor): Promise<MailingListDto[]> {
    return inTenant(this.#orm, actor, async ({ em }) => {
      const rows = (await em.execute(`select * from mailing_lists where tenant_id = ? order by lower(name), id`, [
        actor.tenantId,
      ])) as ListRow[];
      return this.#withCounts(em, actor.tenantId, rows);
    });
  }

  get(actor: Actor, id: string): Promise<MailingListDto> {
    return inTenant(this.#orm, actor, async ({ em }) => {
      const [dto] = await this.#withCounts(em, actor.tenantId, [await findList(em, id)]);
      return dto!;
    });
  }

  create(actor: Actor, input: ListInput): Promise<MailingListDto> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async ({ em }) => {
      // Compiling checks the custom fields it names: an unknown one is a 400 before anything is written.
      if (input.filter) await compileSegment(em, actor.tenantId, input.filter);
      const [row] = (await em.execute(
        `insert into mailing_lists (id, tenant_id, name, description, kind, filter, double_opt_in, public_form,
           consent_text, created_by)
         values (gen_random_uuid(), ?, ?, ?, ?, ?::jsonb, ?, ?, ?, ?) returning *`,
        [
          actor.tenantId,
          input.name,
          input.description ?? null,
          input.kind,
          input.filter ? JSON.stringify(input.filter) : null,
          input.doubleOptIn ?? true,
          input.publicForm ?? false,
          input.consentText ?? null,
          actor.system ? null : actor.userId,
        ],
      )) as ListRow[];
      const [dto] = await this.#withCounts(em, actor.tenantId, [row!]);
      return dto!;
    });
  }

  /** Applies a patch made on `patch.version`: a stale version answers 409 `version_conflict` with the list now. */
  update(actor: Actor, id: string, patch: ListPatch): Promise<MailingListDto> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async ({ em }) => {
      const current = await findList(em, id, { lock: true });
      if (current.version !== patch.version) {
        const [now] = await this.#withCounts(em, actor.tenantId, [current]);
        throw new HttpError(
          409,
          'version_conflict',
          'This list was changed meanwhile: your edit was not saved',
          { version: `the current version is ${current.version}` },
          { current: now },
        );
      }
      if (patch.filter !== undefined) {
        if (current.kind !== 'segment')
          throw new HttpError(400, 'validation_failed', 'Only a segment has a filter', {
            filter: 'only a segment has a filter',
          });
        await compileSegment(em, actor.tenantId, patch.filter);
      }
      const sets: string[] = [];
      const params: unknown[] = [];
      const set = (column: string, value: unknown, cast = '') => {
        sets.push(`${column} = ?${cast}`);
        params.push(value);
      };
      if (patch.name !== undefined) set('name', patch.name);
      if (patch.description !== undefined) set('description', patch.description);
      if (patch.filter !== undefined) set('filter', JSON.stringify(patch.filter), '::jsonb');
      if (patch.doubleOptIn !== undefined) set('double_opt_in', patch.doubleOptIn);
      if (patch.publicForm !== undefined) set('public_form', patch.publicForm);
      if (patch.consentText !== undefined) set('consent_text', patch.consentText);
      if (patch.archived !== undefined)
        sets.push(patch.archived ? 'archived_at = coalesce(archived_at, now())' : 'archived_at = null');
      const [row] = (await em.execute(
        `update mailing_lists set ${[...sets, 'updated_at = now()', 'version = version + 1'].join(', ')}
          where id = ? returning *`,
        [...params, id],
      )) as ListRow[];
      const [dto] = await this.#withCounts(em, actor.tenantId, [row!]);
      return dto!;
    });
  }

  /** Deletes a list and its members' rows; a list a scheduled, sending or paused campaign reads answers 409. */
  remove(actor: Actor, id: string): Promise<void> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async ({ em }) => {
      await findList(em, id, { lock: true });
      const [used] = (await em.execute(
        `select name from campaigns where tenant_id = ? and status = any(?::text[]) and list_ids @> jsonb_build_array(?::text)
          limit 1`,
        [actor.tenantId, pgArray(LIVE_CAMPAIGN_STATUSES), id],
      )) as { name: string }[];
      if (used)
        throw new HttpError(
          409,
          'list_in_use',
          `The campaign "${used.name}" is sending to this list: archive it instead`,
        );
      await em.execute(`delete from mailing_lists where id = ?`, [id]);
    });
  }

  /** How many contacts a filter matches now, and the first of them (for the builder, before saving). */
  preview(actor: Actor, filter: SegmentFilter): Promise<SegmentPreview> {
    return inTenant(this.#orm, actor, ({ em }) => this.#preview(em, actor.tenantId, filter));
  }

  /** A list's live preview: a segment's matches, or a static list's subscribed members. */
  previewList(actor: Actor, id: string): Promise<SegmentPreview> {
    return inTenant(this.#orm, actor, async ({ em }) => {
      const row = await findList(em, id);
      const filter = storedFilter(row);
      if (filter) return this.#preview(em, actor.tenantId, filter);
      if (row.kind === 'segment') return { count: 0, sample: [] };
      const sample = (await em.execute(
        `select ct.id, ct.first_name || ' ' || ct.last_name as name, m.address as email, co.name as company
           from consents m join contacts ct on ct.id = m.contact_id left join companies co on co.id = ct.company_id
          where m.tenant_id = ? and m.list_id = ? and m.status = 'subscribed' and m.address is not null
          order by ct.last_name, ct.first_name, ct.id limit ${SAMPLE_SIZE}`,
        [actor.tenantId, id],
      )) as SegmentPreview['sample'];
      return { count: row.subscriber_count, sample };
    });
  }

  async #preview(em: EntityManager, tenantId: string, filter: SegmentFilter): Promise<SegmentPreview> {
    const { where, params } = await compileSegment(em, tenantId, filter);
    const base = `from ${SEGMENT_FROM} where ct.tenant_id = ? and ct.email is not null and ct.email <> '' and ${where}`;
    const [{ n }] = (await em.execute(`select count(distinct lower(ct.email))::int as n ${base}`, [
      tenantId,
      ...params,
    ])) as [{ n: number }];
    const sample = (await em.execute(
      `select ct.id, ct.first_name || ' ' || ct.last_name as name, lower(ct.email) as email, co.name as company
       ${base} order by ct.last_name, ct.first_name, ct.id limit ${SAMPLE_SIZE}`,
      [tenantId, ...params],
    )) as SegmentPreview['sample'];
    return { count: n, sample };
  }

  /** The API's view of lists: static lists' counts by status, segments' live match counts. */
  async #withCounts(em: EntityManager, tenantId: string, rows: ListRow[]): Promise<MailingListDto[]> {
    const staticIds = rows.filter((r) => r.kind === 'static').map((r) => r.id);
    const byStatus = new Map<string, number>();
    if (staticIds.length) {
      const counts = (await em.execute(
        `select list_id, status, count(*)::int as n from consents
          where tenant_id = ? and list_id = any(?::uuid[]) and status in ('unconfirmed', 'unsubscribed')
          group by list_id, status`,
        [tenantId, pgArray(staticIds)],
      )) as { list_id: string; status: string; n: number }[];
      for (const c of counts) byStatus.set(`${c.list_id}:${c.status}`, c.n);
    }
    const out: MailingListDto[] = [];
    for (const row of rows) {
      const filter = storedFilter(row);
      let subscribed = row.subscriber_count;
      if (row.kind === 'segment') {
        subscribed = 0;
        if (filter) {
          const { where, params } = await compileSegment(em, tenantId, filter).catch(() => ({
            where: 'false',
            params: [],
          }));
          const [{ n }] = (await em.execute(
            `select count(distinct lower(ct.email))::int as n from ${SEGMENT_FROM}
              where ct.tenant_id = ? and ct.email is not null and ct.email <> '' and ${where}`,
            [tenantId, ...params],
          )) as [{ n: number }];
          subscribed = n;
        }
      }
      out.push({
        id: row.id,
        name: row.name,
        description: row.description,
        kind: row.kind,
        filter,
        doubleOptIn: row.double_opt_in,
        publicForm: row.public_form,
        consentText: row.consent_text,
        counts: {
          subscribed,
          unconfirmed: byStatus.get(`${row.id}:unconfirmed`) ?? 0,
          unsubscribed: byStatus.get(`${row.id}:unsubscribed`) ?? 0,
        },
        archivedAt: iso(row.archived_at),
        createdAt: iso(row.created_at)!,
        updatedAt: iso(row.updated_at)!,
        version: row.version,
      });
    }
    return out;
  }
}
