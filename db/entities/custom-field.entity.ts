import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { RECORD_TYPES } from '#contracts/common';
import { CUSTOM_FIELD_TYPES } from '#contracts/crm';
import { tenantOwned } from './tenant-owned.ts';

/** A per-workspace field definition; values live in each record's `custom_fields` (the seed's `custom_fields_config`). */
export const CustomFieldSchema = defineEntity({
  name: 'CustomField',
  tableName: 'custom_fields_config',
  properties: {
    ...tenantOwned,
    entityType: p.enum(RECORD_TYPES),
    fieldName: p.string().length(100),
    fieldLabel: p.string().length(255),
    fieldType: p.enum(CUSTOM_FIELD_TYPES),
    fieldOptions: p.json<string[]>().nullable(),
    isRequired: p.boolean().default(false),
    defaultValue: p.text().nullable(),
    displayOrder: p.integer().default(0),
  },
  uniques: [{ properties: ['tenantId', 'entityType', 'fieldName'] }],
});
export type CustomField = InferEntity<typeof CustomFieldSchema>;
