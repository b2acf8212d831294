import type { MikroORM } from '../../db/orm.ts';
import { HttpError } from '../http/errors.ts';
import { requireRole, type Actor } from '../tenancy.ts';

/**
 * The installation's operator, who alone sees installation-wide things (backups, job queues, health): on a server
 * hosting several workspaces their admins are not the operator. The members named in OPERATOR_EMAILS, or else the
 * owners and admins of the installation's only workspace.
 */
export class OperatorCheck {
  readonly #orm: MikroORM;
  readonly #operators: string[];

  constructor(orm: MikroORM, operators: string[]) {
    this.#orm = orm;
    this.#operators = operators;
  }

  /** Refuses (403 `forbidden`) anyone but the operator; `what` names the thing refused. */
  async require(actor: Actor, what: string): Promise<void> {
    requireRole(actor, 'owner', 'admin');
    const db = this.#orm.em.fork().getConnection();
    if (this.#operators.length) {
      const [user] = (await db.execute(`select lower(email) as email from users where id = ?`, [actor.userId])) as {
        email: string;
      }[];
      if (user && this.#operators.includes(user.email)) return;
    } else {
      // Tenants are behind row-level security: the security-definer function counts them all.
      const [{ n }] = (await db.execute(`select filo_workspace_count() as n`)) as [{ n: number }];
      if (n === 1) return;
    }
    throw new HttpError(403, 'forbidden', `${what} are for the installation's operator (OPERATOR_EMAILS)`);
  }
}
