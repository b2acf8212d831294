import { p } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';

/** Shared columns: a UUID primary key and the row's creation time. */
export const baseProperties = {
  id: p
    .uuid()
    .primary()
    .onCreate(() => randomUUID()),
  createdAt: p
    .datetime()
    .onCreate(() => new Date())
    .defaultRaw('now()'),
};
