import { Migration } from '@mikro-orm/migrations';

/**
 * Messaging (issue 19): accounts at SMS / WhatsApp / Telegram / Discord providers, each owning one mailbox of kind
 * `messaging` (so its conversations share the inbox, visibility and live events of email); the raw webhook events
 * (stored before the answer, processed once by a job: unique per account and provider event id); message templates
 * per channel; and on messages the account, the recipient, the provider's error code and when the status last moved.
 */
const TABLES = ['messaging_accounts', 'messaging_events', 'message_templates'];

export class Migration20261209100000_messaging extends Migration {
  override up(): void {
    this.addSql(`alter table "mailboxes" drop constraint if exists "mailboxes_kind_check";`);
    this.addSql(
      `alter table "mailboxes" add constraint "mailboxes_kind_check" check ("kind" in ('shared', 'account', 'messaging'));`,
    );
    this.addSql(
      `create table "messaging_accounts" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "mailbox_id" uuid not null, "provider" text not null, "name" varchar(100) not null, "channels" text[] not null default '{}', "credentials_enc" text not null, "settings" jsonb not null default '{}', "create_contacts" boolean not null default true, "enabled" boolean not null default true, "last_error" text null, "last_error_at" timestamptz null, "created_by" uuid null, "updated_at" timestamptz not null default now(), "version" int not null default 1, primary key ("id"));`,
    );
    this.addSql(
      `alter table "messaging_accounts" add constraint "messaging_accounts_mailbox_id_unique" unique ("mailbox_id");`,
    );
    this.addSql(
      `create index "messaging_accounts_tenant_id_provider_index" on "messaging_accounts" ("tenant_id", "provider");`,
    );
    this.addSql(
      `alter table "messaging_accounts" add constraint "messaging_accounts_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "messaging_accounts" add constraint "messaging_accounts_mailbox_id_foreign" foreign key ("mailbox_id") references "mailboxes" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "messaging_accounts" add constraint "messaging_accounts_created_by_foreign" foreign key ("created_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "messaging_accounts" add constraint "messaging_accounts_provider_check" check ("provider" in ('twilio', 'vonage', 'telegram', 'discord'));`,
    );

    this.addSql(
      `create table "messaging_events" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "account_id" uuid not null, "provider_event_id" varchar(255) not null, "payload" jsonb not null, "status" text not null default 'received', "attempts" int not null default 0, "error" text null, "processed_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "messaging_events" add constraint "messaging_events_account_id_provider_event_id_unique" unique ("account_id", "provider_event_id");`,
    );
    this.addSql(
      `create index "messaging_events_tenant_id_account_id_created_at_index" on "messaging_events" ("tenant_id", "account_id", "created_at");`,
    );
    this.addSql(
      `create index "messaging_events_received_index" on "messaging_events" ("created_at") where "status" = 'received';`,
    );
    this.addSql(
      `alter table "messaging_events" add constraint "messaging_events_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "messaging_events" add constraint "messaging_events_account_id_foreign" foreign key ("account_id") references "messaging_accounts" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "messaging_events" add constraint "messaging_events_status_check" check ("status" in ('received', 'processed', 'ignored', 'failed'));`,
    );

    this.addSql(
      `create table "message_templates" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "channel" text not null, "account_id" uuid null, "name" varchar(100) not null, "language" varchar(20) not null default 'en', "category" varchar(40) null, "body" text not null, "variables" text[] not null default '{}', "provider_template_id" varchar(100) null, "status" text not null default 'approved', "created_by" uuid null, "updated_at" timestamptz not null default now(), "version" int not null default 1, primary key ("id"));`,
    );
    this.addSql(
      `alter table "message_templates" add constraint "message_templates_tenant_id_channel_name_language_unique" unique ("tenant_id", "channel", "name", "language");`,
    );
    this.addSql(
      `alter table "message_templates" add constraint "message_templates_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "message_templates" add constraint "message_templates_account_id_foreign" foreign key ("account_id") references "messaging_accounts" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "message_templates" add constraint "message_templates_created_by_foreign" foreign key ("created_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "message_templates" add constraint "message_templates_channel_check" check ("channel" in ('email', 'sms', 'whatsapp', 'telegram', 'discord'));`,
    );
    this.addSql(
      `alter table "message_templates" add constraint "message_templates_status_check" check ("status" in ('draft', 'pending', 'approved', 'rejected'));`,
    );

    this.addSql(
      `alter table "messages" add "messaging_account_id" uuid null, add "to_address" varchar(320) null, add "error_code" varchar(40) null, add "status_at" timestamptz null, add "messaging" jsonb null;`,
    );
    this.addSql(
      `alter table "messages" add constraint "messages_messaging_account_id_foreign" foreign key ("messaging_account_id") references "messaging_accounts" ("id") on update cascade on delete set null;`,
    );
    // One row per provider message: a webhook repeated or crossed with its own send never makes two.
    this.addSql(
      `create unique index "messages_provider_id_unique" on "messages" ("messaging_account_id", "message_id_header") where "messaging_account_id" is not null and "message_id_header" is not null;`,
    );
    // The WhatsApp window: the newest inbound message of one party on one account.
    this.addSql(
      `create index "messages_messaging_party_index" on "messages" ("tenant_id", "messaging_account_id", "from_address", "created_at") where "direction" = 'inbound' and "messaging_account_id" is not null;`,
    );

    // The webhook route's one look-up before it knows the workspace: the account's tenant (null: none, or disabled).
    this.addSql(`create or replace function filo_messaging_account_tenant(p_account uuid)
returns uuid
language sql stable security definer set search_path = public as $$
  select a.tenant_id from messaging_accounts a where a.id = p_account and a.enabled
$$;`);
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
    this.addSql(`drop function if exists filo_messaging_account_tenant(uuid);`);
    this.addSql(`drop index if exists "messages_messaging_party_index";`);
    this.addSql(`drop index if exists "messages_provider_id_unique";`);
    this.addSql(
      `alter table "messages" drop column "messaging", drop column "status_at", drop column "error_code", drop column "to_address", drop column "messaging_account_id";`,
    );
    for (const table of [...TABLES].reverse()) this.addSql(`drop table if exists "${table}" cascade;`);
    this.addSql(`delete from "mailboxes" where "kind" = 'messaging';`);
    this.addSql(`alter table "mailboxes" drop constraint if exists "mailboxes_kind_check";`);
    this.addSql(
      `alter table "mailboxes" add constraint "mailboxes_kind_check" check ("kind" in ('shared', 'account'));`,
    );
  }
}
