import { Migration } from '@mikro-orm/migrations';

/**
 * Workflows (issue 17): workflows, their immutable versions and their runs (one per firing, its identity unique), all
 * tenant-owned under row-level security; and the sweep's look-up of workspaces with schedules, date triggers or
 * waiting runs due, across workspaces (the sweep has no tenant). Events come through the shared feed (timeline/feed.ts).
 */
const TABLES = ['workflows', 'workflow_versions', 'workflow_runs'];

export class Migration20261209040000_workflows extends Migration {
  override up(): void {
    this.addSql(
      `create table "workflows" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "name" varchar(200) not null, "active" boolean not null default false, "version" int not null default 1, "definition" jsonb not null, "since_seq" bigint not null default '0', "scheduled_until" timestamptz null, "created_by" uuid null, "updated_at" timestamptz not null default now(), primary key ("id"));`,
    );
    this.addSql(`create index "workflows_tenant_id_active_index" on "workflows" ("tenant_id", "active");`);
    this.addSql(
      `create table "workflow_versions" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "workflow_id" uuid not null, "version" int not null, "definition" jsonb not null, "created_by" uuid null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "workflow_versions" add constraint "workflow_versions_tenant_id_workflow_id_version_unique" unique ("tenant_id", "workflow_id", "version");`,
    );
    this.addSql(
      `create table "workflow_runs" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "workflow_id" uuid not null, "version_id" uuid not null, "firing_key" varchar(300) not null, "status" text not null default 'running', "depth" int not null default 1, "record_type" varchar(20) null, "record_id" uuid null, "trigger" jsonb not null, "next_step" int not null default 0, "resume_at" timestamptz null, "log" jsonb not null default '[]', "error" text null, "updated_at" timestamptz not null default now(), "finished_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(
      `create index "workflow_runs_tenant_id_workflow_id_created_at_index" on "workflow_runs" ("tenant_id", "workflow_id", "created_at");`,
    );
    this.addSql(
      `create index "workflow_runs_tenant_id_status_resume_at_index" on "workflow_runs" ("tenant_id", "status", "resume_at");`,
    );
    this.addSql(
      `alter table "workflow_runs" add constraint "workflow_runs_tenant_id_workflow_id_firing_key_unique" unique ("tenant_id", "workflow_id", "firing_key");`,
    );
    this.addSql(
      `alter table "workflows" add constraint "workflows_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "workflows" add constraint "workflows_created_by_foreign" foreign key ("created_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "workflow_versions" add constraint "workflow_versions_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "workflow_versions" add constraint "workflow_versions_workflow_id_foreign" foreign key ("workflow_id") references "workflows" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "workflow_versions" add constraint "workflow_versions_created_by_foreign" foreign key ("created_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "workflow_runs" add constraint "workflow_runs_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "workflow_runs" add constraint "workflow_runs_workflow_id_foreign" foreign key ("workflow_id") references "workflows" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "workflow_runs" add constraint "workflow_runs_version_id_foreign" foreign key ("version_id") references "workflow_versions" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "workflow_runs" add constraint "workflow_runs_status_check" check ("status" in ('running', 'waiting', 'done', 'failed', 'skipped'));`,
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
    this.addSql(`create function filo_workflow_tenants(p_now timestamptz)
returns table (tenant_id uuid)
language sql stable security definer set search_path = public as $$
  select w.tenant_id from workflows w
   where w.active and w.definition->'trigger'->>'type' in ('schedule', 'date')
  union
  select r.tenant_id from workflow_runs r where r.status = 'waiting' and r.resume_at <= p_now
$$;`);
    this.addSql(`grant execute on function filo_workflow_tenants(timestamptz) to public;`);
  }

  override down(): void {
    this.addSql(`drop function if exists filo_workflow_tenants(timestamptz);`);
    for (const table of [...TABLES].reverse()) this.addSql(`drop table if exists "${table}" cascade;`);
  }
}
