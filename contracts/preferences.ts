import { z } from './zod.ts';

/**
 * A member's notification preferences: which notices reach them, in the browser when Filo is in the background,
 * and by email when one stays unread for a while (or once a day as a digest). Stored per user.
 */

export const EMAIL_NOTICE_TYPES = [
  'mention',
  'assignment',
  'task_reminder',
  'task_assigned',
  'meeting_invitation',
  'webhook_disabled',
] as const;
export const emailNoticeType = z.enum(EMAIL_NOTICE_TYPES);

export const notificationPrefs = z
  .object({
    /** A system notification (the Notifications API) while every Filo tab is in the background. */
    browser: z.boolean().default(true),
    /** Email a notice still unread after this many minutes; null = never by email. */
    emailAfterMinutes: z.number().int().min(1).max(1440).nullable().default(15),
    /** One email a day with what is still unread, instead of one per notice. */
    digest: z.enum(['off', 'daily']).default('off'),
    /** The notice types that may be emailed. */
    emailTypes: z.array(emailNoticeType).default([...EMAIL_NOTICE_TYPES]),
  })
  .strict();
export type NotificationPrefs = z.infer<typeof notificationPrefs>;
export const DEFAULT_NOTIFICATION_PREFS: NotificationPrefs = notificationPrefs.parse({});
