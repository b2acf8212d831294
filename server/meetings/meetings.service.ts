import type { MikroORM } from '../../db/orm.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Mailer } from '../delivery/mailer.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { StorageQuota } from '../storage/quota.ts';
import type { SendLimits } from '../outbound/send-limits.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import type { NotificationsService } from '../timeline/notifications.service.ts';
import type { Publisher } from '../timeline/publisher.ts';
import { CalendarFeeds } from './calendar-feeds.service.ts';
import { MeetingCalls } from './calls.service.ts';
import { MeetingInvitations } from './invitations.service.ts';
import { MeetingsLive } from './meetings.live.ts';
import { MeetingRecordings } from './recordings.service.ts';
import { MeetingScheduling } from './scheduling.service.ts';

export { HEARTBEAT_SECONDS, HEARTBEAT_TIMEOUT_SECONDS, completedSummary, type Joiner } from './calls.service.ts';
export type { MeetingDetail, MeetingDto, RecordingDto } from './meetings.common.ts';

/**
 * Video meetings, one service per responsibility: scheduling, invitations (mail with .ics and guest links), the
 * call itself, recordings and transcripts afterwards, and each member's calendar feed.
 */
export class MeetingsService {
  readonly scheduling: MeetingScheduling;
  readonly invitations: MeetingInvitations;
  readonly calls: MeetingCalls;
  readonly recordings: MeetingRecordings;
  readonly feeds: CalendarFeeds;

  constructor(deps: {
    orm: MikroORM;
    activities: ActivitiesService;
    mailer: Mailer;
    blobs: BlobStore;
    quota: StorageQuota;
    sendLimits: SendLimits;
    config: Pick<Config, 'publicUrl' | 'secretKey' | 'jitsi'>;
    log: Logger;
    publisher: Publisher;
    notifications: NotificationsService;
  }) {
    const live = new MeetingsLive(deps);
    this.invitations = new MeetingInvitations(deps);
    this.scheduling = new MeetingScheduling({ ...deps, invitations: this.invitations, live });
    this.calls = new MeetingCalls({ ...deps, live });
    this.recordings = new MeetingRecordings(deps);
    this.feeds = new CalendarFeeds(deps);
  }

  /** The heartbeat sweep's way in: ends a silent call (see {@link MeetingCalls.expire}). */
  expire(tenantId: string, id: string, now = new Date()): Promise<boolean> {
    return this.calls.expire(tenantId, id, now);
  }
}
