import { z } from './zod.ts';

/**
 * The vocabulary shared by the server and the web app. Everything under contracts/ is plain zod: no Node, no
 * browser, no import from server/ or web/, so both sides can load it.
 */

/** The CRM records a timeline, a note, a document or a watch can belong to. */
export const RECORD_TYPES = ['company', 'contact', 'deal'] as const;
export const recordType = z.enum(RECORD_TYPES);
export type RecordType = z.infer<typeof recordType>;

/** What an activity can be about: a CRM record, or a conversation of the inbox. */
export const ENTITY_TYPES = [...RECORD_TYPES, 'conversation'] as const;
export const entityType = z.enum(ENTITY_TYPES);
export type EntityType = z.infer<typeof entityType>;

/** The channels a conversation can run on (only email is wired today). */
export const CHANNELS = ['email', 'sms', 'whatsapp', 'telegram', 'discord'] as const;
export const channel = z.enum(CHANNELS);
export type Channel = z.infer<typeof channel>;

export const ROLES = ['owner', 'admin', 'member'] as const;
export const role = z.enum(ROLES);
export type Role = z.infer<typeof role>;

export const LOCALES = ['it', 'en'] as const;
export const locale = z.enum(LOCALES);
export type Locale = z.infer<typeof locale>;

/** Dates travel as ISO 8601 strings. */
export const isoDate = z.string();
/** An id: any 8-4-4-4-12 hex string (a malformed one is a 400, never a query on it). */
export const uuid = z.guid();

/** A keyset page: `nextCursor` is the opaque cursor of the following page, `null` at the end. */
export function page<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}
export type Page<T> = { items: T[]; nextCursor: string | null };

/** `{ ok: true }`, the answer of commands with nothing else to say. */
export const ok = z.object({ ok: z.literal(true) });

/** Every error answer: `{ error: { code, message, fields? } }`. */
export const apiError = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    fields: z.record(z.string(), z.string()).optional(),
    /** Why each field failed, machine-readable (the web words it in the user's language beside the field). */
    issues: z.record(z.string(), z.object({ reason: z.string(), limit: z.number().optional() })).optional(),
  }),
});
export type ApiError = z.infer<typeof apiError>;

/**
 * The 409 `version_conflict` of an edit made on a stale version: the record as it is now (`current`), and who
 * changed it last and when, as far as its timeline tells (`changedBy` null: Filo itself, or unknown).
 */
export function versionConflict<T extends z.ZodType>(current: T) {
  return z.object({
    error: apiError.shape.error.extend({
      code: z.literal('version_conflict'),
      current,
      changedBy: z.object({ id: uuid, name: z.string() }).nullable(),
      changedAt: isoDate.nullable(),
    }),
  });
}
export type VersionConflict<T> = {
  code: 'version_conflict';
  message: string;
  current: T;
  changedBy: { id: string; name: string } | null;
  changedAt: string | null;
};
