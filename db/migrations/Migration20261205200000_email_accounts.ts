import { Migration } from '@mikro-orm/migrations';

const TABLES = ['email_accounts', 'email_account_folders'];

/**
 * Members' own mailboxes at their provider (IMAP + SMTP, or OAuth2 for Google and Microsoft). Each account is backed
 * by a mailbox of kind `account`, so its mail takes the shared inbox's paths (threading, visibility, live rooms).
 * A `private` mailbox is seen only by the members it names, owners and admins included. Mail fetched over IMAP
 * enters the same durable pipeline as the gateway's: an `inbound_messages` row keyed by account folder,
 * UIDVALIDITY and UID (unique: a second fetch of the same message writes nothing).
 */
export class Migration20261205200000_email_accounts extends Migration {
  override up(): void {
    this.addSql(`alter table "mailboxes" add "kind" text not null default 'shared',
      add "private" boolean not null default false;`);
    this.addSql(
      `alter table "mailboxes" add constraint "mailboxes_kind_check" check ("kind" in ('shared', 'account'));`,
    );

    this.addSql(`create table "email_accounts" (
      "id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(),
      "mailbox_id" uuid not null, "owner_id" uuid null,
      "email" varchar(320) not null, "display_name" varchar(255) null, "aliases" text[] not null default '{}',
      "provider" text not null default 'imap', "auth_method" text not null default 'password',
      "imap_host" varchar(255) not null, "imap_port" int not null, "imap_security" text not null default 'tls',
      "imap_user" varchar(320) not null, "imap_password_enc" text null,
      "smtp_host" varchar(255) not null, "smtp_port" int not null, "smtp_security" text not null default 'tls',
      "smtp_user" varchar(320) not null, "smtp_password_enc" text null,
      "oauth_access_token_enc" text null, "oauth_refresh_token_enc" text null, "oauth_expires_at" timestamptz null,
      "oauth_scope" text null,
      "sync_days" int not null default 90, "mirror_read_state" boolean not null default false,
      "provider_saves_sent" boolean not null default false, "enabled" boolean not null default true,
      "status" text not null default 'pending', "sync_done" int not null default 0,
      "sync_total" int not null default 0, "last_error" text null, "last_error_at" timestamptz null,
      "last_sync_at" timestamptz null, "connected_at" timestamptz null,
      "updated_at" timestamptz not null default now(), "version" int not null default 1,
      primary key ("id"));`);
    this.addSql(
      `alter table "email_accounts" add constraint "email_accounts_mailbox_id_unique" unique ("mailbox_id");`,
    );
    this.addSql(
      `alter table "email_accounts" add constraint "email_accounts_tenant_id_email_unique" unique ("tenant_id", "email");`,
    );
    this.addSql(`alter table "email_accounts" add constraint "email_accounts_provider_check"
      check ("provider" in ('imap', 'google', 'microsoft'));`);
    this.addSql(`alter table "email_accounts" add constraint "email_accounts_auth_method_check"
      check ("auth_method" in ('password', 'oauth2'));`);
    for (const column of ['imap_security', 'smtp_security'])
      this.addSql(`alter table "email_accounts" add constraint "email_accounts_${column}_check"
        check ("${column}" in ('tls', 'starttls', 'none'));`);
    this.addSql(`alter table "email_accounts" add constraint "email_accounts_status_check"
      check ("status" in ('pending', 'syncing', 'connected', 'error', 'paused'));`);
    this
      .addSql(`alter table "email_accounts" add constraint "email_accounts_tenant_id_foreign" foreign key ("tenant_id")
      references "tenants" ("id") on update cascade on delete cascade;`);
    this
      .addSql(`alter table "email_accounts" add constraint "email_accounts_mailbox_id_foreign" foreign key ("mailbox_id")
      references "mailboxes" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "email_accounts" add constraint "email_accounts_owner_id_foreign" foreign key ("owner_id")
      references "users" ("id") on update cascade on delete set null;`);
    this.addSql(`create index "email_accounts_owner_index" on "email_accounts" ("tenant_id", "owner_id");`);

    this.addSql(`create table "email_account_folders" (
      "id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(),
      "account_id" uuid not null, "path" varchar(1000) not null, "special_use" varchar(16) null,
      "synced" boolean not null default true, "uid_validity" bigint null, "highest_modseq" bigint null,
      "uid_next" bigint null, "oldest_uid" bigint null, "initial_done" boolean not null default false,
      "messages" int not null default 0, "last_synced_at" timestamptz null,
      "updated_at" timestamptz not null default now(), primary key ("id"));`);
    this
      .addSql(`alter table "email_account_folders" add constraint "email_account_folders_tenant_id_account_id_path_unique"
      unique ("tenant_id", "account_id", "path");`);
    this.addSql(`alter table "email_account_folders" add constraint "email_account_folders_tenant_id_foreign"
      foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "email_account_folders" add constraint "email_account_folders_account_id_foreign"
      foreign key ("account_id") references "email_accounts" ("id") on update cascade on delete cascade;`);

    // Where a fetched message came from; its body may still be at the provider (`spool_key` null until fetched).
    this.addSql(`alter table "inbound_messages"
      add "account_id" uuid null, add "folder_id" uuid null, add "imap_uid_validity" bigint null,
      add "imap_uid" bigint null, add "imap_flags" text[] null, add "imap_modseq" bigint null,
      add "imap_expunged_at" timestamptz null, add "message_id_header" varchar(998) null,
      alter "spool_key" drop not null, alter "sha256" drop not null;`);
    this
      .addSql(`alter table "inbound_messages" add constraint "inbound_messages_folder_id_foreign" foreign key ("folder_id")
      references "email_account_folders" ("id") on update cascade on delete cascade;`);
    this.addSql(`create unique index "inbound_messages_imap_uid_unique"
      on "inbound_messages" ("folder_id", "imap_uid_validity", "imap_uid") where "folder_id" is not null;`);
    this.addSql(`create index "inbound_messages_message_id_header_index"
      on "inbound_messages" ("tenant_id", "message_id_header") where "message_id_header" is not null;`);

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

    // The gateway delivers only to shared mailboxes: an account's mailbox has no address at the gateway.
    this.addSql(`create or replace function filo_mailbox_route(p_local_part text, p_slug text)
returns table (tenant_id uuid, mailbox_id uuid)
language sql stable security definer set search_path = public as $$
  select m.tenant_id, m.id
    from mailboxes m join tenants t on t.id = m.tenant_id
   where t.slug = lower(p_slug) and m.local_part = lower(p_local_part) and m.kind = 'shared'
$$;`);
  }

  override down(): void {
    this.addSql(`drop index if exists "inbound_messages_imap_uid_unique";`);
    this.addSql(`drop index if exists "inbound_messages_message_id_header_index";`);
    this.addSql(`alter table "inbound_messages" drop constraint if exists "inbound_messages_folder_id_foreign";`);
    this.addSql(`alter table "inbound_messages" drop column "account_id", drop column "folder_id",
      drop column "imap_uid_validity", drop column "imap_uid", drop column "imap_flags", drop column "imap_modseq",
      drop column "imap_expunged_at", drop column "message_id_header";`);
    for (const table of [...TABLES].reverse()) this.addSql(`drop table if exists "${table}" cascade;`);
    this.addSql(`alter table "mailboxes" drop column "kind", drop column "private";`);
  }
}
