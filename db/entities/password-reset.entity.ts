import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { UserSchema } from './user.entity.ts';

/**
 * A password reset link mailed to a user: only the SHA-256 of its token is stored; it works once, for an hour.
 * Not tenant-owned: a user (global) forgot their password before any workspace is known.
 */
export const PasswordResetSchema = defineEntity({
  name: 'PasswordReset',
  tableName: 'password_resets',
  properties: {
    tokenHash: p.string().length(64).primary(),
    user: () => p.manyToOne(UserSchema).deleteRule('cascade').index(),
    createdAt: p
      .datetime()
      .onCreate(() => new Date())
      .defaultRaw('now()'),
    expiresAt: p.datetime().index(),
    usedAt: p.datetime().nullable(),
    /** The address the reset was asked from (shown to nobody; kept for an operator's inquiry). */
    requestedIp: p.string().length(64).nullable(),
  },
});
export type PasswordReset = InferEntity<typeof PasswordResetSchema>;
