import { Migration } from '@mikro-orm/migrations';

/** Notes get the optimistic `version` that companies, contacts and deals have: a stale edit answers 409. */
export class Migration20261205130000_note_version extends Migration {
  override up(): void {
    this.addSql(`alter table "notes" add column "version" int not null default 1;`);
  }

  override down(): void {
    this.addSql(`alter table "notes" drop column "version";`);
  }
}
