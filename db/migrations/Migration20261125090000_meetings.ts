import { Migration } from '@mikro-orm/migrations';

const TABLES = ['video_meetings', 'meeting_attendees', 'meeting_recordings', 'calendar_feeds'];

/**
 * Video calls: meetings (instant or scheduled, with their invitation's SEQUENCE), who was in each call and when,
 * recordings, and each member's calendar feed. Row-level security as on every tenant-owned table; a calendar app
 * fetching a feed has no session, so its token is resolved through one SECURITY DEFINER look-up.
 */
export class Migration20261125090000_meetings extends Migration {
  override up(): void {
    this.addSql(
      `create table "calendar_feeds" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "user_id" uuid not null, "token_hash" varchar(64) not null, "last_used_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(
      `alter table "calendar_feeds" add constraint "calendar_feeds_token_hash_unique" unique ("token_hash");`,
    );
    this.addSql(
      `alter table "calendar_feeds" add constraint "calendar_feeds_tenant_id_user_id_unique" unique ("tenant_id", "user_id");`,
    );
    this.addSql(
      `create table "video_meetings" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "company_id" uuid null, "contact_id" uuid null, "title" varchar(255) not null, "kind" text not null default 'scheduled', "scheduled_at" timestamptz null, "duration_minutes" int not null default 60, "meeting_url" text not null, "provider" text not null default 'jitsi', "room_id" varchar(255) not null, "host_user_id" uuid not null, "participants" jsonb not null default '[]', "status" text not null default 'scheduled', "recording_url" text null, "transcript" text null, "notes" text null, "started_at" timestamptz null, "ended_at" timestamptz null, "actual_duration_seconds" int null, "end_reason" text null, "ics_sequence" int not null default 0, "note_id" uuid null, "transcript_note_id" uuid null, "updated_at" timestamptz not null default now(), "version" int not null default 1, primary key ("id"));`,
    );
    this.addSql(
      `create index "video_meetings_tenant_id_company_id_scheduled_at_index" on "video_meetings" ("tenant_id", "company_id", "scheduled_at");`,
    );
    this.addSql(
      `create index "video_meetings_tenant_id_contact_id_scheduled_at_index" on "video_meetings" ("tenant_id", "contact_id", "scheduled_at");`,
    );
    this.addSql(
      `create index "video_meetings_tenant_id_host_user_id_scheduled_at_index" on "video_meetings" ("tenant_id", "host_user_id", "scheduled_at");`,
    );
    this.addSql(`create index "video_meetings_status_index" on "video_meetings" ("status");`);
    this.addSql(
      `create table "meeting_recordings" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "meeting_id" uuid not null, "file_url" text not null, "file_size" bigint null, "file_type" varchar(100) null, "duration_seconds" int null, "thumbnail_url" text null, "transcript_url" text null, "created_by" uuid null, primary key ("id"));`,
    );
    this.addSql(
      `create index "meeting_recordings_tenant_id_meeting_id_created_at_index" on "meeting_recordings" ("tenant_id", "meeting_id", "created_at");`,
    );
    this.addSql(
      `create table "meeting_attendees" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "meeting_id" uuid not null, "user_id" uuid null, "contact_id" uuid null, "name" varchar(255) not null, "email" varchar(255) null, "is_host" boolean not null default false, "joined_at" timestamptz not null, "last_seen_at" timestamptz not null, "left_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(
      `create index "meeting_attendees_tenant_id_meeting_id_joined_at_index" on "meeting_attendees" ("tenant_id", "meeting_id", "joined_at");`,
    );
    this.addSql(
      `alter table "calendar_feeds" add constraint "calendar_feeds_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "calendar_feeds" add constraint "calendar_feeds_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "video_meetings" add constraint "video_meetings_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "video_meetings" add constraint "video_meetings_company_id_foreign" foreign key ("company_id") references "companies" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "video_meetings" add constraint "video_meetings_contact_id_foreign" foreign key ("contact_id") references "contacts" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "video_meetings" add constraint "video_meetings_host_user_id_foreign" foreign key ("host_user_id") references "users" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "video_meetings" add constraint "video_meetings_note_id_foreign" foreign key ("note_id") references "notes" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "video_meetings" add constraint "video_meetings_transcript_note_id_foreign" foreign key ("transcript_note_id") references "notes" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "video_meetings" add constraint "video_meetings_kind_check" check ("kind" in ('instant', 'scheduled'));`,
    );
    this.addSql(
      `alter table "video_meetings" add constraint "video_meetings_provider_check" check ("provider" in ('jitsi', 'zoom', 'meet', 'teams'));`,
    );
    this.addSql(
      `alter table "video_meetings" add constraint "video_meetings_status_check" check ("status" in ('scheduled', 'in_progress', 'completed', 'cancelled'));`,
    );
    this.addSql(
      `alter table "video_meetings" add constraint "video_meetings_end_reason_check" check ("end_reason" in ('host_ended', 'last_left', 'timeout'));`,
    );
    this.addSql(
      `alter table "meeting_recordings" add constraint "meeting_recordings_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "meeting_recordings" add constraint "meeting_recordings_meeting_id_foreign" foreign key ("meeting_id") references "video_meetings" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "meeting_recordings" add constraint "meeting_recordings_created_by_foreign" foreign key ("created_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "meeting_attendees" add constraint "meeting_attendees_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "meeting_attendees" add constraint "meeting_attendees_meeting_id_foreign" foreign key ("meeting_id") references "video_meetings" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "meeting_attendees" add constraint "meeting_attendees_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "meeting_attendees" add constraint "meeting_attendees_contact_id_foreign" foreign key ("contact_id") references "contacts" ("id") on update cascade on delete set null;`,
    );
    for (const table of TABLES) {
      this.addSql(`alter table "${table}" enable row level security;`);
      this.addSql(`alter table "${table}" force row level security;`);
      this.addSql(
        `create policy tenant_isolation on "${table}" using ("tenant_id" = filo_current_tenant()) with check ("tenant_id" = filo_current_tenant());`,
      );
      this.addSql(
        `do $$ begin execute format('create policy owner_access on %I to %I using (true) with check (true)', '${table}', current_user); end $$;`,
      );
    }
    // GET /api/meetings/feed/<token>.ics: whose feed, before any tenant is set.
    this.addSql(`create function filo_calendar_feed_lookup(p_token_hash text)
returns table (tenant_id uuid, user_id uuid)
language sql stable security definer set search_path = public as $$
  select f.tenant_id, f.user_id from calendar_feeds f where f.token_hash = p_token_hash
$$;`);
    this.addSql(`grant execute on function filo_calendar_feed_lookup(text) to public;`);
  }

  override down(): void {
    this.addSql(`drop function if exists filo_calendar_feed_lookup(text);`);
    for (const table of [...TABLES].reverse()) this.addSql(`drop table if exists "${table}" cascade;`);
  }
}
