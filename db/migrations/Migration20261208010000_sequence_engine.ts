import { Migration } from '@mikro-orm/migrations';

/**
 * The sequence engine's due sweep across workspaces (the job has no tenant: a security-definer look-up, as for
 * campaigns), and the index a mailbox's slot booking counts its sends by.
 */
export class Migration20261208010000_sequence_engine extends Migration {
  override up(): void {
    this.addSql(`create function filo_due_sequence_enrolments(p_now timestamptz, p_limit int)
returns table (tenant_id uuid, enrolment_id uuid)
language sql stable security definer set search_path = public as $$
  select e.tenant_id, e.id from sequence_enrolments e
    join sequences s on s.id = e.sequence_id and s.tenant_id = e.tenant_id
   where e.status = 'active' and e.next_run_at <= p_now and s.status = 'active'
   order by e.next_run_at
   limit p_limit
$$;`);
    this.addSql(`grant execute on function filo_due_sequence_enrolments(timestamptz, int) to public;`);
    this.addSql(
      `create index "bulk_sends_mailbox_slot_index" on "bulk_sends" ("tenant_id", "mailbox_id", "next_attempt_at") where "mailbox_id" is not null;`,
    );
  }

  override down(): void {
    this.addSql(`drop index if exists "bulk_sends_mailbox_slot_index";`);
    this.addSql(`drop function if exists filo_due_sequence_enrolments(timestamptz, int);`);
  }
}
