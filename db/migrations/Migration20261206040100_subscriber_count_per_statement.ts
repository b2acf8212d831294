import { Migration } from '@mikro-orm/migrations';

/**
 * `mailing_lists.subscriber_count` kept per statement rather than per row: a row trigger updated the list's row once
 * per consent, and many updates of one row in one transaction grow its version chain (100k subscribers inserted at
 * once never finished). Statement triggers see the changed rows as transition tables and update each list once.
 */
export class Migration20261206040100_subscriber_count_per_statement extends Migration {
  override up(): void {
    this.addSql(`drop trigger if exists consents_subscriber_count on consents;`);
    this.addSql(`drop function if exists filo_list_subscriber_count();`);
    this.addSql(`create or replace function filo_list_subscriber_counts() returns trigger language plpgsql as $$
begin
  if tg_op = 'INSERT' then
    update mailing_lists l set subscriber_count = l.subscriber_count + d.n
      from (select list_id, count(*) as n from new_rows where list_id is not null and status = 'subscribed'
             group by list_id) d
     where l.id = d.list_id;
  elsif tg_op = 'DELETE' then
    update mailing_lists l set subscriber_count = l.subscriber_count - d.n
      from (select list_id, count(*) as n from old_rows where list_id is not null and status = 'subscribed'
             group by list_id) d
     where l.id = d.list_id;
  else
    update mailing_lists l set subscriber_count = l.subscriber_count + d.n
      from (select list_id, sum(n) as n from (
              select list_id, count(*) as n from new_rows where list_id is not null and status = 'subscribed'
               group by list_id
              union all
              select list_id, -count(*) as n from old_rows where list_id is not null and status = 'subscribed'
               group by list_id) x
             group by list_id having sum(n) <> 0) d
     where l.id = d.list_id;
  end if;
  return null;
end $$;`);
    this.addSql(
      `create trigger consents_subscriber_count_insert after insert on consents referencing new table as new_rows for each statement execute function filo_list_subscriber_counts();`,
    );
    this.addSql(
      `create trigger consents_subscriber_count_update after update on consents referencing old table as old_rows new table as new_rows for each statement execute function filo_list_subscriber_counts();`,
    );
    this.addSql(
      `create trigger consents_subscriber_count_delete after delete on consents referencing old table as old_rows for each statement execute function filo_list_subscriber_counts();`,
    );
  }

  override down(): void {
    for (const op of ['insert', 'update', 'delete'])
      this.addSql(`drop trigger if exists consents_subscriber_count_${op} on consents;`);
    this.addSql(`drop function if exists filo_list_subscriber_counts();`);
  }
}
