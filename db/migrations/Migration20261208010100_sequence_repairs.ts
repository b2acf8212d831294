import { Migration } from '@mikro-orm/migrations';

/**
 * What the sequence engine's sweep mends across workspaces: active prospects waiting on an email step whose send
 * row is no longer on its way (sent without the move, refused by consent, failed while the prospect was paused),
 * and email steps with overdue rows and no dispatch job left (their sequence was paused, then resumed).
 */
export class Migration20261208010100_sequence_repairs extends Migration {
  override up(): void {
    this.addSql(`create function filo_sequence_repairs(p_now timestamptz, p_limit int)
returns table (tenant_id uuid, kind text, id uuid)
language sql stable security definer set search_path = public as $$
  (select e.tenant_id, 'enrolment'::text, e.id from sequence_enrolments e
     join sequences s on s.id = e.sequence_id and s.tenant_id = e.tenant_id
     join sequence_steps st on st.id = e.current_step_id and st.tenant_id = e.tenant_id
    where e.status = 'active' and e.next_run_at is null and s.status = 'active' and st.kind = 'email'
      and e.updated_at < p_now - interval '1 minute'
      and not exists (select 1 from bulk_sends b
                       where b.tenant_id = e.tenant_id and b.source = 'sequence' and b.source_id = e.current_step_id
                         and b.contact_id = e.contact_id and b.status in ('pending', 'deferred', 'sending'))
    limit p_limit)
  union all
  (select distinct b.tenant_id, 'step'::text, b.source_id from bulk_sends b
     join sequence_steps st on st.id = b.source_id and st.tenant_id = b.tenant_id
     join sequences s on s.id = st.sequence_id and s.tenant_id = st.tenant_id
    where b.source = 'sequence' and b.status in ('pending', 'deferred', 'sending')
      and b.next_attempt_at < p_now - interval '5 minutes' and s.status = 'active'
    limit p_limit)
$$;`);
    this.addSql(`grant execute on function filo_sequence_repairs(timestamptz, int) to public;`);
  }

  override down(): void {
    this.addSql(`drop function if exists filo_sequence_repairs(timestamptz, int);`);
  }
}
