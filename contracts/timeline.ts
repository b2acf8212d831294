import { z } from './zod.ts';
import { ENTITY_TYPES, isoDate, uuid } from './common.ts';

/**
 * The timeline: an activity as GET /api/crm/timeline, `record:watch` and `activity:new` send it, with a payload
 * (`data`) typed per activity type, and the notifications of the bell. Payloads carry what the web needs to say
 * an entry in the reader's language (names, subjects, from/to); the English `title` is for API readers only.
 * Fields added after rows were first written are optional: the web falls back to a neutral word without them.
 */

/** What an activity can be written on: a record, a conversation, or a meeting linked to neither. */
export const ACTIVITY_ENTITY_TYPES = [...ENTITY_TYPES, 'meeting'] as const;
export const activityEntityType = z.enum(ACTIVITY_ENTITY_TYPES);

/** An email address with its display name ('' when the header gave none). */
export const mailAddress = z.object({ address: z.string(), name: z.string() });
export type MailAddress = z.infer<typeof mailAddress>;

const text = z.string();
const maybe = <T extends z.ZodType>(s: T) => s.nullable().optional();

// Unknown keys pass: a writer may say more than the web reads, and old rows keep what they had.
const payload = <T extends z.ZodRawShape>(shape: T) => z.looseObject(shape);

/** A company, contact or deal created or deleted: its name as shown when it happened. */
const recordNamed = payload({ name: text.optional() });
const recordUpdated = payload({
  name: text.optional(),
  /** Per changed field, `{from, to}`; `customFields.<name>` for a custom field. */
  changes: z.record(z.string(), z.unknown()),
  /** A deal's currency, to show a changed value as money. */
  currency: maybe(text),
});
const stageChanged = payload({
  name: text.optional(),
  from: maybe(text),
  to: text,
  value: maybe(z.union([z.string(), z.number()])),
  probability: maybe(z.number()),
  currency: maybe(text),
});

const noteData = payload({
  noteId: uuid,
  noteType: text.optional(),
  isPinned: z.boolean().optional(),
  mentions: z.array(uuid).optional(),
  /** The name of the record (or the subject of the conversation) the note is on. */
  recordName: text.optional(),
});

const documentData = payload({
  documentId: uuid,
  fileName: text,
  fileSize: z.number().optional(),
  category: text.optional(),
});

const mailRefs = {
  conversationId: uuid,
  emailMessageId: uuid.optional(),
  mailboxId: uuid.optional(),
  messageId: maybe(text),
  subject: text,
};
const emailReceived = payload({
  ...mailRefs,
  from: mailAddress.nullable(),
  attachments: z.number().int().optional(),
  auth: payload({ spf: text, dkim: text, dmarc: text }).optional(),
});
const emailSent = payload({
  ...mailRefs,
  to: z.array(mailAddress),
  cc: z.array(mailAddress).optional(),
  attachments: z.number().int().optional(),
  transport: maybe(text),
  /** The teammate who wrote it (rows written before it was kept: the activity's actor). */
  sentBy: maybe(z.object({ id: uuid, name: text })),
});
const emailTracked = payload({
  ...mailRefs,
  to: z.array(mailAddress),
  url: maybe(text),
  linkIndex: maybe(z.number().int()),
});
const emailBounced = payload({
  /** The contact's address that bounced. */
  to: maybe(text),
  status: maybe(text),
  action: maybe(text),
  reason: maybe(text),
  inboundId: uuid.optional(),
  /** A bulk send (a campaign's) that bounced, found by its VERP return path. */
  campaignId: maybe(uuid),
  sendId: maybe(uuid),
});

/** A newsletter campaign on a recipient's timeline: sent, first opened by a person, a link first clicked. */
const campaignRefs = {
  campaignId: uuid,
  campaignName: text,
  subject: text,
  sendId: uuid.optional(),
  variant: maybe(text),
};
const campaignData = payload(campaignRefs);
const campaignClicked = payload({ ...campaignRefs, url: maybe(text), linkIndex: maybe(z.number().int()) });
/** A spam complaint (an ARF feedback report) about our mail to this address. */
const emailComplained = payload({
  to: maybe(text),
  campaignId: maybe(uuid),
  sendId: maybe(uuid),
  feedbackType: maybe(text),
  inboundId: uuid.optional(),
});
/** Consent given or withdrawn, for a list or (no list) the whole channel. */
const consentData = payload({
  channel: text,
  address: maybe(text),
  listId: maybe(uuid),
  listName: maybe(text),
  status: text,
  source: text,
});

