import { z } from './zod.ts';
import { isoDate, role, uuid } from './common.ts';

/** Workspace settings (name, logo, currency, time zone, business hours) and the pending invitations of a team. */

let currencies: Set<string> | undefined;
/** ISO 4217 codes the JavaScript runtime knows (`Intl.supportedValuesOf('currency')`). */
export const currencyCodes = (): string[] => [...(currencies ??= new Set(Intl.supportedValuesOf('currency')))];
let zones: Set<string> | undefined;
/** IANA time zones the runtime knows, and UTC. */
export const timeZones = (): string[] => [...(zones ??= new Set(['UTC', ...Intl.supportedValuesOf('timeZone')]))];

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time as HH:MM');

/** Days (Monday = 1 ... Sunday = 7) and the hours the team works on them, in the workspace's time zone. */
export const businessHours = z
  .object({
    days: z
      .array(z.number().int().min(1).max(7))
      .min(1, 'choose at least one day')
      .max(7)
      .refine((days) => new Set(days).size === days.length, 'each day once'),
    start: hhmm,
    end: hhmm,
  })
  .strict()
  .refine((b) => b.start < b.end, { message: 'must be after the opening time', path: ['end'] });
export type BusinessHours = z.infer<typeof businessHours>;

export const workspaceSettings = z.object({
  id: uuid,
  name: z.string(),
  slug: z.string(),
  currency: z.string(),
  timeZone: z.string(),
  businessHours: businessHours.nullable(),
  /** Where the logo is served (members only), with a version that changes with it; null = none. */
  logoUrl: z.string().nullable(),
});
export type WorkspaceSettings = z.infer<typeof workspaceSettings>;

/** A change of the workspace's settings: only the fields sent change (last write wins per field). */
export const workspacePatch = z
  .object({
    name: z.string().trim().min(1).max(255),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR')
      .refine((c) => currencyCodes().includes(c), 'is not a known ISO 4217 currency'),
    timeZone: z
      .string()
      .max(64)
      .refine((tz) => timeZones().includes(tz), 'is not a known IANA time zone'),
    businessHours: businessHours.nullable(),
  })
  .partial()
  .strict();
export type WorkspacePatch = z.infer<typeof workspacePatch>;

/** An invitation not accepted yet (an expired one stays listed until resent or revoked). */
export const pendingInvitation = z.object({
  id: uuid,
  email: z.string(),
  role,
  invitedBy: z.string().nullable(),
  sentAt: isoDate,
  expiresAt: isoDate,
  expired: z.boolean(),
});
export type PendingInvitation = z.infer<typeof pendingInvitation>;
export const pendingInvitationList = z.object({ items: z.array(pendingInvitation) });
