import { Migration } from '@mikro-orm/migrations';

/**
 * OAuth2 sign-ins of email accounts under way: the PKCE verifier stays on the server, and a row is deleted when its
 * state comes back, so that a state works once.
 */
export class Migration20261205210000_account_oauth_states extends Migration {
  override up(): void {
    this.addSql(`create table "email_account_oauth_states" (
      "id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(),
      "user_id" uuid not null, "provider" text not null, "verifier_enc" text not null,
      "expires_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`alter table "email_account_oauth_states" add constraint "email_account_oauth_states_provider_check"
      check ("provider" in ('google', 'microsoft'));`);
    this.addSql(`alter table "email_account_oauth_states" add constraint "email_account_oauth_states_tenant_id_foreign"
      foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "email_account_oauth_states" add constraint "email_account_oauth_states_user_id_foreign"
      foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`);
    this.addSql(`create index "email_account_oauth_states_expires_index"
      on "email_account_oauth_states" ("tenant_id", "expires_at");`);
    this.addSql(`alter table "email_account_oauth_states" enable row level security;`);
    this.addSql(`alter table "email_account_oauth_states" force row level security;`);
    this.addSql(`create policy tenant_isolation on "email_account_oauth_states"
      using ("tenant_id" = filo_current_tenant()) with check ("tenant_id" = filo_current_tenant());`);
    this.addSql(
      `do $$ begin execute format('create policy owner_access on %I to %I using (true) with check (true)', 'email_account_oauth_states', current_user); end $$;`,
    );
  }

  override down(): void {
    this.addSql(`drop table if exists "email_account_oauth_states" cascade;`);
  }
}
