import { z } from 'zod';
import type { MikroORM } from '../../db/orm.ts';
import { recordType, type RecordType } from '#contracts/common';
import { CUSTOM_FIELD_TYPES, normalizeUrl } from '#contracts/crm';
import { CustomFieldSchema, type CustomField } from '../../db/entities/custom-field.entity.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { inTenant, requireRole, requireWrite, type Actor, type UnitOfWork } from '../tenancy.ts';

/**
 * A record type's definitions, read once per transaction (its EntityManager): a batch of inbound mail creates many
 * contacts in one. Definitions change only in transactions of their own (create, update, remove below).
 */
const definitions = new WeakMap<object, Map<RecordType, Promise<CustomField[]>>>();
function definitionsOf(em: UnitOfWork['em'], entityType: RecordType): Promise<CustomField[]> {
  let byType = definitions.get(em);
  if (!byType) definitions.set(em, (byType = new Map()));
  let defs = byType.get(entityType);
  if (!defs) byType.set(entityType, (defs = em.find(CustomFieldSchema, { entityType })));
  return defs;
}

const customFieldShape = z.object({
  entityType: recordType,
  fieldName: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,99}$/, 'must start with a letter and use only a-z, 0-9 and _ (max 100)'),
  fieldLabel: z.string().trim().min(1).max(255),
  fieldType: z.enum(CUSTOM_FIELD_TYPES),
  fieldOptions: z.array(z.string().trim().min(1).max(255)).max(200).nullable().optional(),
  isRequired: z.boolean().default(false),
  defaultValue: z.string().max(10_000).nullable().optional(),
  displayOrder: z.number().int().min(0).max(10_000).default(0),
});

export const customFieldInput = customFieldShape.strict().superRefine((v, ctx) => {
  const needsOptions = v.fieldType === 'select' || v.fieldType === 'multiselect';
  if (needsOptions && !v.fieldOptions?.length)
    ctx.addIssue({ code: 'custom', path: ['fieldOptions'], message: `a ${v.fieldType} field needs options` });
  if (!needsOptions && v.fieldOptions?.length)
    ctx.addIssue({
      code: 'custom',
      path: ['fieldOptions'],
      message: `only select and multiselect fields have options`,
    });
});
export type CustomFieldInput = z.infer<typeof customFieldInput>;

/** What a PATCH may change: not the record type, and not the name (values are stored under it). */
export const customFieldPatch = customFieldShape
  .omit({ entityType: true, fieldName: true })
  .extend({ isRequired: z.boolean(), displayOrder: z.number().int().min(0).max(10_000) })
  .partial()
  .strict();

