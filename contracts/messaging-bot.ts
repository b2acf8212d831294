import { z } from './zod.ts';
import { uuid } from './common.ts';

/**
 * A messaging account's chatbot (issue 19): rules tried in order on each inbound message of a conversation the
 * bot holds (`bot`) — a keyword, the first message, outside business hours in the account's time zone — each
 * answering with a text or template, asking for a field stored on the contact, tagging, assigning, handing over.
 * Once it hands over or a person replies the conversation is `open` and the bot never answers it again.
 *
 * Routes: GET /api/messaging/accounts/:id/bot (-> messagingBot), PUT /api/messaging/accounts/:id/bot (messagingBotInput).
 */

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time, e.g. 09:00');
const validZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

export const botAction = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('reply'),
      text: z.string().trim().min(1).max(1600).optional(),
      templateId: uuid.optional(),
    })
    .strict()
    .refine((a) => !!a.text !== !!a.templateId, { message: 'a reply has a text or a template' }),
  z
    .object({
      kind: z.literal('ask'),
      field: z.enum(['name', 'email', 'company']),
      prompt: z.string().trim().min(1).max(1600),
    })
    .strict(),
  z.object({ kind: z.literal('tag'), tag: z.string().trim().min(1).max(50) }).strict(),
  z.object({ kind: z.literal('assign'), userId: uuid }).strict(),
  z.object({ kind: z.literal('handover') }).strict(),
]);

export const botTrigger = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('keyword'), words: z.array(z.string().trim().min(1).max(50)).min(1).max(20) }).strict(),
  z.object({ kind: z.literal('first_message') }).strict(),
  z.object({ kind: z.literal('outside_hours') }).strict(),
]);

export const botRule = z
  .object({ id: z.string().min(1).max(40), trigger: botTrigger, actions: z.array(botAction).min(1).max(10) })
  .strict();

export const businessHours = z
  .object({
    timeZone: z.string().max(60).refine(validZone, 'must be an IANA time zone, e.g. Europe/Rome'),
    days: z.array(z.object({ day: z.number().int().min(0).max(6), start: hhmm, end: hhmm }).strict()).max(14),
  })
  .strict();

export const messagingBotInput = z
  .object({
    enabled: z.boolean(),
    rules: z.array(botRule).max(30),
    hours: businessHours.nullable().default(null),
  })
  .strict();
export type MessagingBotInput = z.input<typeof messagingBotInput>;

export const messagingBot = z.object({
  accountId: uuid,
  enabled: z.boolean(),
  rules: z.array(botRule),
  hours: businessHours.nullable(),
});
export type MessagingBot = z.infer<typeof messagingBot>;
