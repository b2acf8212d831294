import { Migration } from '@mikro-orm/migrations';

const TABLES = ['auto_reply_rules', 'auto_replies_sent'];

/**
 * Auto-reply rules per mailbox (conditions and actions as JSON), the auto-replies already sent (one row per mailbox
 * and sender, claimed again after 24 h) and extra headers of an outgoing message (`Auto-Submitted`). Row-level
 * security as on every tenant-owned table.
 */
export class Migration20261130120000_auto_reply_rules extends Migration {
  override up(): void {
    this.addSql(
      `create table "auto_reply_rules" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "mailbox_id" uuid not null, "name" varchar(100) not null, "enabled" boolean not null default true, "position" int not null default 0, "conditions" jsonb not null default '{}', "actions" jsonb not null default '{}', "updated_at" timestamptz not null default now(), "version" int not null default 1, primary key ("id"));`,
    );
    this.addSql(
      `create index "auto_reply_rules_tenant_id_mailbox_id_position_index" on "auto_reply_rules" ("tenant_id", "mailbox_id", "position");`,
    );
    this.addSql(
      `create table "auto_replies_sent" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "mailbox_id" uuid not null, "sender" varchar(320) not null, "sent_at" timestamptz not null, "rule_id" uuid null, "email_message_id" uuid null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "auto_replies_sent" add constraint "auto_replies_sent_tenant_id_mailbox_id_sender_unique" unique ("tenant_id", "mailbox_id", "sender");`,
    );
    this.addSql(`alter table "outbound_deliveries" add "headers" jsonb not null default '{}';`);
    for (const table of TABLES) {
      this.addSql(
        `alter table "${table}" add constraint "${table}_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
      );
      this.addSql(
        `alter table "${table}" add constraint "${table}_mailbox_id_foreign" foreign key ("mailbox_id") references "mailboxes" ("id") on update cascade on delete cascade;`,
      );
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
    for (const table of [...TABLES].reverse()) this.addSql(`drop table if exists "${table}" cascade;`);
    this.addSql(`alter table "outbound_deliveries" drop column if exists "headers";`);
  }
}
