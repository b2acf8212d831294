import { Migration } from '@mikro-orm/migrations';

/**
 * Mail sent from a member's own account: the delivery names the account whose SMTP server sends it (no foreign key:
 * a message whose account was removed fails instead of leaving through another server) and where its copy was filed
 * in the account's Sent folder (folder, UIDVALIDITY and UID when the server answers APPENDUID).
 */
export class Migration20261205234000_account_send extends Migration {
  override up(): void {
    this.addSql(`alter table "outbound_deliveries" add column "account_id" uuid null,
      add column "sent_copy_folder" varchar(1000) null, add column "sent_copy_uid_validity" bigint null,
      add column "sent_copy_uid" bigint null;`);
  }

  override down(): void {
    this.addSql(`alter table "outbound_deliveries" drop column "account_id", drop column "sent_copy_folder",
      drop column "sent_copy_uid_validity", drop column "sent_copy_uid";`);
  }
}
