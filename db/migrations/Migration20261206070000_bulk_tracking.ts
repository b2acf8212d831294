import { Migration } from '@mikro-orm/migrations';

/**
 * Opens and clicks of bulk mail arrive on public routes with a signed send row id and no session: one look-up,
 * before any tenant is set, gives the row's workspace and what the pixel needs to decide in one round trip.
 */
export class Migration20261206070000_bulk_tracking extends Migration {
  override up(): void {
    this.addSql(`create function filo_bulk_send_lookup(p_send_id uuid)
returns table (tenant_id uuid, sent_at timestamptz, opened_at timestamptz)
language sql stable security definer set search_path = public as $$
  select s.tenant_id, s.sent_at, s.opened_at from bulk_sends s where s.id = p_send_id
$$;`);
    this.addSql(`grant execute on function filo_bulk_send_lookup(uuid) to public;`);
  }

  override down(): void {
    this.addSql(`drop function if exists filo_bulk_send_lookup(uuid);`);
  }
}
