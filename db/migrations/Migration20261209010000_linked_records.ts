import { Migration } from '@mikro-orm/migrations';

const TABLES = ['linked_records', 'linked_record_kinds'];

/**
 * Linked records of other modules (projects, invoices, production jobs, workspace-defined kinds) on CRM records,
 * upserted by (source, kind, external id), and the workspace's own kinds; searchable by title and external id.
 */
export class Migration20261209010000_linked_records extends Migration {
  override up(): void {
    this.addSql(
      `create table "linked_record_kinds" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "key" varchar(40) not null, "label" varchar(100) not null, "tab" text not null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "linked_record_kinds" add constraint "linked_record_kinds_tenant_id_key_unique" unique ("tenant_id", "key");`,
    );
    this.addSql(
      `create table "linked_records" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "kind" varchar(40) not null, "source" varchar(64) not null, "external_id" varchar(200) not null, "title" varchar(500) not null, "status" varchar(100) null, "state" text not null default 'active', "amount" numeric(15,2) null, "currency" varchar(3) null, "start_date" date null, "due_date" date null, "end_date" date null, "issued_date" date null, "url" varchar(2000) null, "fields" jsonb not null default '{}', "company_id" uuid null, "contact_id" uuid null, "deal_id" uuid null, "source_updated_at" timestamptz not null, "created_by" uuid null, "updated_at" timestamptz not null default now(), "version" int not null default 1, primary key ("id"));`,
    );
    this.addSql(
      `create index "linked_records_tenant_id_company_id_kind_index" on "linked_records" ("tenant_id", "company_id", "kind");`,
    );
    this.addSql(
      `create index "linked_records_tenant_id_contact_id_index" on "linked_records" ("tenant_id", "contact_id");`,
    );
    this.addSql(`create index "linked_records_tenant_id_deal_id_index" on "linked_records" ("tenant_id", "deal_id");`);
    this.addSql(
      `alter table "linked_records" add constraint "linked_records_tenant_id_source_kind_external_id_unique" unique ("tenant_id", "source", "kind", "external_id");`,
    );
    this.addSql(
      `alter table "linked_record_kinds" add constraint "linked_record_kinds_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "linked_record_kinds" add constraint "linked_record_kinds_tab_check" check ("tab" in ('projects', 'invoices', 'production'));`,
    );
    this.addSql(
      `alter table "linked_records" add constraint "linked_records_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "linked_records" add constraint "linked_records_created_by_foreign" foreign key ("created_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "linked_records" add constraint "linked_records_state_check" check ("state" in ('active', 'pending', 'done', 'cancelled'));`,
    );
    // Search machinery the ORM never maps (as the CRM's): title and external id, words as written.
    this.addSql(`alter table linked_records add column search tsvector generated always as (
      setweight(to_tsvector('simple', coalesce(title, '')), 'A') ||
      setweight(to_tsvector('simple', coalesce(external_id, '') || ' ' || coalesce(source, '')), 'B')) stored;`);
    this.addSql(`create index linked_records_search_index on linked_records using gin (search);`);
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
