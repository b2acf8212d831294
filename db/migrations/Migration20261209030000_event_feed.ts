import { Migration } from '@mikro-orm/migrations';

/**
 * The durable event feed's cursors (server/timeline/feed.ts), and the sweep's look-up of the workspaces whose
 * activities a consumer has not read yet, across workspaces (the sweep has no tenant).
 */
export class Migration20261209030000_event_feed extends Migration {
  override up(): void {
    this.addSql(
      `create table "feed_cursors" ("tenant_id" uuid not null, "consumer" varchar(40) not null, "seq" bigint not null default '0', "updated_at" timestamptz not null default now(), primary key ("tenant_id", "consumer"));`,
    );
    this.addSql(
      `alter table "feed_cursors" add constraint "feed_cursors_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(`alter table "feed_cursors" enable row level security;`);
    this.addSql(`alter table "feed_cursors" force row level security;`);
    this.addSql(
      `create policy tenant_isolation on "feed_cursors" using ("tenant_id" = filo_current_tenant()) with check ("tenant_id" = filo_current_tenant());`,
    );
    this.addSql(
      `do $$ begin execute format('create policy owner_access on %I to %I using (true) with check (true)', 'feed_cursors', current_user); end $$;`,
    );
    this.addSql(`create function filo_feed_behind(p_consumer text, p_limit int)
returns table (tenant_id uuid)
language sql stable security definer set search_path = public as $$
  select c.tenant_id from feed_cursors c join tenants t on t.id = c.tenant_id
   where c.consumer = p_consumer and t.activity_seq > c.seq
   order by c.updated_at limit p_limit
$$;`);
    this.addSql(`grant execute on function filo_feed_behind(text, int) to public;`);
  }

  override down(): void {
    this.addSql(`drop function if exists filo_feed_behind(text, int);`);
    this.addSql(`drop table if exists "feed_cursors" cascade;`);
  }
}
