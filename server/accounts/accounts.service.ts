import { randomBytes, randomUUID } from 'node:crypto';
import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import {
  ACCOUNT_PRESETS,
  type AccountInput,
  type AccountPatch,
  type AccountTestInput,
  type AccountTestResult,
  type EmailAccountView,
} from '#contracts/accounts';
import type { MikroORM } from '../../db/orm.ts';
import { EmailAccountSchema, type EmailAccount } from '../../db/entities/email-account.entity.ts';
import { MailboxSchema, type Mailbox } from '../../db/entities/mailbox.entity.ts';
import type { AccessPort } from '../auth/access.ts';
import type { Secrets } from '../crypto/secrets.ts';
import { isStale, versionConflict } from '../crm/version-conflict.ts';
import { SmtpTargetRefused, type SmtpTargetPolicy } from '../delivery/smtp-target.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { RateLimiter } from '../http/rate-limit.ts';
import type { Logger } from '../logger.ts';
import { inTenant, requireWrite, type Actor, type UnitOfWork } from '../tenancy.ts';
import type { AccountHealthService } from './health.ts';
import {
  accountView,
  isEditor,
  mailboxAccess,
  same,
  settingsOf,
  visibilityOf,
  type Settings,
  type Side,
} from './account-view.ts';
import { adHocConnection, testConnection } from './connection-test.ts';
import { newOAuthAccount, oauthTokens, type OAuthGrant } from './oauth-account.ts';
import {
  IMAP_PASSWORD,
  OAUTH_REFRESH_TOKEN,
  SMTP_PASSWORD,
  type AccessTokenSource,
  type ConnectDeps,
} from './connect.ts';
import { audit, change } from '../audit/record.ts';

/** What happened to an account, told after commit (the sync engine starts, stops or restarts its connections). */
export interface AccountChange {
  type: 'created' | 'updated' | 'deleted' | 'paused' | 'resumed';
  tenantId: string;
  accountId: string;
}

/**
 * Members' own email accounts. Each has a mailbox of kind `account` (created and deleted with it) that carries who
 * sees its mail; its owner (or an admin) edits it. Passwords and tokens are encrypted and never answered.
 */
export class AccountsService {
  readonly #orm: MikroORM;
  readonly #secrets: Secrets;
  readonly #targets: SmtpTargetPolicy;
  readonly #log: Logger;
  readonly #health: AccountHealthService;
  readonly #access: AccessPort | undefined;
  readonly #listeners = new Set<(change: AccountChange) => void>();
  /** "Test connection" per member: each is a login attempt at someone's server. */
  readonly #tests: RateLimiter;
  /** Gives OAuth2 access tokens (set when oauth.ts is wired). */
  oauth: AccessTokenSource | undefined;

  constructor(deps: {
    orm: MikroORM;
    secrets: Secrets;
    targets: SmtpTargetPolicy;
    log: Logger;
    health: AccountHealthService;
    access?: AccessPort;
    testsPerWindow?: number;
  }) {
    this.#orm = deps.orm;
    this.#secrets = deps.secrets;
    this.#targets = deps.targets;
    this.#log = deps.log;
    this.#health = deps.health;
    this.#access = deps.access;
    this.#tests = new RateLimiter(deps.testsPerWindow ?? 20, 10 * 60_000);
  }

  /** What connect.ts needs to reach an account's servers. */
  get connectDeps(): ConnectDeps {
    return {
      secrets: this.#secrets,
      targets: this.#targets,
      log: this.#log,
      ...(this.oauth ? { oauth: this.oauth } : {}),
    };
  }

