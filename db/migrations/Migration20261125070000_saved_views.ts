import { Migration } from '@mikro-orm/migrations';

/** Saved views of the companies, contacts and deals lists, isolated per tenant like every tenant-owned table. */
export class Migration20261125070000_saved_views extends Migration {
  override up(): void {
    this.addSql(
      `create table "saved_views" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "user_id" uuid not null, "entity_type" text not null, "name" varchar(100) not null, "filters" jsonb not null, "is_shared" boolean not null default false, primary key ("id"));`,
    );
    this.addSql(
      `create index "saved_views_tenant_id_entity_type_user_id_index" on "saved_views" ("tenant_id", "entity_type", "user_id");`,
    );
    this.addSql(
      `alter table "saved_views" add constraint "saved_views_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "saved_views" add constraint "saved_views_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "saved_views" add constraint "saved_views_entity_type_check" check ("entity_type" in ('company', 'contact', 'deal'));`,
    );
    this.addSql(`alter table "saved_views" enable row level security;`);
    this.addSql(`alter table "saved_views" force row level security;`);
    this.addSql(
      `create policy tenant_isolation on "saved_views" using ("tenant_id" = filo_current_tenant()) with check ("tenant_id" = filo_current_tenant());`,
    );
    this.addSql(
      `do $$ begin execute format('create policy owner_access on %I to %I using (true) with check (true)', 'saved_views', current_user); end $$;`,
    );
  }

  override down(): void {
    this.addSql(`drop table if exists "saved_views" cascade;`);
  }
}
