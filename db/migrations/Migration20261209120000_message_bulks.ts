import { Migration } from '@mikro-orm/migrations';

/** Bulk messages (issue 19): a text or template on one messaging channel to lists or segments, sent by the bulk engine. */
export class Migration20261209120000_message_bulks extends Migration {
  override up(): void {
    this.addSql(
      `create table "message_bulks" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "name" varchar(200) not null, "account_id" uuid not null, "channel" varchar(20) not null, "list_ids" jsonb not null default '[]', "text" text null, "template_id" uuid null, "variables" jsonb not null default '{}', "rate_per_minute" int not null default 60, "state" varchar(20) not null default 'draft', "started_at" timestamptz null, "finished_at" timestamptz null, "created_by" uuid null, "updated_at" timestamptz not null default now(), "version" int not null default 1, primary key ("id"));`,
    );
    this.addSql(
      `create index "message_bulks_tenant_id_created_at_index" on "message_bulks" ("tenant_id", "created_at");`,
    );
    this.addSql(
      `alter table "message_bulks" add constraint "message_bulks_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "message_bulks" add constraint "message_bulks_account_id_foreign" foreign key ("account_id") references "messaging_accounts" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "message_bulks" add constraint "message_bulks_template_id_foreign" foreign key ("template_id") references "message_templates" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "message_bulks" add constraint "message_bulks_created_by_foreign" foreign key ("created_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(`alter table "message_bulks" enable row level security;`);
    this.addSql(`alter table "message_bulks" force row level security;`);
    this.addSql(
      `create policy tenant_isolation on "message_bulks" using ("tenant_id" = filo_current_tenant()) with check ("tenant_id" = filo_current_tenant());`,
    );
    this.addSql(
      `do $$ begin execute format('create policy owner_access on %I to %I using (true) with check (true)', 'message_bulks', current_user); end $$;`,
    );
  }

  override down(): void {
    this.addSql(`drop table if exists "message_bulks" cascade;`);
  }
}
