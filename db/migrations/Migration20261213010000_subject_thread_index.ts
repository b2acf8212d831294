import { Migration } from '@mikro-orm/migrations';

/**
 * Threading by subject asks for a mailbox's conversations of the last 30 days with one normalized subject. With
 * `(tenant_id, normalized_subject)` and `(tenant_id, mailbox_id, last_message_at)` to choose from, a planner
 * without statistics yet (a new table, or a prepared statement's plan made before the first analyze) took the
 * second and filtered every recent conversation of the mailbox by subject: 0.4 ms at 1,200 conversations, and
 * growing with the inbox (bench/README.md, "session 15"). One index that answers every condition of the look-up.
 */
export class Migration20261213010000_subject_thread_index extends Migration {
  override up(): void {
    this.addSql(`drop index if exists "conversations_tenant_id_normalized_subject_index";`);
    this.addSql(
      `create index if not exists "conversations_subject_thread_index" on "conversations" ("tenant_id", "mailbox_id", "normalized_subject", "last_message_at");`,
    );
  }

  override down(): void {
    this.addSql(`drop index if exists "conversations_subject_thread_index";`);
    this.addSql(
      `create index if not exists "conversations_tenant_id_normalized_subject_index" on "conversations" ("tenant_id", "normalized_subject");`,
    );
  }
}
