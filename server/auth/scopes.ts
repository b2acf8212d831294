import { HttpError } from '../http/errors.ts';
import type { Actor } from '../tenancy.ts';

/** What a grant allows on a resource family: reading, or reading and writing. */
export type Access = 'read' | 'write';

/**
 * Whether the actor may `access` a resource family (`crm`, `inbox`, `linked`, …) and, for linked records, one kind
 * (`project`, `invoice`, …). A member signed in and a full token may all their role allows; a read token only reads.
 * Per-family and per-kind grants of scoped tokens extend this function (issue 17).
 */
export function may(actor: Actor, family: string, access: Access, kind?: string): boolean {
  void family;
  void kind;
  if (actor.scope === 'full') return true;
  return access === 'read';
}

/** Refuses (403 `insufficient_scope`) what the actor's token does not grant. */
export function requireScope(actor: Actor, family: string, access: Access, kind?: string): void {
  if (!may(actor, family, access, kind))
    throw new HttpError(403, 'insufficient_scope', `This API token may not ${access} ${kind ?? family}`);
}