  /** Called after each committed change; returns the unsubscribe function. */
  onChange(listener: (change: AccountChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(uow: UnitOfWork, type: AccountChange['type'], accountId: string, accessChanged = false) {
    const tenantId = uow.actor.tenantId;
    uow.afterCommit(() => {
      if (accessChanged) this.#access?.changed({ reason: 'mailboxes_changed', tenantId });
      for (const listener of this.#listeners) {
        try {
          listener({ type, tenantId, accountId });
        } catch (err) {
          this.#log.error({ err, accountId }, 'account change listener failed');
        }
      }
    });
  }

  dto(actor: Actor, account: EmailAccount, mailbox: Mailbox): EmailAccountView {
    return accountView(actor, account, mailbox);
  }

  /** Whether the actor sees this account's row: its owner, admins (the row, not the mail), members it is shared with. */
  #sees(actor: Actor, account: EmailAccount, mailbox: Mailbox): boolean {
    if (actor.system || actor.role !== 'member' || account.ownerId === actor.userId) return true;
    if (mailbox.memberIds.includes(actor.userId)) return true;
    return !mailbox.private && mailbox.memberIds.length === 0;
  }

  async #find(
    uow: UnitOfWork,
    id: string,
    opts: { edit?: boolean; lock?: number | 'pessimistic' } = {},
  ): Promise<{ account: EmailAccount; mailbox: Mailbox }> {
    const account = await uow.em.findOne(EmailAccountSchema, { id });
    const mailbox = account ? await uow.em.findOne(MailboxSchema, { id: account.mailboxId }) : null;
    if (!account || !mailbox || !this.#sees(uow.actor, account, mailbox)) throw notFound('Email account');
    if (opts.edit) {
      requireWrite(uow.actor);
      if (!isEditor(uow.actor, account))
        throw new HttpError(403, 'forbidden', 'Only the account’s owner or an admin can change it');
    }
    if (opts.lock === undefined) return { account, mailbox };
    // Read again under the ORM's lock: a given version is checked now and again at flush (`where version = ?`).
    const locked = await uow.em.findOne(
      EmailAccountSchema,
      { id },
      opts.lock === 'pessimistic'
        ? { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true }
        : { lockMode: LockMode.OPTIMISTIC, lockVersion: opts.lock, refresh: true },
    );
    if (!locked) throw notFound('Email account');
    return { account: locked, mailbox };
  }

  list(actor: Actor): Promise<EmailAccountView[]> {
    return inTenant(this.#orm, actor, async (uow) => {
      const accounts = await uow.em.find(EmailAccountSchema, {}, { orderBy: { email: 'asc' } });
      const mailboxes = new Map(
        (await uow.em.find(MailboxSchema, { id: { $in: accounts.map((a) => a.mailboxId) } })).map((m) => [m.id, m]),
      );
      return accounts.flatMap((a) => {
        const mailbox = mailboxes.get(a.mailboxId);
        return mailbox && this.#sees(actor, a, mailbox) ? [this.dto(actor, a, mailbox)] : [];
      });
    });
  }

