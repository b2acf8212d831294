import { Migration } from '@mikro-orm/migrations';

/** Where a warming mailbox's signals count from: its last warmup pause (after a resume only new sends are judged). */
export class Migration20261208030100_warmup_judged_from extends Migration {
  override up(): void {
    this.addSql(`alter table "sequence_mailboxes" add column "warmup_judged_from" timestamptz null;`);
  }

  override down(): void {
    this.addSql(`alter table "sequence_mailboxes" drop column "warmup_judged_from";`);
  }
}
