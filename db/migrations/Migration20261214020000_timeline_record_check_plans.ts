import { Migration } from '@mikro-orm/migrations';
import { Migration20261211010000_timeline_cursor_plans } from './Migration20261211010000_timeline_cursor_plans.ts';

const RAISE = `raise exception 'no such record' using errcode = 'P0002';`;

/** The record check as it shipped: one condition over the three record types. */
const ONE_CONDITION = `if p_entity_id is not null and not (
       (p_entity_type = 'company' and exists (select 1 from companies c where c.id = p_entity_id))
    or (p_entity_type = 'contact' and exists (select 1 from contacts c where c.id = p_entity_id))
    or (p_entity_type = 'deal' and exists (select 1 from deals d where d.id = p_entity_id))) then
    ${RAISE}
  end if;`;

/** The same check, one look-up per record type. */
const PER_TYPE = `if p_entity_id is not null then
    if p_entity_type = 'company' then
      if not exists (select 1 from companies c where c.id = p_entity_id) then ${RAISE} end if;
    elsif p_entity_type = 'contact' then
      if not exists (select 1 from contacts c where c.id = p_entity_id) then ${RAISE} end if;
    elsif p_entity_type = 'deal' then
      if not exists (select 1 from deals d where d.id = p_entity_id) then ${RAISE} end if;
    else
      ${RAISE}
    end if;
  end if;`;

/** `filo_timeline` as `Migration20261211010000_timeline_cursor_plans` created it. */
function shipped(...args: ConstructorParameters<typeof Migration>): string {
  const previous = new Migration20261211010000_timeline_cursor_plans(...args);
  void previous.up();
  const [sql] = previous.getQueries();
  if (typeof sql !== 'string' || !sql.includes(ONE_CONDITION)) throw new Error('filo_timeline is not as it shipped');
  return sql;
}

/**
 * The timeline's record check was planned anew on every call. PL/pgSQL runs its condition as a query with the
 * function's arguments as parameters and keeps a generic plan only when it costs no more than the plans made for
 * the values; a plan for the values keeps the one record type's look-up (the others are false constants), the
 * generic plan all three, so PostgreSQL never chose it: 0.08 ms of planning per page, a fifth of PostgreSQL's time
 * for a timeline page (pg_stat_statements under the api bench: plans = calls). One look-up per record type has one
 * plan whatever the values, cached after the first calls. Same answers: a record of another type, or none, raises.
 */
export class Migration20261214020000_timeline_record_check_plans extends Migration {
  override up(): void {
    this.addSql(shipped(this.driver, this.config).replace(ONE_CONDITION, PER_TYPE));
  }

  override down(): void {
    this.addSql(shipped(this.driver, this.config));
  }
}