  get(actor: Actor, id: string): Promise<EmailAccountView> {
    return inTenant(this.#orm, actor, async (uow) => {
      const { account, mailbox } = await this.#find(uow, id);
      return this.dto(actor, account, mailbox);
    });
  }

  /** A user-given host Filo may connect to (checked again at each connection); plain only to an allowed local one. */
  async #checkHost(side: Side, settings: Settings): Promise<void> {
    let local: boolean;
    try {
      local = (await this.#targets.resolve(settings.host)).local;
    } catch (err) {
      if (!(err instanceof SmtpTargetRefused)) throw err;
      throw new HttpError(400, 'host_refused', 'This server cannot be used: give the name of a public mail server', {
        [`${side}.host`]: 'must be a public mail server',
      });
    }
    if (settings.security === 'none' && !local)
      throw new HttpError(400, 'tls_required', 'A public mail server is reached only over TLS or STARTTLS', {
        [`${side}.security`]: 'choose TLS or STARTTLS',
      });
  }

  async #checkMembers(uow: UnitOfWork, ids: string[] | undefined) {
    if (!ids?.length) return;
    const rows = (await uow.em.execute(
      `select user_id from memberships where tenant_id = ? and user_id = any(?::uuid[])`,
      [uow.actor.tenantId, `{${ids.join(',')}}`],
    )) as { user_id: string }[];
    const known = new Set(rows.map((r) => r.user_id));
    if (ids.some((id) => !known.has(id)))
      throw new HttpError(400, 'validation_failed', 'Unknown team member', {
        memberIds: 'not members of this workspace',
      });
  }

  #exists(email: string) {
    return new HttpError(409, 'account_exists', `${email} is already connected in this workspace`, {
      email: 'already connected',
    });
  }

  async create(actor: Actor, input: AccountInput): Promise<EmailAccountView> {
    requireWrite(actor);
    if (actor.system) throw new HttpError(403, 'forbidden', 'An account belongs to a member');
    const imap = settingsOf('imap', input.provider, input.email, input.imap);
    const smtp = settingsOf('smtp', input.provider, input.email, input.smtp);
    const password = input.imap.password;
    if (!password)
      throw new HttpError(400, 'validation_failed', 'The IMAP password is missing', { 'imap.password': 'is required' });
    if (input.visibility === 'members' && !input.memberIds?.length)
      throw new HttpError(400, 'validation_failed', 'Choose the members who see this account', {
        memberIds: 'at least one member',
      });
    // Resolved before the transaction: a slow DNS answer holds no locks.
    await this.#checkHost('imap', imap);
    await this.#checkHost('smtp', smtp);
    const preset = input.provider === 'imap' ? undefined : ACCOUNT_PRESETS[input.provider];
    try {
      return await inTenant(this.#orm, actor, async (uow) => {
        await this.#checkMembers(uow, input.memberIds);
        if (await uow.em.count(EmailAccountSchema, { email: input.email })) throw this.#exists(input.email);
        const mailbox = uow.em.create(MailboxSchema, {
          tenantId: actor.tenantId,
          kind: 'account',
          name: (input.displayName ?? input.email).slice(0, 100),
          localPart: `acct-${randomBytes(4).toString('hex')}`,
          address: input.email,
          createContacts: true,
          ...mailboxAccess(input.visibility, actor.userId, input.memberIds ?? []),
        });
        const account = uow.em.create(EmailAccountSchema, {
          id: randomUUID(),
          tenantId: actor.tenantId,
          mailboxId: mailbox.id,
          ownerId: actor.userId,
          email: input.email,
          displayName: input.displayName ?? null,
          aliases: input.aliases ?? [],
          provider: input.provider,
          authMethod: 'password',
          imapHost: imap.host,
          imapPort: imap.port,
          imapSecurity: imap.security,
          imapUser: imap.user,
          imapPasswordEnc: this.#secrets.encrypt(password, IMAP_PASSWORD),
          smtpHost: smtp.host,
          smtpPort: smtp.port,
          smtpSecurity: smtp.security,
          smtpUser: smtp.user,
          smtpPasswordEnc: this.#secrets.encrypt(input.smtp.password ?? password, SMTP_PASSWORD),
          syncDays: input.syncDays ?? 90,
          mirrorReadState: input.mirrorReadState ?? false,
          providerSavesSent: input.providerSavesSent ?? preset?.providerSavesSent ?? false,
        });
        await uow.em.flush();
        this.#changed(uow, 'created', account.id, true);
        await audit(uow, change('email_account.created', 'email_account', { id: account.id, name: account.email }));
        return this.dto(actor, account, mailbox);
      });
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) throw this.#exists(input.email);
      throw err;
    }
  }

  /**
   * A patch made on `version` of the account: a stale one rolls back and answers 409 version_conflict with the
   * account as it is now. Without a version the row is locked, the last write wins.
   */
  async update(actor: Actor, id: string, { version, ...patch }: AccountPatch): Promise<EmailAccountView> {
    requireWrite(actor);
    try {
      return await inTenant(this.#orm, actor, (uow) => this.#update(uow, id, patch, version));
    } catch (err) {
      if (!isStale(err)) throw err;
      throw await inTenant(this.#orm, actor, async (uow) => {
        const { account, mailbox } = await this.#find(uow, id);
        return versionConflict('Email account', this.dto(actor, account, mailbox), {
          changedBy: null,
          changedAt: account.updatedAt.toISOString(),
        });
      });
    }
  }

  async #update(
    uow: UnitOfWork,
    id: string,
    patch: Omit<AccountPatch, 'version'>,
    version: number | undefined,
  ): Promise<EmailAccountView> {
    const { account, mailbox } = await this.#find(uow, id, { edit: true, lock: version ?? 'pessimistic' });
    const before = this.dto(uow.actor, account, mailbox);
    for (const side of ['imap', 'smtp'] as const) {
      const given = patch[side];
      if (!given) continue;
      const stored: Settings =
        side === 'imap'
          ? { host: account.imapHost, port: account.imapPort, security: account.imapSecurity, user: account.imapUser }
          : { host: account.smtpHost, port: account.smtpPort, security: account.smtpSecurity, user: account.smtpUser };
      const next = settingsOf(side, account.provider, account.email, given, stored);
      // The stored password goes only where it was typed for: another host, port, security or user needs it again.
      if (account.authMethod === 'password' && !given.password && !same(next, stored))
        throw new HttpError(
          400,
          'password_required',
          `Changing the ${side.toUpperCase()} server needs its password again`,
          {
            [`${side}.password`]: 'enter the password again when the server or user changes',
          },
        );
      if (!same(next, stored)) await this.#checkHost(side, next);
      if (side === 'imap')
        Object.assign(account, {
          imapHost: next.host,
          imapPort: next.port,
          imapSecurity: next.security,
          imapUser: next.user,
          ...(given.password ? { imapPasswordEnc: this.#secrets.encrypt(given.password, IMAP_PASSWORD) } : {}),
        });
      else
        Object.assign(account, {
          smtpHost: next.host,
          smtpPort: next.port,
          smtpSecurity: next.security,
          smtpUser: next.user,
          ...(given.password ? { smtpPasswordEnc: this.#secrets.encrypt(given.password, SMTP_PASSWORD) } : {}),
        });
    }
    if (patch.displayName !== undefined) {
      account.displayName = patch.displayName;
      mailbox.name = (patch.displayName ?? account.email).slice(0, 100);
    }
    if (patch.aliases !== undefined) account.aliases = patch.aliases;
    if (patch.syncDays !== undefined) account.syncDays = patch.syncDays;
    if (patch.mirrorReadState !== undefined) account.mirrorReadState = patch.mirrorReadState;
    if (patch.providerSavesSent !== undefined) account.providerSavesSent = patch.providerSavesSent;
    let accessChanged = false;
    if (patch.visibility !== undefined || patch.memberIds !== undefined) {
      const current = visibilityOf(mailbox);
      const visibility = patch.visibility ?? current.visibility;
      const chosen = patch.memberIds ?? current.memberIds;
      if (visibility === 'members' && !chosen.length)
        throw new HttpError(400, 'validation_failed', 'Choose the members who see this account', {
          memberIds: 'at least one member',
        });
      await this.#checkMembers(uow, patch.memberIds);
      Object.assign(mailbox, mailboxAccess(visibility, account.ownerId ?? uow.actor.userId, chosen));
      accessChanged = true;
    }
    // Any field set bumps the version, so that the next edit on the old one is refused.
    if (Object.keys(patch).length) account.updatedAt = new Date();
    await uow.em.flush();
    this.#changed(uow, 'updated', account.id, accessChanged);
    const after = this.dto(uow.actor, account, mailbox);
    await audit(uow, change('email_account.updated', 'email_account', { id, name: account.email }, before, after));
    return after;
  }

  /** Deleting an account deletes its mailbox, and with it its conversations and synced mail. */
  remove(actor: Actor, id: string): Promise<void> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const { account, mailbox } = await this.#find(uow, id, { edit: true });
      uow.em.remove(account);
      uow.em.remove(mailbox);
      await uow.em.flush();
      this.#changed(uow, 'deleted', id, true);
      await audit(uow, change('email_account.deleted', 'email_account', { id, name: account.email }));
    });
  }

  /** Paused: no connection, no sync, until resumed (its mail stays). */
  setEnabled(actor: Actor, id: string, enabled: boolean): Promise<EmailAccountView> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const { account, mailbox } = await this.#find(uow, id, { edit: true, lock: 'pessimistic' });
      if (account.enabled !== enabled) {
        account.enabled = enabled;
        await uow.em.flush();
        await this.#health.setHealth(uow, id, { status: enabled ? 'pending' : 'paused', side: 'all' });
        this.#changed(uow, enabled ? 'resumed' : 'paused', id);
      }
      await uow.em.refresh(account);
      return this.dto(actor, account, mailbox);
    });
  }

  /**
   * "Test connection": IMAP login and INBOX, SMTP connect and login, both at once; each side answers `ok` or the
   * server's own words. Counted per member (each test is a login attempt at someone's server).
   */
  async test(actor: Actor, input: AccountTestInput): Promise<AccountTestResult> {
    requireWrite(actor);
    this.#tests.hit(`${actor.tenantId}:${actor.userId}`);
    const connection =
      'accountId' in input
        ? await inTenant(
            this.#orm,
            actor,
            async (uow) => (await this.#find(uow, input.accountId, { edit: true })).account,
          )
        : adHocConnection(actor, input, this.#secrets);
    return testConnection(connection, this.connectDeps, this.#log);
  }

  /**
   * The OAuth2 callback's result: the member's account for that address is created (private to them) or, if it is
   * theirs already, given the new tokens. Another member's account of the same address is not touched (409).
   */
  async saveOAuth(actor: Actor, grant: OAuthGrant): Promise<EmailAccountView> {
    requireWrite(actor);
    const tokens = oauthTokens(grant, this.#secrets);
    try {
      return await inTenant(this.#orm, actor, async (uow) => {
        const existing = await uow.em.findOne(EmailAccountSchema, { email: grant.email });
        if (existing) {
          const { account, mailbox } = await this.#find(uow, existing.id, { edit: true, lock: 'pessimistic' });
          Object.assign(account, tokens);
          if (grant.refreshToken)
            account.oauthRefreshTokenEnc = this.#secrets.encrypt(grant.refreshToken, OAUTH_REFRESH_TOKEN);
          await uow.em.flush();
          if (account.status === 'error')
            await this.#health.setHealth(uow, account.id, { status: 'pending', side: 'all' });
          this.#changed(uow, 'updated', account.id);
          await uow.em.refresh(account);
          return this.dto(uow.actor, account, mailbox);
        }
        const { account, mailbox } = newOAuthAccount(uow, grant, tokens, this.#secrets);
        await uow.em.flush();
        this.#changed(uow, 'created', account.id, true);
        await audit(uow, change('email_account.created', 'email_account', { id: account.id, name: account.email }));
        return this.dto(actor, account, mailbox);
      });
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) throw this.#exists(grant.email);
      throw err;
    }
  }
}
