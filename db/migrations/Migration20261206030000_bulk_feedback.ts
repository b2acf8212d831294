import { Migration } from '@mikro-orm/migrations';

/**
 * What comes back about bulk mail: the gateway's route for a send's VERP (`b+<token>`) and List-Unsubscribe mailto
 * (`u+<token>`) addresses, and the look-up of a send by its Message-ID (replies, complaints, bounces without VERP).
 */
export class Migration20261206030000_bulk_feedback extends Migration {
  override up(): void {
    this.addSql(`create index "bulk_sends_tenant_id_message_id_index" on "bulk_sends" ("tenant_id", "message_id");`);
    // The token is checked before this is called; the send must belong to the workspace the address names. Its mail
    // is filed under the workspace's oldest shared mailbox (else any): it never becomes a conversation.
    this.addSql(`create function filo_bulk_route(p_send_id uuid, p_slug text)
returns table (tenant_id uuid, mailbox_id uuid)
language sql stable security definer set search_path = public as $$
  select s.tenant_id, m.id
    from bulk_sends s
    join tenants t on t.id = s.tenant_id
    join lateral (
      select id from mailboxes where mailboxes.tenant_id = s.tenant_id
       order by (kind = 'shared') desc, created_at, id limit 1
    ) m on true
   where s.id = p_send_id and t.slug = lower(p_slug)
$$;`);
    this.addSql(`grant execute on function filo_bulk_route(uuid, text) to public;`);
  }

  override down(): void {
    this.addSql(`drop function if exists filo_bulk_route(uuid, text);`);
    this.addSql(`drop index if exists "bulk_sends_tenant_id_message_id_index";`);
  }
}
