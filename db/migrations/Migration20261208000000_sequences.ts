import { Migration } from '@mikro-orm/migrations';

const TABLES = ['sequences', 'sequence_steps', 'sequence_enrolments', 'sequence_mailboxes', 'sequence_domains'];

/**
 * Cold-email sequences: the flows, the prospects enrolled in them, each sending mailbox's rules (caps, gaps,
 * workday, warmup) and each sending domain's standing; a send row may name its own mailbox (a pool's), and a
 * contact may have its own time zone.
 */
export class Migration20261208000000_sequences extends Migration {
  override up(): void {
    this.addSql(
      `create table "sequence_domains" ("tenant_id" uuid not null, "domain" varchar(255) not null, "paused_at" timestamptz null, "pause_reason" varchar(500) null, "checked_at" timestamptz null, "updated_at" timestamptz not null default now(), primary key ("tenant_id", "domain"));`,
    );
    this.addSql(
      `create table "sequence_mailboxes" ("mailbox_id" uuid not null, "tenant_id" uuid not null, "daily_cap" int not null default 40, "hourly_cap" int not null default 7, "min_gap_seconds" int not null default 90, "max_gap_seconds" int not null default 420, "time_zone" varchar(64) not null default 'Europe/Rome', "workday" jsonb not null, "warmup_enabled" boolean not null default false, "warmup_start_cap" int not null default 5, "warmup_increment" int not null default 5, "current_cap" int null, "last_slot_at" timestamptz null, "paused_at" timestamptz null, "pause_reason" varchar(500) null, "updated_at" timestamptz not null default now(), primary key ("mailbox_id"));`,
    );
    this.addSql(`create index "sequence_mailboxes_tenant_id_index" on "sequence_mailboxes" ("tenant_id");`);
    this.addSql(
      `create table "sequences" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "name" varchar(200) not null, "status" text not null default 'draft', "owner_id" uuid null, "mailbox_ids" jsonb not null default '[]', "settings" jsonb not null, "launched_at" timestamptz null, "archived_at" timestamptz null, "created_by" uuid null, "updated_at" timestamptz not null default now(), "version" int not null default 1, primary key ("id"));`,
    );
    this.addSql(`create index "sequences_tenant_id_status_index" on "sequences" ("tenant_id", "status");`);
    this.addSql(
      `create table "sequence_steps" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "sequence_id" uuid not null, "position" int not null, "kind" text not null, "config" jsonb not null, "deleted_at" timestamptz null, "updated_at" timestamptz not null default now(), primary key ("id"));`,
    );
    this.addSql(
      `create index "sequence_steps_tenant_id_sequence_id_position_index" on "sequence_steps" ("tenant_id", "sequence_id", "position");`,
    );
    this.addSql(
      `create table "sequence_enrolments" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "sequence_id" uuid not null, "contact_id" uuid not null, "address" varchar(320) not null, "status" text not null default 'active', "stop_reason" text null, "current_step_id" uuid null, "step_entered_at" timestamptz null, "next_run_at" timestamptz null, "mailbox_id" uuid null, "time_zone" varchar(64) not null, "time_zone_source" text not null, "thread_message_id" varchar(998) null, "thread_references" text null, "thread_subject" varchar(998) null, "last_sent_at" timestamptz null, "replied_at" timestamptz null, "positive" boolean null, "source" text not null default 'selection', "enrolled_by" uuid null, "stopped_at" timestamptz null, "completed_at" timestamptz null, "updated_at" timestamptz not null default now(), "version" int not null default 1, primary key ("id"));`,
    );
    this.addSql(
      `create index "sequence_enrolments_tenant_id_sequence_id_status_index" on "sequence_enrolments" ("tenant_id", "sequence_id", "status");`,
    );
    this.addSql(
      `create index "sequence_enrolments_tenant_id_contact_id_index" on "sequence_enrolments" ("tenant_id", "contact_id");`,
    );
    this.addSql(
      `create unique index "sequence_enrolments_one_active_index" on "sequence_enrolments" ("tenant_id", "contact_id") where "status" in ('active', 'paused');`,
    );
    this.addSql(
      `create index "sequence_enrolments_due_index" on "sequence_enrolments" ("next_run_at") where "status" = 'active' and "next_run_at" is not null;`,
    );
    this.addSql(`alter table "contacts" add "time_zone" varchar(64) null;`);
    this.addSql(`alter table "bulk_sends" add "mailbox_id" uuid null;`);
    this.addSql(
      `alter table "sequence_domains" add constraint "sequence_domains_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "sequence_mailboxes" add constraint "sequence_mailboxes_mailbox_id_foreign" foreign key ("mailbox_id") references "mailboxes" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "sequence_mailboxes" add constraint "sequence_mailboxes_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "sequences" add constraint "sequences_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "sequences" add constraint "sequences_owner_id_foreign" foreign key ("owner_id") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "sequences" add constraint "sequences_created_by_foreign" foreign key ("created_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "sequences" add constraint "sequences_status_check" check ("status" in ('draft', 'active', 'paused', 'archived'));`,
    );
    this.addSql(
      `alter table "sequence_steps" add constraint "sequence_steps_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "sequence_steps" add constraint "sequence_steps_sequence_id_foreign" foreign key ("sequence_id") references "sequences" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "sequence_steps" add constraint "sequence_steps_kind_check" check ("kind" in ('email', 'wait', 'condition', 'task'));`,
    );
    this.addSql(
      `alter table "sequence_enrolments" add constraint "sequence_enrolments_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "sequence_enrolments" add constraint "sequence_enrolments_sequence_id_foreign" foreign key ("sequence_id") references "sequences" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "sequence_enrolments" add constraint "sequence_enrolments_contact_id_foreign" foreign key ("contact_id") references "contacts" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "sequence_enrolments" add constraint "sequence_enrolments_mailbox_id_foreign" foreign key ("mailbox_id") references "mailboxes" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "sequence_enrolments" add constraint "sequence_enrolments_enrolled_by_foreign" foreign key ("enrolled_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "sequence_enrolments" add constraint "sequence_enrolments_status_check" check ("status" in ('active', 'paused', 'completed', 'stopped', 'failed'));`,
    );
    this.addSql(
      `alter table "sequence_enrolments" add constraint "sequence_enrolments_stop_reason_check" check ("stop_reason" in ('replied', 'bounced', 'unsubscribed', 'complained', 'manual', 'deal_opened', 'suppressed', 'sequence_archived', 'contact_removed'));`,
    );
    this.addSql(
      `alter table "sequence_enrolments" add constraint "sequence_enrolments_time_zone_source_check" check ("time_zone_source" in ('contact', 'country', 'mailbox'));`,
    );
    this.addSql(
      `alter table "sequence_enrolments" add constraint "sequence_enrolments_source_check" check ("source" in ('list', 'selection', 'csv', 'api'));`,
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
    this.addSql(`alter table "bulk_sends" drop column "mailbox_id";`);
    this.addSql(`alter table "contacts" drop column "time_zone";`);
  }
}
