import { Migration } from '@mikro-orm/migrations';

const TABLES = ['sending_domains'];

/**
 * Domains a workspace has proven it controls (a DNS TXT token), the only ones its mailboxes may send from besides
 * its inbound domain. Row-level security as on every tenant-owned table.
 */
export class Migration20261205050000_sending_domains extends Migration {
  override up(): void {
    this.addSql(
      `create table "sending_domains" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "domain" varchar(253) not null, "token" varchar(64) not null, "verified_at" timestamptz null, "checked_at" timestamptz null, "last_error" varchar(500) null, "created_by" uuid null, "updated_at" timestamptz not null default now(), "version" int not null default 1, primary key ("id"));`,
    );
    this.addSql(
      `alter table "sending_domains" add constraint "sending_domains_tenant_id_domain_unique" unique ("tenant_id", "domain");`,
    );
    this.addSql(
      `alter table "sending_domains" add constraint "sending_domains_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "sending_domains" add constraint "sending_domains_created_by_foreign" foreign key ("created_by") references "users" ("id") on update cascade on delete set null;`,
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