const conversationRefs = { conversationId: uuid, mailboxId: uuid, subject: text.optional() };
const conversationStatus = payload({
  ...conversationRefs,
  from: text,
  to: text,
  snoozedUntil: maybe(isoDate),
  reason: text.optional(),
});
const conversationAssigned = payload({
  ...conversationRefs,
  from: uuid.nullable(),
  to: uuid.nullable(),
  assigneeName: text.nullable(),
});

const meeting = {
  meetingId: uuid,
  title: text,
  kind: text.optional(),
  status: text.optional(),
  scheduledAt: maybe(isoDate),
  durationMinutes: maybe(z.number()),
};
const meetingData = payload(meeting);
const meetingUpdated = payload({ ...meeting, changed: z.array(text).optional() });
const meetingCompleted = payload({
  ...meeting,
  noteId: maybe(uuid),
  durationSeconds: z.number().optional(),
  participants: z.array(text).optional(),
  endReason: text.optional(),
  startedAt: isoDate.optional(),
  endedAt: isoDate.optional(),
});
const meetingTranscript = payload({ ...meeting, noteId: maybe(uuid) });
const meetingRecording = payload({
  ...meeting,
  recordingId: uuid,
  recordingUrl: maybe(text),
  durationSeconds: maybe(z.number()),
});

/** A task on a record: its title and due time as they were, and who it is for. */
const taskData = payload({
  taskId: uuid,
  title: text,
  dueAt: maybe(isoDate),
  assignee: maybe(z.object({ id: uuid, name: text })),
  /** For task.updated: per changed field, `{from, to}`. */
  changes: z.record(z.string(), z.unknown()).optional(),
});
export const CALL_OUTCOMES = ['connected', 'voicemail', 'no_answer', 'busy', 'wrong_number'] as const;
/** A phone call a member made or took, logged by hand: who was called, how it went, for how long. */
const callLogged = payload({
  phone: maybe(text),
  contactName: maybe(text),
  /** The company called (or the contact's), as named then. */
  companyName: maybe(text),
  direction: z.enum(['outbound', 'inbound']),
  outcome: z.enum(CALL_OUTCOMES),
  durationSeconds: maybe(z.number().int().min(0)),
  note: maybe(text),
});

/** A prospect's way through a cold-email sequence (on the contact's and its company's timeline). */
const sequenceData = payload({
  sequenceId: uuid,
  sequenceName: text,
  enrolmentId: uuid,
  /** step_sent: the step, its subject as sent and the mailbox it went from. */
  stepId: maybe(uuid),
  position: maybe(z.number().int()),
  subject: maybe(text),
  from: maybe(text),
  /** stopped: why (contracts/sequences.ts STOP_REASONS). */
  reason: maybe(text),
});

/** A message on a messaging channel (SMS, WhatsApp, Telegram, Discord): received, sent, and how its delivery went. */
const messagingData = payload({
  conversationId: uuid,
  messageId: uuid,
  channel: text,
  accountId: maybe(uuid),
  /** The party: an E.164 number or the provider's user; and their name when the provider says it. */
  party: maybe(text),
  partyName: maybe(text),
  /** failed: the provider's error code and what it means. */
  errorCode: maybe(text),
  error: maybe(text),
});

/** A linked record of another module (project, invoice, production job…) as it was, on its CRM record's timeline. */
const linkedRecordData = payload({
  linkedRecordId: uuid,
  kind: text,
  /** The company card tab that lists it: projects, invoices, production. */
  tab: text.optional(),
  source: text,
  externalId: text,
  title: text,
  status: maybe(text),
  state: text,
  amount: maybe(text),
  currency: maybe(text),
  dueDate: maybe(text),
  url: maybe(text),
  /** status_changed: what it was. */
  from: payload({ status: maybe(text), state: text }).optional(),
  /** updated (and status_changed): the other fields that changed. */
  changes: z.array(text).optional(),
  /** event: the milestone the module posted. */
  event: payload({ title: text, occurredAt: maybe(isoDate) }).optional(),
});

