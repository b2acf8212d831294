import type { AuthService } from './auth/auth.service.ts';
import type { SessionsService } from './auth/sessions.service.ts';
import type { ApiTokensService } from './auth/api-tokens.service.ts';
import type { ActivitiesService } from './timeline/activities.service.ts';
import type { CustomFieldsService } from './crm/custom-fields.service.ts';
import type { FullContextService } from './crm/full-context.service.ts';
import type { NotesService } from './crm/notes.service.ts';
import type { NotificationsService } from './timeline/notifications.service.ts';
import type { RecordsService } from './crm/records.service.ts';
import type { SearchService } from './crm/search.service.ts';
import type { DocumentsService } from './crm/documents.service.ts';
import type { ImportsService } from './crm/imports.service.ts';
import type { SavedViewsService } from './crm/saved-views.service.ts';
import type { MeetingsService } from './meetings/meetings.service.ts';
import type { DevOutbox } from './outbound/dev-outbox.ts';
import type { PublisherSlot } from './timeline/publisher.ts';
import type { AccessSlot } from './auth/access.ts';
import type { Mailer } from './delivery/mailer.ts';
import type { TeamService } from './team/team.service.ts';
import type { MailboxesService } from './inbox/mailboxes.service.ts';
import type { ConversationsService } from './inbox/conversations.service.ts';
import type { InboundProcessor } from './inbox/inbound/process.ts';
import type { BulkFeedback } from './delivery/bulk/feedback.ts';
import type { BlocklistService } from './inbox/blocklist.service.ts';
import type { ReadStateMirror } from './accounts/read-state.jobs.ts';
import type { Spool } from '../mail-gateway/spool.ts';
import type { OutboundService } from './outbound/outbound.service.ts';
import type { SignaturesService } from './outbound/signatures.service.ts';
import type { TemplatesService } from './outbound/templates.service.ts';
import type { RulesService } from './inbox/rules.service.ts';
import type { TrackingService } from './outbound/tracking.service.ts';
import type { StorageQuota } from './storage/quota.ts';
import type { CredentialLimiter } from './auth/credential-limiter.ts';
import type { SendLimits } from './outbound/send-limits.ts';
import type { SendingDomainsService } from './outbound/sending-domains.service.ts';
import type { JobQueueSlot } from './jobs/queue.ts';
import type { AccountHealthService } from './accounts/health.ts';
import type { AccountsService } from './accounts/accounts.service.ts';
import type { AccountOAuth } from './accounts/oauth.ts';
import type { ConsentService } from './consent/consent.service.ts';
import type { ConsentAdminService } from './consent/consent-admin.service.ts';
import type { GdprService } from './consent/gdpr.service.ts';
import type { BulkTokens } from './delivery/bulk/tokens.ts';
import type { PublicPagesService } from './newsletters/public.service.ts';
import type { BulkEngine } from './delivery/bulk/engine.ts';
import type { BulkTracking } from './delivery/bulk/tracking.ts';
import type { PasswordResetService } from './auth/password-reset.service.ts';
import type { NotificationPrefsService } from './notify/prefs.service.ts';
import type { UnreadMail } from './notify/unread-mail.ts';
import type { CallsService } from './calls/calls.service.ts';
import type { HomeService } from './home/home.service.ts';
import type { TasksService } from './tasks/tasks.service.ts';
import type { NewsletterServices } from './newsletters/newsletters.module.ts';
import type { SequenceServices } from './sequences/sequences.module.ts';
import type { MessagingServices } from './messaging/messaging.module.ts';
import type { BulkMessagingServices } from './messaging/bulk/bulk.module.ts';
import type { TaskReminders } from './tasks/task-reminders.ts';
import type { ProfileService } from './auth/profile.service.ts';
import type { Pictures } from './storage/images.ts';
import type { WorkspaceService } from './team/workspace.service.ts';
import type { InvitationsService } from './team/invitations.service.ts';
import type { AuditService } from './audit/audit.service.ts';
import type { RetentionService } from './audit/retention.service.ts';
import type { WorkflowServices } from './workflows/workflows.module.ts';
import type { EventFeed } from './timeline/feed.ts';
import type { WebhooksService } from './webhooks/webhooks.service.ts';
import type { WebhookSender } from './webhooks/webhook-sender.ts';
import type { LinkedRecordsService } from './linked-records/linked-records.service.ts';
import type { LinkedKindsService } from './linked-records/linked-kinds.service.ts';

