import { Migration } from '@mikro-orm/migrations';

/** Chatbots of messaging accounts (issue 19): rules per account, and where the bot is in each conversation. */
const TABLES = ['messaging_bots', 'conversation_bots'];

export class Migration20261209120100_messaging_bots extends Migration {
  override up(): void {
    this.addSql(
      `create table "messaging_bots" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "account_id" uuid not null, "enabled" boolean not null default true, "rules" jsonb not null default '[]', "hours" jsonb null, "updated_at" timestamptz not null default now(), "version" int not null default 1, primary key ("id"));`,
    );
    this.addSql(
      `alter table "messaging_bots" add constraint "messaging_bots_account_id_unique" unique ("account_id");`,
    );
    this.addSql(
      `alter table "messaging_bots" add constraint "messaging_bots_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "messaging_bots" add constraint "messaging_bots_account_id_foreign" foreign key ("account_id") references "messaging_accounts" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `create table "conversation_bots" ("conversation_id" uuid not null, "tenant_id" uuid not null, "status" varchar(10) not null default 'bot', "state" jsonb null, "updated_at" timestamptz not null default now(), primary key ("conversation_id"));`,
    );
    this.addSql(
      `create index "conversation_bots_tenant_id_status_index" on "conversation_bots" ("tenant_id", "status");`,
    );
    this.addSql(
      `alter table "conversation_bots" add constraint "conversation_bots_conversation_id_foreign" foreign key ("conversation_id") references "conversations" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "conversation_bots" add constraint "conversation_bots_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
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
  }

  override down(): void {
    for (const table of TABLES) this.addSql(`drop table if exists "${table}" cascade;`);
  }
}
