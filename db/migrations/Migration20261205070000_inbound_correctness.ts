import { Migration } from '@mikro-orm/migrations';

/**
 * Inbound mail correctness (issue 12): why a contact's address bounces, the conversation a message that was not
 * threaded may belong to ("possibly related"), and the notes a message carries (a reused Message-ID, yEnc, a
 * fragment of message/partial, HTML replaced by its plain-text alternative).
 */
export class Migration20261205070000_inbound_correctness extends Migration {
  override up(): void {
    this.addSql(`alter table "contacts" add "email_bounce_reason" varchar(500) null;`);
    this.addSql(`alter table "conversations" add "related_conversation_id" uuid null;`);
    this.addSql(
      `alter table "conversations" add constraint "conversations_related_conversation_id_foreign" foreign key ("related_conversation_id") references "conversations" ("id") on update cascade on delete set null;`,
    );
    this.addSql(`alter table "email_messages" add "notices" text[] not null default '{}';`);
  }

  override down(): void {
    this.addSql(`alter table "email_messages" drop column if exists "notices";`);
    this.addSql(`alter table "conversations" drop column if exists "related_conversation_id";`);
    this.addSql(`alter table "contacts" drop column if exists "email_bounce_reason";`);
  }
}
