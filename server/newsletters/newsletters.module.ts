import type { MikroORM } from '../../db/orm.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Secrets } from '../crypto/secrets.ts';
import type { ConsentService } from '../consent/consent.service.ts';
import type { RecordsService } from '../crm/records.service.ts';
import type { BulkEngine } from '../delivery/bulk/engine.ts';
import type { BulkTokens } from '../delivery/bulk/tokens.ts';
import type { Mailer } from '../delivery/mailer.ts';
import type { MailboxesService } from '../inbox/mailboxes.service.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import { AbWinner } from './ab.ts';
import { CampaignHandler } from './campaign-handler.ts';
import { CampaignLifecycle } from './campaign-lifecycle.ts';
import { CampaignsService } from './campaigns.service.ts';
import { ListMembersService } from './lists-members.service.ts';
import { ListsService } from './lists.service.ts';
import { ReportService } from './report.service.ts';
import { SubscriberImports } from './subscriber-import.ts';

/** The services of newsletters (issue 15): lists and segments, campaigns, their sending, reports and A/B tests. */
export interface NewsletterServices {
  /** Newsletter lists and live segments (counts, previews); `audienceQuery()` in newsletters/audience.ts snapshots them. */
  lists: ListsService;
  /** Members of static lists: add from the CRM, take off (every change through `consent.set`). */
  listMembers: ListMembersService;
  /** CSV imports of subscribers into a static list (a job). */
  subscriberImports: SubscriberImports;
  /** Newsletter campaigns: drafts, previews and test copies. */
  campaigns: CampaignsService;
  /** A campaign's schedule, start (rendered, recipients frozen), pause, resume and cancel. */
  campaignLifecycle: CampaignLifecycle;
  /** The delivery engine's handler of source `campaign`: each recipient's copy, timelines, the end. */
  campaignHandler: CampaignHandler;
  /** Campaign reports, list growth and the campaigns overview, from the counters kept on write. */
  reports: ReportService;
  /** Decides A/B tests whose wait is over (the `newsletters.ab-winner` job). */
  ab: AbWinner;
}

export function newsletterServices(deps: {
  orm: MikroORM;
  config: Config;
  log: Logger;
  mailer: Mailer;
  secrets: Secrets;
  mailboxes: MailboxesService;
  consent: ConsentService;
  records: RecordsService;
  activities: ActivitiesService;
  queue: JobQueue;
  blobs: BlobStore;
  bulkTokens: BulkTokens;
}): NewsletterServices {
  const { orm, config, mailboxes } = deps;
  const inboundDomain = config.smtp.inboundDomain;
  const campaigns = new CampaignsService({ orm, mailboxes, mailer: deps.mailer, secrets: deps.secrets, inboundDomain });
  return {
    lists: new ListsService(orm),
    listMembers: new ListMembersService(orm, deps.consent),
    subscriberImports: new SubscriberImports({
      orm,
      blobs: deps.blobs,
      queue: deps.queue,
      consent: deps.consent,
      records: deps.records,
    }),
    campaigns,
    campaignLifecycle: new CampaignLifecycle({
      orm,
      campaigns,
      mailboxes,
      inboundDomain,
      log: deps.log.child({ component: 'campaigns' }),
    }),
    campaignHandler: new CampaignHandler({
      orm,
      mailboxes,
      activities: deps.activities,
      bulkTokens: deps.bulkTokens,
      publicUrl: config.publicUrl,
      inboundDomain,
    }),
    reports: new ReportService(orm),
    ab: new AbWinner(orm),
  };
}

/** Campaigns are a source of the shared bulk engine; the A/B winner releases the held rows to it. */
export function wireNewsletters(s: NewsletterServices & { bulk: BulkEngine }): void {
  s.bulk.register(s.campaignHandler);
  s.campaignLifecycle.bulk = s.bulk;
  s.ab.engine = s.bulk;
}
