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
  },
});
export type User = InferEntity<typeof UserSchema>;
