import { Migration } from '@mikro-orm/migrations';

/** A notification's payload (the record's name, the conversation's subject): the web says it in the reader's language. */
export class Migration20261205150000_notification_data extends Migration {
  override up(): void {
    this.addSql(`alter table "notifications" add column "data" jsonb not null default '{}';`);
  }

  override down(): void {
    this.addSql(`alter table "notifications" drop column "data";`);
  }
}
