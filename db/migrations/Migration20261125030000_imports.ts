import { Migration } from '@mikro-orm/migrations';

/** CSV imports: progress and per-row errors, isolated per tenant like every tenant-owned table. */
export class Migration20261125030000_imports extends Migration {
  override up(): void {
    this.addSql(
      `create table "imports" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "entity_type" text not null, "file_name" varchar(255) not null, "file_url" text not null, "status" text not null default 'queued', "total_rows" int not null default 0, "processed_rows" int not null default 0, "created_rows" int not null default 0, "errors" jsonb not null default '[]', "failure" text null, "created_by" uuid null, "finished_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(`create index "imports_tenant_id_created_at_index" on "imports" ("tenant_id", "created_at");`);
    this.addSql(
      `alter table "imports" add constraint "imports_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "imports" add constraint "imports_created_by_foreign" foreign key ("created_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "imports" add constraint "imports_entity_type_check" check ("entity_type" in ('company', 'contact'));`,
    );
    this.addSql(
      `alter table "imports" add constraint "imports_status_check" check ("status" in ('queued', 'running', 'completed', 'failed'));`,
    );
    this.addSql(`alter table "imports" enable row level security;`);
    this.addSql(`alter table "imports" force row level security;`);
    this.addSql(
      `create policy tenant_isolation on "imports" using ("tenant_id" = filo_current_tenant()) with check ("tenant_id" = filo_current_tenant());`,
    );
    this.addSql(
      `do $$ begin execute format('create policy owner_access on %I to %I using (true) with check (true)', 'imports', current_user); end $$;`,
    );
  }

  override down(): void {
    this.addSql(`drop table if exists "imports" cascade;`);
  }
}
