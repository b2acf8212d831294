import { Migration } from '@mikro-orm/migrations';

/**
 * Newsletters and the shared machinery they bring (issue 15): lists, consent and its evidence, campaigns, the bulk
 * delivery engine's send rows and the counters kept on write. Every table is tenant-owned under row-level security.
 */
const TABLES = [
  'mailing_lists',
  'consents',
  'consent_events',
  'campaigns',
  'bulk_sends',
  'delivery_stats',
  'delivery_stat_hours',
  'delivery_links',
];

export class Migration20261206000000_newsletters extends Migration {
  override up(): void {
    this.addSql(
      `create table "delivery_stat_hours" ("source" text not null, "source_id" uuid not null, "hour" timestamptz not null, "tenant_id" uuid not null, "sent" int not null default 0, "opened" int not null default 0, "clicked" int not null default 0, "bounced" int not null default 0, "unsubscribed" int not null default 0, "complained" int not null default 0, primary key ("source", "source_id", "hour"));`,
    );
    this.addSql(
      `create index "delivery_stat_hours_tenant_id_source_source_id_hour_index" on "delivery_stat_hours" ("tenant_id", "source", "source_id", "hour");`,
    );
    this.addSql(
      `create table "delivery_stats" ("source" text not null, "source_id" uuid not null, "variant" varchar(8) not null, "tenant_id" uuid not null, "recipients" int not null default 0, "sent" int not null default 0, "deferred" int not null default 0, "bounced" int not null default 0, "failed" int not null default 0, "suppressed" int not null default 0, "cancelled" int not null default 0, "opened" int not null default 0, "clicked" int not null default 0, "replied" int not null default 0, "unsubscribed" int not null default 0, "complained" int not null default 0, "updated_at" timestamptz not null default now(), primary key ("source", "source_id", "variant"));`,
    );
    this.addSql(
      `create index "delivery_stats_tenant_id_source_source_id_index" on "delivery_stats" ("tenant_id", "source", "source_id");`,
    );
    this.addSql(
      `create table "delivery_links" ("source" text not null, "source_id" uuid not null, "link_index" int not null, "tenant_id" uuid not null, "url" text not null, "clicks" int not null default 0, "human_clicks" int not null default 0, primary key ("source", "source_id", "link_index"));`,
    );
    this.addSql(
      `create index "delivery_links_tenant_id_source_source_id_index" on "delivery_links" ("tenant_id", "source", "source_id");`,
    );
    this.addSql(
      `create table "mailing_lists" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "name" varchar(200) not null, "description" text null, "kind" text not null default 'static', "filter" jsonb null, "double_opt_in" boolean not null default true, "public_form" boolean not null default false, "consent_text" text null, "subscriber_count" int not null default 0, "created_by" uuid null, "archived_at" timestamptz null, "updated_at" timestamptz not null default now(), "version" int not null default 1, primary key ("id"));`,
    );
    this.addSql(`create index "mailing_lists_tenant_id_name_index" on "mailing_lists" ("tenant_id", "name");`);
    this.addSql(
      `create table "consents" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), "channel" text not null default 'email', "address" varchar(320) null, "address_hash" varchar(64) not null, "contact_id" uuid null, "list_id" uuid null, "status" text not null, "source" text not null, "ip" varchar(64) null, "user_agent" text null, "consent_text" text null, "signed_up_at" timestamptz null, "confirmed_at" timestamptz null, "withdrawn_at" timestamptz null, "confirm_token_hash" varchar(64) null, primary key ("id"));`,
    );
    this.addSql(
      `create index "consents_tenant_id_list_id_status_index" on "consents" ("tenant_id", "list_id", "status");`,
    );
    this.addSql(`create index "consents_tenant_id_contact_id_index" on "consents" ("tenant_id", "contact_id");`);
    this.addSql(
      `create unique index "consents_scope_unique" on "consents" ("tenant_id", "channel", "address_hash", coalesce("list_id", '00000000-0000-0000-0000-000000000000'::uuid));`,
    );
    this.addSql(
      `create table "consent_events" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "consent_id" uuid not null, "status" text not null, "source" text not null, "ip" varchar(64) null, "user_agent" text null, "consent_text" text null, "actor_id" uuid null, primary key ("id"));`,
    );
    this.addSql(
      `create index "consent_events_tenant_id_consent_id_created_at_index" on "consent_events" ("tenant_id", "consent_id", "created_at");`,
    );
    this.addSql(
      `create table "bulk_sends" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "source" text not null, "source_id" uuid not null, "contact_id" uuid null, "channel" text not null default 'email', "address" varchar(320) null, "variant" varchar(8) null, "status" text not null default 'pending', "attempts" int not null default 0, "next_attempt_at" timestamptz not null default now(), "last_response" text null, "message_id" varchar(998) not null, "transport" varchar(20) null, "sent_at" timestamptz null, "opened_at" timestamptz null, "clicked_at" timestamptz null, "replied_at" timestamptz null, "bounced_at" timestamptz null, "complained_at" timestamptz null, "unsubscribed_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(
      `create index "bulk_sends_tenant_id_source_source_id_status_index" on "bulk_sends" ("tenant_id", "source", "source_id", "status");`,
    );
    this.addSql(`create index "bulk_sends_tenant_id_contact_id_index" on "bulk_sends" ("tenant_id", "contact_id");`);
    this.addSql(
      `create index "bulk_sends_due_index" on "bulk_sends" ("tenant_id", "source", "source_id", "next_attempt_at") where "status" in ('pending', 'deferred');`,
    );
    this.addSql(
      `alter table "bulk_sends" add constraint "bulk_sends_recipient_unique" unique ("tenant_id", "source", "source_id", "contact_id");`,
    );
    this.addSql(
      `create table "campaigns" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "name" varchar(200) not null, "status" text not null default 'draft', "list_ids" jsonb not null default '[]', "mailbox_id" uuid null, "from_name" varchar(200) null, "from_email" varchar(320) null, "reply_to" varchar(320) null, "subject" varchar(998) not null default '', "preheader" varchar(500) null, "content" jsonb not null, "variants" jsonb not null default '[]', "ab" jsonb null, "winner_variant" varchar(8) null, "winner_reason" jsonb null, "winner_at" timestamptz null, "rendered" jsonb null, "scheduled_at" timestamptz null, "started_at" timestamptz null, "finished_at" timestamptz null, "created_by" uuid null, "updated_at" timestamptz not null default now(), "version" int not null default 1, primary key ("id"));`,
    );
    this.addSql(`create index "campaigns_tenant_id_status_index" on "campaigns" ("tenant_id", "status");`);
    this.addSql(`create index "campaigns_tenant_id_created_at_index" on "campaigns" ("tenant_id", "created_at");`);
    this.addSql(
      `alter table "delivery_stat_hours" add constraint "delivery_stat_hours_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "delivery_stat_hours" add constraint "delivery_stat_hours_source_check" check ("source" in ('campaign', 'sequence', 'bulk_message'));`,
    );
    this.addSql(
      `alter table "delivery_stats" add constraint "delivery_stats_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "delivery_stats" add constraint "delivery_stats_source_check" check ("source" in ('campaign', 'sequence', 'bulk_message'));`,
    );
    this.addSql(
      `alter table "delivery_links" add constraint "delivery_links_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "delivery_links" add constraint "delivery_links_source_check" check ("source" in ('campaign', 'sequence', 'bulk_message'));`,
    );
    this.addSql(
      `alter table "mailing_lists" add constraint "mailing_lists_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "mailing_lists" add constraint "mailing_lists_created_by_foreign" foreign key ("created_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "mailing_lists" add constraint "mailing_lists_kind_check" check ("kind" in ('static', 'segment'));`,
    );
    this.addSql(
      `alter table "consents" add constraint "consents_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "consents" add constraint "consents_contact_id_foreign" foreign key ("contact_id") references "contacts" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "consents" add constraint "consents_list_id_foreign" foreign key ("list_id") references "mailing_lists" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "consents" add constraint "consents_channel_check" check ("channel" in ('email', 'sms', 'whatsapp', 'telegram', 'discord'));`,
    );
    this.addSql(
      `alter table "consents" add constraint "consents_status_check" check ("status" in ('subscribed', 'unconfirmed', 'unsubscribed', 'bounced', 'complained'));`,
    );
    this.addSql(
      `alter table "consents" add constraint "consents_source_check" check ("source" in ('form', 'import', 'api', 'crm', 'manual', 'one_click', 'preference_center', 'complaint', 'bounce', 'stop', 'erasure'));`,
    );
    this.addSql(
      `alter table "consent_events" add constraint "consent_events_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "consent_events" add constraint "consent_events_consent_id_foreign" foreign key ("consent_id") references "consents" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "consent_events" add constraint "consent_events_actor_id_foreign" foreign key ("actor_id") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "consent_events" add constraint "consent_events_status_check" check ("status" in ('subscribed', 'unconfirmed', 'unsubscribed', 'bounced', 'complained'));`,
    );
    this.addSql(
      `alter table "consent_events" add constraint "consent_events_source_check" check ("source" in ('form', 'import', 'api', 'crm', 'manual', 'one_click', 'preference_center', 'complaint', 'bounce', 'stop', 'erasure'));`,
    );
    this.addSql(
      `alter table "bulk_sends" add constraint "bulk_sends_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "bulk_sends" add constraint "bulk_sends_contact_id_foreign" foreign key ("contact_id") references "contacts" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "bulk_sends" add constraint "bulk_sends_source_check" check ("source" in ('campaign', 'sequence', 'bulk_message'));`,
    );
    this.addSql(
      `alter table "bulk_sends" add constraint "bulk_sends_channel_check" check ("channel" in ('email', 'sms', 'whatsapp', 'telegram', 'discord'));`,
    );
    this.addSql(
      `alter table "bulk_sends" add constraint "bulk_sends_status_check" check ("status" in ('pending', 'sending', 'deferred', 'sent', 'bounced', 'failed', 'suppressed', 'cancelled'));`,
    );
    this.addSql(
      `alter table "campaigns" add constraint "campaigns_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "campaigns" add constraint "campaigns_mailbox_id_foreign" foreign key ("mailbox_id") references "mailboxes" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "campaigns" add constraint "campaigns_created_by_foreign" foreign key ("created_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "campaigns" add constraint "campaigns_status_check" check ("status" in ('draft', 'scheduled', 'sending', 'paused', 'cancelled', 'sent'));`,
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
  }
}
