import { Migration } from '@mikro-orm/migrations';
import { Migration20261205030000_mailbox_visibility } from './Migration20261205030000_mailbox_visibility.ts';

const noteVisible = `(n.entity_type <> 'conversation' or v_visible is null
             or exists (select 1 from conversations cv where cv.tenant_id = v_tenant and cv.id = n.entity_id
                          and cv.mailbox_id = any(v_visible)))`;

/**
 * Search, second shape. A typo in one word of a longer name ("Gualteiri" for "Caseificio Gualtieri S.r.l.")
 * scored under `%`'s whole-string similarity: names now also match by word similarity (`<%`, served by the
 * same gin_trgm_ops indexes), at 0.45 rather than 0.6 (one swapped pair of letters in a 9-letter word is 0.5). A deal's amount comes back as value and currency, for the client to format by
 * locale, and a note's text comes back longer so that the server can strip its Markdown before cutting it.
 */
export class Migration20261207080000_search_typos extends Migration {
  override up(): void {
    this.addSql(`drop function if exists filo_search(text, text, int, uuid);`);
    this.addSql(`create function filo_search(p_tsquery text, p_text text, p_limit int, p_viewer uuid)
returns table (type text, id uuid, title text, subtitle text, company_id uuid, rank double precision,
               amount text, currency text)
language plpgsql stable security definer set search_path = public
set pg_trgm.word_similarity_threshold = 0.45 as $$
declare
  v_tenant uuid := filo_current_tenant();
  v_query tsquery := to_tsquery('simple', p_tsquery);
  v_visible uuid[] := filo_visible_mailboxes(p_viewer);
  v_found int;
begin
  if v_tenant is null then
    return;
  end if;
  return query
    select * from (
      (select 'company'::text, c.id, c.name::text, concat_ws(' · ', c.type, c.industry, c.website),
              c.id, (ts_rank(c.search, v_query) * 2)::float8, null::text, null::text
         from companies c where c.search @@ v_query and c.tenant_id = v_tenant
        order by 6 desc limit p_limit)
      union all
      (select 'contact', p.id, p.first_name || ' ' || p.last_name, concat_ws(' · ', p.role, p.email),
              p.company_id, (ts_rank(p.search, v_query) * 2)::float8, null::text, null::text
         from contacts p where p.search @@ v_query and p.tenant_id = v_tenant
        order by 6 desc limit p_limit)
      union all
      (select 'deal', d.id, d.title::text, d.stage::text,
              d.company_id, (ts_rank(d.search, v_query) * 2)::float8, d.value::text, d.currency::text
         from deals d where d.search @@ v_query and d.tenant_id = v_tenant
        order by 6 desc limit p_limit)
      union all
      (select 'note', n.id, left(n.content, 600), n.note_type,
              case when n.entity_type = 'company' then n.entity_id end, ts_rank(n.search, v_query)::float8,
              null::text, null::text
         from notes n where n.search @@ v_query and n.tenant_id = v_tenant
          and ${noteVisible}
        order by 6 desc limit p_limit)
    ) hits order by 6 desc, 3 asc limit p_limit;
  get diagnostics v_found = row_count;
  if v_found >= p_limit then
    return;
  end if;
  -- Few word matches: names by trigram similarity, whole or of one of their words, for typos.
  return query
    select * from (
      (select 'company'::text, c.id, c.name::text, concat_ws(' · ', c.type, c.industry, c.website),
              c.id, greatest(similarity(c.name, p_text), word_similarity(p_text, c.name))::float8,
              null::text, null::text
         from companies c where (c.name % p_text or p_text <% c.name) and c.tenant_id = v_tenant
          and not (c.search @@ v_query)
        order by 6 desc limit p_limit)
      union all
      (select 'contact', p.id, p.first_name || ' ' || p.last_name, concat_ws(' · ', p.role, p.email),
              p.company_id, greatest(similarity(p.first_name || ' ' || p.last_name, p_text),
                                     word_similarity(p_text, p.first_name || ' ' || p.last_name))::float8,
              null::text, null::text
         from contacts p
        where ((p.first_name || ' ' || p.last_name) % p_text or p_text <% (p.first_name || ' ' || p.last_name))
          and p.tenant_id = v_tenant and not (p.search @@ v_query)
        order by 6 desc limit p_limit)
      union all
      (select 'deal', d.id, d.title::text, d.stage::text,
              d.company_id, greatest(similarity(d.title, p_text), word_similarity(p_text, d.title))::float8,
              d.value::text, d.currency::text
         from deals d where (d.title % p_text or p_text <% d.title) and d.tenant_id = v_tenant
          and not (d.search @@ v_query)
        order by 6 desc limit p_limit)
    ) hits order by 6 desc, 3 asc limit p_limit - v_found;
end $$;`);
  }

  override down(): void {
    this.addSql(`drop function if exists filo_search(text, text, int, uuid);`);
    // The previous version, exactly as it shipped (its migration also recreates other functions: keep only this one).
    const previous = new Migration20261205030000_mailbox_visibility(this.driver, this.config);
    void previous.up();
    for (const sql of previous.getQueries()) {
      if (typeof sql === 'string' && sql.startsWith('create function filo_search(')) this.addSql(sql);
    }
  }
}
