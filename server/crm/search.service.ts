import { z } from 'zod';
import type { SearchHit } from '#contracts/crm';
import type { MikroORM } from '../../db/orm.ts';
import { inTenant, type Actor } from '../tenancy.ts';
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
};

const mapHit = (r: Row): SearchHit => ({
  type: r.type,
  id: r.id,
  title: r.title,
  subtitle: r.subtitle || null,
  companyId: r.company_id,
  rank: Number(r.rank),
});

/**
 * Words first (stored tsvectors, prefix matching, ranked); when they find too little, trigram similarity on
 * names for typos. `filo_search()` does both with the indexes (see its migration for why it is a function),
 * inside the tenant's transaction: it reads the tenant from the same setting row-level security uses. Notes on
 * conversations of mailboxes the actor does not see are left out.
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
      const rows = (await em.execute(`select * from filo_search(?, ?, ?, ?)`, [
        tsq,
        text,
        limit,
        mailboxViewer(actor),
      ])) as Row[];
      return rows.map(mapHit);
    });
  }
}
