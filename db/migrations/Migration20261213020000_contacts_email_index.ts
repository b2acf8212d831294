import { Migration } from '@mikro-orm/migrations';

/**
 * Contacts are looked up by address in any case only (`lower(email)`, its own index since the migration before
 * last) and never listed in address order: `(tenant_id, email)` served no statement, and every new contact and
 * every change of an address paid for it.
 */
export class Migration20261213020000_contacts_email_index extends Migration {
  override up(): void {
    this.addSql(`drop index if exists "contacts_tenant_id_email_index";`);
  }

  override down(): void {
    this.addSql(`create index if not exists "contacts_tenant_id_email_index" on "contacts" ("tenant_id", "email");`);
  }
}
