import { randomBytes, randomUUID } from 'node:crypto';
import type { Invitation, Member } from '#contracts/team';
import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { MikroORM } from '../../db/orm.ts';
import { InvitationSchema } from '../../db/entities/invitation.entity.ts';
import { MembershipSchema, type Membership, type MemberRole } from '../../db/entities/membership.entity.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { hashPassword } from '../auth/passwords.ts';
import { weakPassword } from '../auth/common-passwords.ts';
import { normalizeEmail } from '../auth/auth.service.ts';
import { hashToken, type SessionsService } from '../auth/sessions.service.ts';
import type { AccessPort } from '../auth/access.ts';
import type { Mailer, OutgoingMail } from '../delivery/mailer.ts';
import { RateLimiter } from '../http/rate-limit.ts';
import { SendLimits } from '../outbound/send-limits.ts';
import { inTenant, requireRole, requireWrite, type Actor } from '../tenancy.ts';
import { audit } from '../audit/record.ts';

const INVITATION_TTL_MS = 7 * 24 * 3600 * 1000;
const SIGNUP_TTL_MS = 24 * 3600 * 1000;

interface InvitationRow {
  id: string;
  tenant_id: string;
  tenant_name: string;
  email: string;
  role: MemberRole;
  expires_at: Date;
  accepted_at: Date | null;
}

export const slugify = (name: string) =>
  name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40) || 'workspace';

const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === '23505';

/** Workspaces and who is in them: sign-up, members and roles, invitations. */
export class TeamService {
  readonly #orm: MikroORM;
  readonly #sessions: SessionsService;
  readonly #mailer: Mailer;
  readonly #publicUrl: string;
  readonly #sendLimits: SendLimits;
  readonly #access: AccessPort | undefined;
  // Mails to one address on sign-up, whoever asks: a few confirmations, one warning to an owner, an hour.
  readonly #confirmations = new RateLimiter(3, 60 * 60_000);
  readonly #ownerWarnings = new RateLimiter(1, 60 * 60_000);

  constructor(
    orm: MikroORM,
    sessions: SessionsService,
    mailer: Mailer,
    publicUrl: string,
    sendLimits: SendLimits = new SendLimits(),
    access?: AccessPort,
  ) {
    this.#orm = orm;
    this.#sessions = sessions;
    this.#mailer = mailer;
    this.#publicUrl = publicUrl;
    this.#sendLimits = sendLimits;
    this.#access = access;
  }

  /**
   * A sign-up request. It answers alike, and takes about as long (a password hash and a query), whether or not the
   * address has an account: a new address is mailed a confirmation link, a taken one is told that someone tried.
   * Mails go out in the background so that their speed, or a per-address limit, does not tell the two apart.
   */
  async requestSignup(
    input: { workspace: string; name: string; email: string; password: string },
    meta: { ip?: string | undefined },
  ): Promise<void> {
    const email = normalizeEmail(input.email);
    const passwordHash = await hashPassword(input.password);
    const taken = await this.#orm.em
      .getConnection()
      .execute<{ user_id: string }[]>(`select user_id from filo_login_lookup(?, null)`, [email]);
    let mail: OutgoingMail | null = null;
    if (taken.length) {
      if (this.#mailBudget(this.#ownerWarnings, email))
        mail = {
          to: email,
          subject: 'Someone tried to sign up to Filo with your address',
          text: `Someone (from ${meta.ip ?? 'an unknown address'}) tried to create a new Filo account with ${email}, which already has one. Nothing was created and your account and password are unchanged.\n\nIf it was you, sign in instead: ${this.#publicUrl}/login\nIf you forgot your password, ask whoever runs this Filo to reset it. If it was not you, you need do nothing: no one can use your address for a new account.`,
        };
    } else if (this.#mailBudget(this.#confirmations, email)) {
      const token = await this.#pendingSignup({ ...input, email }, passwordHash);
      mail = {
        to: email,
        subject: 'Confirm your new Filo workspace',
        text: `Someone (from ${meta.ip ?? 'an unknown address'}), hopefully you, asked to create the Filo workspace "${input.workspace}" with ${email}.\n\nConfirm it and sign in: ${this.#publicUrl}/signup/confirm#token=${token}\n\nThe link is valid for 24 hours and works once. If it was not you, ignore this mail: nothing is created without it.`,
      };
    }
    if (mail) void this.#mailer.send(mail).catch(() => undefined);
  }

  /** A pending sign-up and the token of its confirmation link (for tests whose mail goes to a relay they cannot read). */
  async startSignup(input: { workspace: string; name: string; email: string; password: string }): Promise<string> {
    return this.#pendingSignup({ ...input, email: normalizeEmail(input.email) }, await hashPassword(input.password));
  }

  async #pendingSignup(input: { workspace: string; name: string; email: string }, passwordHash: string) {
    const token = randomBytes(32).toString('base64url');
    const conn = this.#orm.em.getConnection();
    // Old requests are kept a day past expiry (to answer "expired" rather than "invalid"), then forgotten.
    await conn.execute(`delete from pending_signups where expires_at < now() - interval '1 day'`);
    await conn.execute(
      `insert into pending_signups (token_hash, expires_at, email, name, workspace_name, password_hash) values (?, ?, ?, ?, ?, ?)`,
      [hashToken(token), new Date(Date.now() + SIGNUP_TTL_MS), input.email, input.name, input.workspace, passwordHash],
    );
    return token;
  }

