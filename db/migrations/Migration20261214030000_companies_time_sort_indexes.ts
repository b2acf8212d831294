import { Migration } from '@mikro-orm/migrations';

/**
 * The company list sorted by creation or by last update (the screen's "Newest first", "Oldest first" and "Recently
 * updated") had no index with the tenant in front: every page read, wrote as JSON and sorted all of the workspace's
 * companies (100k: 2 pages a second, 0.8 s of PostgreSQL CPU each). One index each, newest first and the id after
 * the time ascending: the keyset's order for the screen's two newest-first sorts exactly, companies created or
 * updated together (an import) included; read backwards for oldest first, where only such ties are sorted.
 */
export class Migration20261214030000_companies_time_sort_indexes extends Migration {
  override up(): void {
    this.addSql(
      `create index if not exists "companies_tenant_created_at_index" on "companies" ("tenant_id", "created_at" desc, "id");`,
    );
    this.addSql(
      `create index if not exists "companies_tenant_updated_at_index" on "companies" ("tenant_id", "updated_at" desc, "id");`,
    );
  }

  override down(): void {
    this.addSql(`drop index if exists "companies_tenant_created_at_index";`);
    this.addSql(`drop index if exists "companies_tenant_updated_at_index";`);
  }
}
