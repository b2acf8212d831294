import { Migration } from '@mikro-orm/migrations';
import { Migration20261205030000_mailbox_visibility } from './Migration20261205030000_mailbox_visibility.ts';

/** The page's query with the function's variables as `$n` for EXECUTE … USING (same order as `USING` below). */
const PARAMS = ['p_tenant', 'p_entity_type', 'p_entity_id', 'p_before', 'p_after', 'p_limit', 'v_visible'] as const;
const USING = PARAMS.join(', ');

/** One page in one direction; `dynamic` writes it for EXECUTE (planned for its values on every call). */
function page(where: string, order: 'asc' | 'desc', dynamic: boolean): string {
  let sql = `select a.id, a.seq, a.entity_type, a.entity_id, a.company_id, a.activity_type, a.title, a.description,
               a.metadata, a.created_by, u.name, a.created_at
          from activities a left join users u on u.id = a.created_by
         where a.tenant_id = p_tenant and ${where}
           and a.seq > coalesce(p_after, 0) and a.seq < coalesce(p_before, 9223372036854775807)
           and (a.mailbox_id is null or v_visible is null or a.mailbox_id = any(v_visible))
         order by a.seq ${order}
         limit p_limit`;
  if (!dynamic) return `return query ${sql};`;
  PARAMS.forEach((name, i) => {
    sql = sql.replaceAll(new RegExp(`\\b${name}\\b`, 'g'), `$${i + 1}`);
  });
  return `return query execute $page$${sql}$page$ using ${USING};`;
}

/** First pages keep the plan PL/pgSQL caches; a page at a cursor is planned for its cursor. */
const branches = (where: string) => `if p_before is null and p_after is null then
      if p_ascending then
        ${page(where, 'asc', false)}
      else
        ${page(where, 'desc', false)}
      end if;
    elsif p_ascending then
      ${page(where, 'asc', true)}
    else
      ${page(where, 'desc', true)}
    end if;`;

/**
 * The timeline at a cursor is planned for that cursor. PL/pgSQL caches a generic plan for a query after five
 * calls on a connection, and the generic plan of the page query cannot know how far back `p_before` points: for
 * a company holding 1 % of a million activities, at a cursor near its start, it took 6–12 ms where the plan made
 * for the values takes 0.8–1.1 ms (bench/README.md, api section). Planning every call instead
 * (`plan_cache_mode = force_custom_plan` on the function) fixed the deep page but cost first pages — the common
 * case: a record opened, a wall screen's reload — a quarter of their rate. So only the branches with a cursor
 * go through EXECUTE (never cached, planned with the parameters' values); first pages keep the cached plan.
 * Everything else (tenant setting, record check, mailbox visibility) is unchanged.
 */
export class Migration20261211010000_timeline_cursor_plans extends Migration {
  override up(): void {
    this.addSql(`create or replace function filo_timeline(p_tenant uuid, p_viewer uuid, p_entity_type text,
    p_entity_id uuid, p_before bigint, p_after bigint, p_limit int, p_ascending boolean)
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
  }

  override down(): void {
    // The previous version, exactly as it shipped (its migration also creates other things: keep only this one).
    const previous = new Migration20261205030000_mailbox_visibility(this.driver, this.config);
    void previous.up();
    for (const sql of previous.getQueries()) {
      if (typeof sql === 'string' && sql.startsWith('create function filo_timeline(')) {
        this.addSql(sql.replace('create function', 'create or replace function'));
      }
    }
  }
}
