import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { ROLES, type Role } from '#contracts/common';
import { TenantSchema } from './tenant.entity.ts';
import { UserSchema } from './user.entity.ts';

export const MEMBER_ROLES = ROLES;
export type MemberRole = Role;

/** A user's place in a workspace, with their role there. */
export const MembershipSchema = defineEntity({
  name: 'Membership',
  tableName: 'memberships',
  properties: {
    tenant: () => p.manyToOne(TenantSchema).primary().deleteRule('cascade'),
    user: () => p.manyToOne(UserSchema).primary().deleteRule('cascade').index(),
    role: p.enum(MEMBER_ROLES).default('member'),
    createdAt: p
      .datetime()
      .onCreate(() => new Date())
      .defaultRaw('now()'),
  },
});
export type Membership = InferEntity<typeof MembershipSchema>;
