import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/** Installation-wide facts, such as whether the demo workspace was ever seeded. */
export const AppMetaSchema = defineEntity({
  name: 'AppMeta',
  tableName: 'app_meta',
  properties: {
    key: p.string().length(100).primary(),
    value: p.json<unknown>(),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date())
      .defaultRaw('now()'),
  },
});
export type AppMeta = InferEntity<typeof AppMetaSchema>;
