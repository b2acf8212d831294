import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { NOTE_TYPES, type NoteAttachment } from '#contracts/crm';
import { tenantOwned, userRef, versioned } from './tenant-owned.ts';

/** A Markdown note by a team member on any record, with @mentions (the seed's `notes`). */
export const NoteSchema = defineEntity({
  name: 'Note',
  tableName: 'notes',
  properties: {
    ...tenantOwned,
    entityType: p.string().length(50),
    entityId: p.uuid(),
    content: p.text(),
    noteType: p.enum(NOTE_TYPES).default('general'),
    isPinned: p.boolean().default(false),
    mentions: p.array().columnType('uuid[]').defaultRaw(`'{}'`),
    attachments: p
      .json<NoteAttachment[]>()
      .onCreate(() => [])
      .defaultRaw(`'[]'`),
    createdBy: () => userRef('created_by'),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date())
      .defaultRaw('now()'),
    version: versioned(),
  },
  indexes: [{ properties: ['tenantId', 'entityType', 'entityId'] }],
});
export type Note = InferEntity<typeof NoteSchema>;
