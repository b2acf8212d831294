import { Migration } from '@mikro-orm/migrations';

/**
 * The public newsletter pages (subscribe form, double opt-in confirmation, one-click unsubscribe and preference
 * center) run with no session: these functions tell them which workspace a signed or random key belongs to, before
 * any tenant is set, and nothing more.
 */
export class Migration20261206050000_public_pages extends Migration {
  override up(): void {
    // A one-click unsubscribe token names a send row: its workspace.
    this.addSql(`create function filo_bulk_send_tenant(p_send_id uuid)
returns uuid
language sql stable security definer set search_path = public as $$
  select s.tenant_id from bulk_sends s where s.id = p_send_id
$$;`);
    this.addSql(`grant execute on function filo_bulk_send_tenant(uuid) to public;`);
    // A subscribe form's list: its workspace, only while the list's public form is on.
    this.addSql(`create function filo_public_list_tenant(p_list_id uuid)
returns uuid
language sql stable security definer set search_path = public as $$
  select l.tenant_id from mailing_lists l
   where l.id = p_list_id and l.public_form and l.kind = 'static' and l.archived_at is null
$$;`);
    this.addSql(`grant execute on function filo_public_list_tenant(uuid) to public;`);
    // A confirmation link names a consent row (its secret part is checked against the stored hash in the tenant).
    this.addSql(`create function filo_consent_tenant(p_consent_id uuid)
returns uuid
language sql stable security definer set search_path = public as $$
  select c.tenant_id from consents c where c.id = p_consent_id and c.confirm_token_hash is not null
$$;`);
    this.addSql(`grant execute on function filo_consent_tenant(uuid) to public;`);
  }

  override down(): void {
    this.addSql(`drop function if exists filo_consent_tenant(uuid);`);
    this.addSql(`drop function if exists filo_public_list_tenant(uuid);`);
    this.addSql(`drop function if exists filo_bulk_send_tenant(uuid);`);
  }
}
