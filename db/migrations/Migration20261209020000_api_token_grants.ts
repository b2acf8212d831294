import { Migration } from '@mikro-orm/migrations';

/**
 * API tokens with grants per family (and linked-record kind), an expiry and a rate limit. Existing tokens keep
 * `grants` null: every family at their `full` or `read` scope, what they could do before.
 */
export class Migration20261209020000_api_token_grants extends Migration {
  override up(): void {
    this.addSql(
      `alter table "api_tokens" add column "grants" jsonb null, add column "expires_at" timestamptz null, add column "rate_limit" int not null default 600;`,
    );
    // The lookup answers the token's grants, expiry and limit with its member: one query per request.
    this.addSql(`drop function if exists filo_token_lookup(text);`);
    this.addSql(`create function filo_token_lookup(p_token_hash text)
returns table (token_id uuid, scope text, user_id uuid, user_name varchar, user_email varchar,
               tenant_id uuid, tenant_name varchar, tenant_slug varchar, role text,
               grants jsonb, expires_at timestamptz, rate_limit int)
language sql stable security definer set search_path = public as $$
  select k.id, k.scope, u.id, u.name, u.email, t.id, t.name, t.slug, m.role, k.grants, k.expires_at, k.rate_limit
    from api_tokens k
    join tenants t on t.id = k.tenant_id
    join users u on u.id = k.created_by
    join memberships m on m.tenant_id = k.tenant_id and m.user_id = k.created_by
   where k.token_hash = p_token_hash and k.revoked_at is null
$$;`);
    this.addSql(`grant execute on function filo_token_lookup(text) to public;`);
  }

  override down(): void {
    this.addSql(`drop function if exists filo_token_lookup(text);`);
    this.addSql(`create function filo_token_lookup(p_token_hash text)
returns table (token_id uuid, scope text, user_id uuid, user_name varchar, user_email varchar,
               tenant_id uuid, tenant_name varchar, tenant_slug varchar, role text)
language sql stable security definer set search_path = public as $$
  select k.id, k.scope, u.id, u.name, u.email, t.id, t.name, t.slug, m.role
    from api_tokens k
    join tenants t on t.id = k.tenant_id
    join users u on u.id = k.created_by
    join memberships m on m.tenant_id = k.tenant_id and m.user_id = k.created_by
   where k.token_hash = p_token_hash and k.revoked_at is null
$$;`);
    this.addSql(`alter table "api_tokens" drop column "grants", drop column "expires_at", drop column "rate_limit";`);
  }
}