/** One instance of each domain service, wired once per process and handed to routes, sockets and jobs. */
export interface Services
  extends SequenceServices, NewsletterServices, MessagingServices, BulkMessagingServices, WorkflowServices {
  publisher: PublisherSlot;
  /** The job-queue port: `send(queue, data, { uow })` inserts the job in the caller's transaction. */
  queue: JobQueueSlot;
  /** Access changes (sign-out, removal, role, token, password, mailbox members): open sockets are re-checked. */
  access: AccessSlot;
  mailer: Mailer;
  sessions: SessionsService;
  tokens: ApiTokensService;
  /** Throttles every credential check (passwords, tokens, links): `check(ip, account?)`, `failed`, `succeeded`. */
  credentials: CredentialLimiter;
  auth: AuthService;
  team: TeamService;
  activities: ActivitiesService;
  customFields: CustomFieldsService;
  records: RecordsService;
  notifications: NotificationsService;
  notes: NotesService;
  fullContext: FullContextService;
  search: SearchService;
  documents: DocumentsService;
  imports: ImportsService;
  savedViews: SavedViewsService;
  meetings: MeetingsService;
  /** The development outbox's screen (mail kept instead of sent). */
  devOutbox: DevOutbox;
  mailboxes: MailboxesService;
  /** Replies and new messages from the shared inbox (sent by the `outbound.send` job). */
  outbound: OutboundService;
  templates: TemplatesService;
  /** Auto-reply rules per mailbox, run by the inbound worker on each customer message. */
  rules: RulesService;
  signatures: SignaturesService;
  /** Open and click tracking of outgoing mail (opt-in per mailbox; public `/t/...` routes). */
  tracking: TrackingService;
  /** Per-workspace budgets of invitation and meeting mails (`take` throws 429, `tryTake` answers false). */
  sendLimits: SendLimits;
  /** Domains a workspace has verified (DNS TXT) and may send from besides its inbound domain. */
  sendingDomains: SendingDomainsService;
  /** Per-workspace storage quota: `quota.reserve(tenantId, bytes, em)` in the transaction that keeps the bytes. */
  quota: StorageQuota;
  conversations: ConversationsService;
  spool: Spool;
  inbound: InboundProcessor;
  /** Addresses and domains whose mail stays out of the CRM. */
  blocklist: BlocklistService;
  /** Sets `\Seen` at the provider on mail read in Filo, for accounts that mirror read state. */
  readState: ReadStateMirror;
  /** The one writer of an email account's health (status, sync progress, last error), live on the socket. */
  accountHealth: AccountHealthService;
  /** Members' own email accounts (IMAP/SMTP or OAuth2), each with its mailbox of kind `account`. */
  accounts: AccountsService;
  /** OAuth2 sign-in of accounts at Google and Microsoft, and their access tokens (refreshed before expiry). */
  accountOAuth: AccountOAuth;
  /** Consent and suppression of every channel: `refusals()` inside a send transaction, `set()` for every change. */
  consent: ConsentService;
  /** A contact's consent evidence and changes by hand, and the suppression list. */
  consentAdmin: ConsentAdminService;
  /** GDPR export (a ZIP) and erasure of a contact. */
  gdpr: GdprService;
  /** Signed tokens of bulk send rows: one-click unsubscribe, VERP return path, opens and clicks. */
  bulkTokens: BulkTokens;
  /** The public newsletter pages: subscribe form with double opt-in, one-click unsubscribe, preference center. */
  publicPages: PublicPagesService;
  /** The shared bulk delivery engine: sources `register()` a handler; `enqueue`, `release`, `start`, `cancel`. */
  bulk: BulkEngine;
  /** Bounces, complaints, unsubscribes and replies of bulk sends: the shared handlers (unsubscribeSend() is beside them). */
  bulkFeedback: BulkFeedback;
  /** Opens and clicks of bulk mail (public `/t/b/...` routes); each source registers its timeline writers. */
  bulkTracking: BulkTracking;
  /** "Forgot password?": single-use reset links by mail (an hour), then every session of the user ends. */
  passwordResets: PasswordResetService;
  /** Each member's notification preferences (browser, email delay or daily digest, types). */
  notifyPrefs: NotificationPrefsService;
  /** Emails notices left unread past each member's delay, or in a daily digest (the `notify.unread-mail` job). */
  unreadMail: UnreadMail;
  /** Phone calls logged by hand on contacts and companies (`call.logged`). */
  calls: CallsService;
  /** The Home page's own reads (record names for its feed). */
  home: HomeService;
  /** Tasks and their timeline entries and notices (issue 20). */
  tasks: TasksService;
  /** Sends task reminders whose time has come (the tasks job sweeps every 30 s). */
  taskReminders: TaskReminders;
  /** Avatars and logos in the blob store (PNG, JPEG or WebP, at most 2 MB). */
  pictures: Pictures;
  /** A user's picture, seen by members of their workspaces only. */
  profiles: ProfileService;
  /** The workspace's name, logo, currency, time zone and business hours. */
  workspace: WorkspaceService;
  /** Pending invitations: list, resend with a new link, revoke. */
  invitations: InvitationsService;
  /** The audit log: `log()` for actions without a transaction; services call `audit(uow, …)` (audit/record.ts). */
  audit: AuditService;
  /** Per-workspace retention of raw inbound files, tracking events and audit entries (a nightly job). */
  retention: RetentionService;
  /** The durable event feed over activities: consumers `register()`, `start()` per workspace, read with their cursor. */
  feed: EventFeed;
  /** Outbound webhooks: subscriptions, deliveries and their log; `callOnce()` for the workflows' "call a webhook". */
  webhooks: WebhooksService;
  /** Sends webhook deliveries (worker nodes run it). */
  webhookSender: WebhookSender;
  /** Projects, invoices, production jobs… of other modules on CRM records (issue 17): upserts, lists, events. */
  linkedRecords: LinkedRecordsService;
  /** The workspace's own kinds of linked records and their card tabs. */
  linkedKinds: LinkedKindsService;
}
