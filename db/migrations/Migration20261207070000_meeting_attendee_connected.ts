import { Migration } from '@mikro-orm/migrations';

/** A presence counts once the call was really joined: opening the call page, or failing to load it, starts nothing. */
export class Migration20261207070000_meeting_attendee_connected extends Migration {
  override up(): void {
    this.addSql(`alter table "meeting_attendees" add "connected_at" timestamptz null;`);
    // Presences from before were written only by a join that started the call: they were connected.
    this.addSql(`update "meeting_attendees" set "connected_at" = "joined_at";`);
  }

  override down(): void {
    this.addSql(`alter table "meeting_attendees" drop column "connected_at";`);
  }
}
