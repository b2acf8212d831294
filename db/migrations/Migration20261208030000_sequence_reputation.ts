import { Migration } from '@mikro-orm/migrations';

/**
 * Warmup and domain reputation: the day a warming mailbox's cap last rose (the daily job raises it once a day), when
 * a paused domain was resumed by hand (its rates count from then), and the workspaces that send sequences (the jobs
 * sweep them across tenants, past row-level security, as filo_due_campaigns does for campaigns).
 */
export class Migration20261208030000_sequence_reputation extends Migration {
  override up(): void {
    this.addSql(`alter table "sequence_mailboxes" add column "warmup_raised_at" timestamptz null;`);
    this.addSql(`alter table "sequence_domains" add column "resumed_at" timestamptz null;`);
    this.addSql(`create function filo_sequence_tenants()
returns table (tenant_id uuid)
language sql stable security definer set search_path = public as $$
  select distinct m.tenant_id from sequence_mailboxes m
$$;`);
    this.addSql(`grant execute on function filo_sequence_tenants() to public;`);
  }

  override down(): void {
    this.addSql(`drop function if exists filo_sequence_tenants();`);
    this.addSql(`alter table "sequence_domains" drop column "resumed_at";`);
    this.addSql(`alter table "sequence_mailboxes" drop column "warmup_raised_at";`);
  }
}
