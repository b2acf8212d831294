import { Migration } from '@mikro-orm/migrations';

/** CSV imports (issue 20): the column mapping chosen by the user, what to do with duplicates, and their counts. */
export class Migration20261207060000_import_mapping extends Migration {
  override up(): void {
    this.addSql(
      `alter table "imports" add column "mapping" jsonb null, add column "on_duplicate" text not null default 'skip', add column "updated_rows" int not null default 0, add column "skipped_rows" int not null default 0;`,
    );
    this.addSql(
      `alter table "imports" add constraint "imports_on_duplicate_check" check ("on_duplicate" in ('skip', 'update'));`,
    );
  }

  override down(): void {
    this.addSql(
      `alter table "imports" drop column "mapping", drop column "on_duplicate", drop column "updated_rows", drop column "skipped_rows";`,
    );
  }
}
