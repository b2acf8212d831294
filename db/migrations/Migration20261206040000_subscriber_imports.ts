import { Migration } from '@mikro-orm/migrations';

/**
 * Lists (issue 15): CSV imports of subscribers into a static list, and `mailing_lists.subscriber_count` kept by a
 * trigger on `consents`, so that every writer (the team, an import, the public form, one-click unsubscribe, an
 * erasure) keeps it right in its own transaction without knowing about it.
 */
export class Migration20261206040000_subscriber_imports extends Migration {
  override up(): void {
    this.addSql(
      `create table "subscriber_imports" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "list_id" uuid not null, "file_name" varchar(255) not null, "file_url" text not null, "mapping" jsonb not null, "status" text not null default 'queued', "total_rows" int not null default 0, "processed_rows" int not null default 0, "created_rows" int not null default 0, "skipped_rows" int not null default 0, "errors" jsonb not null default '[]', "failure" text null, "created_by" uuid null, "finished_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(
      `create index "subscriber_imports_tenant_id_list_id_created_at_index" on "subscriber_imports" ("tenant_id", "list_id", "created_at");`,
    );
    this.addSql(
      `alter table "subscriber_imports" add constraint "subscriber_imports_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "subscriber_imports" add constraint "subscriber_imports_list_id_foreign" foreign key ("list_id") references "mailing_lists" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "subscriber_imports" add constraint "subscriber_imports_created_by_foreign" foreign key ("created_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "subscriber_imports" add constraint "subscriber_imports_status_check" check ("status" in ('queued', 'running', 'completed', 'failed'));`,
    );
    this.addSql(`alter table "subscriber_imports" enable row level security;`);
    this.addSql(`alter table "subscriber_imports" force row level security;`);
    this.addSql(
      `create policy tenant_isolation on "subscriber_imports" using ("tenant_id" = filo_current_tenant()) with check ("tenant_id" = filo_current_tenant());`,
    );
    this.addSql(
      `do $$ begin execute format('create policy owner_access on %I to %I using (true) with check (true)', 'subscriber_imports', current_user); end $$;`,
    );
    this.addSql(`create or replace function filo_list_subscriber_count() returns trigger language plpgsql as $$
begin
  if tg_op = 'UPDATE' and old.status = new.status and old.list_id is not distinct from new.list_id then
    return null;
  end if;
  if tg_op in ('UPDATE', 'DELETE') and old.list_id is not null and old.status = 'subscribed' then
    update mailing_lists set subscriber_count = subscriber_count - 1 where id = old.list_id;
  end if;
  if tg_op in ('INSERT', 'UPDATE') and new.list_id is not null and new.status = 'subscribed' then
    update mailing_lists set subscriber_count = subscriber_count + 1 where id = new.list_id;
  end if;
  return null;
end $$;`);
    this.addSql(
      `create trigger consents_subscriber_count after insert or update of status, list_id or delete on consents for each row execute function filo_list_subscriber_count();`,
    );
    this.addSql(
      `update mailing_lists l set subscriber_count = (select count(*) from consents c where c.list_id = l.id and c.status = 'subscribed');`,
    );
  }

  override down(): void {
    this.addSql(`drop trigger if exists consents_subscriber_count on consents;`);
    this.addSql(`drop function if exists filo_list_subscriber_count();`);
    this.addSql(`drop table if exists "subscriber_imports" cascade;`);
  }
}
