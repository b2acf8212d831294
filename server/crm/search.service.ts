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

type Row = {
  type: SearchHit['type'];
  id: string;
  title: string;
  subtitle: string | null;
  company_id: string | null;
  rank: number;
};

const mapHit = (r: Row): SearchHit => ({
  type: r.type,
  id: r.id,
  title: r.title,
  subtitle: r.subtitle || null,
  companyId: r.company_id,
  rank: Number(r.rank),
});

// Each branch is bounded by the GIN index on (tenant_id, search) and ranks only its own matches.
const FULL_TEXT = `with query as (select to_tsquery('simple', ?) as tsq)
  select * from (
    (select 'company' as type, c.id, c.name as title, concat_ws(' · ', c.type, c.industry, c.website) as subtitle,
            c.id as company_id, ts_rank(c.search, query.tsq) * 2 as rank
       from companies c, query where c.tenant_id = ? and c.search @@ query.tsq order by rank desc limit 50)
    union all
    (select 'contact', p.id, p.first_name || ' ' || p.last_name, concat_ws(' · ', p.role, p.email), p.company_id,
            ts_rank(p.search, query.tsq) * 2 as rank
       from contacts p, query where p.tenant_id = ? and p.search @@ query.tsq order by rank desc limit 50)
    union all
    (select 'deal', d.id, d.title, concat_ws(' · ', d.stage, d.value::text || ' ' || d.currency), d.company_id,
            ts_rank(d.search, query.tsq) * 2 as rank
       from deals d, query where d.tenant_id = ? and d.search @@ query.tsq order by rank desc limit 50)
    union all
    (select 'note', n.id, left(regexp_replace(n.content, '\\s+', ' ', 'g'), 120), n.note_type,
            case when n.entity_type = 'company' then n.entity_id end, ts_rank(n.search, query.tsq) as rank
       from notes n, query where n.tenant_id = ? and n.search @@ query.tsq order by rank desc limit 50)
  ) hits order by rank desc, title asc limit ?`;

const FUZZY = `select * from (
    (select 'company' as type, c.id, c.name as title, concat_ws(' · ', c.type, c.industry, c.website) as subtitle,
            c.id as company_id, similarity(c.name, ?) as rank
       from companies c where c.tenant_id = ? and c.name % ? order by rank desc limit 20)
    union all
    (select 'contact', p.id, p.first_name || ' ' || p.last_name, concat_ws(' · ', p.role, p.email), p.company_id,
            similarity(p.first_name || ' ' || p.last_name, ?) as rank
       from contacts p where p.tenant_id = ? and (p.first_name || ' ' || p.last_name) % ? order by rank desc limit 20)
    union all
    (select 'deal', d.id, d.title, concat_ws(' · ', d.stage, d.value::text || ' ' || d.currency), d.company_id,
            similarity(d.title, ?) as rank
       from deals d where d.tenant_id = ? and d.title % ? order by rank desc limit 20)
  ) hits where not (id = any(?::uuid[])) order by rank desc, title asc limit ?`;

const FUZZY_PARAMS = ['$1', '$2', '$1', '$1', '$3', '$1', '$1', '$4', '$1', '$5', '$6'];

/**
 * Words first (stored tsvectors, prefix matching, ranked); when they find too little, trigram similarity on
 * names for typos. Inside the tenant's transaction: row-level security applies as everywhere.
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
      const exact = (await em.execute(FULL_TEXT, [
        tsq,
        actor.tenantId,
        actor.tenantId,
        actor.tenantId,
        actor.tenantId,
        limit,
      ])) as Row[];
      if (exact.length >= limit) return exact.map(mapHit);
      // Few or no word matches: fall back to trigram similarity on names, for typos ("Federika").
      const seen = exact.map((r) => r.id);
      const p: Record<string, unknown> = {
        $1: text,
        $2: actor.tenantId,
        $3: actor.tenantId,
        $4: actor.tenantId,
        $5: `{${(seen.length ? seen : ['00000000-0000-0000-0000-000000000000']).join(',')}}`,
        $6: limit - exact.length,
      };
      const fuzzy = (await em.execute(
        FUZZY,
        FUZZY_PARAMS.map((k) => p[k]),
      )) as Row[];
      return [...exact, ...fuzzy].map(mapHit);
    });
  }
}