const URL_RE = /^https?:\/\/[^\s/$.?#].[^\s]*$/i;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const emailSchema = z.email();

/** Why a value does not fit a definition, or null when it does. */
function problem(def: CustomField, value: unknown): string | null {
  switch (def.fieldType) {
    case 'text':
      return typeof value === 'string' && value.length <= 10_000 ? null : 'must be text (at most 10,000 characters)';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? null : 'must be a number';
    case 'boolean':
      return typeof value === 'boolean' ? null : 'must be true or false';
    case 'date':
      return typeof value === 'string' && DATE_RE.test(value) && !Number.isNaN(Date.parse(value))
        ? null
        : 'must be a date as YYYY-MM-DD';
    case 'url':
      return typeof value === 'string' && URL_RE.test(value) ? null : 'must be an http(s) URL';
    case 'email':
      return emailSchema.safeParse(value).success ? null : 'must be an email address';
    case 'select':
      return typeof value === 'string' && def.fieldOptions?.includes(value)
        ? null
        : `must be one of: ${def.fieldOptions?.join(', ')}`;
    case 'multiselect':
      return Array.isArray(value) && value.every((v) => typeof v === 'string' && def.fieldOptions?.includes(v))
        ? null
        : `must be a list drawn from: ${def.fieldOptions?.join(', ')}`;
  }
}

function parseDefault(def: CustomField): unknown {
  if (def.defaultValue == null) return undefined;
  switch (def.fieldType) {
    case 'number':
      return Number(def.defaultValue);
    case 'boolean':
      return def.defaultValue === 'true';
    case 'multiselect':
      return def.defaultValue.split(',').map((s) => s.trim());
    default:
      return def.defaultValue;
  }
}

export class CustomFieldsService {
  readonly #orm: MikroORM;

  constructor(orm: MikroORM) {
    this.#orm = orm;
  }

  list(actor: Actor, entityType?: string): Promise<CustomField[]> {
    return inTenant(this.#orm, actor, ({ em }) =>
      em.find(CustomFieldSchema, entityType ? { entityType: entityType as never } : {}, {
        orderBy: { entityType: 'asc', displayOrder: 'asc', fieldName: 'asc' },
      }),
    );
  }

  create(actor: Actor, input: CustomFieldInput): Promise<CustomField> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    return inTenant(this.#orm, actor, async ({ em }) => {
      const exists = await em.count(CustomFieldSchema, { entityType: input.entityType, fieldName: input.fieldName });
      if (exists) throw new HttpError(409, 'conflict', `A ${input.entityType} field named ${input.fieldName} exists`);
      const def = em.create(CustomFieldSchema, {
        ...input,
        fieldOptions: input.fieldOptions ?? null,
        defaultValue: input.defaultValue ?? null,
        tenantId: actor.tenantId,
      });
      const bad = def.defaultValue == null ? null : problem(def, parseDefault(def));
      if (bad) throw new HttpError(400, 'validation_failed', 'The default value does not fit', { defaultValue: bad });
      await em.flush();
      return def;
    });
  }

  update(actor: Actor, id: string, patch: z.infer<typeof customFieldPatch>): Promise<CustomField> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    return inTenant(this.#orm, actor, async ({ em }) => {
      const def = await em.findOne(CustomFieldSchema, { id });
      if (!def) throw notFound('Custom field');
      const merged = customFieldInput.safeParse({
        entityType: def.entityType,
        fieldName: def.fieldName,
        fieldLabel: patch.fieldLabel ?? def.fieldLabel,
        fieldType: patch.fieldType ?? def.fieldType,
        fieldOptions: patch.fieldOptions !== undefined ? patch.fieldOptions : def.fieldOptions,
        isRequired: patch.isRequired ?? def.isRequired,
        defaultValue: patch.defaultValue !== undefined ? patch.defaultValue : def.defaultValue,
        displayOrder: patch.displayOrder ?? def.displayOrder,
      });
      if (!merged.success) {
        const fields = Object.fromEntries(merged.error.issues.map((i) => [i.path.join('.'), i.message]));
        throw new HttpError(400, 'validation_failed', 'The custom field is not valid', fields);
      }
      em.assign(def, { ...merged.data, fieldOptions: merged.data.fieldOptions ?? null });
      await em.flush();
      return def;
    });
  }

  remove(actor: Actor, id: string): Promise<void> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    return inTenant(this.#orm, actor, async ({ em }) => {
      const def = await em.findOne(CustomFieldSchema, { id });
      if (!def) throw notFound('Custom field');
      em.remove(def);
      await em.flush();
    });
  }

  /**
   * Checks `values` against the workspace's definitions for that record type: unknown names, wrong types,
   * missing required fields (on create, after defaults). Returns the values to store; throws a 400 otherwise.
   */
  async validate(
    { em }: UnitOfWork,
    entityType: RecordType,
    values: Record<string, unknown>,
    existing: Record<string, unknown> | null,
  ): Promise<Record<string, unknown>> {
    const defs = await definitionsOf(em, entityType);
    const byName = new Map(defs.map((d) => [d.fieldName, d]));
    const fields: Record<string, string> = {};
    const result: Record<string, unknown> = { ...(existing ?? {}) };
    for (const [name, value] of Object.entries(values)) {
      const def = byName.get(name);
      if (!def) fields[`customFields.${name}`] = 'is not a custom field of this workspace';
      else if (value === null) delete result[name];
      else {
        // A bare domain is a web address too, stored as https://.
        const v = def.fieldType === 'url' && typeof value === 'string' ? normalizeUrl(value) : value;
        const bad = problem(def, v);
        if (bad) fields[`customFields.${name}`] = bad;
        else result[name] = v;
      }
    }
    for (const def of defs) {
      if (existing === null && result[def.fieldName] === undefined) {
        const fallback = parseDefault(def);
        if (fallback !== undefined) result[def.fieldName] = fallback;
      }
      if (def.isRequired && (result[def.fieldName] === undefined || result[def.fieldName] === ''))
        fields[`customFields.${def.fieldName}`] ??= 'is required';
    }
    if (Object.keys(fields).length)
      throw new HttpError(400, 'validation_failed', 'Custom fields are not valid', fields);
    return result;
  }
}
