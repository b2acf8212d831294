import type { MikroORM } from '../../db/orm.ts';
import { inTenant, type Actor } from '../tenancy.ts';

export interface SearchHit {
  type: 'company' | 'contact' | 'deal' | 'note';
  id: string;
  title: string;
  subtitle: string | null;
  /** For contacts, deals and notes: the company they belong to (to link to its card). */
  companyId: string | null;
  rank: number;
}

/** Words as prefixes, all required: "acm cor" finds "Acme Corp". Anything else in the input is dropped. */
export function prefixQuery(q: string): string | null {
  const words =
    q
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu)
      ?.slice(0, 8) ?? [];
  return words.length ? words.map((w) => `${w}:*`).join(' & ') : null;
}

/**
 * Full text (stored tsvectors, prefix matching) united with trigram similarity on names for typos, ranked,
 * inside the tenant's transaction (row-level security applies as everywhere).
 */
export class SearchService {
  readonly #orm: MikroORM;

  constructor(orm: MikroORM) {
    this.#orm = orm;
  }

  search(actor: Actor, q: string, limit: number): Promise<SearchHit[]> {
    const tsq = prefixQuery(q);
    if (!tsq) return Promise.resolve([]);
    const text = q.trim().slice(0, 200);
    return inTenant(this.#orm, actor, async ({ em }) => {
      const rows = (await em.execute(
        `with query as (select to_tsquery('simple', ?) as tsq, ?::text as raw)
         select * from (
           select 'company' as type, c.id, c.name as title, concat_ws(' · ', c.type, c.industry, c.website) as subtitle,
                  c.id as company_id,
                  ts_rank(c.search, query.tsq) * 2 + similarity(c.name, query.raw) as rank
             from companies c, query
            where c.tenant_id = ? and (c.search @@ query.tsq or c.name % query.raw)
           union all
           select 'contact', p.id, p.first_name || ' ' || p.last_name, concat_ws(' · ', p.role, p.email), p.company_id,
                  ts_rank(p.search, query.tsq) * 2 + similarity(p.first_name || ' ' || p.last_name, query.raw)
             from contacts p, query
            where p.tenant_id = ? and (p.search @@ query.tsq or (p.first_name || ' ' || p.last_name) % query.raw)
           union all
           select 'deal', d.id, d.title, concat_ws(' · ', d.stage, d.value::text || ' ' || d.currency), d.company_id,
                  ts_rank(d.search, query.tsq) * 2 + similarity(d.title, query.raw)
             from deals d, query
            where d.tenant_id = ? and (d.search @@ query.tsq or d.title % query.raw)
           union all
           select 'note', n.id, left(regexp_replace(n.content, '\\s+', ' ', 'g'), 120), n.note_type,
                  case when n.entity_type = 'company' then n.entity_id end,
                  ts_rank(n.search, query.tsq)
             from notes n, query
            where n.tenant_id = ? and n.search @@ query.tsq
         ) hits
         order by rank desc, title asc
         limit ?`,
        [tsq, text, actor.tenantId, actor.tenantId, actor.tenantId, actor.tenantId, limit],
      )) as {
        type: SearchHit['type'];
        id: string;
        title: string;
        subtitle: string | null;
        company_id: string | null;
        rank: number;
      }[];
      return rows.map((r) => ({
        type: r.type,
        id: r.id,
        title: r.title,
        subtitle: r.subtitle || null,
        companyId: r.company_id,
        rank: Number(r.rank),
      }));
    });
  }
}
