import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { MailboxSchema } from './mailbox.entity.ts';
import { UserSchema } from './user.entity.ts';
import { tenantOwned, timestamps, versioned } from './tenant-owned.ts';

/**
 * A signature appended to outgoing mail. Its slot says whose it is: a user's for one mailbox (user and mailbox),
 * a user's default (user only) or a mailbox's (mailbox only); one signature per slot.
 */
export const SignatureSchema = defineEntity({
  name: 'Signature',
  tableName: 'signatures',
  properties: {
    ...tenantOwned,
    userId: () =>
      p.manyToOne(UserSchema).mapToPk().fieldName('user_id').nullable().deleteRule('cascade').updateRule('cascade'),
    mailboxId: () =>
      p
        .manyToOne(MailboxSchema)
        .mapToPk()
        .fieldName('mailbox_id')
        .nullable()
        .deleteRule('cascade')
        .updateRule('cascade'),
    /** Markdown; may use `{{user.name}}` and `{{mailbox.name}}`. */
    body: p.text(),
    ...timestamps,
    version: versioned(),
  },
  indexes: [
    { properties: ['tenantId', 'userId'] },
    { properties: ['tenantId', 'mailboxId'] },
    {
      name: 'signatures_slot_unique',
      expression: `create unique index "signatures_slot_unique" on "signatures" ("tenant_id", coalesce("user_id", '00000000-0000-0000-0000-000000000000'::uuid), coalesce("mailbox_id", '00000000-0000-0000-0000-000000000000'::uuid))`,
    },
  ],
  checks: [{ name: 'signatures_owner_check', expression: '"user_id" is not null or "mailbox_id" is not null' }],
});
export type Signature = InferEntity<typeof SignatureSchema>;
