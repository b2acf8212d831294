import { Migration } from '@mikro-orm/migrations';

/**
 * Notices to email, across workspaces (for the job, which has no tenant): those still unread and not yet emailed, of
 * a type the member lets through, older than their delay, or, with the daily digest, created before the last 08:00 of
 * the workspace's time zone. Members removed from the workspace are left out. `p_defaults` are the preferences of
 * contracts/preferences.ts: a user's stored ones override them key by key.
 */
export class Migration20261207040000_notify_due extends Migration {
  override up(): void {
    this.addSql(
      `create index "notifications_unemailed_index" on "notifications" ("created_at") where "read_at" is null and "emailed_at" is null;`,
    );
    this.addSql(`create function filo_digest_cutoff(p_now timestamptz, p_zone text)
returns timestamptz
language plpgsql stable set search_path = public as $$
declare
  local_now timestamp;
  eight timestamp;
  zone text := p_zone;
begin
  begin
    local_now := p_now at time zone zone;
  exception when others then
    -- A zone PostgreSQL does not know: UTC rather than no digest at all.
    zone := 'UTC';
    local_now := p_now at time zone zone;
  end;
  eight := date_trunc('day', local_now) + interval '8 hours';
  if local_now < eight then
    eight := eight - interval '1 day';
  end if;
  return eight at time zone zone;
end $$;`);
    this.addSql(`create function filo_notify_due(p_now timestamptz, p_defaults jsonb)
returns table (tenant_id uuid, user_id uuid, notification_id uuid, daily boolean)
language sql stable security definer set search_path = public as $$
  select n.tenant_id, n.user_id, n.id, pr.daily
    from notifications n
    join memberships m on m.tenant_id = n.tenant_id and m.user_id = n.user_id
    join users u on u.id = n.user_id
    join tenants t on t.id = n.tenant_id
    -- Rows made through the ORM may hold the JSON string '{}' rather than an object: the defaults then.
    cross join lateral (select case when jsonb_typeof(u.notification_prefs) = 'object'
                                    then p_defaults || u.notification_prefs else p_defaults end as p) eff
    cross join lateral (select (eff.p->>'digest') = 'daily' as daily,
                               case when jsonb_typeof(eff.p->'emailAfterMinutes') = 'number'
                                    then (eff.p->>'emailAfterMinutes')::int end as after_minutes) pr
   where n.read_at is null and n.emailed_at is null
     and n.created_at <= p_now - interval '1 minute'
     and jsonb_typeof(eff.p->'emailTypes') = 'array'
     and (eff.p->'emailTypes') @> jsonb_build_array(n.type)
     and case when pr.daily then n.created_at < filo_digest_cutoff(p_now, t.time_zone)
              else pr.after_minutes is not null and n.created_at <= p_now - make_interval(mins => pr.after_minutes)
         end
   order by n.created_at
   limit 2000
$$;`);
    this.addSql(`grant execute on function filo_notify_due(timestamptz, jsonb) to public;`);
  }

  override down(): void {
    this.addSql(`drop function if exists filo_notify_due(timestamptz, jsonb);`);
    this.addSql(`drop function if exists filo_digest_cutoff(timestamptz, text);`);
    this.addSql(`drop index if exists "notifications_unemailed_index";`);
  }
}
