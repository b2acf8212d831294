import { Migration } from '@mikro-orm/migrations';

/** Tables every tenant owns; row-level security on each of them, for the application role. */
const TENANT_TABLES = [
  'memberships',
  'companies',
  'contacts',
  'deals',
  'notes',
  'activities',
  'custom_fields_config',
  'documents',
  'notifications',
  'api_tokens',
  'invitations',
];

/**
 * CRM core: companies, contacts, deals, notes, activities (timeline), custom field definitions, documents,
 * notifications, API tokens and invitations; row-level security on every tenant-owned table.
 */
export class Migration20261125010000_crm_core extends Migration {
  override up(): void {
    this.addSql(
      `create table "custom_fields_config" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "entity_type" text not null, "field_name" varchar(100) not null, "field_label" varchar(255) not null, "field_type" text not null, "field_options" jsonb null, "is_required" boolean not null default false, "default_value" text null, "display_order" int not null default 0, primary key ("id"));`,
    );
    this.addSql(
      `alter table "custom_fields_config" add constraint "custom_fields_config_tenant_id_entity_type_field_name_unique" unique ("tenant_id", "entity_type", "field_name");`,
    );
    this.addSql(
      `create table "notifications" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "user_id" uuid not null, "type" varchar(50) not null, "title" varchar(255) not null, "body" text null, "entity_type" varchar(50) null, "entity_id" uuid null, "note_id" uuid null, "actor_id" uuid null, "read_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(
      `create index "notifications_tenant_id_user_id_created_at_index" on "notifications" ("tenant_id", "user_id", "created_at");`,
    );
    this.addSql(
      `create table "notes" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "entity_type" varchar(50) not null, "entity_id" uuid not null, "content" text not null, "note_type" text not null default 'general', "is_pinned" boolean not null default false, "mentions" uuid[] not null default '{}', "attachments" jsonb not null default '[]', "created_by" uuid null, "updated_at" timestamptz not null default now(), primary key ("id"));`,
    );
    this.addSql(
      `create index "notes_tenant_id_entity_type_entity_id_index" on "notes" ("tenant_id", "entity_type", "entity_id");`,
    );
    this.addSql(
      `create table "invitations" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "email" varchar(255) not null, "role" text not null default 'member', "token_hash" varchar(64) not null, "invited_by" uuid null, "expires_at" timestamptz not null, "accepted_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(`alter table "invitations" add constraint "invitations_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "invitations_tenant_id_email_index" on "invitations" ("tenant_id", "email");`);
    this.addSql(
      `create table "documents" ("id" uuid not null, "tenant_id" uuid not null, "entity_type" varchar(50) not null, "entity_id" uuid not null, "file_name" varchar(255) not null, "file_type" varchar(100) null, "file_size" bigint null, "file_url" text not null, "sha256" varchar(64) not null, "category" text not null default 'other', "uploaded_by" uuid null, "uploaded_at" timestamptz not null default now(), primary key ("id"));`,
    );
    this.addSql(
      `create index "documents_tenant_id_entity_type_entity_id_index" on "documents" ("tenant_id", "entity_type", "entity_id");`,
    );
    this.addSql(
      `create table "companies" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "name" varchar(255) not null, "type" text not null, "vat_number" varchar(50) null, "tax_code" varchar(50) null, "website" varchar(255) null, "industry" varchar(100) null, "size" text null, "annual_revenue" numeric(15,2) null, "logo_url" text null, "billing_address" jsonb null, "shipping_address" jsonb null, "custom_fields" jsonb not null default '{}', "tags" text[] not null default '{}', "status" text not null default 'active', "assigned_to" uuid null, "created_by" uuid null, "updated_at" timestamptz not null default now(), "version" int not null default 1, primary key ("id"));`,
    );
    this.addSql(`create index "companies_tenant_id_name_index" on "companies" ("tenant_id", "name");`);
    this.addSql(
      `create table "deals" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "company_id" uuid null, "title" varchar(255) not null, "value" numeric(15,2) null, "currency" varchar(3) not null default 'EUR', "stage" text not null default 'lead', "probability" int null, "expected_close_date" date null, "actual_close_date" date null, "source" varchar(100) null, "custom_fields" jsonb not null default '{}', "assigned_to" uuid null, "created_by" uuid null, "updated_at" timestamptz not null default now(), "version" int not null default 1, primary key ("id"));`,
    );
    this.addSql(`create index "deals_tenant_id_company_id_index" on "deals" ("tenant_id", "company_id");`);
    this.addSql(`create index "deals_tenant_id_stage_index" on "deals" ("tenant_id", "stage");`);
    this.addSql(
      `create table "contacts" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "company_id" uuid null, "first_name" varchar(100) not null, "last_name" varchar(100) not null, "email" varchar(255) null, "phone" varchar(50) null, "mobile" varchar(50) null, "role" varchar(100) null, "department" varchar(100) null, "is_primary" boolean not null default false, "avatar_url" text null, "linkedin_url" varchar(255) null, "birthday" date null, "custom_fields" jsonb not null default '{}', "notes" text null, "tags" text[] not null default '{}', "status" text not null default 'active', "created_by" uuid null, "updated_at" timestamptz not null default now(), "version" int not null default 1, primary key ("id"));`,
    );
    this.addSql(`create index "contacts_tenant_id_company_id_index" on "contacts" ("tenant_id", "company_id");`);
    this.addSql(`create index "contacts_tenant_id_email_index" on "contacts" ("tenant_id", "email");`);
    this.addSql(
      `create table "api_tokens" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "name" varchar(100) not null, "token_hash" varchar(64) not null, "prefix" varchar(12) not null, "scope" text not null default 'full', "created_by" uuid null, "last_used_at" timestamptz null, "revoked_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(`alter table "api_tokens" add constraint "api_tokens_token_hash_unique" unique ("token_hash");`);
    this.addSql(
      `create table "activities" ("id" uuid not null, "tenant_id" uuid not null, "created_at" timestamptz not null default now(), "seq" bigint not null, "entity_type" varchar(50) not null, "entity_id" uuid not null, "company_id" uuid null, "activity_type" varchar(50) not null, "title" varchar(255) not null, "description" text null, "metadata" jsonb not null default '{}', "created_by" uuid null, primary key ("id"));`,
    );
    this.addSql(
      `create index "activities_tenant_id_entity_type_entity_id_seq_index" on "activities" ("tenant_id", "entity_type", "entity_id", "seq");`,
    );
    this.addSql(
      `create index "activities_tenant_id_company_id_seq_index" on "activities" ("tenant_id", "company_id", "seq");`,
    );
    this.addSql(
      `alter table "activities" add constraint "activities_tenant_id_seq_unique" unique ("tenant_id", "seq");`,
    );
    this.addSql(`alter table "tenants" add "activity_seq" bigint not null default '0';`);
    this.addSql(
      `alter table "custom_fields_config" add constraint "custom_fields_config_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "custom_fields_config" add constraint "custom_fields_config_entity_type_check" check ("entity_type" in ('company', 'contact', 'deal'));`,
    );
    this.addSql(
      `alter table "custom_fields_config" add constraint "custom_fields_config_field_type_check" check ("field_type" in ('text', 'number', 'date', 'select', 'multiselect', 'boolean', 'url', 'email'));`,
    );
    this.addSql(
      `alter table "notifications" add constraint "notifications_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "notifications" add constraint "notifications_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "notifications" add constraint "notifications_actor_id_foreign" foreign key ("actor_id") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "notes" add constraint "notes_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "notes" add constraint "notes_created_by_foreign" foreign key ("created_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "notes" add constraint "notes_note_type_check" check ("note_type" in ('general', 'call', 'meeting', 'email', 'production', 'accounting'));`,
    );
    this.addSql(
      `alter table "invitations" add constraint "invitations_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "invitations" add constraint "invitations_invited_by_foreign" foreign key ("invited_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "invitations" add constraint "invitations_role_check" check ("role" in ('owner', 'admin', 'member'));`,
    );
    this.addSql(
      `alter table "documents" add constraint "documents_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "documents" add constraint "documents_uploaded_by_foreign" foreign key ("uploaded_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "documents" add constraint "documents_category_check" check ("category" in ('contract', 'invoice', 'presentation', 'other'));`,
    );
    this.addSql(
      `alter table "companies" add constraint "companies_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "companies" add constraint "companies_assigned_to_foreign" foreign key ("assigned_to") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "companies" add constraint "companies_created_by_foreign" foreign key ("created_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "companies" add constraint "companies_type_check" check ("type" in ('client', 'supplier', 'stakeholder'));`,
    );
    this.addSql(
      `alter table "companies" add constraint "companies_size_check" check ("size" in ('small', 'medium', 'large', 'enterprise'));`,
    );
    this.addSql(
      `alter table "companies" add constraint "companies_status_check" check ("status" in ('active', 'inactive', 'prospect'));`,
    );
    this.addSql(
      `alter table "deals" add constraint "deals_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "deals" add constraint "deals_company_id_foreign" foreign key ("company_id") references "companies" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "deals" add constraint "deals_assigned_to_foreign" foreign key ("assigned_to") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "deals" add constraint "deals_created_by_foreign" foreign key ("created_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "deals" add constraint "deals_stage_check" check ("stage" in ('lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost'));`,
    );
    this.addSql(
      `alter table "contacts" add constraint "contacts_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "contacts" add constraint "contacts_company_id_foreign" foreign key ("company_id") references "companies" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "contacts" add constraint "contacts_created_by_foreign" foreign key ("created_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "contacts" add constraint "contacts_status_check" check ("status" in ('active', 'inactive'));`,
    );
    this.addSql(
      `alter table "api_tokens" add constraint "api_tokens_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "api_tokens" add constraint "api_tokens_created_by_foreign" foreign key ("created_by") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "api_tokens" add constraint "api_tokens_scope_check" check ("scope" in ('full', 'read'));`,
    );
    this.addSql(
      `alter table "activities" add constraint "activities_tenant_id_foreign" foreign key ("tenant_id") references "tenants" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "activities" add constraint "activities_company_id_foreign" foreign key ("company_id") references "companies" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "activities" add constraint "activities_created_by_foreign" foreign key ("created_by") references "users" ("id") on update cascade on delete set null;`,
    );

    this.addSql(`create function filo_current_tenant() returns uuid language sql stable
as $$ select nullif(current_setting('app.tenant_id', true), '')::uuid $$;`);

    // Look-ups that run before a tenant is known (sign-in, session, token, invitation) are SECURITY DEFINER
    // functions owned by the schema owner: the application role can call them but not read those tables freely.
    this.addSql(`alter function filo_session_lookup(text) security definer set search_path = public;`);
    this.addSql(`create function filo_login_lookup(p_email text, p_workspace text)
returns table (user_id uuid, password_hash text, tenant_id uuid, role text)
language sql stable security definer set search_path = public as $$
  select u.id, u.password_hash, m.tenant_id, m.role
    from users u
    left join memberships m on m.user_id = u.id
    left join tenants t on t.id = m.tenant_id
   where u.email = p_email and (p_workspace is null or t.slug = p_workspace)
   order by m.created_at asc nulls last
   limit 1
$$;`);
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
    this.addSql(`create function filo_invitation_lookup(p_token_hash text)
returns table (id uuid, tenant_id uuid, tenant_name varchar, email varchar, role text,
               expires_at timestamptz, accepted_at timestamptz)
language sql stable security definer set search_path = public as $$
  select i.id, i.tenant_id, t.name, i.email, i.role, i.expires_at, i.accepted_at
    from invitations i join tenants t on t.id = i.tenant_id
   where i.token_hash = p_token_hash
$$;`);

    // Row-level security: the application role sees only the rows of the tenant set for its transaction.
    // The schema owner (who runs migrations and owns the SECURITY DEFINER lookups) keeps full access.
    for (const table of [...TENANT_TABLES, 'tenants']) {
      const key = table === 'tenants' ? 'id' : 'tenant_id';
      this.addSql(`alter table "${table}" enable row level security;`);
      this.addSql(`alter table "${table}" force row level security;`);
      this.addSql(
        `create policy tenant_isolation on "${table}" using ("${key}" = filo_current_tenant()) with check ("${key}" = filo_current_tenant());`,
      );
      this.addSql(
        `do $$ begin execute format('create policy owner_access on %I to %I using (true) with check (true)', '${table}', current_user); end $$;`,
      );
    }
  }

  override down(): void {
    this.addSql(
      `drop function if exists filo_login_lookup(text, text), filo_token_lookup(text), filo_invitation_lookup(text);`,
    );
    this.addSql(`alter function filo_session_lookup(text) security invoker;`);
    for (const table of [...TENANT_TABLES, 'tenants']) {
      this.addSql(`drop policy if exists tenant_isolation on "${table}";`);
      this.addSql(`drop policy if exists owner_access on "${table}";`);
      this.addSql(`alter table "${table}" no force row level security;`);
      this.addSql(`alter table "${table}" disable row level security;`);
    }
    this.addSql(
      `drop table if exists "activities", "notes", "documents", "notifications", "api_tokens", "invitations", "custom_fields_config", "contacts", "deals", "companies" cascade;`,
    );
    this.addSql(`alter table "tenants" drop column "activity_seq";`);
    this.addSql(`drop function if exists filo_current_tenant();`);
  }
}
