import { LockMode } from '@mikro-orm/core';
import type { z } from 'zod';
import type { Mailbox as MailboxView, MailboxAccount, mailboxInput, mailboxPatch } from '#contracts/inbox';
import type { AccountStatus } from '#contracts/accounts';
import type { MikroORM } from '../../db/orm.ts';
import { MailboxSchema, type Mailbox } from '../../db/entities/mailbox.entity.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { inTenant, requireRole, requireWrite, type Actor, type UnitOfWork } from '../tenancy.ts';
import type { Secrets } from '../crypto/secrets.ts';
import type { AccessPort } from '../auth/access.ts';
import { SmtpTargetPolicy } from '../delivery/smtp-target.ts';
import { senderAllowed, senderNotVerified } from '../outbound/sending-domains.service.ts';
import { applyTransport, checkSmtpHost, transportDto } from '../delivery/transport-settings.ts';
import { audit } from '../audit/record.ts';

export { mailboxInput, mailboxPatch } from '#contracts/inbox';

/** A mailbox as the API answers it (contracts/inbox.ts). */
export type MailboxDto = MailboxView;

/** The accounts behind mailboxes of kind `account`, by mailbox id: address and health for the inbox's sidebar. */
async function accountsOf(uow: UnitOfWork, mailboxes: Mailbox[]): Promise<Map<string, MailboxAccount>> {
  const ids = mailboxes.filter((m) => m.kind === 'account').map((m) => m.id);
  if (!ids.length) return new Map();
  const rows = (await uow.em.execute(
    `select id, mailbox_id, email, status, last_error, owner_id from email_accounts
      where tenant_id = ? and mailbox_id = any(?::uuid[])`,
    [uow.actor.tenantId, `{${ids.join(',')}}`],
  )) as {
    id: string;
    mailbox_id: string;
    email: string;
    status: AccountStatus;
    last_error: string | null;
    owner_id: string | null;
  }[];
  return new Map(
    rows.map((r) => [
      r.mailbox_id,
      { id: r.id, email: r.email, status: r.status, lastError: r.last_error, own: r.owner_id === uow.actor.userId },
    ]),
  );
}

/** A member's account's mailbox is changed through the account: its owner decides who sees it. */
function sharedOnly(mailbox: Mailbox): Mailbox {
  if (mailbox.kind === 'account')
    throw new HttpError(409, 'account_mailbox', 'This mailbox is an email account’s: change it from the account');
  return mailbox;
}

/** Shared inboxes of a workspace: admins manage them; members see the ones they are in (or open to all). */
export class MailboxesService {
  readonly #orm: MikroORM;
  readonly #inboundDomain: string;
  readonly #secrets: Secrets | undefined;
  readonly #access: AccessPort | undefined;
  /** Which SMTP hosts a mailbox may name (the mailer's policy, set when services are wired). */
  smtpTargets = new SmtpTargetPolicy();

  constructor(orm: MikroORM, inboundDomain: string, secrets?: Secrets, access?: AccessPort) {
    this.#orm = orm;
    this.#inboundDomain = inboundDomain;
    this.#secrets = secrets;
    this.#access = access;
  }

  #applyTransport(mailbox: Mailbox, input: Pick<z.infer<typeof mailboxInput>, 'smtp' | 'dkim'>) {
    if (input.smtp === undefined && input.dkim === undefined) return;
    if (!this.#secrets) throw new Error('mailbox secrets need the Secrets service');
    applyTransport(mailbox, input, this.#secrets);
  }

  /** A public sending address must be on the workspace's inbound domain or a domain it has verified. */
  async #checkSender(uow: UnitOfWork, address: string | null | undefined) {
    if (!address) return;
    const own = `${await this.#slug(uow)}.${this.#inboundDomain}`;
    if (!(await senderAllowed(uow.em, address, own))) throw senderNotVerified(address);
  }

  addressOf(slug: string, local: string): string {
    return `${local}@${slug}.${this.#inboundDomain}`;
  }

  /** `local@slug.<inbound domain>` -> {local, slug}; null when the domain is not ours. */
  parseInbound(address: string): { local: string; slug: string } | null {
    const at = address.lastIndexOf('@');
    if (at < 1) return null;
    const domain = address.slice(at + 1).toLowerCase();
    const suffix = `.${this.#inboundDomain}`;
    if (!domain.endsWith(suffix)) return null;
    const slug = domain.slice(0, -suffix.length);
    if (!/^[a-z0-9-]{1,63}$/.test(slug)) return null;
    return { local: address.slice(0, at).toLowerCase(), slug };
  }

  dto(mailbox: Mailbox, slug: string): MailboxDto {
    return {
      id: mailbox.id,
      kind: mailbox.kind,
      account: null,
      name: mailbox.name,
      localPart: mailbox.localPart,
      inboundAddress: this.addressOf(slug, mailbox.localPart),
      address: mailbox.address ?? null,
      createContacts: mailbox.createContacts,
      memberIds: mailbox.memberIds,
      private: mailbox.private,
      trackOpens: mailbox.trackOpens,
      trackClicks: mailbox.trackClicks,
      createdAt: mailbox.createdAt.toISOString(),
      version: mailbox.version,
      ...transportDto(mailbox, mailbox.address ?? this.addressOf(slug, mailbox.localPart), this.#secrets),
    };
  }

  /**
   * The mailboxes this actor may see: a private one only if it names them (owners and admins included); of the
   * others, all for admins, else those open to everyone or naming them. Filo itself sees all.
   */
  visibleFilter(actor: Actor): Record<string, unknown> {
    if (actor.system) return {};
    const named = { memberIds: { $contains: [actor.userId] } };
    if (actor.role !== 'member') return { $or: [{ private: false }, named] };
    return { $or: [{ private: false, memberIds: { $eq: [] } }, named] };
  }

  /** `forUpdate`: read under the row's lock, so that concurrent edits land one after the other (one version each). */
  async findVisible(uow: UnitOfWork, id: string, forUpdate = false): Promise<Mailbox> {
    const mailbox = await uow.em.findOne(
      MailboxSchema,
      { id, ...this.visibleFilter(uow.actor) },
      forUpdate ? { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true } : {},
    );
    if (!mailbox) throw notFound('Mailbox');
    return mailbox;
  }

  async #slug(uow: UnitOfWork): Promise<string> {
    const [row] = (await uow.em.execute(`select slug from tenants where id = ?`, [uow.actor.tenantId])) as {
      slug: string;
    }[];
    return row!.slug;
  }