  #mailBudget(limiter: RateLimiter, email: string): boolean {
    try {
      limiter.hit(email);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The link of a sign-up mail: the workspace and its owner, in one transaction with using up the link (so that
   * confirming twice, even at once, makes one); then a session for the owner.
   */
  async confirmSignup(token: string, meta: { ip?: string | undefined; userAgent?: string | undefined }) {
    const tenantId = randomUUID();
    const userId = randomUUID();
    try {
      await inTenant(this.#orm, { tenantId, userId, userName: '', role: 'owner', scope: 'full' }, async ({ em }) => {
        const [row] = (await em.execute(
          `update pending_signups set confirmed_at = now()
            where token_hash = ? and confirmed_at is null and expires_at > now()
            returning email, name, workspace_name, password_hash`,
          [hashToken(token)],
        )) as { email: string; name: string; workspace_name: string; password_hash: string }[];
        if (!row) {
          const [seen] = (await em.execute(`select confirmed_at from pending_signups where token_hash = ?`, [
            hashToken(token),
          ])) as { confirmed_at: Date | null }[];
          if (!seen) throw new HttpError(400, 'signup_link_invalid', 'This sign-up link is not valid');
          if (seen.confirmed_at) throw new HttpError(410, 'signup_link_used', 'This sign-up link was already used');
          throw new HttpError(410, 'signup_link_expired', 'This sign-up link has expired: sign up again');
        }
        const slug = `${slugify(row.workspace_name)}-${randomBytes(3).toString('hex')}`;
        await em.execute(`insert into tenants (id, name, slug) values (?, ?, ?)`, [tenantId, row.workspace_name, slug]);
        await em.execute(`insert into users (id, email, name, password_hash) values (?, ?, ?, ?)`, [
          userId,
          row.email,
          row.name,
          row.password_hash,
        ]);
        await em.execute(`insert into memberships (tenant_id, user_id, role) values (?, ?, 'owner')`, [
          tenantId,
          userId,
        ]);
      });
    } catch (err) {
      // Another link for the same address was confirmed first: its owner has an account, and can sign in.
      if (isUniqueViolation(err))
        throw new HttpError(409, 'email_taken', 'An account with this email exists: sign in instead');
      throw err;
    }
    return this.#sessions.create(userId, tenantId, meta);
  }

  /** A user's own name and language (the users table is not tenant-owned). */
  async updateProfile(userId: string, patch: { name?: string | undefined; locale?: string | null | undefined }) {
    const sets: string[] = [];
    const params: unknown[] = [];
    if (patch.name !== undefined) {
      sets.push('name = ?');
      params.push(patch.name);
    }
    if (patch.locale !== undefined) {
      sets.push('locale = ?');
      params.push(patch.locale);
    }
    if (!sets.length) return;
    await this.#orm.em.getConnection().execute(`update users set ${sets.join(', ')} where id = ?`, [...params, userId]);
    this.#access?.changed({ reason: 'profile_changed', userId });
  }

