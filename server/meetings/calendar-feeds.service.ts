import { createHash, randomBytes } from 'node:crypto';
import type { CalendarFeedCreated, CalendarFeedStatus } from '#contracts/meetings';
import type { MikroORM } from '../../db/orm.ts';
import { CalendarFeedSchema } from '../../db/entities/calendar-feed.entity.ts';
import { MembershipSchema } from '../../db/entities/membership.entity.ts';
import { VideoMeetingSchema } from '../../db/entities/video-meeting.entity.ts';
import type { Config } from '../config.ts';
import { inTenant, requireWrite, type Actor } from '../tenancy.ts';
import { icsCalendar } from './ics.ts';
import { usersByIds, icsEvent, iso, isoOrNull } from './meetings.common.ts';

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** Each member's secret calendar (ICS) feed of their meetings, fetched by calendar apps without a session. */
export class CalendarFeeds {
  readonly #orm: MikroORM;
  readonly #config: Pick<Config, 'publicUrl' | 'secretKey' | 'jitsi'>;

  constructor(deps: { orm: MikroORM; config: Pick<Config, 'publicUrl' | 'secretKey' | 'jitsi'> }) {
    this.#orm = deps.orm;
    this.#config = deps.config;
  }

  /** A new secret feed URL for this member (any previous one stops working); shown once. */
  createFeed(actor: Actor): Promise<CalendarFeedCreated> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async ({ em }) => {
      await em.nativeDelete(CalendarFeedSchema, { userId: actor.userId });
      const token = randomBytes(32).toString('base64url');
      const feed = em.create(CalendarFeedSchema, {
        tenantId: actor.tenantId,
        userId: actor.userId,
        tokenHash: sha256(token),
      });
      await em.flush();
      return { url: `${this.#config.publicUrl}/api/meetings/feed/${token}.ics`, createdAt: iso(feed.createdAt) };
    });
  }

  feedStatus(actor: Actor): Promise<CalendarFeedStatus> {
    return inTenant(this.#orm, actor, async ({ em }) => {
      const feed = await em.findOne(CalendarFeedSchema, { userId: actor.userId });
      return { active: Boolean(feed), createdAt: isoOrNull(feed?.createdAt), lastUsedAt: isoOrNull(feed?.lastUsedAt) };
    });
  }

  revokeFeed(actor: Actor): Promise<void> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async ({ em }) => {
      await em.nativeDelete(CalendarFeedSchema, { userId: actor.userId });
    });
  }

  /** The feed behind a token: the member's meetings from 60 days ago on, as they stand. Null for a bad token. */
  async feed(token: string): Promise<string | null> {
    if (!/^[\w-]{20,100}$/.test(token)) return null;
    const [owner] = (await this.#orm.em
      .getConnection()
      .execute(`select * from filo_calendar_feed_lookup(?)`, [sha256(token)])) as {
      tenant_id: string;
      user_id: string;
    }[];
    if (!owner) return null;
    const probe: Actor = {
      tenantId: owner.tenant_id,
      userId: owner.user_id,
      userName: '',
      role: 'member',
      scope: 'read',
    };
    return inTenant(this.#orm, probe, async (uow) => {
      const { em } = uow;
      const member = await em.findOne(MembershipSchema, { tenant: owner.tenant_id, user: owner.user_id } as never);
      const feed = await em.findOne(CalendarFeedSchema, { userId: owner.user_id });
      // Removed from the workspace, the feed is dead, even if they are let in again later.
      if (!member || !feed || feed.createdAt < member.createdAt) return null;
      await em.nativeUpdate(CalendarFeedSchema, { userId: owner.user_id }, { lastUsedAt: new Date() });
      const rows = (await em.execute(
        `select id from video_meetings where tenant_id = ? and (host_user_id = ? or participants @> ?::jsonb)
            and scheduled_at >= ? order by scheduled_at limit 1000`,
        [
          owner.tenant_id,
          owner.user_id,
          JSON.stringify([{ userId: owner.user_id }]),
          new Date(Date.now() - 60 * 86_400_000),
        ],
      )) as { id: string }[];
      const meetings = await em.find(
        VideoMeetingSchema,
        { id: { $in: rows.map((r) => r.id) } },
        { orderBy: { scheduledAt: 'asc' } },
      );
      const hosts = await usersByIds(
        uow,
        meetings.map((m) => m.hostUserId),
      );
      const events = meetings.map((m) =>
        icsEvent(this.#config.publicUrl, m, hosts.get(m.hostUserId) ?? null, m.meetingUrl),
      );
      return icsCalendar({ name: 'Filo meetings', events });
    });
  }
}