  list(actor: Actor): Promise<MailboxDto[]> {
    return inTenant(this.#orm, actor, async (uow) => {
      const slug = await this.#slug(uow);
      const rows = await uow.em.find(MailboxSchema, this.visibleFilter(actor), { orderBy: { name: 'asc' } });
      const accounts = await accountsOf(uow, rows);
      return rows.map((m) => ({ ...this.dto(m, slug), account: accounts.get(m.id) ?? null }));
    });
  }

  get(actor: Actor, id: string): Promise<MailboxDto> {
    return inTenant(this.#orm, actor, async (uow) => {
      const mailbox = await this.findVisible(uow, id);
      const accounts = await accountsOf(uow, [mailbox]);
      return { ...this.dto(mailbox, await this.#slug(uow)), account: accounts.get(mailbox.id) ?? null };
    });
  }

  async create(actor: Actor, input: z.infer<typeof mailboxInput>): Promise<MailboxDto> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    // Resolved before the transaction: a slow DNS answer holds no locks.
    if (input.smtp) await checkSmtpHost(this.smtpTargets, input.smtp.host);
    return inTenant(this.#orm, actor, async (uow) => {
      await this.#checkMembers(uow, input.memberIds);
      await this.#checkSender(uow, input.address);
      const taken = await uow.em.count(MailboxSchema, { localPart: input.localPart });
      if (taken)
        throw new HttpError(409, 'mailbox_exists', `A mailbox already receives at ${input.localPart}`, {
          localPart: 'already in use in this workspace',
        });
      const mailbox = uow.em.create(MailboxSchema, {
        tenantId: actor.tenantId,
        name: input.name,
        localPart: input.localPart,
        address: input.address ?? null,
        createContacts: input.createContacts ?? true,
        memberIds: input.memberIds ?? [],
        trackOpens: input.trackOpens ?? false,
        trackClicks: input.trackClicks ?? false,
      });
      this.#applyTransport(mailbox, input);
      await uow.em.flush();
      const created = this.dto(mailbox, await this.#slug(uow));
      await audit(uow, {
        action: 'mailbox.created',
        targetType: 'mailbox',
        targetId: mailbox.id,
        summary: `Mailbox "${input.name}" created`,
        after: created,
      });
      return created;
    });
  }

  async update(actor: Actor, id: string, patch: z.infer<typeof mailboxPatch>): Promise<MailboxDto> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    if (patch.smtp) await checkSmtpHost(this.smtpTargets, patch.smtp.host);
    return inTenant(this.#orm, actor, async (uow) => {
      const mailbox = sharedOnly(await this.findVisible(uow, id, true));
      await this.#checkMembers(uow, patch.memberIds);
      // Members left out stop seeing the mailbox: sockets following it are re-checked after commit.
      if (patch.memberIds)
        uow.afterCommit(() => this.#access?.changed({ reason: 'mailboxes_changed', tenantId: actor.tenantId }));
      if (patch.address !== mailbox.address) await this.#checkSender(uow, patch.address);
      const { smtp, dkim, ...fields } = patch;
      const before = this.dto(mailbox, await this.#slug(uow));
      uow.em.assign(mailbox, fields);
      this.#applyTransport(mailbox, { smtp, dkim });
      await uow.em.flush();
      const after = this.dto(mailbox, await this.#slug(uow));
      await audit(uow, {
        action: 'mailbox.updated',
        targetType: 'mailbox',
        targetId: id,
        summary: `Mailbox "${mailbox.name}" changed`,
        before,
        after,
      });
      return after;
    });
  }

  /** Deleting a mailbox deletes its conversations; mail to its address is refused from then on. */
  remove(actor: Actor, id: string): Promise<void> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    return inTenant(this.#orm, actor, async (uow) => {
      const mailbox = sharedOnly(await this.findVisible(uow, id));
      uow.em.remove(mailbox);
      await uow.em.flush();
      await audit(uow, {
        action: 'mailbox.deleted',
        targetType: 'mailbox',
        targetId: id,
        summary: `Mailbox "${mailbox.name}" deleted`,
        before: { name: mailbox.name, localPart: mailbox.localPart },
      });
    });
  }

  async #checkMembers(uow: UnitOfWork, ids: string[] | undefined) {
    if (!ids?.length) return;
    const rows = (await uow.em.execute(
      `select user_id from memberships where tenant_id = ? and user_id = any(?::uuid[])`,
      [uow.actor.tenantId, `{${ids.join(',')}}`],
    )) as { user_id: string }[];
    const known = new Set(rows.map((r) => r.user_id));
    const unknown = ids.filter((id) => !known.has(id));
    if (unknown.length)
      throw new HttpError(400, 'validation_failed', 'Unknown team member', {
        memberIds: 'not members of this workspace',
      });
  }
}
