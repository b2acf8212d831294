import { Migration } from '@mikro-orm/migrations';

const TABLES = ['tasks'];

/**
 * A team's daily work: tasks with reminders, the workspace's currency, time zone, business hours and logo, each
 * member's notification preferences and avatar, and when a notification went out by email.
 */
export class Migration20261207000000_tasks_and_settings extends Migration {
  override up(): void {
    this.addSql(
      `create table "tasks" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "title" varchar(500) not null, "description" text null, "due_at" timestamptz null, "remind_at" timestamptz null, "priority" text not null default 'normal', "assignee_id" uuid null, "company_id" uuid null, "contact_id" uuid null, "deal_id" uuid null, "conversation_id" uuid null, "note_id" uuid null, "source" text not null default 'manual', "reminded_at" timestamptz null, "due_notified_at" timestamptz null, "done_at" timestamptz null, "done_by" uuid null, "created_by" uuid null, "updated_at" timestamptz not null default now(), "version" int not null default 1, primary key ("id"));`,
    );
    this.addSql(
      `create index "tasks_tenant_id_assignee_id_done_at_due_at_index" on "tasks" ("tenant_id", "assignee_id", "done_at", "due_at");`,
    );
    this.addSql(`create index "tasks_tenant_id_company_id_index" on "tasks" ("tenant_id", "company_id");`);
    this.addSql(`create index "tasks_tenant_id_contact_id_index" on "tasks" ("tenant_id", "contact_id");`);
    this.addSql(`create index "tasks_tenant_id_deal_id_index" on "tasks" ("tenant_id", "deal_id");`);
    this.addSql(`create index "tasks_tenant_id_conversation_id_index" on "tasks" ("tenant_id", "conversation_id");`);
    this.addSql(
      `alter table "tenants" add "currency" varchar(3) not null default 'EUR', add "time_zone" varchar(64) not null default 'Europe/Rome', add "business_hours" jsonb null, add "logo_key" varchar(255) null;`,
    );
    this.addSql(
      `alter table "users" add "notification_prefs" jsonb not null default '{}', add "avatar_key" varchar(255) null;`,
    );
    this.addSql(`alter table "notifications" add "emailed_at" timestamptz null;`);
    this.addSql(
      `alter table "tasks" add constraint "tasks_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "tasks" add constraint "tasks_assignee_id_foreign" foreign key ("assignee_id") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "tasks" add constraint "tasks_done_by_foreign" foreign key ("done_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "tasks" add constraint "tasks_created_by_foreign" foreign key ("created_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "tasks" add constraint "tasks_priority_check" check ("priority" in ('low', 'normal', 'high', 'urgent'));`,
    );
    this.addSql(
      `alter table "tasks" add constraint "tasks_source_check" check ("source" in ('manual', 'note', 'inbox', 'sequence', 'bot', 'api'));`,
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
    this.addSql(`alter table "notifications" drop column "emailed_at";`);
    this.addSql(`alter table "users" drop column "notification_prefs", drop column "avatar_key";`);
    this.addSql(
      `alter table "tenants" drop column "currency", drop column "time_zone", drop column "business_hours", drop column "logo_key";`,
    );
    for (const table of [...TABLES].reverse()) this.addSql(`drop table if exists "${table}" cascade;`);
  }
}
