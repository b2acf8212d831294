import { Migration } from '@mikro-orm/migrations';

const TABLES = ['email_templates', 'signatures', 'outbound_deliveries'];

/**
 * Outbound mail: per-mailbox SMTP and DKIM settings (secrets encrypted by the application), templates, signatures
 * and the delivery state of each outgoing message. Row-level security as on every tenant-owned table.
 */
export class Migration20261130110000_outbound extends Migration {
  override up(): void {
    this.addSql(
      `alter table "mailboxes" add "smtp_host" varchar(255) null, add "smtp_port" int null, add "smtp_secure" boolean not null default false, add "smtp_user" varchar(255) null, add "smtp_password_enc" text null, add "dkim_selector" varchar(63) null, add "dkim_private_key_enc" text null;`,
    );
    this.addSql(
      `create table "email_templates" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "name" varchar(100) not null, "subject" varchar(998) null, "body" text not null, "created_by" uuid null, "updated_at" timestamptz not null default now(), "version" int not null default 1, primary key ("id"));`,
    );
    this.addSql(`create index "email_templates_tenant_id_name_index" on "email_templates" ("tenant_id", "name");`);
    this.addSql(
      `create table "signatures" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "user_id" uuid null, "mailbox_id" uuid null, "body" text not null, "updated_at" timestamptz not null default now(), "version" int not null default 1, primary key ("id"), constraint "signatures_owner_check" check ("user_id" is not null or "mailbox_id" is not null));`,
    );
    this.addSql(`create index "signatures_tenant_id_user_id_index" on "signatures" ("tenant_id", "user_id");`);
    this.addSql(`create index "signatures_tenant_id_mailbox_id_index" on "signatures" ("tenant_id", "mailbox_id");`);
    // One signature per slot: (user, mailbox), (user, none), (none, mailbox).
    this.addSql(
      `create unique index "signatures_slot_unique" on "signatures" ("tenant_id", coalesce("user_id", '00000000-0000-0000-0000-000000000000'::uuid), coalesce("mailbox_id", '00000000-0000-0000-0000-000000000000'::uuid));`,
    );
    this.addSql(
      `create table "outbound_deliveries" ("id" uuid not null, "tenant_id" uuid not null, "bcc" jsonb not null default '[]', "reply_to" varchar(320) null, "attempts" int not null default 0, "last_attempt_at" timestamptz null, "response" text null, "transport" varchar(20) null, "template_id" uuid null, "created_at" timestamptz not null default now(), primary key ("id"));`,
    );
    this.addSql(
      `create index "email_messages_outbound_status_index" on "email_messages" ("status", "created_at") where "direction" = 'outbound';`,
    );
    this.addSql(
      `alter table "email_templates" add constraint "email_templates_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "email_templates" add constraint "email_templates_created_by_foreign" foreign key ("created_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "signatures" add constraint "signatures_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "signatures" add constraint "signatures_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "signatures" add constraint "signatures_mailbox_id_foreign" foreign key ("mailbox_id") references "mailboxes" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "outbound_deliveries" add constraint "outbound_deliveries_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "outbound_deliveries" add constraint "outbound_deliveries_id_foreign" foreign key ("id") references "email_messages" ("id") on update cascade on delete cascade deferrable initially deferred;`,
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
    for (const table of [...TABLES].reverse()) this.addSql(`drop table if exists "${table}" cascade;`);
    this.addSql(`drop index if exists "email_messages_outbound_status_index";`);
    this.addSql(
      `alter table "mailboxes" drop column if exists "smtp_host", drop column if exists "smtp_port", drop column if exists "smtp_secure", drop column if exists "smtp_user", drop column if exists "smtp_password_enc", drop column if exists "dkim_selector", drop column if exists "dkim_private_key_enc";`,
    );
  }
}
