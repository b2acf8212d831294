import type { MikroORM } from '../db/orm.ts';
import type { Services } from './services.types.ts';
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
import { createMailer } from './delivery/mailer.ts';
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
import { newsletterServices, wireNewsletters } from './newsletters/newsletters.module.ts';
import { sequenceServices, wireSequences } from './sequences/sequences.module.ts';
import { messagingServices } from './messaging/messaging.module.ts';
import { bulkMessagingServices, wireBulkMessaging } from './messaging/bulk/bulk.module.ts';
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
import { LinkedRecordsService } from './linked-records/linked-records.service.ts';
import { LinkedKindsService } from './linked-records/linked-kinds.service.ts';
import { searchLinked as searchLinkedRecords } from './linked-records/linked-records.queries.ts';
import { searchLinkedHot } from './linked-records/linked-records.hot.ts';
import type { HotReads } from './db-hot/hot-reads.ts';

// The interface lives beside this file (its imports alone are 70 lines); importers keep naming it from here.
export type { Services };

/** `hot`: the hot-read pool (timeline, company list, search); without it those reads go through the ORM. */
export function createServices(orm: MikroORM, config: Config, log: Logger, hot?: HotReads): Services {
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
  access.register(sessions.cache);
  const tokens = new ApiTokensService(orm, access, new TokenRateLimiter(config.redisUrl, log));
  access.register(tokens.cache);
  const sendLimits = new SendLimits();
  const activities = new ActivitiesService(orm, publisher, hot);
  const customFields = new CustomFieldsService(orm);
  const records = new RecordsService(orm, activities, customFields, publisher, hot);
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
    dnsServers: config.dnsServers,
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
    tokens,
    auth: new AuthService(orm, sessions, access),
    team: new TeamService(orm, sessions, mailer, config.publicUrl, sendLimits, access),
    activities,
    customFields,
    records,
    notifications,
    notes,
    fullContext: new FullContextService(orm, records, activities, linkedRecords),
    search: new SearchService(orm, hot),
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
      config.dnsServers,
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
    profiles: new ProfileService(orm, pictures, access),
    workspace: new WorkspaceService(orm, pictures, access),
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
  if (hot) services.search.linkedHot = (actor, tsquery, limit) => searchLinkedHot(hot, actor, tsquery, limit);
  wireNewsletters(services);
  wireSequences(services);
  wireBulkMessaging(services, { orm, log });
  // What recipients say about bulk mail reaches each source's listeners (sequences stop on a reply, a bounce...).
  services.bulkFeedback.listeners = services.bulk.feedbackListeners;
  services.publicPages.feedback = services.bulk.feedbackListeners;
  return services;
}
