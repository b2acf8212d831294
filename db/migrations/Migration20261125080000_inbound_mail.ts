import { Migration } from '@mikro-orm/migrations';

const TABLES = ['mailboxes', 'inbound_messages', 'conversations', 'email_messages'];

/**
 * Inbound mail: mailboxes, the durable record of every accepted message, conversations and their messages.
 * Row-level security as on every tenant-owned table; the gateway finds a recipient's mailbox before it knows
 * the tenant, through one SECURITY DEFINER look-up.
 */
export class Migration20261125080000_inbound_mail extends Migration {
  override up(): void {
    this.addSql(
      `create table "mailboxes" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "name" varchar(100) not null, "local_part" varchar(64) not null, "address" varchar(255) null, "create_contacts" boolean not null default true, "member_ids" text[] not null default '{}', "updated_at" timestamptz not null default now(), "version" int not null default 1, primary key ("id"));`,
    );
    this.addSql(
      `alter table "mailboxes" add constraint "mailboxes_tenant_id_local_part_unique" unique ("tenant_id", "local_part");`,
    );
    this.addSql(
      `create table "inbound_messages" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "mailbox_id" uuid not null, "mail_from" varchar(320) null, "rcpt_to" text[] not null, "remote_address" varchar(64) null, "helo_name" varchar(255) null, "size" int not null, "sha256" varchar(64) not null, "spool_key" text not null, "status" text not null default 'received', "error" text null, "attempts" int not null default 0, "processed_at" timestamptz null, "classification" text null, "details" jsonb not null default '{}', "email_message_id" uuid null, primary key ("id"));`,
    );
    this.addSql(
      `create index "inbound_messages_tenant_id_mailbox_id_created_at_index" on "inbound_messages" ("tenant_id", "mailbox_id", "created_at");`,
    );
    this.addSql(
      `create index "inbound_messages_status_created_at_index" on "inbound_messages" ("status", "created_at");`,
    );
    this.addSql(
      `create table "conversations" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "mailbox_id" uuid not null, "subject" varchar(998) not null, "normalized_subject" varchar(998) not null, "status" text not null default 'open', "assignee_id" uuid null, "tags" text[] not null default '{}', "participants" text[] not null default '{}', "contact_id" uuid null, "company_id" uuid null, "message_count" int not null default 0, "last_message_at" timestamptz not null, "snoozed_until" timestamptz null, "updated_at" timestamptz not null default now(), "version" int not null default 1, primary key ("id"));`,
    );
    this.addSql(
      `create index "conversations_tenant_id_mailbox_id_last_message_at_index" on "conversations" ("tenant_id", "mailbox_id", "last_message_at");`,
    );
    this.addSql(
      `create index "conversations_tenant_id_normalized_subject_index" on "conversations" ("tenant_id", "normalized_subject");`,
    );
    this.addSql(
      `create index "conversations_tenant_id_contact_id_index" on "conversations" ("tenant_id", "contact_id");`,
    );
    this.addSql(
      `create table "email_messages" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "conversation_id" uuid not null, "mailbox_id" uuid not null, "inbound_message_id" uuid null, "direction" text not null, "classification" text not null default 'message', "message_id_header" varchar(998) null, "in_reply_to" varchar(998) null, "references" text[] not null default '{}', "from_address" varchar(320) null, "from_name" varchar(255) null, "to" jsonb not null default '[]', "cc" jsonb not null default '[]', "subject" varchar(998) not null, "text" text null, "html" text null, "has_remote_images" boolean not null default false, "sent_at" timestamptz null, "auth" jsonb null, "attachments" jsonb not null default '[]', "contact_id" uuid null, "company_id" uuid null, "status" varchar(20) null, "error" text null, "sent_by" uuid null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "email_messages" add constraint "email_messages_inbound_message_id_unique" unique ("inbound_message_id");`,
    );
    this.addSql(
      `create index "email_messages_tenant_id_conversation_id_created_at_index" on "email_messages" ("tenant_id", "conversation_id", "created_at");`,
    );
    this.addSql(
      `create index "email_messages_tenant_id_message_id_header_index" on "email_messages" ("tenant_id", "message_id_header");`,
    );
    this.addSql(`alter table "contacts" add "email_bounced_at" timestamptz null;`);
    this.addSql(
      `alter table "mailboxes" add constraint "mailboxes_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "inbound_messages" add constraint "inbound_messages_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "inbound_messages" add constraint "inbound_messages_mailbox_id_foreign" foreign key ("mailbox_id") references "mailboxes" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "inbound_messages" add constraint "inbound_messages_status_check" check ("status" in ('received', 'processed', 'failed'));`,
    );
    this.addSql(
      `alter table "inbound_messages" add constraint "inbound_messages_classification_check" check ("classification" in ('message', 'bounce', 'auto_reply'));`,
    );
    this.addSql(
      `alter table "conversations" add constraint "conversations_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "conversations" add constraint "conversations_mailbox_id_foreign" foreign key ("mailbox_id") references "mailboxes" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "conversations" add constraint "conversations_assignee_id_foreign" foreign key ("assignee_id") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "conversations" add constraint "conversations_contact_id_foreign" foreign key ("contact_id") references "contacts" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "conversations" add constraint "conversations_company_id_foreign" foreign key ("company_id") references "companies" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "conversations" add constraint "conversations_status_check" check ("status" in ('open', 'pending', 'closed', 'snoozed'));`,
    );
    this.addSql(
      `alter table "email_messages" add constraint "email_messages_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "email_messages" add constraint "email_messages_conversation_id_foreign" foreign key ("conversation_id") references "conversations" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "email_messages" add constraint "email_messages_mailbox_id_foreign" foreign key ("mailbox_id") references "mailboxes" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "email_messages" add constraint "email_messages_contact_id_foreign" foreign key ("contact_id") references "contacts" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "email_messages" add constraint "email_messages_company_id_foreign" foreign key ("company_id") references "companies" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "email_messages" add constraint "email_messages_sent_by_foreign" foreign key ("sent_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "email_messages" add constraint "email_messages_direction_check" check ("direction" in ('inbound', 'outbound'));`,
    );
    this.addSql(
      `alter table "email_messages" add constraint "email_messages_classification_check" check ("classification" in ('message', 'bounce', 'auto_reply'));`,
    );
    for (const table of TABLES) {
      this.addSql(`alter table "${table}" enable row level security;`);
      this.addSql(`alter table "${table}" force row level security;`);
      this.addSql(
        `create policy tenant_isolation on "${table}" using ("tenant_id" = filo_current_tenant()) with check ("tenant_id" = filo_current_tenant());`,
      );
      this.addSql(
        `do $$ begin execute format('create policy owner_access on %I to %I using (true) with check (true)', '${table}', current_user); end $$;`,
      );
    }
    // RCPT TO <local>@<slug>.<inbound domain>: which tenant and mailbox, before any tenant is set.
    this.addSql(`create function filo_mailbox_route(p_local_part text, p_slug text)
returns table (tenant_id uuid, mailbox_id uuid)
language sql stable security definer set search_path = public as $$
  select m.tenant_id, m.id
    from mailboxes m join tenants t on t.id = m.tenant_id
   where t.slug = lower(p_slug) and m.local_part = lower(p_local_part)
$$;`);
    this.addSql(`grant execute on function filo_mailbox_route(text, text) to public;`);
  }

  override down(): void {
    this.addSql(`drop function if exists filo_mailbox_route(text, text);`);
    this.addSql(`alter table "contacts" drop column if exists "email_bounced_at";`);
    for (const table of [...TABLES].reverse()) this.addSql(`drop table if exists "${table}" cascade;`);
  }
}
