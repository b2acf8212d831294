import { Migration } from '@mikro-orm/migrations';

/**
 * Conversations carry the channel they run on (issue 13): email for everything so far; SMS, WhatsApp, Telegram and
 * Discord conversations will be written by the same service. The list is CHANNELS of contracts/common.ts.
 */
export class Migration20261205120000_conversation_channel extends Migration {
  override up(): void {
    this.addSql(`alter table "conversations" add "channel" text not null default 'email';`);
    this.addSql(
      `alter table "conversations" add constraint "conversations_channel_check" check ("channel" in ('email', 'sms', 'whatsapp', 'telegram', 'discord'));`,
    );
  }

  override down(): void {
    this.addSql(`alter table "conversations" drop column if exists "channel";`);
  }
}
