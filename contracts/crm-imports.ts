import { z } from './zod.ts';
import { importType, type ImportType } from './crm.ts';

/** What a CSV column can feed, per record type (plus `cf.<name>` for the workspace's custom fields). */
export const IMPORT_TARGETS = {
  company: [
    'name',
    'domain',
    'website',
    'type',
    'status',
    'vatNumber',
    'taxCode',
    'industry',
    'size',
    'annualRevenue',
    'tags',
    'billingStreet',
    'billingCity',
    'billingPostalCode',
    'billingProvince',
    'billingCountry',
    'shippingStreet',
    'shippingCity',
    'shippingPostalCode',
    'shippingProvince',
    'shippingCountry',
  ],
  contact: [
    'fullName',
    'firstName',
    'lastName',
    'email',
    'phone',
    'mobile',
    'company',
    'role',
    'department',
    'isPrimary',
    'birthday',
    'linkedinUrl',
    'tags',
    'status',
    'notes',
  ],
} as const satisfies Record<ImportType, readonly string[]>;

export const ON_DUPLICATE = ['skip', 'update'] as const;
export const onDuplicate = z.enum(ON_DUPLICATE);
export type OnDuplicate = z.infer<typeof onDuplicate>;

export const IMPORT_LANGS = ['en', 'it'] as const;
export const importLang = z.enum(IMPORT_LANGS);
export type ImportLang = z.infer<typeof importLang>;

/** A column's target: a standard field, `cf.<name>`, or `null` (ignored). */
export const importTarget = z
  .string()
  .max(110)
  .regex(/^(cf\.[a-z][a-z0-9_]*|[a-zA-Z]+)$/)
  .nullable();

/** The mapping sent with the file: one target per CSV column, in the file's order. */
export const importMapping = z.array(importTarget).max(500);
export type ImportMapping = z.infer<typeof importMapping>;

/** A field a column can feed, with its label in the language asked for. */
export const importField = z.object({ key: z.string(), label: z.string() });

/** The file's header and first rows, with the mapping the server proposes for each column. */
export const importPreview = z.object({
  entityType: importType,
  columns: z.array(
    z.object({
      header: z.string(),
      /** The proposed target; `null` = ignore. */
      field: z.string().nullable(),
    }),
  ),
  /** The first data rows (at most 5), cells by column. */
  rows: z.array(z.array(z.string())),
  fields: z.array(importField),
  /** Whether the file has more rows than shown (the preview never reads the whole file). */
  more: z.boolean(),
});
export type ImportPreview = z.infer<typeof importPreview>;