/** Every activity type the server writes, with its payload. */
export const activityPayloads = {
  'company.created': recordNamed,
  'company.updated': recordUpdated,
  'company.deleted': recordNamed,
  'contact.created': recordNamed,
  'contact.updated': recordUpdated,
  'contact.deleted': recordNamed,
  'deal.created': recordNamed,
  'deal.updated': recordUpdated,
  'deal.deleted': recordNamed,
  'deal.stage_changed': stageChanged,
  'note.added': noteData,
  'note.updated': noteData,
  'note.deleted': noteData,
  'document.uploaded': documentData,
  'document.deleted': documentData,
  'email.received': emailReceived,
  'email.auto_reply': emailReceived,
  'email.sent': emailSent,
  'email.opened': emailTracked,
  'email.clicked': emailTracked,
  'email.bounced': emailBounced,
  'email.complained': emailComplained,
  'campaign.sent': campaignData,
  'campaign.opened': campaignData,
  'campaign.clicked': campaignClicked,
  'consent.given': consentData,
  'consent.withdrawn': consentData,
  'conversation.status_changed': conversationStatus,
  'conversation.assigned': conversationAssigned,
  'meeting.scheduled': meetingData,
  'meeting.updated': meetingUpdated,
  'meeting.cancelled': meetingData,
  'meeting.started': meetingData,
  'meeting.completed': meetingCompleted,
  'meeting.transcript_added': meetingTranscript,
  'meeting.recording_added': meetingRecording,
  'task.created': taskData,
  'task.updated': taskData,
  'task.completed': taskData,
  'task.reopened': taskData,
  'task.deleted': taskData,
  'call.logged': callLogged,
  'sequence.enrolled': sequenceData,
  'sequence.step_sent': sequenceData,
  'sequence.stopped': sequenceData,
  'sequence.completed': sequenceData,
  'message.received': messagingData,
  'message.sent': messagingData,
  'message.delivered': messagingData,
  'message.read': messagingData,
  'message.failed': messagingData,
  'linked_record.created': linkedRecordData,
  'linked_record.updated': linkedRecordData,
  'linked_record.status_changed': linkedRecordData,
  'linked_record.deleted': linkedRecordData,
  'linked_record.event': linkedRecordData,
} as const;
type Payloads = typeof activityPayloads;
export type ActivityType = keyof Payloads;
export const ACTIVITY_TYPES = Object.keys(activityPayloads) as ActivityType[];
export const activityType = z.enum(ACTIVITY_TYPES as [ActivityType, ...ActivityType[]]);
export type ActivityData<T extends ActivityType> = z.infer<Payloads[T]>;

export const actorRef = z.object({ id: uuid, name: z.string() });

const activityBase = {
  id: uuid,
  seq: z.number().int(),
  entityType: activityEntityType,
  entityId: uuid,
  companyId: uuid.nullable(),
  /** English, for API readers; the web says it from `type` and `data`. */
  title: z.string(),
  description: z.string().nullable(),
  actor: actorRef.nullable(),
  createdAt: isoDate,
};

type Member<T extends ActivityType> = z.ZodObject<
  typeof activityBase & { type: z.ZodLiteral<T>; data: Payloads[T] },
  z.core.$strip
>;
type Members = { [T in ActivityType]: Member<T> }[ActivityType][];
const members = ACTIVITY_TYPES.map((type) =>
  z.object({ ...activityBase, type: z.literal(type), data: activityPayloads[type] }),
);

/** An activity as sent (dates as ISO strings): one member per activity type. */
export const activity = z.discriminatedUnion(
  'type',
  members as [Member<ActivityType>],
) as unknown as z.ZodDiscriminatedUnion<Members, 'type'>;
export type Activity = z.infer<typeof activity>;
/** One type's activity, e.g. `ActivityOf<'deal.stage_changed'>`. */
export type ActivityOf<T extends ActivityType> = Extract<Activity, { type: T }>;

/** GET /api/crm/timeline: newest first. */
export const timelinePage = z.object({ items: z.array(activity) });

