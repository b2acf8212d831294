import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import type {
  MessagingAccount as MessagingAccountDto,
  messagingAccountInput,
  messagingAccountPatch,
} from '#contracts/messaging';
import type { MikroORM } from '../../db/orm.ts';
import { MailboxSchema, type Mailbox } from '../../db/entities/mailbox.entity.ts';
import { MessagingAccountSchema, type MessagingAccount } from '../../db/entities/messaging-account.entity.ts';
import type { Secrets } from '../crypto/secrets.ts';
import type { AccessPort } from '../auth/access.ts';
import { HttpError, notFound, validationError } from '../http/errors.ts';
import { audit, change } from '../audit/record.ts';
import { inTenant, requireRole, requireWrite, systemActor, type Actor, type UnitOfWork } from '../tenancy.ts';
import { providerOf } from './providers/registry.ts';
import type { MessagingProviderImpl, ProviderAccount } from './providers/types.ts';

const CREDENTIALS = 'messaging_accounts.credentials';

/** An account loaded for its provider: the row, its mailbox, the provider and its decrypted view. */
export interface LoadedAccount {
  row: MessagingAccount;
  provider: MessagingProviderImpl;
  view: ProviderAccount;
}

/** Messaging accounts of a workspace (owners and admins manage them); each owns a mailbox of kind `messaging`. */
/**
 * What the audit log keeps of an account: never its credentials (a replacement shows as `credentials`, masked by the
 * log); the settings hold numbers, senders and public keys, no secret (Discord's webhook URLs are credentials).
 */
const audited = (row: MessagingAccount, mailbox: Mailbox) => ({
  provider: row.provider,
  name: row.name,
  channels: row.channels,
  enabled: row.enabled,
  createContacts: row.createContacts,
  memberIds: mailbox.memberIds,
  settings: row.settings,
});

export class MessagingAccountsService {
  readonly #orm: MikroORM;
  readonly #secrets: Secrets;
  readonly #publicUrl: string;
  readonly #access: AccessPort | undefined;
  /** After an account is saved: the provider's `connect` (e.g. Telegram's setWebhook), set by the module. */
  onSaved: ((tenantId: string, accountId: string) => Promise<void>) | undefined;
  /** After an account is removed: the provider's `disconnect` (e.g. Telegram's deleteWebhook), set by the module. */
  onRemoved: ((account: LoadedAccount) => Promise<void>) | undefined;

  constructor(deps: { orm: MikroORM; secrets: Secrets; publicUrl: string; access?: AccessPort }) {
    this.#orm = deps.orm;
    this.#secrets = deps.secrets;
    this.#publicUrl = deps.publicUrl;
    this.#access = deps.access;
  }

  webhookUrl(provider: string, accountId: string, hook: string): string {
    return `${this.#publicUrl}/api/messaging/${provider}/${accountId}/${hook}`;
  }

