import { Migration } from '@mikro-orm/migrations';

/**
 * The timeline page is the hottest read (every open card, every wall screen). MikroORM sends queries with
 * their parameters inlined, so each one is planned anew (~1 ms at 1M activities, more than it runs); a
 * PL/pgSQL function keeps its plans per connection and does the tenant setting, the record check and the
 * page in one round trip. SECURITY INVOKER: row-level security applies as for any query of the app role.
 */
export class Migration20261125040000_timeline_function extends Migration {
  override up(): void {
    this.addSql(`create function filo_timeline(p_tenant uuid, p_entity_type text, p_entity_id uuid,
    p_before bigint, p_after bigint, p_limit int, p_ascending boolean)
returns table (id uuid, seq bigint, entity_type varchar, entity_id uuid, company_id uuid, activity_type varchar,
               title varchar, description text, metadata jsonb, created_by uuid, actor_name varchar,
               created_at timestamptz)
language plpgsql stable as $$
begin
  perform set_config('app.tenant_id', p_tenant::text, true);
  if p_entity_id is not null and not (
       (p_entity_type = 'company' and exists (select 1 from companies c where c.id = p_entity_id))
    or (p_entity_type = 'contact' and exists (select 1 from contacts c where c.id = p_entity_id))
    or (p_entity_type = 'deal' and exists (select 1 from deals d where d.id = p_entity_id))) then
    raise exception 'no such record' using errcode = 'P0002';
  end if;
  -- One branch per shape and direction, so that each plan is an index range in order.
  if p_entity_type = 'company' and p_entity_id is not null then
    if p_ascending then
      return query
        select a.id, a.seq, a.entity_type, a.entity_id, a.company_id, a.activity_type, a.title, a.description,
               a.metadata, a.created_by, u.name, a.created_at
          from activities a left join users u on u.id = a.created_by
         where a.tenant_id = p_tenant and a.company_id = p_entity_id
           and a.seq > coalesce(p_after, 0) and a.seq < coalesce(p_before, 9223372036854775807)
         order by a.seq asc
         limit p_limit;
    else
      return query
        select a.id, a.seq, a.entity_type, a.entity_id, a.company_id, a.activity_type, a.title, a.description,
               a.metadata, a.created_by, u.name, a.created_at
          from activities a left join users u on u.id = a.created_by
         where a.tenant_id = p_tenant and a.company_id = p_entity_id
           and a.seq > coalesce(p_after, 0) and a.seq < coalesce(p_before, 9223372036854775807)
         order by a.seq desc
         limit p_limit;
    end if;
  elsif p_entity_id is not null then
    if p_ascending then
      return query
        select a.id, a.seq, a.entity_type, a.entity_id, a.company_id, a.activity_type, a.title, a.description,
               a.metadata, a.created_by, u.name, a.created_at
          from activities a left join users u on u.id = a.created_by
         where a.tenant_id = p_tenant and a.entity_type = p_entity_type and a.entity_id = p_entity_id
           and a.seq > coalesce(p_after, 0) and a.seq < coalesce(p_before, 9223372036854775807)
         order by a.seq asc
         limit p_limit;
    else
      return query
        select a.id, a.seq, a.entity_type, a.entity_id, a.company_id, a.activity_type, a.title, a.description,
               a.metadata, a.created_by, u.name, a.created_at
          from activities a left join users u on u.id = a.created_by
         where a.tenant_id = p_tenant and a.entity_type = p_entity_type and a.entity_id = p_entity_id
           and a.seq > coalesce(p_after, 0) and a.seq < coalesce(p_before, 9223372036854775807)
         order by a.seq desc
         limit p_limit;
    end if;
  else
    if p_ascending then
      return query
        select a.id, a.seq, a.entity_type, a.entity_id, a.company_id, a.activity_type, a.title, a.description,
               a.metadata, a.created_by, u.name, a.created_at
          from activities a left join users u on u.id = a.created_by
         where a.tenant_id = p_tenant and (p_entity_type is null or a.entity_type = p_entity_type)
           and a.seq > coalesce(p_after, 0) and a.seq < coalesce(p_before, 9223372036854775807)
         order by a.seq asc
         limit p_limit;
    else
      return query
        select a.id, a.seq, a.entity_type, a.entity_id, a.company_id, a.activity_type, a.title, a.description,
               a.metadata, a.created_by, u.name, a.created_at
          from activities a left join users u on u.id = a.created_by
         where a.tenant_id = p_tenant and (p_entity_type is null or a.entity_type = p_entity_type)
           and a.seq > coalesce(p_after, 0) and a.seq < coalesce(p_before, 9223372036854775807)
         order by a.seq desc
         limit p_limit;
    end if;
  end if;
end $$;`);
  }

  override down(): void {
    this.addSql(`drop function if exists filo_timeline(uuid, text, uuid, bigint, bigint, int, boolean);`);
  }
}