/** What a writer hands the timeline: the type and its payload, checked against the contract in tests. */
export function checkPayload(type: string, data: unknown): void {
  const schema = (activityPayloads as Record<string, z.ZodType | undefined>)[type];
  if (!schema) throw new Error(`activity type ${type} has no payload in contracts/timeline.ts`);
  const result = schema.safeParse(data);
  if (!result.success)
    throw new Error(
      `activity ${type} payload outside its contract: ${result.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join('.') || '(data)'}: ${i.message}`)
        .join('; ')}`,
    );
}

// Notifications: a bell entry of one user, with a payload typed per notification type.

const mentionData = payload({
  /** The record (or conversation subject) the note is on. */
  recordName: text.optional(),
});
const assignmentData = payload({ subject: text.optional() });
/** An email account of the recipient's can no longer sign in: the server's own words. */
const accountErrorData = payload({ email: text, error: text });
/** A task of the recipient's is due (or its earlier reminder time came), or was given to them. */
const taskNotice = payload({ taskId: uuid, title: text, dueAt: maybe(isoDate) });
/** A prospect of the recipient's sequence replied (their pending steps are stopped). */
const sequenceReplyData = payload({ sequenceId: uuid, sequenceName: text, contactName: text, enrolmentId: uuid });
/** Sequence sending from a mailbox or a domain was paused (bounces or complaints over a threshold). */
const sendingPausedData = payload({ target: text, reason: text });
/** The recipient was invited to a meeting. */
const meetingInvitationData = payload({ meetingId: uuid, title: text, startsAt: maybe(isoDate) });
/** A workflow's "notify a member" step: its message, said as written. */
const workflowNoticeData = payload({ workflowId: uuid, workflowName: text, message: text });
/** A webhook of the recipient's kept failing and Filo turned it off (`url`: scheme, host and path only). */
const webhookDisabledData = payload({ webhookId: uuid, url: text, reason: text });

export const notificationPayloads = {
  mention: mentionData,
  assignment: assignmentData,
  account_error: accountErrorData,
  task_reminder: taskNotice,
  task_assigned: taskNotice,
  meeting_invitation: meetingInvitationData,
  sequence_reply: sequenceReplyData,
  sending_paused: sendingPausedData,
  workflow_notice: workflowNoticeData,
  webhook_disabled: webhookDisabledData,
} as const;
type NotificationPayloads = typeof notificationPayloads;
export type NotificationType = keyof NotificationPayloads;
export const NOTIFICATION_TYPES = Object.keys(notificationPayloads) as NotificationType[];

const notificationBase = {
  id: uuid,
  /** English, for API readers; the web says it from `type` and `data`. */
  title: z.string(),
  body: z.string().nullable(),
  entityType: z.string().nullable(),
  entityId: uuid.nullable(),
  noteId: uuid.nullable(),
  actor: actorRef.nullable(),
  readAt: isoDate.nullable(),
  createdAt: isoDate,
};
type NotificationMember<T extends NotificationType> = z.ZodObject<
  typeof notificationBase & { type: z.ZodLiteral<T>; data: NotificationPayloads[T] },
  z.core.$strip
>;
export const notification = z.discriminatedUnion('type', [
  z.object({ ...notificationBase, type: z.literal('mention'), data: mentionData }),
  z.object({ ...notificationBase, type: z.literal('assignment'), data: assignmentData }),
  z.object({ ...notificationBase, type: z.literal('account_error'), data: accountErrorData }),
  z.object({ ...notificationBase, type: z.literal('task_reminder'), data: taskNotice }),
  z.object({ ...notificationBase, type: z.literal('task_assigned'), data: taskNotice }),
  z.object({ ...notificationBase, type: z.literal('meeting_invitation'), data: meetingInvitationData }),
  z.object({ ...notificationBase, type: z.literal('sequence_reply'), data: sequenceReplyData }),
  z.object({ ...notificationBase, type: z.literal('sending_paused'), data: sendingPausedData }),
  z.object({ ...notificationBase, type: z.literal('workflow_notice'), data: workflowNoticeData }),
  z.object({ ...notificationBase, type: z.literal('webhook_disabled'), data: webhookDisabledData }),
] as [
  NotificationMember<'mention'>,
  NotificationMember<'assignment'>,
  NotificationMember<'account_error'>,
  NotificationMember<'task_reminder'>,
  NotificationMember<'task_assigned'>,
  NotificationMember<'meeting_invitation'>,
  NotificationMember<'sequence_reply'>,
  NotificationMember<'sending_paused'>,
  NotificationMember<'workflow_notice'>,
  NotificationMember<'webhook_disabled'>,
]);
export type Notification = z.infer<typeof notification>;
export type NotificationData<T extends NotificationType> = z.infer<NotificationPayloads[T]>;

/** GET /api/team/notifications: newest first, with the unread count. */
export const notificationList = z.object({ items: z.array(notification), unread: z.number().int() });
/** POST /api/team/notifications/read. */
export const notificationsRead = z.object({ updated: z.number().int(), unread: z.number().int() });

/** What a writer hands the bell, checked against the contract in tests. */
export function checkNotification(type: string, data: unknown): void {
  const schema = (notificationPayloads as Record<string, z.ZodType | undefined>)[type];
  if (!schema) throw new Error(`notification type ${type} has no payload in contracts/timeline.ts`);
  const result = schema.safeParse(data);
  if (!result.success) throw new Error(`notification ${type} payload outside its contract: ${result.error.message}`);
}
