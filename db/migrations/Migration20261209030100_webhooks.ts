import { Migration } from '@mikro-orm/migrations';

const TABLES = ['webhooks', 'webhook_deliveries'];

/**
 * Outbound webhooks (issue 17): subscriptions with their encrypted secret, and one delivery row per activity and
 * subscription (written in the event feed's transaction), with the due sweep's look-up across workspaces.
 */
export class Migration20261209030100_webhooks extends Migration {
  override up(): void {
    this.addSql(
      `create table "webhooks" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "version" int not null default 1, "url" text not null, "description" varchar(500) null, "events" jsonb not null default '[]', "active" boolean not null default true, "secret_enc" text not null, "created_by" uuid null, "disabled_reason" varchar(200) null, "consecutive_failures" int not null default 0, primary key ("id"));`,
    );
    this.addSql(`create index "webhooks_tenant_id_created_at_index" on "webhooks" ("tenant_id", "created_at");`);
    this.addSql(
      `create table "webhook_deliveries" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "webhook_id" uuid not null, "event" varchar(64) not null, "activity_id" uuid null, "activity_seq" bigint null, "record_key" varchar(120) null, "payload" jsonb not null, "status" text not null default 'pending', "attempts" int not null default 0, "next_attempt_at" timestamptz not null default now(), "expires_at" timestamptz not null, "last_attempt_at" timestamptz null, "response_status" int null, "response_excerpt" text null, "error" varchar(500) null, "duration_ms" int null, "delivered_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(
      `create index "webhook_deliveries_tenant_id_webhook_id_created_at_index" on "webhook_deliveries" ("tenant_id", "webhook_id", "created_at");`,
    );
    this.addSql(
      `create index "webhook_deliveries_due_index" on "webhook_deliveries" ("tenant_id", "next_attempt_at") where "status" = 'pending';`,
    );
    this.addSql(
      `create index "webhook_deliveries_record_index" on "webhook_deliveries" ("tenant_id", "webhook_id", "record_key", "activity_seq") where "status" = 'pending';`,
    );
    this.addSql(
      `alter table "webhooks" add constraint "webhooks_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "webhooks" add constraint "webhooks_created_by_foreign" foreign key ("created_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "webhook_deliveries" add constraint "webhook_deliveries_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "webhook_deliveries" add constraint "webhook_deliveries_webhook_id_foreign" foreign key ("webhook_id") references "webhooks" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "webhook_deliveries" add constraint "webhook_deliveries_status_check" check ("status" in ('pending', 'delivered', 'failed'));`,
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
    this.addSql(`create function filo_webhooks_due(p_limit int)
returns table (tenant_id uuid)
language sql stable security definer set search_path = public as $$
  select distinct d.tenant_id from webhook_deliveries d
   where d.status = 'pending' and d.next_attempt_at <= now()
   limit p_limit
$$;`);
    this.addSql(`grant execute on function filo_webhooks_due(int) to public;`);
  }

  override down(): void {
    this.addSql(`drop function if exists filo_webhooks_due(int);`);
    for (const table of [...TABLES].reverse()) this.addSql(`drop table if exists "${table}" cascade;`);
  }
}
