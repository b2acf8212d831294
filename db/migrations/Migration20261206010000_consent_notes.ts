import { Migration } from '@mikro-orm/migrations';

/** A member's note on a consent change made by hand (a phone call, a paper form): part of the proof. */
export class Migration20261206010000_consent_notes extends Migration {
  override up(): void {
    this.addSql(`alter table "consent_events" add column "note" text null;`);
  }

  override down(): void {
    this.addSql(`alter table "consent_events" drop column "note";`);
  }
}