  /** The member as an actor (for work done on their behalf, such as an import), or null if they left. */
  async actorFor(tenantId: string, userId: string): Promise<Actor | null> {
    const probe: Actor = { tenantId, userId, userName: '', role: 'member', scope: 'full' };
    return inTenant(this.#orm, probe, async ({ em }) => {
      const found = await this.membersIn(em, tenantId, userId);
      return found ? { ...probe, userName: found.name, role: found.role } : null;
    });
  }

  members(actor: Actor): Promise<Member[]> {
    return inTenant(this.#orm, actor, async ({ em }) => {
      const rows = (await em.execute(
        `select u.id, u.name, u.email, m.role, m.created_at from memberships m join users u on u.id = m.user_id
          where m.tenant_id = ? order by u.name`,
        [actor.tenantId],
      )) as MemberRow[];
      return rows.map(mapMember);
    });
  }

  changeRole(actor: Actor, userId: string, role: MemberRole): Promise<Member> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    return inTenant(this.#orm, actor, async ({ em, afterCommit }) => {
      const { owners, current } = await this.#lockMembership(em, actor.tenantId, userId);
      afterCommit(() => this.#access?.changed({ reason: 'role_changed', tenantId: actor.tenantId, userId }));
      if ((current.role === 'owner' || role === 'owner') && actor.role !== 'owner')
        throw new HttpError(403, 'forbidden', 'Only an owner can grant or take away ownership');
      if (current.role === 'owner' && role !== 'owner') keepAnOwner(owners);
      const before = { role: current.role };
      current.role = role;
      await em.flush();
      await audit(
        { em, actor },
        {
          action: 'member.role_changed',
          targetType: 'user',
          targetId: userId,
          summary: `Role changed from ${before.role} to ${role}`,
          before,
          after: { role },
        },
      );
      return (await this.membersIn(em, actor.tenantId, userId))!;
    });
  }

  removeMember(actor: Actor, userId: string): Promise<void> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async ({ em, afterCommit }) => {
      if (userId !== actor.userId) requireRole(actor, 'owner', 'admin');
      const { owners, current } = await this.#lockMembership(em, actor.tenantId, userId);
      if (current.role === 'owner') {
        if (actor.role !== 'owner') throw new HttpError(403, 'forbidden', 'Only an owner can remove an owner');
        keepAnOwner(owners);
      }
      em.remove(current);
      await em.flush();
      await audit(
        { em, actor },
        {
          action: 'member.removed',
          targetType: 'user',
          targetId: userId,
          summary: userId === actor.userId ? 'Left the workspace' : 'Member removed',
          before: { role: current.role },
        },
      );
      await em.execute(`delete from sessions where tenant_id = ? and user_id = ?`, [actor.tenantId, userId]);
      afterCommit(() => this.#access?.changed({ reason: 'member_removed', tenantId: actor.tenantId, userId }));
    });
  }

  async invite(actor: Actor, input: { email: string; role: MemberRole }): Promise<Invitation> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    if (input.role === 'owner' && actor.role !== 'owner')
      throw new HttpError(403, 'forbidden', 'Only an owner can invite an owner');
    const email = normalizeEmail(input.email);
    const token = randomBytes(32).toString('base64url');
    // Invitations go out through the operator's relay to any address: a budget per workspace.
    this.#sendLimits.take(actor.tenantId, 'invitation');
    const result = await inTenant(this.#orm, actor, async ({ em }) => {
      const member = await em.execute(
        `select 1 from memberships m join users u on u.id = m.user_id where m.tenant_id = ? and u.email = ?`,
        [actor.tenantId, email],
      );
      if (member.length) throw new HttpError(409, 'already_member', `${email} is already a member`);
      const [tenant] = (await em.execute(`select name from tenants where id = ?`, [actor.tenantId])) as {
        name: string;
      }[];
      const invitation = em.create(InvitationSchema, {
        tenantId: actor.tenantId,
        email,
        role: input.role,
        tokenHash: hashToken(token),
        invitedBy: actor.userId,
        expiresAt: new Date(Date.now() + INVITATION_TTL_MS),
        acceptedAt: null,
      });
      await em.flush();
      await audit(
        { em, actor },
        {
          action: 'invitation.sent',
          targetType: 'invitation',
          targetId: invitation.id,
          summary: `Invited ${email} as ${input.role}`,
          after: { email, role: input.role },
        },
      );
      return { invitation, workspace: tenant!.name };
    }).catch((err: unknown) => {
      this.#sendLimits.release(actor.tenantId, 'invitation');
      throw err;
    });
    const inviteUrl = `${this.#publicUrl}/invite#${token}`;
    await this.#mailer.send({
      to: email,
      subject: `${actor.userName} invited you to ${result.workspace} on Filo`,
      text: `${actor.userName} invited you to join the workspace "${result.workspace}" on Filo as ${input.role}.\n\nAccept the invitation: ${inviteUrl}\n\nThe link is valid for 7 days.`,
    });
    return {
      id: result.invitation.id,
      email,
      role: input.role,
      expiresAt: result.invitation.expiresAt.toISOString(),
      inviteUrl,
      token,
    };
  }

  /**
   * Joins the inviting workspace: as a new user (name + password), or as the existing account of the invited
   * email, which must be signed in (`signedIn`): an invitation link never takes an account's password.
   */
  async acceptInvite(
    input: { token: string; name?: string | undefined; password?: string | undefined },
    meta: { ip?: string | undefined; userAgent?: string | undefined },
    signedIn?: { id: string; email: string },
  ) {
    const [inv] = await this.#orm.em
      .getConnection()
      .execute<InvitationRow[]>(`select * from filo_invitation_lookup(?)`, [hashToken(input.token)]);
    if (!inv || inv.accepted_at || new Date(inv.expires_at) < new Date())
      throw new HttpError(410, 'invitation_invalid', 'This invitation is not valid any more');
    const [existing] = await this.#orm.em
      .getConnection()
      .execute<{ user_id: string; password_hash: string }[]>(`select * from filo_login_lookup(?, null)`, [inv.email]);
    let userId = existing?.user_id;
    if (existing) {
      if (signedIn?.id !== existing.user_id)
        throw new HttpError(409, 'sign_in_required', `${inv.email} has an account: sign in with it, then accept`);
    } else if (!input.name || !input.password) {
      const fields: Record<string, string> = {};
      if (!input.name) fields.name = 'is required';
      if (!input.password) fields.password = 'is required';
      throw new HttpError(400, 'validation_failed', 'A name and a password are needed for a new account', fields);
    } else {
      const weak = weakPassword(input.password, inv.email);
      if (weak) throw new HttpError(400, 'validation_failed', `The password ${weak}`, { password: weak });
    }
    const passwordHash = existing ? null : await hashPassword(input.password!);
    userId ??= randomUUID();
    const actor: Actor = { tenantId: inv.tenant_id, userId, userName: input.name ?? '', role: inv.role, scope: 'full' };
    await inTenant(this.#orm, actor, async ({ em }) => {
      const claimed = await em.execute(
        `update invitations set accepted_at = now() where id = ? and accepted_at is null returning id`,
        [inv.id],
      );
      if (!claimed.length) throw new HttpError(410, 'invitation_invalid', 'This invitation is not valid any more');
      if (passwordHash)
        await em.execute(`insert into users (id, email, name, password_hash) values (?, ?, ?, ?)`, [
          userId,
          inv.email,
          input.name,
          passwordHash,
        ]);
      await em.execute(`insert into memberships (tenant_id, user_id, role) values (?, ?, ?) on conflict do nothing`, [
        inv.tenant_id,
        userId,
        inv.role,
      ]);
      await audit(
        { em, actor },
        {
          action: 'invitation.accepted',
          targetType: 'invitation',
          targetId: inv.id,
          summary: `${inv.email} accepted the invitation and joined as ${inv.role}`,
          after: { email: inv.email, role: inv.role, newAccount: !existing },
        },
      );
    });
    return this.#sessions.create(userId, inv.tenant_id, meta);
  }

  private async membersIn(
    em: { execute: (sql: string, params: unknown[]) => Promise<unknown> },
    tenantId: string,
    userId: string,
  ) {
    const rows = (await em.execute(
      `select u.id, u.name, u.email, m.role, m.created_at from memberships m join users u on u.id = m.user_id
        where m.tenant_id = ? and m.user_id = ?`,
      [tenantId, userId],
    )) as MemberRow[];
    const r = rows[0];
    return r ? mapMember(r) : null;
  }

  /**
   * The member's row and the owners' rows, locked, always the owners first (by user): two changes that could each
   * take away "the other" owner queue one behind the other instead of both counting two owners, and never deadlock.
   */
  async #lockMembership(em: EntityManager, tenantId: string, userId: string) {
    const lock = { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true } as const;
    const owners = await em.find(MembershipSchema, { tenant: tenantId, role: 'owner' } as never, {
      ...lock,
      orderBy: { user: 'asc' },
    });
    const current = await em.findOne(MembershipSchema, { tenant: tenantId, user: userId } as never, lock);
    if (!current) throw notFound('Member');
    return { owners, current };
  }
}

/** Refuses to take away the only owner (`owners` as locked by the change). */
function keepAnOwner(owners: Membership[]) {
  if (owners.length <= 1) throw new HttpError(409, 'last_owner', 'A workspace needs at least one owner');
}

interface MemberRow {
  id: string;
  name: string;
  email: string;
  role: MemberRole;
  created_at: Date;
}

const mapMember = (r: MemberRow): Member => ({
  userId: r.id,
  name: r.name,
  email: r.email,
  role: r.role,
  joinedAt: new Date(r.created_at).toISOString(),
});
