import { Migration } from '@mikro-orm/migrations';

/** Each user's language for the app, so it follows them from browser to browser. */
export class Migration20261125060000_user_locale extends Migration {
  override up(): void {
    this.addSql(`alter table "users" add column "locale" varchar(10) null;`);
    this.addSql(`drop function filo_session_lookup(text);`);
    this.addSql(`create function filo_session_lookup(p_token_hash text)
returns table (token_hash varchar, expires_at timestamptz, last_seen_at timestamptz,
               user_id uuid, user_name varchar, user_email varchar, user_locale varchar,
               tenant_id uuid, tenant_name varchar, tenant_slug varchar, role text)
language plpgsql stable security definer set search_path = public as $$
begin
  return query
    select s.token_hash, s.expires_at, s.last_seen_at, u.id, u.name, u.email, u.locale, t.id, t.name, t.slug, m.role
      from sessions s
      join users u on u.id = s.user_id
      join tenants t on t.id = s.tenant_id
      join memberships m on m.tenant_id = s.tenant_id and m.user_id = s.user_id
     where s.token_hash = p_token_hash and s.expires_at > now();
end $$;`);
  }

  override down(): void {
    this.addSql(`alter table "users" drop column "locale";`);
  }
}
