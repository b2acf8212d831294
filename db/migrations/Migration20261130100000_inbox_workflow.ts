import { Migration } from '@mikro-orm/migrations';

/**
 * The shared inbox's workflow: per-user read marks (unread = a message newer than the mark), the indexes the
 * Mine / Unassigned / status filters and the conversation timeline use, and the look-up of snoozes that have
 * ended across workspaces (for the job, which has no tenant).
 */
export class Migration20261130100000_inbox_workflow extends Migration {
  override up(): void {
    this.addSql(
      `create table "conversation_reads" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "user_id" uuid not null, "conversation_id" uuid not null, "last_read_at" timestamptz not null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "conversation_reads" add constraint "conversation_reads_tenant_id_user_id_conversation_id_unique" unique ("tenant_id", "user_id", "conversation_id");`,
    );
    this.addSql(
      `create index "conversation_reads_tenant_id_conversation_id_index" on "conversation_reads" ("tenant_id", "conversation_id");`,
    );
    this.addSql(
      `alter table "conversation_reads" add constraint "conversation_reads_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "conversation_reads" add constraint "conversation_reads_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "conversation_reads" add constraint "conversation_reads_conversation_id_foreign" foreign key ("conversation_id") references "conversations" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(`alter table "conversation_reads" enable row level security;`);
    this.addSql(`alter table "conversation_reads" force row level security;`);
    this.addSql(
      `create policy tenant_isolation on "conversation_reads" using ("tenant_id" = filo_current_tenant()) with check ("tenant_id" = filo_current_tenant());`,
    );
    this.addSql(
      `do $$ begin execute format('create policy owner_access on %I to %I using (true) with check (true)', 'conversation_reads', current_user); end $$;`,
    );
    this.addSql(
      `create index "conversations_tenant_id_assignee_id_last_message_at_index" on "conversations" ("tenant_id", "assignee_id", "last_message_at");`,
    );
    this.addSql(
      `create index "conversations_snoozed_until_index" on "conversations" ("snoozed_until") where "status" = 'snoozed';`,
    );
    this.addSql(`create function filo_due_snoozes(p_now timestamptz)
returns table (tenant_id uuid, conversation_id uuid)
language sql stable security definer set search_path = public as $$
  select c.tenant_id, c.id from conversations c
   where c.status = 'snoozed' and c.snoozed_until <= p_now
   order by c.snoozed_until
   limit 1000
$$;`);
    this.addSql(`grant execute on function filo_due_snoozes(timestamptz) to public;`);
  }

  override down(): void {
    this.addSql(`drop function if exists filo_due_snoozes(timestamptz);`);
    this.addSql(`drop index if exists "conversations_snoozed_until_index";`);
    this.addSql(`drop index if exists "conversations_tenant_id_assignee_id_last_message_at_index";`);
    this.addSql(`drop table if exists "conversation_reads" cascade;`);
  }
}
