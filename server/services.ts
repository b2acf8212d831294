import type { MikroORM } from '../db/orm.ts';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
import { AuthService } from './auth/auth.service.ts';
import { SessionsService } from './auth/sessions.service.ts';
import { ApiTokensService } from './auth/api-tokens.service.ts';
import { TokenRateLimiter } from './auth/token-rate-limit.ts';
import { ActivitiesService } from './timeline/activities.service.ts';
import { CustomFieldsService } from './crm/custom-fields.service.ts';
import { FullContextService } from './crm/full-context.service.ts';
import { NotesService } from './crm/notes.service.ts';
import { NotificationsService } from './timeline/notifications.service.ts';
import { RecordsService } from './crm/records.service.ts';
import { SearchService } from './crm/search.service.ts';
import { DocumentsService } from './crm/documents.service.ts';
import { ImportsService } from './crm/imports.service.ts';
import { SavedViewsService } from './crm/saved-views.service.ts';
import { MeetingsService } from './meetings/meetings.service.ts';
import { DevOutbox } from './outbound/dev-outbox.ts';
import { fileBlobStore } from './storage/blob-store.ts';
import path from 'node:path';
import { PublisherSlot } from './timeline/publisher.ts';
import { AccessSlot } from './auth/access.ts';
import { createMailer, type Mailer } from './delivery/mailer.ts';
import { SmtpTargetPolicy } from './delivery/smtp-target.ts';
import { TeamService } from './team/team.service.ts';
import { MailboxesService } from './inbox/mailboxes.service.ts';
import { ConversationsService } from './inbox/conversations.service.ts';
import { InboundProcessor } from './inbox/inbound/process.ts';
import { BulkMailFeedback } from './inbox/inbound/bulk-feedback.ts';
import { BulkFeedback } from './delivery/bulk/feedback.ts';
import { BlocklistService } from './inbox/blocklist.service.ts';
import { ReadStateMirror } from './accounts/read-state.jobs.ts';
import { Spool } from '../mail-gateway/spool.ts';
import { Secrets } from './crypto/secrets.ts';
import { OutboundService } from './outbound/outbound.service.ts';
import { SignaturesService } from './outbound/signatures.service.ts';
import { TemplatesService } from './outbound/templates.service.ts';
import { RulesService } from './inbox/rules.service.ts';
import { TrackingService } from './outbound/tracking.service.ts';
import { StorageQuota } from './storage/quota.ts';
import { CredentialLimiter } from './auth/credential-limiter.ts';
import { SendLimits } from './outbound/send-limits.ts';
import { SendingDomainsService } from './outbound/sending-domains.service.ts';
import { JobQueueSlot } from './jobs/queue.ts';
import { AccountHealthService } from './accounts/health.ts';
import { AccountsService } from './accounts/accounts.service.ts';
import { AccountOAuth } from './accounts/oauth.ts';
import { accountSmtp } from './accounts/send.ts';
import { ConsentService } from './consent/consent.service.ts';
import { ConsentAdminService } from './consent/consent-admin.service.ts';
import { GdprService } from './consent/gdpr.service.ts';
import { BulkTokens } from './delivery/bulk/tokens.ts';
import { PublicPagesService } from './newsletters/public.service.ts';
import { BulkEngine } from './delivery/bulk/engine.ts';
import { BulkTracking } from './delivery/bulk/tracking.ts';
import { campaignTrackingTimeline } from './newsletters/tracking-timeline.ts';
import { PasswordResetService } from './auth/password-reset.service.ts';
import { NotificationPrefsService } from './notify/prefs.service.ts';
import { UnreadMail } from './notify/unread-mail.ts';
import { CallsService } from './calls/calls.service.ts';
import { HomeService } from './home/home.service.ts';
import { TasksService } from './tasks/tasks.service.ts';
import { newsletterServices, wireNewsletters, type NewsletterServices } from './newsletters/newsletters.module.ts';
import { sequenceServices, wireSequences, type SequenceServices } from './sequences/sequences.module.ts';
import { messagingServices, type MessagingServices } from './messaging/messaging.module.ts';
import { bulkMessagingServices, wireBulkMessaging, type BulkMessagingServices } from './messaging/bulk/bulk.module.ts';
import { TaskReminders } from './tasks/task-reminders.ts';
import { ProfileService } from './auth/profile.service.ts';
import { Pictures } from './storage/images.ts';
import { WorkspaceService } from './team/workspace.service.ts';
import { InvitationsService } from './team/invitations.service.ts';
import { AuditService } from './audit/audit.service.ts';
import { RetentionService } from './audit/retention.service.ts';
import { workflowServices, type WorkflowServices } from './workflows/workflows.module.ts';
import { EventFeed } from './timeline/feed.ts';
import { webhookServices } from './webhooks/webhooks.module.ts';
import type { WebhooksService } from './webhooks/webhooks.service.ts';
import type { WebhookSender } from './webhooks/webhook-sender.ts';
import { LinkedRecordsService } from './linked-records/linked-records.service.ts';
import { LinkedKindsService } from './linked-records/linked-kinds.service.ts';
import { searchLinked as searchLinkedRecords } from './linked-records/linked-records.queries.ts';

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

