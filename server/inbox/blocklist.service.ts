import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { MikroORM } from '../../db/orm.ts';
import { MailBlocklistSchema, type MailBlocklist } from '../../db/entities/mail-blocklist.entity.ts';
import type { BlocklistEntry, BlocklistInput } from '#contracts/inbox';
import { HttpError, notFound } from '../http/errors.ts';
import { inTenant, requireRole, requireWrite, type Actor, type UnitOfWork } from '../tenancy.ts';
import { prepared, preparedOnce, runPrepared } from '../db-hot/prepared.ts';

export { blocklistInput } from '#contracts/inbox';

const entryDto = (row: MailBlocklist): BlocklistEntry => ({
  id: row.id,
  pattern: row.pattern,
  createdBy: row.createdBy ?? null,
  createdAt: row.createdAt.toISOString(),
});

/** The patterns an address matches: itself and `@` its domain. */
const patternsOf = (address: string): string[] => {
  const a = address.trim().toLowerCase();
  return [a, a.slice(a.lastIndexOf('@'))];
};

/** Addresses and domains whose mail stays out of the CRM: members read the list, owners and admins change it. */
export class BlocklistService {
  readonly #orm: MikroORM;

  constructor(orm: MikroORM) {
    this.#orm = orm;
  }

  list(actor: Actor): Promise<BlocklistEntry[]> {
    return inTenant(this.#orm, actor, async ({ em }) =>
      (await em.find(MailBlocklistSchema, {}, { orderBy: { pattern: 'asc' }, limit: 5000 })).map(entryDto),
    );
  }

  async add(actor: Actor, input: BlocklistInput): Promise<BlocklistEntry> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    try {
      return await inTenant(this.#orm, actor, async ({ em }) => {
        const row = em.create(MailBlocklistSchema, {
          tenantId: actor.tenantId,
          pattern: input.pattern,
          createdBy: actor.system ? null : actor.userId,
        });
        await em.flush();
        return entryDto(row);
      });
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException)
        throw new HttpError(409, 'already_blocked', `${input.pattern} is already on the blocklist`);
      throw err;
    }
  }

  remove(actor: Actor, id: string): Promise<void> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    return inTenant(this.#orm, actor, async ({ em }) => {
      if (!(await em.nativeDelete(MailBlocklistSchema, { id }))) throw notFound('Blocklist entry');
    });
  }
}

/**
 * Whether this address, or its whole domain, is on the workspace's blocklist. Asked for every inbound message: a
 * list of up to `HELD_PATTERNS` patterns is read once per transaction (a batch of mail asks it once), a longer
 * one is asked per address.
 */
export async function isBlocked(uow: UnitOfWork, address: string | null | undefined): Promise<boolean> {
  if (!address) return false;
  const patterns = patternsOf(address);
  const held = await preparedOnce(
    uow,
    PATTERNS,
    [uow.actor.tenantId, HELD_PATTERNS + 1],
    (rows: { pattern: string }[]) => (rows.length > HELD_PATTERNS ? null : new Set(rows.map((r) => r.pattern))),
  );
  if (held) return patterns.some((p) => held.has(p));
  const [row] = await runPrepared<{ blocked: boolean }>(uow, BLOCKED, [uow.actor.tenantId, patterns]);
  return row?.blocked ?? false;
}

const HELD_PATTERNS = 2000;
const PATTERNS = prepared(`select pattern from mail_blocklist where tenant_id = $1 limit $2`);
// prepared (parsed and planned once per connection), not an ORM count
const BLOCKED = prepared(
  `select exists (select 1 from mail_blocklist where tenant_id = $1 and pattern = any($2::text[])) as blocked`,
);
