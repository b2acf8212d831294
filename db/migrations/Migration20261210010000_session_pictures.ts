import { Migration } from '@mikro-orm/migrations';

/**
 * The session look-up also returns the user's picture and the workspace's logo keys: a resolved session is kept in
 * memory a few seconds, and `/api/auth/me` then answers from it without a transaction of its own.
 */
export class Migration20261210010000_session_pictures extends Migration {
  override up(): void {
    this.addSql(`drop function filo_session_lookup(text);`);
    this.addSql(lookup(true));
  }

  override down(): void {
    this.addSql(`drop function filo_session_lookup(text);`);
    this.addSql(lookup(false));
  }
}

function lookup(pictures: boolean): string {
  return `create function filo_session_lookup(p_token_hash text)
returns table (token_hash varchar, expires_at timestamptz, last_seen_at timestamptz,
               user_id uuid, user_name varchar, user_email varchar, user_locale varchar,
               tenant_id uuid, tenant_name varchar, tenant_slug varchar, role text${pictures ? ', avatar_key varchar, logo_key varchar' : ''})
language plpgsql stable security definer set search_path = public as $$
begin
  return query
    select s.token_hash, s.expires_at, s.last_seen_at, u.id, u.name, u.email, u.locale, t.id, t.name, t.slug, m.role${pictures ? ', u.avatar_key, t.logo_key' : ''}
      from sessions s
      join users u on u.id = s.user_id
      join tenants t on t.id = s.tenant_id
      join memberships m on m.tenant_id = s.tenant_id and m.user_id = s.user_id
     where s.token_hash = p_token_hash and s.expires_at > now();
end $$;`;
}
