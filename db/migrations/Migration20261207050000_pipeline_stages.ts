import { Migration } from '@mikro-orm/migrations';

const TABLES = ['pipeline_stages'];

// The stages every workspace starts with, as they were fixed before this migration: key, name, probability, kind.
const DEFAULTS = `(values
  ('lead', 'Lead', 0, 10, 'open'), ('qualified', 'Qualified', 1, 25, 'open'), ('proposal', 'Proposal', 2, 50, 'open'),
  ('negotiation', 'Negotiation', 3, 75, 'open'), ('won', 'Won', 4, 100, 'won'), ('lost', 'Lost', 5, 0, 'lost')
) as d(key, name, position, probability, kind)`;

/**
 * Per-workspace pipeline stages: a deal's stage becomes a key of its workspace's stages (no longer a fixed check).
 * Existing workspaces get today's stages; a trigger gives every new workspace the same, however it is created.
 */
export class Migration20261207050000_pipeline_stages extends Migration {
  override up(): void {
    this.addSql(
      `create table "pipeline_stages" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "key" varchar(40) not null, "name" varchar(60) not null, "position" int not null, "probability" int not null, "kind" text not null default 'open', "version" int not null default 1, primary key ("id"));`,
    );
    this.addSql(
      `alter table "pipeline_stages" add constraint "pipeline_stages_tenant_id_key_unique" unique ("tenant_id", "key");`,
    );
    this.addSql(
      `alter table "pipeline_stages" add constraint "pipeline_stages_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "pipeline_stages" add constraint "pipeline_stages_kind_check" check ("kind" in ('open', 'won', 'lost'));`,
    );
    this.addSql(`alter table "deals" drop constraint "deals_stage_check";`);
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
    this.addSql(
      `insert into pipeline_stages (id, tenant_id, key, name, position, probability, kind)
       select gen_random_uuid(), t.id, d.key, d.name, d.position, d.probability, d.kind from tenants t cross join ${DEFAULTS};`,
    );
    // A workspace is created before any tenant is set (sign-up, demo seed): the owner's function writes its stages.
    this.addSql(`create function filo_seed_pipeline_stages() returns trigger
language plpgsql security definer set search_path = public as $$
begin
  insert into pipeline_stages (id, tenant_id, key, name, position, probability, kind)
  select gen_random_uuid(), new.id, d.key, d.name, d.position, d.probability, d.kind from ${DEFAULTS};
  return new;
end $$;`);
    this.addSql(
      `create trigger tenants_pipeline_stages after insert on tenants for each row execute function filo_seed_pipeline_stages();`,
    );
  }

  override down(): void {
    this.addSql(`drop trigger if exists tenants_pipeline_stages on tenants;`);
    this.addSql(`drop function if exists filo_seed_pipeline_stages();`);
    this.addSql(
      `alter table "deals" add constraint "deals_stage_check" check ("stage" in ('lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost'));`,
    );
    for (const table of [...TABLES].reverse()) this.addSql(`drop table if exists "${table}" cascade;`);
  }
}
