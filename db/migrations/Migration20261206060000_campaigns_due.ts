import { Migration } from '@mikro-orm/migrations';

/** The look-up of scheduled campaigns whose time has come, across workspaces (for the job, which has no tenant). */
export class Migration20261206060000_campaigns_due extends Migration {
  override up(): void {
    this.addSql(`create function filo_due_campaigns(p_now timestamptz)
returns table (tenant_id uuid, campaign_id uuid)
language sql stable security definer set search_path = public as $$
  select c.tenant_id, c.id from campaigns c
   where c.status = 'scheduled' and c.scheduled_at <= p_now
   order by c.scheduled_at
   limit 100
$$;`);
    this.addSql(`grant execute on function filo_due_campaigns(timestamptz) to public;`);
  }

  override down(): void {
    this.addSql(`drop function if exists filo_due_campaigns(timestamptz);`);
  }
}
