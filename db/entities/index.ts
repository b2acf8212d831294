import { MessageBulkSchema } from './message-bulk.entity.ts';
import { ConversationBotSchema, MessagingBotSchema } from './messaging-bot.entity.ts';
import { ActivitySchema } from './activity.entity.ts';
import { ApiTokenSchema } from './api-token.entity.ts';
import { AppMetaSchema } from './app-meta.entity.ts';
import { CompanySchema } from './company.entity.ts';
import { ContactSchema } from './contact.entity.ts';
import { CustomFieldSchema } from './custom-field.entity.ts';
import { DealSchema } from './deal.entity.ts';
import { DocumentSchema } from './document.entity.ts';
import { InvitationSchema } from './invitation.entity.ts';
import { ImportSchema } from './import.entity.ts';
import { SavedViewSchema } from './saved-view.entity.ts';
import { MailboxSchema } from './mailbox.entity.ts';
import { InboundMessageSchema } from './inbound-message.entity.ts';
import { ConversationSchema } from './conversation.entity.ts';
import { ConversationReadSchema } from './conversation-read.entity.ts';
import { MessageSchema } from './message.entity.ts';
import { EmailTemplateSchema } from './email-template.entity.ts';
import { SignatureSchema } from './signature.entity.ts';
import { OutboundDeliverySchema } from './outbound-delivery.entity.ts';
import { AutoReplyRuleSchema, AutoReplySentSchema } from './auto-reply-rule.entity.ts';
import { MembershipSchema } from './membership.entity.ts';
import { NoteSchema } from './note.entity.ts';
import { NotificationSchema } from './notification.entity.ts';
import { TaskSchema } from './task.entity.ts';
import { PipelineStageSchema } from './pipeline-stage.entity.ts';
import { SessionSchema } from './session.entity.ts';
import { TenantSchema } from './tenant.entity.ts';
import { UserSchema } from './user.entity.ts';
import { VideoMeetingSchema } from './video-meeting.entity.ts';
import { MeetingAttendeeSchema } from './meeting-attendee.entity.ts';
import { MeetingRecordingSchema } from './meeting-recording.entity.ts';
import { CalendarFeedSchema } from './calendar-feed.entity.ts';
import { TrackingEventSchema } from './tracking-event.entity.ts';
import { SendingDomainSchema } from './sending-domain.entity.ts';
import { PendingSignupSchema } from './pending-signup.entity.ts';
import { PasswordResetSchema } from './password-reset.entity.ts';
import { EmailAccountSchema } from './email-account.entity.ts';
import { EmailAccountFolderSchema } from './email-account-folder.entity.ts';
import { EmailAccountOAuthStateSchema } from './email-account-oauth-state.entity.ts';
import { MailBlocklistSchema } from './mail-blocklist.entity.ts';
import { MailingListSchema } from './mailing-list.entity.ts';
import { ConsentSchema, ConsentEventSchema } from './consent.entity.ts';
import { CampaignSchema } from './campaign.entity.ts';
import { BulkSendSchema } from './bulk-send.entity.ts';
import { DeliveryLinkSchema, DeliveryStatHourSchema, DeliveryStatSchema } from './delivery-stat.entity.ts';
import { SubscriberImportSchema } from './subscriber-import.entity.ts';
import {
  SequenceDomainSchema,
  SequenceEnrolmentSchema,
  SequenceMailboxSchema,
  SequenceSchema,
  SequenceStepSchema,
} from './sequence.entity.ts';
import { AuditChainSchema, AuditEntrySchema, RetentionSettingsSchema } from './audit.entity.ts';
import { FeedCursorSchema } from './feed-cursor.entity.ts';
import { MessagingAccountSchema } from './messaging-account.entity.ts';
import { MessagingEventSchema } from './messaging-event.entity.ts';
import { MessageTemplateSchema } from './message-template.entity.ts';
import { WorkflowRunSchema, WorkflowSchema, WorkflowVersionSchema } from './workflow.entity.ts';
import { WebhookDeliverySchema, WebhookSchema } from './webhook.entity.ts';
import { LinkedRecordKindSchema, LinkedRecordSchema } from './linked-record.entity.ts';

export const entities = [
  TenantSchema,
  UserSchema,
  MembershipSchema,
  SessionSchema,
  AppMetaSchema,
  PendingSignupSchema,
  PasswordResetSchema,
  CompanySchema,
  ContactSchema,
  DealSchema,
  NoteSchema,
  ActivitySchema,
  CustomFieldSchema,
  DocumentSchema,
  NotificationSchema,
  TaskSchema,
  PipelineStageSchema,
  ApiTokenSchema,
  InvitationSchema,
  ImportSchema,
  SavedViewSchema,
  MailboxSchema,
  InboundMessageSchema,
  ConversationSchema,
  ConversationReadSchema,
  MessageSchema,
  EmailTemplateSchema,
  SignatureSchema,
  OutboundDeliverySchema,
  AutoReplyRuleSchema,
  AutoReplySentSchema,
  VideoMeetingSchema,
  MeetingAttendeeSchema,
  MeetingRecordingSchema,
  CalendarFeedSchema,
  TrackingEventSchema,
  SendingDomainSchema,
  EmailAccountSchema,
  EmailAccountFolderSchema,
  EmailAccountOAuthStateSchema,
  MailBlocklistSchema,
  MailingListSchema,
  ConsentSchema,
  ConsentEventSchema,
  CampaignSchema,
  BulkSendSchema,
  DeliveryStatSchema,
  DeliveryStatHourSchema,
  DeliveryLinkSchema,
  SubscriberImportSchema,
  SequenceSchema,
  SequenceStepSchema,
  SequenceEnrolmentSchema,
  SequenceMailboxSchema,
  SequenceDomainSchema,
  AuditEntrySchema,
  AuditChainSchema,
  RetentionSettingsSchema,
  FeedCursorSchema,
  MessagingAccountSchema,
  MessagingEventSchema,
  MessageTemplateSchema,
  WorkflowSchema,
  WorkflowVersionSchema,
  WorkflowRunSchema,
  WebhookSchema,
  WebhookDeliverySchema,
  MessageBulkSchema,
  MessagingBotSchema,
  ConversationBotSchema,
  LinkedRecordSchema,
  LinkedRecordKindSchema,
];
