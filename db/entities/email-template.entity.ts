import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { tenantOwned, timestamps, userRef, versioned } from './tenant-owned.ts';

/** A reusable reply of the workspace, with personalization tokens such as `{{contact.first_name | "there"}}`. */
export const EmailTemplateSchema = defineEntity({
  name: 'EmailTemplate',
  tableName: 'email_templates',
  properties: {
    ...tenantOwned,
    name: p.string().length(100),
    /** Used as the subject of a new message; a reply keeps the conversation's subject. */
    subject: p.string().length(998).nullable(),
    /** Markdown with tokens; validated when saved. */
    body: p.text(),
    createdBy: () => userRef('created_by'),
    ...timestamps,
    version: versioned(),
  },
  indexes: [{ properties: ['tenantId', 'name'] }],
});
export type EmailTemplate = InferEntity<typeof EmailTemplateSchema>;
