import { Migration } from '@mikro-orm/migrations';

const FOREIGN = ['tenant_id', 'conversation_id', 'mailbox_id', 'contact_id', 'company_id', 'sent_by'];
const INDEXES = [
  'tenant_id_conversation_id_created_at_index',
  'tenant_id_message_id_header_index',
  'outbound_status_index',
];
const CHECKS = ['direction_check', 'classification_check'];

/**
 * Messages of every channel in one table (issue 13): `email_messages` becomes `messages` with a `channel` column.
 * The channel-neutral core stays in columns (direction, author, text/html, status, provider id, timestamps,
 * attachments, customer links, tracking); what only email has (In-Reply-To, References, To/Cc with display names,
 * SPF/DKIM/DMARC verdicts) moves into the `email` JSON column beside it. The Message-ID keeps its column and its
 * (tenant_id, message_id_header) index: threading looks messages up by it.
 */
export class Migration20261205120100_messages extends Migration {
  override up(): void {
    this.addSql(`alter table "email_messages" rename to "messages";`);
    this.addSql(`alter index "email_messages_pkey" rename to "messages_pkey";`);
    this.addSql(
      `alter table "messages" rename constraint "email_messages_inbound_message_id_unique" to "messages_inbound_message_id_unique";`,
    );
    for (const index of INDEXES) this.addSql(`alter index "email_messages_${index}" rename to "messages_${index}";`);
    for (const column of FOREIGN)
      this.addSql(
        `alter table "messages" rename constraint "email_messages_${column}_foreign" to "messages_${column}_foreign";`,
      );
    for (const check of CHECKS)
      this.addSql(`alter table "messages" rename constraint "email_messages_${check}" to "messages_${check}";`);
    this.addSql(`alter table "messages" add "channel" text not null default 'email';`);
    this.addSql(
      `alter table "messages" add constraint "messages_channel_check" check ("channel" in ('email', 'sms', 'whatsapp', 'telegram', 'discord'));`,
    );
    this.addSql(`alter table "messages" add "email" jsonb null;`);
    this.addSql(`update "messages" set "email" = jsonb_build_object('inReplyTo', "in_reply_to", 'references',
      to_jsonb("references"), 'to', "to", 'cc', "cc", 'auth', "auth");`);
    this.addSql(
      `alter table "messages" drop column "in_reply_to", drop column "references", drop column "to", drop column "cc", drop column "auth";`,
    );
    // The tracking links' tenant look-up reads the table by name.
    this.addSql(`create or replace function filo_tracking_tenant(p_message_id uuid)
returns uuid
language sql stable security definer set search_path = public as $$
  select m.tenant_id from messages m where m.id = p_message_id and m.direction = 'outbound'
$$;`);
  }

  override down(): void {
    this.addSql(
      `alter table "messages" add "in_reply_to" varchar(998) null, add "references" text[] not null default '{}', add "to" jsonb not null default '[]', add "cc" jsonb not null default '[]', add "auth" jsonb null;`,
    );
    this.addSql(`update "messages" set "in_reply_to" = "email"->>'inReplyTo',
      "references" = coalesce(array(select jsonb_array_elements_text("email"->'references')), '{}'),
      "to" = coalesce("email"->'to', '[]'), "cc" = coalesce("email"->'cc', '[]'), "auth" = "email"->'auth'
      where "email" is not null;`);
    this.addSql(`alter table "messages" drop column "email", drop column "channel";`);
    for (const check of CHECKS)
      this.addSql(`alter table "messages" rename constraint "messages_${check}" to "email_messages_${check}";`);
    for (const column of FOREIGN)
      this.addSql(
        `alter table "messages" rename constraint "messages_${column}_foreign" to "email_messages_${column}_foreign";`,
      );
    for (const index of INDEXES) this.addSql(`alter index "messages_${index}" rename to "email_messages_${index}";`);
    this.addSql(
      `alter table "messages" rename constraint "messages_inbound_message_id_unique" to "email_messages_inbound_message_id_unique";`,
    );
    this.addSql(`alter index "messages_pkey" rename to "email_messages_pkey";`);
    this.addSql(`alter table "messages" rename to "email_messages";`);
    this.addSql(`create or replace function filo_tracking_tenant(p_message_id uuid)
returns uuid
language sql stable security definer set search_path = public as $$
  select m.tenant_id from email_messages m where m.id = p_message_id and m.direction = 'outbound'
$$;`);
  }
}
