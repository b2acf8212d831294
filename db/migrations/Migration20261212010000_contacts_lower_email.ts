import { Migration } from '@mikro-orm/migrations';

/**
 * Contacts by address in any case (`lower(email)`): inbound mail looks up each batch's senders this way, as do
 * imports, compose and consent. Only `(tenant_id, email)` was indexed, so each look-up read the workspace's
 * contacts (bench/README.md, "inbound processing").
 */
export class Migration20261212010000_contacts_lower_email extends Migration {
  override up(): void {
    this.addSql(
      `create index if not exists "contacts_tenant_id_lower_email_index" on "contacts" ("tenant_id", lower("email"));`,
    );
  }

  override down(): void {
    this.addSql(`drop index if exists "contacts_tenant_id_lower_email_index";`);
  }
}
