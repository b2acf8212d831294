import { z } from 'zod';
import type { SearchHit } from '#contracts/crm';
import type { MikroORM } from '../../db/orm.ts';
import { inTenant, type Actor, type UnitOfWork } from '../tenancy.ts';
import { mailboxViewer } from '../timeline/mailbox-visibility.ts';

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
 * Words first (stored tsvectors, prefix matching, ranked); when they find too little, trigram similarity on
 * names (whole, or one of their words) for typos. `filo_search()` does both with the indexes (see its migration for why it is a function),
 * inside the tenant's transaction: it reads the tenant from the same setting row-level security uses. Notes on
 * conversations of mailboxes the actor does not see are left out.
 */
export class SearchService {
  readonly #orm: MikroORM;
  /** Linked records of other modules by title and external id (server/linked-records), of kinds the actor may read. */
  linked: ((uow: UnitOfWork, tsquery: string, limit: number) => Promise<SearchHit[]>) | undefined;

  constructor(orm: MikroORM) {
    this.#orm = orm;
  }

  search(actor: Actor, q: string, limit: number): Promise<SearchHit[]> {
    const tsq = prefixQuery(q);
    if (!tsq) return Promise.resolve([]);
    const text = q.trim().slice(0, 200);
    return inTenant(this.#orm, actor, async (uow) => {
      const rows = (await uow.em.execute(`select * from filo_search(?, ?, ?, ?)`, [
        tsq,
        text,
        limit,
        mailboxViewer(actor),
      ])) as Row[];
      const hits = rows.map(mapHit);
      const linked = (await this.linked?.(uow, tsq, limit)) ?? [];
      return linked.length ? [...hits, ...linked].sort((a, b) => b.rank - a.rank).slice(0, limit) : hits;
    });
  }
}
