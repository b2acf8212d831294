import { Migration } from '@mikro-orm/migrations';

/**
 * The contact and deal lists in each of their sorts had no index with the tenant in front: every page read and
 * sorted all of the workspace's contacts (300k: 5 pages a second, ~0.3 s of PostgreSQL CPU each, p50 2 s at 10
 * clients). One index per sort, in the keyset's order (the id ascending last): by name (last, first) read forwards or
 * backwards, newest first (created together, as by an import, needs no sort either) or backwards for oldest first.
 */
export class Migration20261214040000_contacts_deals_list_indexes extends Migration {
  override up(): void {
    this.addSql(
      `create index if not exists "contacts_tenant_name_index" on "contacts" ("tenant_id", "last_name", "first_name", "id");`,
    );
    this.addSql(
      `create index if not exists "contacts_tenant_created_at_index" on "contacts" ("tenant_id", "created_at" desc, "id");`,
    );
    this.addSql(`create index if not exists "deals_tenant_title_index" on "deals" ("tenant_id", "title", "id");`);
    this.addSql(
      `create index if not exists "deals_tenant_created_at_index" on "deals" ("tenant_id", "created_at" desc, "id");`,
    );
  }

  override down(): void {
    for (const index of [
      'contacts_tenant_name_index',
      'contacts_tenant_created_at_index',
      'deals_tenant_title_index',
      'deals_tenant_created_at_index',
    ])
      this.addSql(`drop index if exists "${index}";`);
  }
}
