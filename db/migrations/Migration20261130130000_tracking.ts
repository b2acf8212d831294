import { Migration } from '@mikro-orm/migrations';

const TABLES = ['tracking_events'];

/**
 * Open and click tracking, opt-in per mailbox: the switches, each outgoing message's tracked links and counters,
 * and every pixel load or link follow. Row-level security as on every tenant-owned table; the public tracking
 * routes find a message's workspace through `filo_tracking_tenant()` before any tenant is set.
 */
export class Migration20261130130000_tracking extends Migration {
  override up(): void {
    this.addSql(
      `alter table "mailboxes" add "track_opens" boolean not null default false, add "track_clicks" boolean not null default false;`,
    );
    this.addSql(
      `alter table "email_messages" add "open_count" int not null default 0, add "opened_at" timestamptz null, add "click_count" int not null default 0, add "clicked_at" timestamptz null, add "tracked_links" jsonb null;`,
    );
    this.addSql(
      `create table "tracking_events" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "message_id" uuid not null, "kind" text not null, "link_index" int null, "url" text null, "machine" boolean not null default false, "user_agent" varchar(500) null, primary key ("id"));`,
    );
    this.addSql(
      `create index "tracking_events_tenant_id_message_id_created_at_index" on "tracking_events" ("tenant_id", "message_id", "created_at");`,
    );
    this.addSql(
      `alter table "tracking_events" add constraint "tracking_events_kind_check" check ("kind" in ('open', 'click'));`,
    );
    this.addSql(
      `alter table "tracking_events" add constraint "tracking_events_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "tracking_events" add constraint "tracking_events_message_id_foreign" foreign key ("message_id") references "email_messages" ("id") on update cascade on delete cascade;`,
    );
    for (const table of TABLES) {
      this.addSql(`alter table "${table}" enable row level security;`);
      this.addSql(`alter table "${table}" force row level security;`);
      this.addSql(
        `create policy tenant_isolation on "${table}" using ("tenant_id" = filo_current_tenant()) with check ("tenant_id" = filo_current_tenant());`,
      );
      this.addSql(
        `do $$ begin execute format('create policy owner_access on %I to %I using (true) with check (true)', '${table}', current_user); end $$;`,
      );
    }
    // A tracking link carries a signed message id: which workspace it belongs to, before any tenant is set.
    this.addSql(`create function filo_tracking_tenant(p_message_id uuid)
returns uuid
language sql stable security definer set search_path = public as $$
  select m.tenant_id from email_messages m where m.id = p_message_id and m.direction = 'outbound'
$$;`);
    this.addSql(`grant execute on function filo_tracking_tenant(uuid) to public;`);
  }

  override down(): void {
    this.addSql(`drop function if exists filo_tracking_tenant(uuid);`);
    for (const table of [...TABLES].reverse()) this.addSql(`drop table if exists "${table}" cascade;`);
    this.addSql(
      `alter table "email_messages" drop column if exists "open_count", drop column if exists "opened_at", drop column if exists "click_count", drop column if exists "clicked_at", drop column if exists "tracked_links";`,
    );
    this.addSql(`alter table "mailboxes" drop column if exists "track_opens", drop column if exists "track_clicks";`);
  }
}
