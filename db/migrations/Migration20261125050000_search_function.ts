import { Migration } from '@mikro-orm/migrations';

/**
 * Search through one function. Under row-level security PostgreSQL may not use an index for an operator that
 * is not leakproof (`@@`, `%`): the policy's condition must be applied first, so every search scanned the
 * whole table. This SECURITY DEFINER function runs as the owner (no policy) and filters on the very same
 * condition the policy uses, `tenant_id = filo_current_tenant()`, taken from the transaction's setting, never
 * from a parameter: the isolation is unchanged, the indexes work, and its plans are cached.
 */
export class Migration20261125050000_search_function extends Migration {
  override up(): void {
    this.addSql(`create function filo_search(p_tsquery text, p_text text, p_limit int)
returns table (type text, id uuid, title text, subtitle text, company_id uuid, rank double precision)
language plpgsql stable security definer set search_path = public as $$
declare
  v_tenant uuid := filo_current_tenant();
  v_query tsquery := to_tsquery('simple', p_tsquery);
  v_found int;
begin
  if v_tenant is null then
    return;
  end if;
  return query
    select * from (
      (select 'company'::text, c.id, c.name::text, concat_ws(' · ', c.type, c.industry, c.website),
              c.id, (ts_rank(c.search, v_query) * 2)::float8
         from companies c where c.search @@ v_query and c.tenant_id = v_tenant
        order by 6 desc limit p_limit)
      union all
      (select 'contact', p.id, p.first_name || ' ' || p.last_name, concat_ws(' · ', p.role, p.email),
              p.company_id, (ts_rank(p.search, v_query) * 2)::float8
         from contacts p where p.search @@ v_query and p.tenant_id = v_tenant
        order by 6 desc limit p_limit)
      union all
      (select 'deal', d.id, d.title::text, concat_ws(' · ', d.stage, d.value::text || ' ' || d.currency),
              d.company_id, (ts_rank(d.search, v_query) * 2)::float8
         from deals d where d.search @@ v_query and d.tenant_id = v_tenant
        order by 6 desc limit p_limit)
      union all
      (select 'note', n.id, left(regexp_replace(n.content, '\\s+', ' ', 'g'), 120), n.note_type,
              case when n.entity_type = 'company' then n.entity_id end, ts_rank(n.search, v_query)::float8
         from notes n where n.search @@ v_query and n.tenant_id = v_tenant
        order by 6 desc limit p_limit)
    ) hits order by 6 desc, 3 asc limit p_limit;
  get diagnostics v_found = row_count;
  if v_found >= p_limit then
    return;
  end if;
  -- Few word matches: names by trigram similarity, for typos ("Federika").
  return query
    select * from (
      (select 'company'::text, c.id, c.name::text, concat_ws(' · ', c.type, c.industry, c.website),
              c.id, similarity(c.name, p_text)::float8
         from companies c where c.name % p_text and c.tenant_id = v_tenant
          and not (c.search @@ v_query)
        order by 6 desc limit p_limit)
      union all
      (select 'contact', p.id, p.first_name || ' ' || p.last_name, concat_ws(' · ', p.role, p.email),
              p.company_id, similarity(p.first_name || ' ' || p.last_name, p_text)::float8
         from contacts p where (p.first_name || ' ' || p.last_name) % p_text and p.tenant_id = v_tenant
          and not (p.search @@ v_query)
        order by 6 desc limit p_limit)
      union all
      (select 'deal', d.id, d.title::text, concat_ws(' · ', d.stage, d.value::text || ' ' || d.currency),
              d.company_id, similarity(d.title, p_text)::float8
         from deals d where d.title % p_text and d.tenant_id = v_tenant
          and not (d.search @@ v_query)
        order by 6 desc limit p_limit)
    ) hits order by 6 desc, 3 asc limit p_limit - v_found;
end $$;`);
  }

  override down(): void {
    this.addSql(`drop function if exists filo_search(text, text, int);`);
  }
}
