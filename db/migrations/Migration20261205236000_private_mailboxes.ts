import { Migration } from '@mikro-orm/migrations';

/**
 * Private mailboxes (a member's own email account): seen only by the members they name, owners and admins
 * included. `filo_visible_mailboxes` now takes every human viewer and reads their role itself (the timeline,
 * search and notification reads pass the user whatever their role); it still answers null ("every mailbox") on
 * the fast path: an owner or admin of a workspace with no private mailbox they are left out of, and for Filo
 * itself (null viewer). A private mailbox naming nobody is seen by nobody.
 */
export class Migration20261205236000_private_mailboxes extends Migration {
  override up(): void {
    // The fast path's one look-up reads the workspace's mailboxes (a few) through their (tenant_id, local_part) key.
    this.addSql(`create or replace function filo_visible_mailboxes(p_viewer uuid)
returns uuid[]
language sql stable as $$
  with viewer as (
    select coalesce((select ms.role in ('owner', 'admin') from memberships ms
                      where ms.tenant_id = filo_current_tenant() and ms.user_id = p_viewer), false) as admin
  )
  select case
    when p_viewer is null then null
    when v.admin and not exists (select 1 from mailboxes m
                                  where m.tenant_id = filo_current_tenant() and m.private
                                    and not (p_viewer::text = any(m.member_ids))) then null
    else (select coalesce(array_agg(m.id), '{}'::uuid[]) from mailboxes m
           where m.tenant_id = filo_current_tenant()
             and (p_viewer::text = any(m.member_ids)
                  or (not m.private and (v.admin or cardinality(m.member_ids) = 0))))
  end
  from viewer v
$$;`);
  }

  override down(): void {
    // As Migration20261205030000_mailbox_visibility shipped it.
    this.addSql(`create or replace function filo_visible_mailboxes(p_viewer uuid)
returns uuid[]
language sql stable as $$
  select case when p_viewer is null then null
              else coalesce(array_agg(m.id), '{}'::uuid[]) end
    from mailboxes m
   where p_viewer is not null and m.tenant_id = filo_current_tenant()
     and (cardinality(m.member_ids) = 0 or p_viewer::text = any(m.member_ids))
$$;`);
  }
}
