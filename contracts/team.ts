import { z } from './zod.ts';
import { isoDate, role, uuid } from './common.ts';
import { tokenGrant, tokenScope } from './auth.ts';

/** The workspace's people and keys: members, invitations, API tokens, and the storage it uses. */

export const member = z.object({
  userId: uuid,
  name: z.string(),
  email: z.string(),
  role,
  joinedAt: isoDate,
});
export type Member = z.infer<typeof member>;
export const memberList = z.object({ items: z.array(member) });

export const roleChange = z.object({ role }).strict();

export const invitationInput = z.object({ email: z.email().max(255), role: role.default('member') }).strict();

/** A sent invitation; the link (and its token) is shown to the inviter once, as it is mailed. */
export const invitation = z.object({
  id: uuid,
  email: z.string(),
  role,
  expiresAt: isoDate,
  inviteUrl: z.string(),
  token: z.string(),
});
export type Invitation = z.infer<typeof invitation>;

/** Requests per minute a token may make unless its creator sets another limit. */
export const DEFAULT_TOKEN_RATE_LIMIT = 600;
const tokenRateLimit = z.number().int().min(1).max(100_000);
const tokenGrants = z.array(tokenGrant).min(1).max(50);
const futureDate = z.iso
  .datetime({ offset: true })
  .refine((d) => Date.parse(d) > Date.now(), { message: 'a date in the future' });

/**
 * A new token: `grants` (per family, read or write, linked kinds), or the older `scope` (`full` or `read` on every
 * family); an optional expiry and requests per minute.
 */
export const apiTokenInput = z
  .object({
    name: z.string().trim().min(1).max(100),
    scope: tokenScope.default('full'),
    grants: tokenGrants.optional(),
    expiresAt: futureDate.nullable().optional(),
    rateLimit: tokenRateLimit.default(DEFAULT_TOKEN_RATE_LIMIT),
  })
  .strict();
export type ApiTokenInput = z.input<typeof apiTokenInput>;

/** A change of a token's name, grants, expiry or limit (its secret stays). */
export const apiTokenPatch = z
  .object({
    name: z.string().trim().min(1).max(100),
    grants: tokenGrants.nullable(),
    expiresAt: futureDate.nullable(),
    rateLimit: tokenRateLimit,
  })
  .partial()
  .strict();
export type ApiTokenPatch = z.infer<typeof apiTokenPatch>;

export const apiToken = z.object({
  id: uuid,
  name: z.string(),
  /** The first characters of the token, to tell tokens apart: the token itself is shown only at creation. */
  prefix: z.string(),
  /** Without grants: `full` or `read` on every family. With grants: `read` when none of them writes. */
  scope: tokenScope,
  /** null: every family, as `scope` says. */
  grants: z.array(tokenGrant).nullable(),
  expiresAt: isoDate.nullable(),
  rateLimit: z.number().int(),
  createdBy: uuid.nullable(),
  createdAt: isoDate,
  lastUsedAt: isoDate.nullable(),
});
export type ApiToken = z.infer<typeof apiToken>;
export const apiTokenList = z.object({ items: z.array(apiToken) });
/** The answer of creating a token: the only time the token itself is shown. */
export const newApiToken = apiToken.extend({ token: z.string() });
export type NewApiToken = z.infer<typeof newApiToken>;

/** How much of its storage quota the workspace uses (documents and kept recordings). */
export const storageUsage = z.object({ usedBytes: z.number().int().min(0), limitBytes: z.number().int().min(0) });
export type StorageUsage = z.infer<typeof storageUsage>;
