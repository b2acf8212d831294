import {
  ACCOUNT_PRESETS,
  type AccountProvider,
  type AccountVisibility,
  type ConnectionSecurity,
  type EmailAccountView,
  type ServerInput,
} from '#contracts/accounts';
import type { EmailAccount } from '../../db/entities/email-account.entity.ts';
import type { Mailbox } from '../../db/entities/mailbox.entity.ts';
import { HttpError } from '../http/errors.ts';
import type { Actor } from '../tenancy.ts';

/** An account's settings as the API takes and shows them: each side's server, who sees it, the answer's shape. */

export type Side = 'imap' | 'smtp';
export interface Settings {
  host: string;
  port: number;
  security: ConnectionSecurity;
  user: string;
}

const DEFAULT_PORTS: Record<Side, Record<ConnectionSecurity, number>> = {
  imap: { tls: 993, starttls: 143, none: 143 },
  smtp: { tls: 465, starttls: 587, none: 25 },
};

/** One side's settings from the input, the provider's preset and what is stored, in that order. */
export function settingsOf(
  side: Side,
  provider: AccountProvider,
  email: string,
  input: ServerInput | undefined,
  stored?: Settings,
): Settings {
  const preset = provider === 'imap' ? undefined : ACCOUNT_PRESETS[provider][side];
  const host = input?.host ?? stored?.host ?? preset?.host;
  if (!host)
    throw new HttpError(400, 'validation_failed', `The ${side.toUpperCase()} server is missing`, {
      [`${side}.host`]: 'is required',
    });
  const security = input?.security ?? stored?.security ?? preset?.security ?? 'tls';
  const port =
    input?.port ??
    (input?.security !== undefined ? undefined : stored?.port) ??
    (preset && preset.security === security ? preset.port : DEFAULT_PORTS[side][security]);
  return { host, port, security, user: input?.user ?? stored?.user ?? email };
}

export const same = (a: Settings, b: Settings) =>
  a.host === b.host && a.port === b.port && a.security === b.security && a.user === b.user;

const iso = (d: Date | null | undefined) => (d ? new Date(d).toISOString() : null);

export function visibilityOf(mailbox: Mailbox): { visibility: AccountVisibility; memberIds: string[] } {
  if (!mailbox.private) return { visibility: 'team', memberIds: [] };
  return mailbox.memberIds.length > 1
    ? { visibility: 'members', memberIds: mailbox.memberIds.slice(1) }
    : { visibility: 'private', memberIds: [] };
}

/** The owner first, then the members chosen (no repeats). */
export function mailboxAccess(
  visibility: AccountVisibility,
  ownerId: string,
  chosen: string[],
): Pick<Mailbox, 'private' | 'memberIds'> {
  if (visibility === 'team') return { private: false, memberIds: [] };
  if (visibility === 'private') return { private: true, memberIds: [ownerId] };
  return { private: true, memberIds: [ownerId, ...new Set(chosen.filter((id) => id !== ownerId))] };
}

export const isEditor = (actor: Actor, account: EmailAccount) =>
  !actor.system ? account.ownerId === actor.userId || actor.role !== 'member' : true;

/** The account as the API answers it: secrets only as `hasPassword`, who sees it, its health. */
export function accountView(actor: Actor, account: EmailAccount, mailbox: Mailbox): EmailAccountView {
  return {
    id: account.id,
    mailboxId: account.mailboxId,
    ownerId: account.ownerId ?? null,
    own: account.ownerId === actor.userId,
    canEdit: isEditor(actor, account),
    email: account.email,
    displayName: account.displayName ?? null,
    aliases: account.aliases,
    provider: account.provider,
    authMethod: account.authMethod,
    imap: {
      host: account.imapHost,
      port: account.imapPort,
      security: account.imapSecurity,
      user: account.imapUser,
      hasPassword: Boolean(account.imapPasswordEnc),
    },
    smtp: {
      host: account.smtpHost,
      port: account.smtpPort,
      security: account.smtpSecurity,
      user: account.smtpUser,
      hasPassword: Boolean(account.smtpPasswordEnc),
    },
    oauth:
      account.authMethod === 'oauth2'
        ? { connected: Boolean(account.oauthRefreshTokenEnc), expiresAt: iso(account.oauthExpiresAt) }
        : null,
    syncDays: account.syncDays,
    mirrorReadState: account.mirrorReadState,
    providerSavesSent: account.providerSavesSent,
    enabled: account.enabled,
    ...visibilityOf(mailbox),
    status: account.status,
    syncDone: account.syncDone,
    syncTotal: account.syncTotal,
    lastError: account.lastError ?? null,
    lastErrorAt: iso(account.lastErrorAt),
    lastSyncAt: iso(account.lastSyncAt),
    connectedAt: iso(account.connectedAt),
    createdAt: account.createdAt.toISOString(),
    updatedAt: account.updatedAt.toISOString(),
    version: account.version,
  };
}
