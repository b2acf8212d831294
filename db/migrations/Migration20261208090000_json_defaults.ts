import { Migration } from '@mikro-orm/migrations';

/**
 * Rows made through the ORM stored an empty json default as the JSON *string* "{}" (or "[]"): the entities now
 * make an empty object (array) on create, and this turns the strings already stored into what they meant.
 */
export class Migration20261208090000_json_defaults extends Migration {
  override up(): void {
    this.addSql(`do $$
declare c record;
begin
  for c in select table_name, column_name from information_schema.columns
            where table_schema = current_schema() and data_type = 'jsonb' loop
    execute format(
      'update %I set %I = (%I #>> ''{}'')::jsonb where %I in (to_jsonb(''{}''::text), to_jsonb(''[]''::text))',
      c.table_name, c.column_name, c.column_name, c.column_name);
  end loop;
end $$;`);
  }
}