  /** The provider's view of an account: decrypted credentials (never logged), settings and webhook URLs. */
  view(row: MessagingAccount): LoadedAccount {
    const provider = providerOf(row.provider);
    const credentials = JSON.parse(this.#secrets.decrypt(row.credentialsEnc, CREDENTIALS)) as Record<string, string>;
    return {
      row,
      provider,
      view: {
        id: row.id,
        tenantId: row.tenantId,
        credentials,
        settings: row.settings,
        webhookUrl: (hook) => this.webhookUrl(row.provider, row.id, hook),
      },
    };
  }

  /** An account inside the caller's transaction (any kind of actor: jobs load it as Filo). */
  async load(uow: UnitOfWork, id: string): Promise<LoadedAccount> {
    const row = await uow.em.findOne(MessagingAccountSchema, { id });
    if (!row) throw notFound('Messaging account');
    return this.view(row);
  }

  /** The account of a mailbox of kind `messaging`, or null. */
  async ofMailbox(uow: UnitOfWork, mailboxId: string): Promise<LoadedAccount | null> {
    const row = await uow.em.findOne(MessagingAccountSchema, { mailboxId });
    return row ? this.view(row) : null;
  }

  /** For the webhook route: the account's workspace, before any tenant is known (null: unknown or disabled). */
  async tenantOf(accountId: string): Promise<string | null> {
    const rows = (await this.#orm.em
      .fork()
      .execute(`select filo_messaging_account_tenant(?) as tenant_id`, [accountId])) as { tenant_id: string | null }[];
    return rows[0]?.tenant_id ?? null;
  }

  dto(row: MessagingAccount, mailbox: Pick<Mailbox, 'memberIds'>): MessagingAccountDto {
    const provider = providerOf(row.provider);
    return {
      id: row.id,
      provider: row.provider,
      name: row.name,
      channels: row.channels,
      mailboxId: row.mailboxId,
      settings: row.settings,
      hasCredentials: Boolean(row.credentialsEnc),
      createContacts: row.createContacts,
      memberIds: mailbox.memberIds,
      enabled: row.enabled,
      lastError: row.lastError ?? null,
      lastErrorAt: row.lastErrorAt?.toISOString() ?? null,
      webhooks: Object.fromEntries(provider.hooks.map((h) => [h, this.webhookUrl(row.provider, row.id, h)])),
      createdAt: row.createdAt.toISOString(),
      version: row.version,
    };
  }

  /** Accounts whose mailboxes the actor sees (admins: all). */
  async list(actor: Actor): Promise<MessagingAccountDto[]> {
    return inTenant(this.#orm, actor, async (uow) => {
      const rows = await uow.em.find(MessagingAccountSchema, {}, { orderBy: { createdAt: 'asc' } });
      const mailboxes = await uow.em.find(MailboxSchema, { id: { $in: rows.map((r) => r.mailboxId) } });
      const byId = new Map(mailboxes.map((m) => [m.id, m]));
      return rows
        .filter((r) => seesMailbox(actor, byId.get(r.mailboxId)))
        .map((r) => this.dto(r, byId.get(r.mailboxId)!));
    });
  }

