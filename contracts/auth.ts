import { z } from './zod.ts';
import { locale, role, uuid } from './common.ts';

/** Who is signed in, in which workspace, with which role: the answers of the auth routes. */

export const user = z.object({
  id: uuid,
  name: z.string(),
  email: z.string(),
  /** The interface language the user chose, kept on the server; `null` until they choose. */
  locale: locale.nullable(),
  /** Where the user's picture is served (to members of their workspaces), with its version; null = none. */
  avatarUrl: z.string().nullable().optional(),
});
export type User = z.infer<typeof user>;

export const workspace = z.object({
  id: uuid,
  name: z.string(),
  slug: z.string(),
  /** Where the workspace's logo is served (to its members), with its version; null = none. */
  logoUrl: z.string().nullable().optional(),
});
export type Workspace = z.infer<typeof workspace>;

/** `GET /api/auth/me`, and the answer of signing in (login, a confirmed sign-up, an accepted invitation). */
export const me = z.object({ user, workspace, role });
export type Me = z.infer<typeof me>;

/** A sign-up request: the same answer whether or not the address has an account (what follows is mailed). */
export const signupRequested = z.object({ status: z.literal('check_inbox') });

/** How a request is authenticated: a browser session (cookie) or an API token (bearer). */
export const AUTH_VIA = ['session', 'token'] as const;
export const authVia = z.enum(AUTH_VIA);
export type AuthVia = z.infer<typeof authVia>;

/** What a session or an API token may do: everything its member may, or only read. */
export const TOKEN_SCOPES = ['full', 'read'] as const;
export const tokenScope = z.enum(TOKEN_SCOPES);
export type TokenScope = z.infer<typeof tokenScope>;

/**
 * The resource families an API token is granted on (docs/architecture.md, "API tokens"). `settings` covers the
 * workspace's administration and the member's own account (team, tokens, workspace, email accounts, sending
 * domains, messaging accounts, audit, retention, backups, profile): a token reaches them only when granted.
 */
export const TOKEN_FAMILIES = [
  'crm',
  'inbox',
  'linked',
  'tasks',
  'meetings',
  'marketing',
  'webhooks',
  'workflows',
  'settings',
] as const;
export const tokenFamily = z.enum(TOKEN_FAMILIES);
export type TokenFamily = z.infer<typeof tokenFamily>;
export const TOKEN_ACCESS = ['read', 'write'] as const;

/** One grant of a scoped token: read (or read and write) one family; a `linked` grant may name one kind. */
export const tokenGrant = z
  .object({
    family: tokenFamily,
    access: z.enum(TOKEN_ACCESS),
    kind: z
      .string()
      .trim()
      .regex(/^[a-z][a-z0-9_]{0,49}$/)
      .optional(),
  })
  .strict()
  .refine((g) => g.kind === undefined || g.family === 'linked', {
    message: 'only a linked grant names a kind',
    path: ['kind'],
  });
export type TokenGrant = z.infer<typeof tokenGrant>;

export const profilePatch = z
  .object({ name: z.string().trim().min(1).max(255), locale: locale.nullable() })
  .partial()
  .strict();
export type ProfilePatch = z.infer<typeof profilePatch>;