export function createServices(orm: MikroORM, config: Config, log: Logger): Services {
  const publisher = new PublisherSlot();
  const access = new AccessSlot();
  const queue = new JobQueueSlot();
  const mailer = createMailer({
    relayUrl: config.smtpRelayUrl,
    from: config.mailFrom,
    dataDir: config.dataDir,
    log: log.child({ component: 'mailer' }),
    smtpTargets: new SmtpTargetPolicy({ ...config.smtpTargets, log: log.child({ component: 'smtp-targets' }) }),
  });
  const sessions = new SessionsService(orm, access);
  const sendLimits = new SendLimits();
  const activities = new ActivitiesService(orm, publisher);
  const customFields = new CustomFieldsService(orm);
  const records = new RecordsService(orm, activities, customFields, publisher);
  const notifications = new NotificationsService(orm, publisher);
  const blobs = fileBlobStore(path.join(config.dataDir, 'blobs'));
  const quota = new StorageQuota(orm, config.storageQuotaBytes);
  const pictures = new Pictures(blobs);
  const secrets = new Secrets(config.secretKey);
  const feed = new EventFeed({ orm, log: log.child({ component: 'feed' }) });
  const mailboxes = new MailboxesService(orm, config.smtp.inboundDomain, secrets, access);
  mailboxes.smtpTargets = mailer.smtpTargets;
  const signatures = new SignaturesService(orm, mailboxes);
  const spool = new Spool(path.join(config.dataDir, 'spool'));
  const conversations = new ConversationsService(orm, mailboxes, blobs, (key) => spool.path(key), {
    activities,
    notifications,
    publisher,
    queue,
  });
  const inbound = new InboundProcessor({
    orm,
    spool,
    blobs,
    records,
    activities,
    conversations,
    log: log.child({ component: 'inbound' }),
    budgetMs: config.smtp.budgetMs,
    inboundDomain: config.smtp.inboundDomain,
  });
  const notes = new NotesService(orm, records, activities, notifications);
  const linkedRecords = new LinkedRecordsService(orm, activities);
  notes.addTarget('conversation', conversations.noteTarget);
  const tracking = new TrackingService({
    orm,
    activities,
    secretKey: config.secretKey,
    publicUrl: config.publicUrl,
    log: log.child({ component: 'tracking' }),
  });
  const accountHealth = new AccountHealthService(orm, publisher, notifications);
  const accounts = new AccountsService({
    orm,
    secrets,
    targets: mailer.smtpTargets,
    log: log.child({ component: 'accounts' }),
    health: accountHealth,
    access,
  });
  const accountOAuth = new AccountOAuth({
    orm,
    secrets,
    secretKey: config.secretKey,
    publicUrl: config.publicUrl,
    clients: config.oauth,
    accounts,
    health: accountHealth,
    log: log.child({ component: 'account-oauth' }),
  });
  accounts.oauth = accountOAuth;
  const consent = new ConsentService({ secretKey: config.secretKey, activities });
  const bulkTokens = new BulkTokens(config.secretKey);
  const bulkFeedback = new BulkFeedback({ consent, activities });
  inbound.bulk = new BulkMailFeedback({
    feedback: bulkFeedback,
    tokens: bulkTokens,
    inboundDomain: config.smtp.inboundDomain,
  });
  const bulkTracking = new BulkTracking({
    orm,
    tokens: bulkTokens,
    publicUrl: config.publicUrl,
    log: log.child({ component: 'bulk-tracking' }),
  });
  bulkTracking.register(campaignTrackingTimeline(activities));
  const domains: Omit<Services, keyof WorkflowServices> = {
    publisher,
    queue,
    access,
    mailer,
    sessions,
    credentials: new CredentialLimiter(),
    tokens: new ApiTokensService(orm, access, new TokenRateLimiter(config.redisUrl, log)),
    auth: new AuthService(orm, sessions, access),
    team: new TeamService(orm, sessions, mailer, config.publicUrl, sendLimits, access),
    activities,
    customFields,
    records,
    notifications,
    notes,
    fullContext: new FullContextService(orm, records, activities, linkedRecords),
    search: new SearchService(orm),
    documents: new DocumentsService(orm, blobs, records, activities, quota),
    imports: new ImportsService(orm, blobs, records, queue),
    savedViews: new SavedViewsService(orm),
    devOutbox: new DevOutbox({ orm, mailer }),
    meetings: new MeetingsService({
      orm,
      activities,
      mailer,
      blobs,
      quota,
      sendLimits,
      config,
      log: log.child({ component: 'meetings' }),
      publisher,
      notifications,
    }),
    mailboxes,
    outbound: new OutboundService({
      orm,
      mailboxes,
      signatures,
      conversations,
      queue,
      activities,
      publisher,
      mailer,
      blobs,
      secrets,
      inboundDomain: config.smtp.inboundDomain,
      retryDelaySeconds: config.outboundRetryDelay,
      tracking,
      accounts: { health: accountHealth, oauth: accountOAuth },
      log: log.child({ component: 'outbound' }),
    }),
    templates: new TemplatesService(orm, mailboxes),
    rules: new RulesService({
      orm,
      mailboxes,
      inboundDomain: config.smtp.inboundDomain,
      log: log.child({ component: 'rules' }),
    }),
    signatures,
    tracking,
    sendLimits,
    sendingDomains: new SendingDomainsService(
      orm,
      config.smtp.inboundDomain,
      log.child({ component: 'sending-domains' }),
    ),
    quota,
    conversations,
    spool,
    inbound,
    blocklist: new BlocklistService(orm),
    readState: new ReadStateMirror(orm, {
      secrets,
      targets: mailer.smtpTargets,
      log: log.child({ component: 'read-state' }),
      oauth: accountOAuth,
    }),
    accountHealth,
    accounts,
    accountOAuth,
    consent,
    bulkTokens,
    publicPages: new PublicPagesService({
      orm,
      consent,
      bulkTokens,
      records,
      mailer,
      publicUrl: config.publicUrl,
      log: log.child({ component: 'public-pages' }),
    }),
    bulk: new BulkEngine({
      orm,
      queue,
      consent,
      tokens: bulkTokens,
      mailer,
      secrets,
      publicUrl: config.publicUrl,
      inboundDomain: config.smtp.inboundDomain,
      relayUrl: config.smtpRelayUrl,
      settings: config.bulk,
      log: log.child({ component: 'bulk' }),
      accountSmtp: (uow, mailboxId) =>
        accountSmtp(uow, mailboxId, { secrets, targets: mailer.smtpTargets, log, oauth: accountOAuth }),
    }),
    bulkFeedback,
    // Newsletters (issue 15): lists and segments, campaigns and the engine's handler of their rows, reports, A/B.
    ...newsletterServices({
      orm,
      config,
      log,
      mailer,
      secrets,
      mailboxes,
      consent,
      records,
      activities,
      queue,
      blobs,
      bulkTokens,
    }),
    consentAdmin: new ConsentAdminService(orm, consent),
    gdpr: new GdprService({
      orm,
      consent,
      blobs,
      spool,
      activities,
      publisher,
      log: log.child({ component: 'gdpr' }),
    }),
    bulkTracking,
    passwordResets: new PasswordResetService({
      orm,
      sessions,
      mailer,
      publicUrl: config.publicUrl,
      access,
      log: log.child({ component: 'password-reset' }),
    }),
    notifyPrefs: new NotificationPrefsService(orm),
    unreadMail: new UnreadMail({
      orm,
      notifications,
      mailer,
      from: config.mailFrom,
      publicUrl: config.publicUrl,
      log: log.child({ component: 'unread-mail' }),
    }),
    calls: new CallsService(orm, records, activities),
    home: new HomeService(orm),
    tasks: new TasksService({ orm, activities, notifications, publisher }),
    taskReminders: new TaskReminders({ orm, notifications, log: log.child({ component: 'task-reminders' }) }),
    pictures,
    profiles: new ProfileService(orm, pictures),
    workspace: new WorkspaceService(orm, pictures),
    invitations: new InvitationsService({ orm, mailer, publicUrl: config.publicUrl, sendLimits }),
    // Cold-email sequences (issue 16): the API, the engine, replies and reputation, preflight.
    ...sequenceServices({
      orm,
      config,
      log,
      secrets,
      mailboxes,
      consent,
      records,
      activities,
      notifications,
      queue,
      bulkTokens,
    }),
    // Messaging (issue 19): accounts, webhooks in, sends out, templates.
    ...messagingServices({
      orm,
      config,
      log,
      secrets,
      access,
      records,
      mailboxes,
      conversations,
      activities,
      publisher,
      queue,
    }),
    // Bulk messages and the chatbot (issue 19): wired to the engine and the inbound job by wireBulkMessaging.
    ...bulkMessagingServices({ orm, mailboxes, records, log }),
    audit: new AuditService(orm, log.child({ component: 'audit' })),
    feed,
    // Outbound webhooks (issue 17): the service, its sender, and its consumer of the feed.
    ...webhookServices({ orm, config, log, secrets, feed, records, notifications }),
    retention: new RetentionService({
      orm,
      removeSpool: (key) => spool.remove(key),
      log: log.child({ component: 'retention' }),
    }),
    linkedRecords,
    linkedKinds: new LinkedKindsService(orm),
  };
  // Workflows (issue 17): the builder's API and the engine that fires and runs them, through the domains' services.
  const services: Services = { ...domains, ...workflowServices(domains, { orm, queue, log }) };
  services.publisher.committed.push((tenantId) => services.feed.wake(tenantId));
  services.search.linked = searchLinkedRecords;
  wireNewsletters(services);
  wireSequences(services);
  wireBulkMessaging(services, { orm, log });
  // What recipients say about bulk mail reaches each source's listeners (sequences stop on a reply, a bounce...).
  services.bulkFeedback.listeners = services.bulk.feedbackListeners;
  services.publicPages.feedback = services.bulk.feedbackListeners;
  return services;
}
