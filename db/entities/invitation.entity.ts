import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { MEMBER_ROLES } from './membership.entity.ts';
import { tenantOwned, userRef } from './tenant-owned.ts';

/** An emailed invitation to join a workspace; the link carries a token whose hash is stored. */
export const InvitationSchema = defineEntity({
  name: 'Invitation',
  tableName: 'invitations',
  properties: {
    ...tenantOwned,
    email: p.string().length(255),
    role: p.enum(MEMBER_ROLES).default('member'),
    tokenHash: p.string().length(64).unique(),
    invitedBy: () => userRef('invited_by'),
    expiresAt: p.datetime(),
    acceptedAt: p.datetime().nullable(),
  },
  indexes: [{ properties: ['tenantId', 'email'] }],
});
export type Invitation = InferEntity<typeof InvitationSchema>;