  async get(actor: Actor, id: string): Promise<MessagingAccountDto> {
    return inTenant(this.#orm, actor, async (uow) => {
      const row = await uow.em.findOne(MessagingAccountSchema, { id });
      const mailbox = row && (await uow.em.findOne(MailboxSchema, { id: row.mailboxId }));
      if (!row || !mailbox || !seesMailbox(actor, mailbox)) throw notFound('Messaging account');
      return this.dto(row, mailbox);
    });
  }

  async create(actor: Actor, input: z.infer<typeof messagingAccountInput>): Promise<MessagingAccountDto> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    const provider = providerOf(input.provider);
    const credentials = parseWith(provider.credentials, input.credentials, 'credentials');
    const settings = parseWith(provider.settings, input.settings, 'settings');
    const channels = provider.channelsOf(settings as never);
    if (!channels.length)
      throw new HttpError(400, 'validation_failed', 'The account needs a number, a sender or a channel to work on', {
        settings: 'no channel configured',
      });
    const dto = await inTenant(this.#orm, actor, async (uow) => {
      await checkMembers(uow, input.memberIds);
      const mailbox = uow.em.create(MailboxSchema, {
        tenantId: actor.tenantId,
        kind: 'messaging',
        name: input.name.slice(0, 100),
        localPart: `msg-${randomBytes(4).toString('hex')}`,
        createContacts: input.createContacts,
        private: false,
        memberIds: input.memberIds,
      });
      const row = uow.em.create(MessagingAccountSchema, {
        tenantId: actor.tenantId,
        mailboxId: mailbox.id,
        provider: input.provider,
        name: input.name,
        channels,
        credentialsEnc: this.#secrets.encrypt(JSON.stringify(credentials), CREDENTIALS),
        settings: settings as Record<string, unknown>,
        createContacts: input.createContacts,
        createdBy: actor.userId,
      });
      await uow.em.flush();
      await audit(uow, change('messaging_account.created', 'messaging_account', row, null, audited(row, mailbox)));
      return this.dto(row, mailbox);
    });
    await this.#connect(actor.tenantId, dto.id);
    return this.get(actor, dto.id);
  }

  async update(actor: Actor, id: string, patch: z.infer<typeof messagingAccountPatch>): Promise<MessagingAccountDto> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    const dto = await inTenant(this.#orm, actor, async (uow) => {
      const row = await uow.em.findOne(MessagingAccountSchema, { id });
      if (!row) throw notFound('Messaging account');
      if (row.version !== patch.version)
        throw new HttpError(409, 'version_conflict', 'The account was changed meanwhile: reload it');
      const mailbox = await uow.em.findOneOrFail(MailboxSchema, { id: row.mailboxId });
      const before = audited(row, mailbox);
      const provider = providerOf(row.provider);
      if (patch.credentials)
        row.credentialsEnc = this.#secrets.encrypt(
          JSON.stringify(parseWith(provider.credentials, patch.credentials, 'credentials')),
          CREDENTIALS,
        );
      if (patch.settings) {
        const settings = parseWith(provider.settings, patch.settings, 'settings');
        const channels = provider.channelsOf(settings as never);
        if (!channels.length)
          throw new HttpError(400, 'validation_failed', 'The account needs a number, a sender or a channel', {
            settings: 'no channel configured',
          });
        row.settings = settings as Record<string, unknown>;
        row.channels = channels;
      }
      if (patch.name !== undefined) mailbox.name = row.name = patch.name;
      if (patch.createContacts !== undefined) mailbox.createContacts = row.createContacts = patch.createContacts;
      if (patch.enabled !== undefined) row.enabled = patch.enabled;
      if (patch.memberIds !== undefined) {
        await checkMembers(uow, patch.memberIds);
        mailbox.memberIds = patch.memberIds;
        uow.afterCommit(() => this.#access?.changed({ reason: 'mailboxes_changed', tenantId: actor.tenantId }));
      }
      await uow.em.flush();
      const after = { ...audited(row, mailbox), ...(patch.credentials ? { credentials: 'replaced' } : {}) };
      await audit(uow, change('messaging_account.updated', 'messaging_account', row, before, after));
      return this.dto(row, mailbox);
    });
    if (patch.credentials || patch.settings) await this.#connect(actor.tenantId, id);
    return dto;
  }

  /** Removes the account and its mailbox (its conversations and messages go with it). */
  async remove(actor: Actor, id: string): Promise<void> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    const removed = await inTenant(this.#orm, actor, async (uow) => {
      const row = await uow.em.findOne(MessagingAccountSchema, { id });
      if (!row) throw notFound('Messaging account');
      const account = this.view(row);
      await uow.em.nativeDelete(MailboxSchema, { id: row.mailboxId });
      await audit(uow, change('messaging_account.deleted', 'messaging_account', row));
      return account;
    });
    // Once committed: the provider stops calling a webhook that now answers 404.
    await this.onRemoved?.(removed);
  }

  /** Records (or clears) the account's last error, shown in Settings. */
  async setError(tenantId: string, id: string, error: string | null): Promise<void> {
    await inTenant(this.#orm, systemActor(tenantId), async (uow) => {
      await uow.em.nativeUpdate(
        MessagingAccountSchema,
        { id },
        { lastError: error?.slice(0, 2000) ?? null, lastErrorAt: error ? new Date() : null },
      );
    });
  }

  async #connect(tenantId: string, id: string): Promise<void> {
    await this.onSaved?.(tenantId, id);
  }
}

/** Members see a messaging mailbox open to all or naming them; owners and admins see every one. */
export function seesMailbox(actor: Actor, mailbox: Pick<Mailbox, 'memberIds' | 'private'> | undefined): boolean {
  if (!mailbox) return false;
  if (actor.system) return true;
  if (mailbox.private) return mailbox.memberIds.includes(actor.userId);
  return actor.role !== 'member' || !mailbox.memberIds.length || mailbox.memberIds.includes(actor.userId);
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const err = validationError(parsed.error);
    // The fields are named under their part (credentials.authToken), never with the value.
    throw new HttpError(
      400,
      'validation_failed',
      err.message,
      Object.fromEntries(Object.entries(err.fields ?? {}).map(([k, v]) => [`${where}.${k}`, v])),
    );
  }
  return parsed.data;
}

async function checkMembers(uow: UnitOfWork, ids: string[]) {
  if (!ids.length) return;
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
