import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { UserSchema } from './user.entity.ts';
import { tenantOwned, userRef } from './tenant-owned.ts';

/** Something a user should see: for now, being @mentioned in a note. */
export const NotificationSchema = defineEntity({
  name: 'Notification',
  tableName: 'notifications',
  properties: {
    ...tenantOwned,
    userId: () => p.manyToOne(UserSchema).mapToPk().fieldName('user_id').deleteRule('cascade').updateRule('cascade'),
    type: p.string().length(50),
    title: p.string().length(255),
    body: p.text().nullable(),
    entityType: p.string().length(50).nullable(),
    entityId: p.uuid().nullable(),
    noteId: p.uuid().nullable(),
    /** The payload of its type (contracts/timeline.ts): what the web needs to say it in the reader's language. */
    data: p
      .json<Record<string, unknown>>()
      .onCreate(() => ({}))
      .defaultRaw(`'{}'`),
    actorId: () => userRef('actor_id'),
    readAt: p.datetime().nullable(),
    /** When it went out by email (still unread after the user's delay, or in a digest); null = not emailed. */
    emailedAt: p.datetime().nullable(),
  },
  indexes: [
    { properties: ['tenantId', 'userId', 'createdAt'] },
    // The email job's scan across workspaces (filo_notify_due): only what may still need a mail.
    {
      name: 'notifications_unemailed_index',
      expression: `create index "notifications_unemailed_index" on "notifications" ("created_at") where "read_at" is null and "emailed_at" is null`,
    },
  ],
});
export type Notification = InferEntity<typeof NotificationSchema>;
