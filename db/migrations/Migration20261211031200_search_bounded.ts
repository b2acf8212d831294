import { Migration } from '@mikro-orm/migrations';
import { Migration20261207080000_search_typos } from './Migration20261207080000_search_typos.ts';

/** A searchable name: its table, the expression users know it by, and what a hit shows beside it. */
interface Named {
  type: string;
  table: string;
  name: string;
  subtitle: string;
  companyId: string;
  amount: string;
  currency: string;
}

const COMPANY: Named = {
  type: 'company',
  table: 'companies',
  name: 'x.name::text',
  subtitle: `concat_ws(' · ', x.type, x.industry, x.website)`,
  companyId: 'x.id',
  amount: 'null::text',
  currency: 'null::text',
};
const CONTACT: Named = {
  type: 'contact',
  table: 'contacts',
  name: `x.first_name || ' ' || x.last_name`,
  subtitle: `concat_ws(' · ', x.role, x.email)`,
  companyId: 'x.company_id',
  amount: 'null::text',
  currency: 'null::text',
};
const DEAL: Named = {
  type: 'deal',
  table: 'deals',
  name: 'x.title::text',
  subtitle: 'x.stage::text',
  companyId: 'x.company_id',
  amount: 'x.value::text',
  currency: 'x.currency::text',
};

/** The btree behind the exact-name tier (the same expression as in the query, lower-cased). */
const exactIndex = (n: Named) => `${n.table}_tenant_id_lower_name_index`;
const indexed = (n: Named) => n.name.replace(/x\./g, '').replace('::text', '');

/**
 * A table's three tiers as CTEs, each read through an index and cut with a LIMIT before anything is ranked: the
 * exact name (btree), every word whole (GIN, exact lexemes), every word a mere prefix (GIN). A GIN tier takes at most
 * v_k rows in the heap's order (a bitmap scan stops at its LIMIT) and ranks only those. A tier that could only rank
 * below `limit` better hits of its own table is not read (LIMIT 0): a tier skips the rows of the tiers above it,
 * and when it runs they are fewer than `limit`, so what it reads and drops stays bounded too.
 */
const tierCtes = (n: Named) => {
  const cols = (rank: string) =>
    `'${n.type}'::text, x.id, ${n.name}, ${n.subtitle}, ${n.companyId}, (${rank})::float8, ${n.amount}, ${n.currency}`;
  const count = (tier: string) => `(select count(*) from ${n.type}_${tier})`;
  return `${n.type}_exact as (select ${cols('3')} from ${n.table} x
          where x.tenant_id = v_tenant and lower(${n.name}) = v_name limit p_limit),
    ${n.type}_whole as (select ${cols('2 + ts_rank(x.search, v_prefix, 32)')} from ${n.table} x
          where x.search @@ v_words and x.tenant_id = v_tenant and lower(${n.name}) <> v_name
          limit case when ${count('exact')} >= p_limit then 0 else v_k end),
    ${n.type}_prefix as (select ${cols('1 + ts_rank(x.search, v_prefix, 32)')} from ${n.table} x
          where x.search @@ v_prefix and x.tenant_id = v_tenant and not x.search @@ v_words
            and lower(${n.name}) <> v_name
          limit case when ${count('exact')} + ${count('whole')} >= p_limit then 0 else v_k end)`;
};
const tiers = (n: Named) =>
  ['exact', 'whole', 'prefix'].map((tier) => `select * from ${n.type}_${tier}`).join('\n      union all ');

/** The typo fallback's part for one table: names by trigram similarity, whole or of one of their words. */
const similar = (n: Named) => `(select '${n.type}'::text, x.id, ${n.name}, ${n.subtitle}, ${n.companyId},
              greatest(similarity(${n.name}, p_text), word_similarity(p_text, ${n.name}))::float8,
              ${n.amount}, ${n.currency}
         from ${n.table} x where ((${n.name}) % p_text or p_text <% (${n.name})) and x.tenant_id = v_tenant
          and not (x.search @@ v_prefix)
        order by 6 desc limit p_limit)`;

