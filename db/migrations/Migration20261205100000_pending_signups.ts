import { Migration } from '@mikro-orm/migrations';

/**
 * Sign-ups waiting for their address to be confirmed: the account and workspace are made only from the link
 * mailed to it, so that sign-up answers alike for new and taken addresses. Not tenant-owned (no workspace yet).
 */
export class Migration20261205100000_pending_signups extends Migration {
  override up(): void {
    this.addSql(
      `create table "pending_signups" ("token_hash" varchar(64) not null, "created_at" timestamptz not null default now(), "expires_at" timestamptz not null, "confirmed_at" timestamptz null, "email" varchar(255) not null, "name" varchar(255) not null, "workspace_name" varchar(255) not null, "password_hash" text not null, primary key ("token_hash"));`,
    );
    this.addSql(`create index "pending_signups_expires_at_index" on "pending_signups" ("expires_at");`);
  }

  override down(): void {
    this.addSql(`drop table if exists "pending_signups";`);
  }
}
