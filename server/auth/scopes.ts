import type { TokenGrant } from '#contracts/auth';
import { HttpError } from '../http/errors.ts';
import type { Actor } from '../tenancy.ts';

/** What a grant allows on a resource family: reading, or reading and writing. */
export type Access = 'read' | 'write';

/**
 * Whether the actor may `access` a resource family (`crm`, `inbox`, `linked`, …) and, for linked records, one kind
 * (`project`, `invoice`, …). A member signed in and a full token may all their role allows; a read token only reads;
 * a scoped token only what one of its grants allows (a write grant reads too; a linked grant without a kind covers
 * every kind; asked without a kind, any grant of the family answers).
 */
export function may(actor: Actor, family: string, access: Access, kind?: string): boolean {
  if (access === 'write' && actor.scope !== 'full') return false;
  if (!actor.grants) return true;
  return actor.grants.some((g) => grants(g, family, access, kind));
}

const grants = (g: TokenGrant, family: string, access: Access, kind: string | undefined) =>
  g.family === family &&
  (access === 'read' || g.access === 'write') &&
  (kind === undefined || g.kind === undefined || g.kind === kind);

/** Refuses (403 `insufficient_scope`) what the actor's token does not grant. */
export function requireScope(actor: Actor, family: string, access: Access, kind?: string): void {
  if (!may(actor, family, access, kind))
    throw new HttpError(403, 'insufficient_scope', `This API token may not ${access} ${kind ?? family}`);
}
