import { randomBytes } from 'node:crypto';
import type { Invitation } from '#contracts/team';
import type { PendingInvitation } from '#contracts/settings';
import type { MikroORM } from '../../db/orm.ts';
import type { MemberRole } from '../../db/entities/membership.entity.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { hashToken } from '../auth/sessions.service.ts';
import type { Mailer } from '../delivery/mailer.ts';
import type { SendLimits } from '../outbound/send-limits.ts';
import { inTenant, requireRole, requireWrite, type Actor } from '../tenancy.ts';
import { audit } from '../audit/record.ts';

const INVITATION_TTL_MS = 7 * 24 * 3600 * 1000;

interface PendingRow {
  id: string;
  email: string;
  role: MemberRole;
  invited_by: string | null;
  created_at: Date;
  expires_at: Date;
}

/**
 * The invitations a workspace has sent and nobody accepted yet (owners and admins): listed, resent with a new
 * link (the old one dies, a new week starts, the mail goes again) or revoked (the link dies at once).
 */
export class InvitationsService {
  readonly #orm: MikroORM;
  readonly #mailer: Mailer;
  readonly #publicUrl: string;
  readonly #sendLimits: SendLimits;

  constructor(deps: { orm: MikroORM; mailer: Mailer; publicUrl: string; sendLimits: SendLimits }) {
    this.#orm = deps.orm;
    this.#mailer = deps.mailer;
    this.#publicUrl = deps.publicUrl;
    this.#sendLimits = deps.sendLimits;
  }

  pending(actor: Actor): Promise<PendingInvitation[]> {
    requireRole(actor, 'owner', 'admin');
    return inTenant(this.#orm, actor, async ({ em }) => {
      const rows = (await em.execute(
        `select i.id, i.email, i.role, u.name as invited_by, i.created_at, i.expires_at
           from invitations i left join users u on u.id = i.invited_by
          where i.tenant_id = ? and i.accepted_at is null order by i.created_at desc`,
        [actor.tenantId],
      )) as PendingRow[];
      const now = Date.now();
      return rows.map((r) => ({
        id: r.id,
        email: r.email,
        role: r.role,
        invitedBy: r.invited_by,
        sentAt: new Date(r.created_at).toISOString(),
        expiresAt: new Date(r.expires_at).toISOString(),
        expired: new Date(r.expires_at).getTime() <= now,
      }));
    });
  }

  /** A new link for a pending invitation: the old token no longer opens it; mailed again, valid for 7 more days. */
  async resend(actor: Actor, id: string): Promise<Invitation> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + INVITATION_TTL_MS);
    this.#sendLimits.take(actor.tenantId, 'invitation');
    const row = await inTenant(this.#orm, actor, async ({ em }) => {
      const [found] = (await em.execute(
        `select i.role, t.name as workspace from invitations i join tenants t on t.id = i.tenant_id
          where i.id = ? and i.tenant_id = ? and i.accepted_at is null for update of i`,
        [id, actor.tenantId],
      )) as { role: MemberRole; workspace: string }[];
      if (!found) throw notFound('Invitation');
      if (found.role === 'owner' && actor.role !== 'owner')
        throw new HttpError(403, 'forbidden', 'Only an owner can invite an owner');
      const [updated] = (await em.execute(
        `update invitations set token_hash = ?, expires_at = ?, created_at = now(), invited_by = ? where id = ?
          returning email, role`,
        [hashToken(token), expiresAt, actor.userId, id],
      )) as { email: string; role: MemberRole }[];
      await audit(
        { em, actor },
        {
          action: 'invitation.resent',
          targetType: 'invitation',
          targetId: id,
          summary: `Invitation to ${updated!.email} resent with a new link`,
        },
      );
      return { ...updated!, workspace: found.workspace };
    }).catch((err: unknown) => {
      this.#sendLimits.release(actor.tenantId, 'invitation');
      throw err;
    });
    const inviteUrl = `${this.#publicUrl}/invite#${token}`;
    await this.#mailer.send({
      to: row.email,
      subject: `${actor.userName} invited you to ${row.workspace} on Filo`,
      text: `${actor.userName} invited you to join the workspace "${row.workspace}" on Filo as ${row.role}.\n\nAccept the invitation: ${inviteUrl}\n\nThe link is valid for 7 days. Any earlier invitation link no longer works.`,
    });
    return { id, email: row.email, role: row.role, expiresAt: expiresAt.toISOString(), inviteUrl, token };
  }

  /** Withdraws a pending invitation: its link stops working at once. */
  async revoke(actor: Actor, id: string): Promise<void> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    await inTenant(this.#orm, actor, async ({ em }) => {
      const gone = await em.execute(
        `delete from invitations where id = ? and tenant_id = ? and accepted_at is null returning id, email`,
        [id, actor.tenantId],
      );
      if (!gone.length) throw notFound('Invitation');
      await audit(
        { em, actor },
        {
          action: 'invitation.revoked',
          targetType: 'invitation',
          targetId: id,
          summary: `Invitation to ${(gone[0] as { email: string }).email} revoked`,
        },
      );
    });
  }
}
