import { Migration } from '@mikro-orm/migrations';

/**
 * Unified search: a stored tsvector per searchable table (full text, `simple` configuration so that Italian and
 * English names are matched as written) and trigram indexes for fuzzy, typo-tolerant name matching.
 */
export class Migration20261125020000_search extends Migration {
  override up(): void {
    this.addSql(`create extension if not exists pg_trgm;`);
    // array_to_string is only STABLE in general; for text[] it is safe to declare immutable for generated columns.
    this.addSql(`create function filo_tags_text(text[]) returns text language sql immutable parallel safe
      as $$ select array_to_string($1, ' ') $$;`);
    this.addSql(`alter table companies add column search tsvector generated always as (
      setweight(to_tsvector('simple', coalesce(name, '')), 'A') ||
      setweight(to_tsvector('simple', coalesce(vat_number, '') || ' ' || coalesce(tax_code, '') || ' ' || coalesce(website, '')), 'B') ||
      setweight(to_tsvector('simple', coalesce(industry, '') || ' ' || filo_tags_text(tags)), 'C')) stored;`);
    this.addSql(`alter table contacts add column search tsvector generated always as (
      setweight(to_tsvector('simple', coalesce(first_name, '') || ' ' || coalesce(last_name, '')), 'A') ||
      setweight(to_tsvector('simple', coalesce(email, '') || ' ' || coalesce(phone, '') || ' ' || coalesce(mobile, '')), 'B') ||
      setweight(to_tsvector('simple', coalesce(role, '') || ' ' || coalesce(department, '') || ' ' || filo_tags_text(tags)), 'C')) stored;`);
    this.addSql(`alter table deals add column search tsvector generated always as (
      setweight(to_tsvector('simple', coalesce(title, '')), 'A') ||
      setweight(to_tsvector('simple', coalesce(source, '')), 'C')) stored;`);
    this.addSql(`alter table notes add column search tsvector generated always as (
      to_tsvector('simple', coalesce(content, ''))) stored;`);
    for (const table of ['companies', 'contacts', 'deals', 'notes']) {
      // Not led by tenant_id, unlike every btree index: in a GIN index that would intersect every lookup with
      // the posting list of the whole tenant (measured: seconds at 300k contacts). RLS and the query's
      // tenant condition still filter the matches.
      this.addSql(`create index ${table}_search_index on ${table} using gin (search);`);
    }
    this.addSql(`create index companies_name_trgm_index on companies using gin (name gin_trgm_ops);`);
    this.addSql(
      `create index contacts_name_trgm_index on contacts using gin ((first_name || ' ' || last_name) gin_trgm_ops);`,
    );
    this.addSql(`create index deals_title_trgm_index on deals using gin (title gin_trgm_ops);`);
  }

  override down(): void {
    this.addSql(`drop index if exists companies_name_trgm_index, contacts_name_trgm_index, deals_title_trgm_index;`);
    for (const table of ['companies', 'contacts', 'deals', 'notes']) {
      this.addSql(`alter table ${table} drop column if exists search;`);
    }
    this.addSql(`drop function if exists filo_tags_text(text[]);`);
  }
}
