import { PgBoss } from 'pg-boss';
import type { Logger } from '../logger.ts';
import type { Config } from '../config.ts';
import type { Services } from '../services.ts';
import { authJobs, PURGE_SESSIONS_QUEUE } from '../auth/auth.jobs.ts';
import { crmJobs } from '../crm/crm.jobs.ts';
import { listsJobs } from '../newsletters/lists.jobs.ts';
import { IMPORT_QUEUE } from '../crm/imports.service.ts';
import { inboxJobs, SNOOZES_QUEUE } from '../inbox/inbox.jobs.ts';
import { INBOUND_QUEUE } from '../../mail-gateway/inbound-store.ts';
import { HEARTBEAT_SWEEP_QUEUE, meetingsJobs } from '../meetings/meetings.jobs.ts';
import { outboundJobs } from '../outbound/outbound.jobs.ts';
import { OUTBOUND_QUEUE } from '../outbound/outbound.service.ts';
import { MARK_SEEN_QUEUE, readStateJobs } from '../accounts/read-state.jobs.ts';
import { accountsJobs } from '../accounts/accounts.jobs.ts';
import { newslettersJobs, START_DUE_QUEUE } from '../newsletters/newsletters.jobs.ts';
import { AB_WINNER_QUEUE, analyticsJobs } from '../newsletters/analytics.jobs.ts';
import type { SyncEngine } from '../accounts/sync/engine.ts';
import { grantEnqueue, type DomainJobs } from './queue.ts';
import { BULK_DISPATCH_QUEUE, bulkJobs } from '../delivery/bulk/bulk.jobs.ts';
import { notifyJobs, UNREAD_MAIL_QUEUE } from '../notify/notify.jobs.ts';
import { tasksJobs } from '../tasks/tasks.jobs.ts';
import { sequenceWarmupJobs } from '../sequences/replies/warmup.jobs.ts';
import { backupJobs } from '../ops/backup/backup.jobs.ts';
import { SEQUENCES_TICK_QUEUE, sequencesEngineJobs } from '../sequences/engine/sequences-engine.jobs.ts';
import { sequenceApiJobs } from '../sequences/sequences.jobs.ts';
import { auditJobs, RETENTION_QUEUE } from '../audit/audit.jobs.ts';
import { feedJobs } from '../timeline/feed.jobs.ts';
import { messagingJobs } from '../messaging/messaging.jobs.ts';
import { MESSAGING_EVENT_QUEUE } from '../messaging/inbound.service.ts';
import { MESSAGING_SEND_QUEUE } from '../messaging/outbound.service.ts';
import { workflowsJobs } from '../workflows/workflows.jobs.ts';
import { webhooksJobs } from '../webhooks/webhooks.jobs.ts';

/** Every queue, by the domain that owns it (each declared in its `<domain>.jobs.ts` or beside its service). */
export const QUEUES = {
  purgeSessions: PURGE_SESSIONS_QUEUE,
  import: IMPORT_QUEUE,
  inbound: INBOUND_QUEUE,
  meetingTimeouts: HEARTBEAT_SWEEP_QUEUE,
  outbound: OUTBOUND_QUEUE,
  snoozes: SNOOZES_QUEUE,
  markSeen: MARK_SEEN_QUEUE,
  bulkDispatch: BULK_DISPATCH_QUEUE,
  campaignsDue: START_DUE_QUEUE,
  abWinner: AB_WINNER_QUEUE,
  unreadMail: UNREAD_MAIL_QUEUE,
  sequencesTick: SEQUENCES_TICK_QUEUE,
  retention: RETENTION_QUEUE,
  messagingEvent: MESSAGING_EVENT_QUEUE,
  messagingSend: MESSAGING_SEND_QUEUE,
} as const;

export interface Jobs {
  boss: PgBoss;
  /** The IMAP sync of members' accounts (worker nodes only, once started). */
  accountSync(): SyncEngine | undefined;
  stop(): Promise<void>;
}

/** The domains' job modules, each given only the services it works with. */
function domainJobs(s: Services, deps: { databaseUrl: string; config: Config; log: Logger }): DomainJobs[] {
  return [
    authJobs({ sessions: s.sessions }),
    crmJobs({ imports: s.imports, actorFor: (tenantId, userId) => s.team.actorFor(tenantId, userId) }),
    listsJobs({ imports: s.subscriberImports, actorFor: (tenantId, userId) => s.team.actorFor(tenantId, userId) }),
    inboxJobs({ inbound: s.inbound, rules: s.rules, conversations: s.conversations, outbound: s.outbound }),
    outboundJobs({ outbound: s.outbound }),
    meetingsJobs({ meetings: s.meetings }),
    readStateJobs({ readState: s.readState }),
    bulkJobs({ bulk: s.bulk }),
    newslettersJobs({ lifecycle: s.campaignLifecycle }),
    analyticsJobs({ ab: s.ab }),
    notifyJobs({ unreadMail: s.unreadMail }),
    auditJobs({ retention: s.retention }),
    tasksJobs({ reminders: s.taskReminders, sweepSeconds: deps.config.taskReminderSweepSeconds }),
    sequenceWarmupJobs({ warmup: s.sequenceWarmup }),
    backupJobs({ databaseUrl: deps.databaseUrl, dataDir: deps.config.dataDir, ...deps.config.backup }),
    sequencesEngineJobs({ engine: s.sequenceEngine }),
    sequenceApiJobs({ sequences: s.sequences }),
    feedJobs({ feed: s.feed, sweepMs: deps.config.webhooks.feedSweepMs }),
    messagingJobs({ inbound: s.messagingInbound, outbound: s.messagingOutbound }),
    workflowsJobs({ engine: s.workflowEngine, sweepMs: 15_000 }),
    webhooksJobs({ sender: s.webhookSender }),
    accountsJobs({
      databaseUrl: deps.databaseUrl,
      spool: s.spool,
      health: s.accountHealth,
      // The accounts service's deps: the same secrets and targets, and the OAuth2 token source (refreshed before expiry).
      connect: () => ({ ...s.accounts.connectDeps, log: deps.log.child({ component: 'account-sync' }) }),
      maxBytes: deps.config.smtp.maxSize,
      pollMs: deps.config.accountSync.pollMs,
      folderPollMs: deps.config.accountSync.folderPollMs,
    }),
  ];
}

/** pg-boss in the same PostgreSQL: the domains' queues, and their workers and schedules in a `worker` process. */
export async function startJobs(deps: {
  databaseUrl: string;
  services: Services;
  config: Config;
  log: Logger;
  work: boolean;
}): Promise<Jobs> {
  const log = deps.log.child({ component: 'jobs' });
  const boss = new PgBoss({ connectionString: deps.databaseUrl, schema: 'pgboss', max: 5, useListenNotify: true });
  boss.on('error', (err) => log.error({ err }, 'pg-boss error'));
  await boss.start();
  const modules = domainJobs(deps.services, deps);
  for (const m of modules) await m.queues(boss);
  // Services enqueue through the port inside their own transactions, as the application role.
  await grantEnqueue(boss, deps.databaseUrl);
  deps.services.queue.boss = boss;
  if (deps.work) for (const m of modules) await m.work(boss, log);
  return {
    boss,
    accountSync: () =>
      modules.find((m): m is DomainJobs & { engine(): SyncEngine | undefined } => 'engine' in m)?.engine(),
    // Graceful: running handlers finish (up to the timeout) before the connection pool closes.
    stop: async () => {
      deps.services.queue.boss = undefined;
      for (const m of modules) await m.stop?.();
      await boss.stop({ graceful: true, timeout: 8_000 });
    },
  };
}
