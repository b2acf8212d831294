import { Migration } from '@mikro-orm/migrations';

/** How many workspaces the installation holds (tenants are behind row-level security; a count names none). */
export class Migration20261208090100_workspace_count extends Migration {
  override up(): void {
    this.addSql(`create function filo_workspace_count()
returns integer
language sql stable security definer set search_path = public as $$
  select count(*)::int from tenants
$$;`);
    this.addSql(`grant execute on function filo_workspace_count() to public;`);
  }

  override down(): void {
    this.addSql(`drop function if exists filo_workspace_count();`);
  }
}
