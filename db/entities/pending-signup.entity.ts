import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * A sign-up waiting for the link mailed to its address: the account and workspace are made only from that link.
 * Keyed by the hash of the link's token (the token itself is never stored). Not tenant-owned: no workspace yet.
 */
export const PendingSignupSchema = defineEntity({
  name: 'PendingSignup',
  tableName: 'pending_signups',
  properties: {
    tokenHash: p.string().length(64).primary(),
    createdAt: p
      .datetime()
      .onCreate(() => new Date())
      .defaultRaw('now()'),
    expiresAt: p.datetime().index(),
    confirmedAt: p.datetime().nullable(),
    email: p.string().length(255),
    name: p.string().length(255),
    workspaceName: p.string().length(255),
    passwordHash: p.text(),
  },
});
export type PendingSignup = InferEntity<typeof PendingSignupSchema>;
