import { Migration } from '@mikro-orm/migrations';
import { Migration20261125040000_timeline_function } from './Migration20261125040000_timeline_function.ts';
import { Migration20261125050000_search_function } from './Migration20261125050000_search_function.ts';

const UUID = `'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'`;

/** A row is visible when it came from no mailbox, the viewer sees every mailbox (null), or its mailbox is theirs. */
const visible = (alias: string) =>
  `(${alias}.mailbox_id is null or v_visible is null or ${alias}.mailbox_id = any(v_visible))`;

/** One page of the timeline in one direction (each branch keeps its own plan: an index range in order). */
const page = (where: string, order: 'asc' | 'desc') => `return query
        select a.id, a.seq, a.entity_type, a.entity_id, a.company_id, a.activity_type, a.title, a.description,
               a.metadata, a.created_by, u.name, a.created_at
          from activities a left join users u on u.id = a.created_by
         where a.tenant_id = p_tenant and ${where}
           and a.seq > coalesce(p_after, 0) and a.seq < coalesce(p_before, 9223372036854775807)
           and ${visible('a')}
         order by a.seq ${order}
         limit p_limit;`;

const branches = (where: string) => `if p_ascending then
      ${page(where, 'asc')}
    else
      ${page(where, 'desc')}
    end if;`;

/**
 * Restricted mailboxes stay restricted on every read path: what was derived from a mailbox's mail (timeline
 * entries, attachments kept as documents) carries the mailbox's id, and the timeline and search functions take
 * the viewer and leave out what comes from mailboxes they do not see. A row of a deleted mailbox stays hidden
 * from members (only owners and admins, who see every mailbox, still see it).
 */
export class Migration20261205030000_mailbox_visibility extends Migration {
  override up(): void {
    this.addSql(`alter table "activities" add "mailbox_id" uuid null;`);
    this.addSql(`alter table "documents" add "mailbox_id" uuid null;`);

    // Backfill from what each row came from: the mailbox named in its data, its conversation, its bounce; a
    // document from the message that brought it in, or the reply it was uploaded for (a record's own file sent
    // in a reply stays the record's).
    this.addSql(`update activities set mailbox_id = (metadata->>'mailboxId')::uuid
      where metadata->>'mailboxId' ~ ${UUID};`);
    this.addSql(`update activities a set mailbox_id = c.mailbox_id from conversations c
      where a.mailbox_id is null and c.tenant_id = a.tenant_id
        and c.id = case when a.entity_type = 'conversation' then a.entity_id
                        when a.metadata->>'conversationId' ~ ${UUID} then (a.metadata->>'conversationId')::uuid end;`);
    this.addSql(`update activities a set mailbox_id = i.mailbox_id from inbound_messages i
      where a.mailbox_id is null and a.activity_type = 'email.bounced' and i.tenant_id = a.tenant_id
        and a.metadata->>'inboundId' ~ ${UUID} and i.id = (a.metadata->>'inboundId')::uuid;`);
    this.addSql(`update documents d set mailbox_id = m.mailbox_id
      from email_messages m cross join lateral jsonb_array_elements(m.attachments) att
      where d.mailbox_id is null and m.tenant_id = d.tenant_id and att->>'documentId' = d.id::text
        and (m.direction = 'inbound' or d.entity_type = 'outbound_upload');`);

    // The mailboxes a viewer sees (those open to all or naming them); null = every mailbox (owners, admins, Filo).
    this.addSql(`create function filo_visible_mailboxes(p_viewer uuid)
returns uuid[]
language sql stable as $$
  select case when p_viewer is null then null
              else coalesce(array_agg(m.id), '{}'::uuid[]) end
    from mailboxes m
   where p_viewer is not null and m.tenant_id = filo_current_tenant()
     and (cardinality(m.member_ids) = 0 or p_viewer::text = any(m.member_ids))
$$;`);

    this.addSql(`drop function if exists filo_timeline(uuid, text, uuid, bigint, bigint, int, boolean);`);
    this.addSql(`create function filo_timeline(p_tenant uuid, p_viewer uuid, p_entity_type text, p_entity_id uuid,
    p_before bigint, p_after bigint, p_limit int, p_ascending boolean)
returns table (id uuid, seq bigint, entity_type varchar, entity_id uuid, company_id uuid, activity_type varchar,
               title varchar, description text, metadata jsonb, created_by uuid, actor_name varchar,
               created_at timestamptz)
language plpgsql stable as $$
declare
  v_visible uuid[];
begin
  perform set_config('app.tenant_id', p_tenant::text, true);
  if p_entity_id is not null and not (
       (p_entity_type = 'company' and exists (select 1 from companies c where c.id = p_entity_id))
    or (p_entity_type = 'contact' and exists (select 1 from contacts c where c.id = p_entity_id))
    or (p_entity_type = 'deal' and exists (select 1 from deals d where d.id = p_entity_id))) then
    raise exception 'no such record' using errcode = 'P0002';
  end if;
  v_visible := filo_visible_mailboxes(p_viewer);
  if p_entity_type = 'company' and p_entity_id is not null then
    ${branches('a.company_id = p_entity_id')}
  elsif p_entity_id is not null then
    ${branches('a.entity_type = p_entity_type and a.entity_id = p_entity_id')}
  else
    ${branches('(p_entity_type is null or a.entity_type = p_entity_type)')}
  end if;
end $$;`);

    // Notes on a conversation are seen through its mailbox (a note of a deleted mailbox's conversation: by none).
    const noteVisible = `(n.entity_type <> 'conversation' or v_visible is null
             or exists (select 1 from conversations cv where cv.tenant_id = v_tenant and cv.id = n.entity_id
                          and cv.mailbox_id = any(v_visible)))`;
    this.addSql(`drop function if exists filo_search(text, text, int);`);
    this.addSql(`create function filo_search(p_tsquery text, p_text text, p_limit int, p_viewer uuid)
returns table (type text, id uuid, title text, subtitle text, company_id uuid, rank double precision)
language plpgsql stable security definer set search_path = public as $$
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
          and ${noteVisible}
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
    this.addSql(`drop function if exists filo_search(text, text, int, uuid);`);
    this.addSql(`drop function if exists filo_timeline(uuid, uuid, text, uuid, bigint, bigint, int, boolean);`);
    this.addSql(`drop function if exists filo_visible_mailboxes(uuid);`);
    // The previous versions, exactly as they shipped.
    for (const Previous of [Migration20261125040000_timeline_function, Migration20261125050000_search_function]) {
      const previous = new Previous(this.driver, this.config);
      void previous.up();
      for (const sql of previous.getQueries()) this.addSql(sql);
    }
    this.addSql(`alter table "documents" drop column if exists "mailbox_id";`);
    this.addSql(`alter table "activities" drop column if exists "mailbox_id";`);
  }
}
