import { Migration } from '@mikro-orm/migrations';

const TABLES = ['audit_entries', 'audit_chains', 'retention_settings'];
const GENESIS = '0'.repeat(64);

/**
 * The audit log and retention settings (issue 21, items 4 and 5). Entries are append-only: the application role
 * loses UPDATE and DELETE on them (db/app-role.ts), and a trigger refuses both to anyone but the retention purge
 * (a security-definer function bounded by the workspace's own retention) and the removal of a whole workspace.
 */
export class Migration20261208120000_audit extends Migration {
  override up(): void {
    this.addSql(
      `create table "retention_settings" ("tenant_id" uuid not null, "spool_days" int not null default 90, "tracking_days" int not null default 365, "audit_days" int not null default 730, "updated_at" timestamptz not null default now(), primary key ("tenant_id"));`,
    );
    this.addSql(
      `create table "audit_entries" ("id" uuid not null, "tenant_id" uuid not null, "seq" bigint not null, "at" timestamptz not null, "actor_id" uuid null, "actor_kind" text not null, "ip" varchar(64) null, "user_agent" varchar(500) null, "action" varchar(64) not null, "target_type" varchar(40) null, "target_id" varchar(100) null, "summary" text not null, "before" jsonb null, "after" jsonb null, "prev_hash" varchar(64) not null, "hash" varchar(64) not null, primary key ("id"));`,
    );
    this.addSql(
      `create index "audit_entries_tenant_id_action_seq_index" on "audit_entries" ("tenant_id", "action", "seq");`,
    );
    this.addSql(
      `create index "audit_entries_tenant_id_actor_id_seq_index" on "audit_entries" ("tenant_id", "actor_id", "seq");`,
    );
    this.addSql(
      `create index "audit_entries_tenant_id_target_id_seq_index" on "audit_entries" ("tenant_id", "target_id", "seq");`,
    );
    this.addSql(`create index "audit_entries_tenant_id_at_index" on "audit_entries" ("tenant_id", "at");`);
    this.addSql(
      `alter table "audit_entries" add constraint "audit_entries_tenant_id_seq_unique" unique ("tenant_id", "seq");`,
    );
    this.addSql(
      `create table "audit_chains" ("tenant_id" uuid not null, "seq" bigint not null default '0', "hash" varchar(64) not null default '${GENESIS}', "anchor_seq" bigint not null default '0', "anchor_hash" varchar(64) not null default '${GENESIS}', primary key ("tenant_id"));`,
    );
    this.addSql(
      `alter table "retention_settings" add constraint "retention_settings_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "audit_entries" add constraint "audit_entries_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "audit_entries" add constraint "audit_entries_actor_kind_check" check ("actor_kind" in ('user', 'token', 'system'));`,
    );
    this.addSql(
      `alter table "audit_chains" add constraint "audit_chains_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
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
    // Only the purge below (which sets the flag for its own statement) and a workspace's removal may take rows out.
    this.addSql(`create function filo_audit_append_only() returns trigger
language plpgsql security definer set search_path = public as $$
begin
  if tg_op = 'DELETE' and (current_setting('filo.audit_purge', true) = 'on'
      or not exists (select 1 from tenants where id = old.tenant_id)) then
    return old;
  end if;
  raise exception 'audit entries are append-only' using errcode = 'insufficient_privilege';
end $$;`);
    this.addSql(
      `create trigger audit_entries_append_only before update or delete on audit_entries for each row execute function filo_audit_append_only();`,
    );
    // The workspace's own retention bounds what may go; the last entry removed becomes the chain's anchor.
    this.addSql(`create function filo_audit_purge(p_tenant uuid) returns int
language plpgsql security definer set search_path = public as $$
declare
  keep_days int;
  last_seq bigint;
  last_hash varchar(64);
  removed int;
begin
  if p_tenant is distinct from filo_current_tenant() then
    raise exception 'not this workspace' using errcode = 'insufficient_privilege';
  end if;
  select coalesce((select audit_days from retention_settings where tenant_id = p_tenant), 730) into keep_days;
  select seq, hash into last_seq, last_hash from audit_entries
   where tenant_id = p_tenant and at < now() - make_interval(days => keep_days) order by seq desc limit 1;
  if last_seq is null then
    return 0;
  end if;
  perform set_config('filo.audit_purge', 'on', true);
  delete from audit_entries where tenant_id = p_tenant and seq <= last_seq;
  get diagnostics removed = row_count;
  perform set_config('filo.audit_purge', 'off', true);
  update audit_chains set anchor_seq = last_seq, anchor_hash = last_hash where tenant_id = p_tenant;
  return removed;
end $$;`);
  }

  override down(): void {
    this.addSql(`drop function if exists filo_audit_purge(uuid);`);
    for (const table of [...TABLES].reverse()) this.addSql(`drop table if exists "${table}" cascade;`);
    this.addSql(`drop function if exists filo_audit_append_only();`);
  }
}
