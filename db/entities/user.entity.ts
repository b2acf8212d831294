import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { baseProperties } from './base.ts';

/** A person who can sign in; what they may see comes from their memberships. */
export const UserSchema = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    ...baseProperties,
    email: p.string().length(255).unique(),
    name: p.string().length(255),
    passwordHash: p.text().hidden(),
    /** The language the user chose for the app (`it` or `en`); null = follow the browser. */
    locale: p.string().length(10).nullable(),
    /** contracts/preferences.ts `notificationPrefs`; `{}` = the defaults. */
    notificationPrefs: p
      .json<Record<string, unknown>>()
      .onCreate(() => ({}))
      .defaultRaw(`'{}'`),
    /** The blob key of the user's avatar image, when they uploaded one. */
    avatarKey: p.string().length(255).nullable(),
  },
});
export type User = InferEntity<typeof UserSchema>;
