import { Migration } from '@mikro-orm/migrations';

/**
 * Password reset links: the SHA-256 of the mailed token, its user, when it expires and when it was used. Not
 * tenant-owned (a user is global and no workspace is known yet), like sessions and pending sign-ups.
 */
export class Migration20261207030000_password_resets extends Migration {
  override up(): void {
    this.addSql(
      `create table "password_resets" ("token_hash" varchar(64) not null, "user_id" uuid not null, "created_at" timestamptz not null default now(), "expires_at" timestamptz not null, "used_at" timestamptz null, "requested_ip" varchar(64) null, primary key ("token_hash"));`,
    );
    this.addSql(`create index "password_resets_user_id_index" on "password_resets" ("user_id");`);
    this.addSql(`create index "password_resets_expires_at_index" on "password_resets" ("expires_at");`);
    this.addSql(
      `alter table "password_resets" add constraint "password_resets_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`,
    );
  }

  override down(): void {
    this.addSql(`drop table if exists "password_resets";`);
  }
}
