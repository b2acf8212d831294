import { z } from 'zod';
import type { SearchHit } from '#contracts/crm';
import type { MikroORM } from '../../db/orm.ts';
import { inTenant, type Actor, type UnitOfWork } from '../tenancy.ts';
import { mailboxViewer } from '../timeline/mailbox-visibility.ts';
import { tenantStatement, type HotReads } from '../db-hot/hot-reads.ts';

export type { SearchHit };

/** GET /api/search's parameters: the words, and how many hits at most. */
export const searchQuery = z.object({
  q: z.string().trim().min(1).max(200),
  limit: z.coerce.number().int().min(1).max(50).default(20),
});

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
  amount: string | null;
  currency: string | null;
};

const SNIPPET_CHARS = 120;

/**
 * `filo_search()` on the hot-read pool. It reads the tenant from the setting (SECURITY DEFINER, see its migration),
 * so it must run after the CTE that sets it: naming `filo_tenant.id` makes it the lateral side of the loop.
 */
const SEARCH = tenantStatement(
  `select * from filo_search($2::text, $3::text, $4::int, $5::uuid) where filo_tenant.id is not null limit $4::int`,
);

/** Linked records' hits beside the CRM's, by rank (stable: the CRM's first on a tie), at most `limit`. */
const merge = (hits: SearchHit[], linked: SearchHit[], limit: number) =>
  linked.length ? [...hits, ...linked].sort((a, b) => b.rank - a.rank).slice(0, limit) : hits;

/** A note's Markdown as the plain words a snippet shows: no `**`, list markers, headings, link targets. */
export function markdownSnippet(source: string, max = SNIPPET_CHARS): string {
  const text = source
    .replace(/```[^\n]*\n?/g, ' ')
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+(?:\[[ xX]\]\s+)?|\d+[.)]\s+)/gm, '')
    .replace(/(\*\*|__|~~|`)(.+?)\1/g, '$2')
    .replace(/(^|[^\p{L}\p{N}*_])[*_]([^*_\s](?:[^*_]*[^*_\s])?)[*_](?=$|[^\p{L}\p{N}*_])/gu, '$1$2')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > max ? `${text.slice(0, max - 1).trimEnd()}…` : text;
}

const mapHit = (r: Row): SearchHit => ({
  type: r.type,
  id: r.id,
  title: r.type === 'note' ? markdownSnippet(r.title) : r.title,
  subtitle: r.subtitle || null,
  companyId: r.company_id,
  rank: Number(r.rank),
  amount: r.amount !== null && r.currency ? { value: r.amount, currency: r.currency } : null,
});

/**
 * Words first, in tiers that each read a bounded number of rows through an index: the exact name, names with every
 * word whole, then words as prefixes; when they find too little and no name has every word whole, trigram
 * similarity on names (whole, or one of their words) for typos. `filo_search()` does both (its latest migration,
 * search_bounded, says why each part is shaped so), inside the tenant's transaction: it reads the tenant from the
 * same setting row-level security uses. Notes on conversations of mailboxes the actor does not see are left out.
 */
export class SearchService {
  readonly #orm: MikroORM;
  readonly #hot: HotReads | undefined;
  /** Linked records of other modules by title and external id (server/linked-records), of kinds the actor may read. */
  linked: ((uow: UnitOfWork, tsquery: string, limit: number) => Promise<SearchHit[]>) | undefined;
  /** The same on the hot-read pool, for an actor who reads every kind. */
  linkedHot: ((actor: Actor, tsquery: string, limit: number) => Promise<SearchHit[]>) | undefined;

  constructor(orm: MikroORM, hot?: HotReads) {
    this.#orm = orm;
    this.#hot = hot;
  }

  search(actor: Actor, q: string, limit: number): Promise<SearchHit[]> {
    const tsq = prefixQuery(q);
    if (!tsq) return Promise.resolve([]);
    const text = q.trim().slice(0, 200);
    const args = [tsq, text, limit, mailboxViewer(actor)];
    // Both reads at once on two pooled connections, each one round trip; a token with grants takes the transaction.
    const hot = this.#hot;
    if (hot && !actor.grants && (!this.linked || this.linkedHot))
      return Promise.all([hot.read<Row>(actor.tenantId, SEARCH, args), this.linkedHot?.(actor, tsq, limit) ?? []]).then(
        ([rows, linked]) => merge(rows.map(mapHit), linked, limit),
      );
    return inTenant(this.#orm, actor, async (uow) => {
      const rows = (await uow.em.execute(`select * from filo_search(?, ?, ?, ?)`, args)) as Row[];
      return merge(rows.map(mapHit), (await this.linked?.(uow, tsq, limit)) ?? [], limit);
    });
  }
}
