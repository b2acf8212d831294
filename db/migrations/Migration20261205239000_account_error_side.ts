import { Migration } from '@mikro-orm/migrations';

/**
 * Which side of an account its last error came from (`imap`: reading, `smtp`: sending), so that the sync working
 * does not clear a refused SMTP login, and a sent message does not clear a failing sync.
 */
export class Migration20261205239000_account_error_side extends Migration {
  override up(): void {
    this.addSql(`alter table "email_accounts" add "last_error_side" text null;`);
    this.addSql(`alter table "email_accounts" add constraint "email_accounts_last_error_side_check"
      check ("last_error_side" in ('imap', 'smtp'));`);
  }

  override down(): void {
    this.addSql(`alter table "email_accounts" drop column "last_error_side";`);
  }
}
