import { Migration } from '@mikro-orm/migrations';

/** Email addresses as words too: `ana@acme.com` is also found by `acme`. */
const addressWords = (expr: string) => `translate(coalesce(${expr}, ''), '@.+_-', '     ')`;

/**
 * Full-text search in the unified inbox: a stored tsvector on messages (subject, sender, text) and on
 * conversations (subject, participants, tags), `simple` configuration like the CRM's search columns, GIN indexes,
 * and one SECURITY DEFINER function that matches them (under row-level security `@@` is not leakproof, so a
 * plain query could not use the indexes; see Migration20261125050000_search_function). The function keeps to the
 * transaction's tenant and to the mailboxes it is given; the list query applies the actor's visibility again.
 */
export class Migration20261205233000_inbox_search extends Migration {
  override up(): void {
    // The text is cut at 100,000 characters: a tsvector holds at most 1 MB and an insert must never fail on it.
    this.addSql(`alter table "messages" add column "search" tsvector generated always as (
      setweight(to_tsvector('simple', coalesce(subject, '')), 'A') ||
      setweight(to_tsvector('simple', coalesce(from_name, '') || ' ' || coalesce(from_address, '') || ' ' ||
        ${addressWords('from_address')}), 'B') ||
      setweight(to_tsvector('simple', left(coalesce(text, ''), 100000)), 'C')) stored;`);
    this.addSql(`alter table "conversations" add column "search" tsvector generated always as (
      setweight(to_tsvector('simple', coalesce(subject, '')), 'A') ||
      setweight(to_tsvector('simple', filo_tags_text(participants) || ' ' ||
        ${addressWords('filo_tags_text(participants)')} || ' ' || filo_tags_text(tags)), 'B')) stored;`);
    // Not led by tenant_id, like the CRM's: a GIN index led by the tenant intersects every lookup with the
    // whole tenant's posting list; the function's tenant condition filters the matches.
    this.addSql(`create index "messages_search_index" on "messages" using gin ("search");`);
    this.addSql(`create index "conversations_search_index" on "conversations" using gin ("search");`);

    this.addSql(`create function filo_conversation_search(p_tsquery text, p_mailboxes uuid[])
returns setof uuid
language sql stable security definer set search_path = public as $$
  select m.conversation_id from messages m
   where m.search @@ to_tsquery('simple', p_tsquery)
     and m.tenant_id = filo_current_tenant() and m.mailbox_id = any(p_mailboxes)
  union
  select c.id from conversations c
   where c.search @@ to_tsquery('simple', p_tsquery)
     and c.tenant_id = filo_current_tenant() and c.mailbox_id = any(p_mailboxes)
$$;`);
  }

  override down(): void {
    this.addSql(`drop function if exists filo_conversation_search(text, uuid[]);`);
    this.addSql(`drop index if exists "messages_search_index", "conversations_search_index";`);
    this.addSql(`alter table "messages" drop column if exists "search";`);
    this.addSql(`alter table "conversations" drop column if exists "search";`);
  }
}
