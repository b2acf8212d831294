import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { tenantOwned, userRef } from './tenant-owned.ts';

/** An address (`name@example.com`) or a whole domain (`@example.com`) whose mail stays out of the CRM. */
export const MailBlocklistSchema = defineEntity({
  name: 'MailBlocklist',
  tableName: 'mail_blocklist',
  properties: {
    ...tenantOwned,
    pattern: p.string().length(320),
    createdBy: () => userRef('created_by'),
  },
  uniques: [{ properties: ['tenantId', 'pattern'] }],
});
export type MailBlocklist = InferEntity<typeof MailBlocklistSchema>;
