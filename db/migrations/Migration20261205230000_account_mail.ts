import { Migration } from '@mikro-orm/migrations';

const CLASSES = `'message', 'bounce', 'auto_reply', 'internal', 'blocked'`;

/**
 * Mail kept out of the CRM: the blocklist (addresses and `@domain`s, per workspace), and two more classes of
 * inbound message, `internal` (only the workspace's own people and domains) and `blocked` (a blocklisted sender).
 */
export class Migration20261205230000_account_mail extends Migration {
  override up(): void {
    this.addSql(`create table "mail_blocklist" (
      "id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(),
      "pattern" varchar(320) not null, "created_by" uuid null, primary key ("id"));`);
    this.addSql(
      `alter table "mail_blocklist" add constraint "mail_blocklist_tenant_id_pattern_unique" unique ("tenant_id", "pattern");`,
    );
    this
      .addSql(`alter table "mail_blocklist" add constraint "mail_blocklist_tenant_id_foreign" foreign key ("tenant_id")
      references "tenants" ("id") on update cascade on delete cascade;`);
    this
      .addSql(`alter table "mail_blocklist" add constraint "mail_blocklist_created_by_foreign" foreign key ("created_by")
      references "users" ("id") on update cascade on delete set null;`);
    this.addSql(`alter table "mail_blocklist" enable row level security;`);
    this.addSql(`alter table "mail_blocklist" force row level security;`);
    this.addSql(
      `create policy tenant_isolation on "mail_blocklist" using ("tenant_id" = filo_current_tenant()) with check ("tenant_id" = filo_current_tenant());`,
    );
    this.addSql(
      `do $$ begin execute format('create policy owner_access on %I to %I using (true) with check (true)', 'mail_blocklist', current_user); end $$;`,
    );
    for (const table of ['inbound_messages', 'messages']) {
      this.addSql(`alter table "${table}" drop constraint "${table}_classification_check";`);
      this.addSql(
        `alter table "${table}" add constraint "${table}_classification_check" check ("classification" in (${CLASSES}));`,
      );
    }
  }

  override down(): void {
    for (const table of ['inbound_messages', 'messages']) {
      this.addSql(`alter table "${table}" drop constraint "${table}_classification_check";`);
      this.addSql(`alter table "${table}" add constraint "${table}_classification_check"
        check ("classification" in ('message', 'bounce', 'auto_reply'));`);
    }
    this.addSql(`drop table if exists "mail_blocklist" cascade;`);
  }
}