/**
 * Search, third shape: a query's cost no longer grows with how many rows it matches.
 *
 * Measured at 100k companies / 300k contacts (bench/README.md, "search, 2026-12-06"): a 5-letter prefix matched
 * hundreds to thousands of rows per table, each fetched from the heap and `ts_rank`ed before the sort kept 20; and
 * a full name ("Leanne Purdy") found one contact by its words, so the trigram fallback ran for the other 19 slots
 * and cost 40–80 ms alone (the GIN trigram bitmap of a 12-letter text and the recheck of ~1,300 rows): 2.4 ms of
 * PostgreSQL CPU per prefix, 37 ms per full name. Now 1.0 and 0.55 ms:
 * - Tiers, best first, so that ranking needs no full match set: the exact name (rank 3, a btree probe on the
 *   lower-cased name), every word whole (2 + ts_rank), every word a mere prefix (1 + ts_rank); notes, which have no
 *   name, 1 + ts_rank for whole words and ts_rank for prefixes. Shorter titles first within a rank, then A–Z.
 * - Each GIN tier reads at most 2 × limit rows (LIMIT under the rank): a bitmap scan builds its bitmap from the
 *   index alone and stops fetching rows at the LIMIT. The bitmap still grows with the matches, at a sixth of the
 *   cost of fetching and ranking them (200,000 notes matching: 40–53 ms, against 257–333 ms). Among thousands
 *   of matches of one tier the 20 shown are the best of that bounded sample, not of all: a prefix that common is
 *   a query still being typed. The exact name comes first whatever the number of matches. 5 × limit cost 0.2 ms
 *   more per prefix for a larger sample of equals.
 * - A tier is read only when the tiers above it in its table found fewer than `limit` rows: otherwise a prefix
 *   tier would fetch every whole-word match just to drop it ("Sara Rossi" among 1,400 namesakes).
 * - The trigram fallback runs only when the words found fewer than `limit` hits and no company, contact or deal
 *   has every word whole: "Mario Rossi" found by name no longer pays 40 ms to fill the page with look-alikes.
 * - plan_cache_mode = force_generic_plan: planning this 13-branch statement anew on each call (PL/pgSQL keeps
 *   custom plans while they look cheaper) cost ~1 ms, as much as running it. The generic plan is the same shape
 *   for any input: with a parameter's default selectivity a bitmap scan under a LIMIT stays cheaper than a
 *   sequential scan at any table size, both being proportional to it. (An EXISTS per table, generic, could walk a
 *   table: hence the loop that watches the ranks.)
 * - A per-word lexicon table and a prefix btree on names were weighed: the first doubles every write for a gain
 *   the bounded tiers already give; the second finds only names that start with the text, not a later word.
 */
export class Migration20261211031200_search_bounded extends Migration {
  override up(): void {
    for (const n of [COMPANY, CONTACT, DEAL]) {
      this.addSql(`create index ${exactIndex(n)} on ${n.table} (tenant_id, lower(${indexed(n)}));`);
    }
    this.addSql(`drop function if exists filo_search(text, text, int, uuid);`);
    this.addSql(`create function filo_search(p_tsquery text, p_text text, p_limit int, p_viewer uuid)
returns table (type text, id uuid, title text, subtitle text, company_id uuid, rank double precision,
               amount text, currency text)
language plpgsql stable security definer set search_path = public
set pg_trgm.word_similarity_threshold = 0.45 set plan_cache_mode = force_generic_plan as $$
declare
  v_tenant uuid := filo_current_tenant();
  v_prefix tsquery := to_tsquery('simple', p_tsquery);
  -- The same words without ':*' (the service writes only letters and digits before it).
  v_words tsquery := to_tsquery('simple', replace(p_tsquery, ':*', ''));
  v_name text := lower(regexp_replace(btrim(p_text), '\\s+', ' ', 'g'));
  v_visible uuid[] := filo_visible_mailboxes(p_viewer);
  v_k int := p_limit * 2;
  v_found int := 0;
  -- A company, contact or deal with every word whole (rank 2 or more) is among the hits.
  v_whole boolean := false;
  v_hit record;
begin
  if v_tenant is null then
    return;
  end if;
  -- A loop rather than RETURN QUERY, to see the hits' ranks on the way (a separate EXISTS per table would be
  -- planned generically, and a generic EXISTS may well walk a table).
  for v_hit in
    with ${tierCtes(COMPANY)},
    ${tierCtes(CONTACT)},
    ${tierCtes(DEAL)}
    select * from (
      ${tiers(COMPANY)}
      union all
      ${tiers(CONTACT)}
      union all
      ${tiers(DEAL)}
      union all
      (select 'note'::text, x.id, left(x.content, 600), x.note_type::text,
              case when x.entity_type = 'company' then x.entity_id end,
              ((x.search @@ v_words)::int + ts_rank(x.search, v_prefix, 32))::float8, null::text, null::text
         from (select * from notes x where x.search @@ v_prefix and x.tenant_id = v_tenant
                 and (x.entity_type <> 'conversation' or v_visible is null
                      or exists (select 1 from conversations cv where cv.tenant_id = v_tenant and cv.id = x.entity_id
                                   and cv.mailbox_id = any(v_visible)))
                limit v_k) x)
    ) hits (type, id, title, subtitle, company_id, rank, amount, currency)
    order by hits.rank desc, length(hits.title), hits.title limit p_limit
  loop
    type := v_hit.type; id := v_hit.id; title := v_hit.title; subtitle := v_hit.subtitle;
    company_id := v_hit.company_id; rank := v_hit.rank; amount := v_hit.amount; currency := v_hit.currency;
    return next;
    v_found := v_found + 1;
    v_whole := v_whole or v_hit.rank >= 2;
  end loop;
  if v_found >= p_limit or v_whole then
    return;
  end if;
  -- Few hits and no name with every word whole: names by trigram similarity, for typos.
  return query
    select * from (
      ${similar(COMPANY)}
      union all
      ${similar(CONTACT)}
      union all
      ${similar(DEAL)}
    ) hits order by 6 desc, 3 asc limit p_limit - v_found;
end $$;`);
  }

  override down(): void {
    this.addSql(`drop function if exists filo_search(text, text, int, uuid);`);
    // The previous version, exactly as it shipped.
    const previous = new Migration20261207080000_search_typos(this.driver, this.config);
    void previous.up();
    for (const sql of previous.getQueries()) {
      if (typeof sql === 'string' && sql.startsWith('create function filo_search(')) this.addSql(sql);
    }
    this.addSql(`drop index if exists ${[COMPANY, CONTACT, DEAL].map(exactIndex).join(', ')};`);
  }
}
