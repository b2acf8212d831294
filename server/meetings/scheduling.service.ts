import { randomBytes, randomUUID } from 'node:crypto';
import type { MeetingParticipant } from '#contracts/meetings';
import type { MikroORM } from '../../db/orm.ts';
import { CompanySchema } from '../../db/entities/company.entity.ts';
import { ContactSchema } from '../../db/entities/contact.entity.ts';
import { MembershipSchema } from '../../db/entities/membership.entity.ts';
import { VideoMeetingSchema, type VideoMeeting } from '../../db/entities/video-meeting.entity.ts';
import type { Config } from '../config.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { inTenant, requireWrite, type Actor, type UnitOfWork } from '../tenancy.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import { icsCalendar } from './ics.ts';
import type { MeetingInvitations } from './invitations.service.ts';
import type { MeetingsLive } from './meetings.live.ts';
import type { MeetingInput, MeetingListQuery, MeetingPatch } from './meetings.schemas.ts';
import {
  excerpt,
  lockMeeting,
  requireHost,
  usersByIds,
  hostOf,
  linkedRecord,
  target,
  activityData,
  meetingDtos,
  meetingDetail,
  icsEvent,
  type MeetingDto,
  type MeetingDetail,
} from './meetings.common.ts';

type ParticipantInput = MeetingInput['participants'][number];

/** Meetings as planned: listing, scheduling, changing and cancelling them (invitations go out through {@link MeetingInvitations}). */
export class MeetingScheduling {
  readonly #orm: MikroORM;
  readonly #activities: ActivitiesService;
  readonly #invitations: MeetingInvitations;
  readonly #live: MeetingsLive;
  readonly #config: Pick<Config, 'publicUrl'>;

  constructor(deps: {
    orm: MikroORM;
    activities: ActivitiesService;
    invitations: MeetingInvitations;
    live: MeetingsLive;
    config: Pick<Config, 'publicUrl'>;
  }) {
    this.#orm = deps.orm;
    this.#activities = deps.activities;
    this.#invitations = deps.invitations;
    this.#live = deps.live;
    this.#config = deps.config;
  }

  list(actor: Actor, q: MeetingListQuery): Promise<{ items: MeetingDto[] }> {
    return inTenant(this.#orm, actor, async (uow) => {
      const where = ['m.tenant_id = ?'];
      const params: unknown[] = [actor.tenantId];
      const filters: [unknown, string][] = [
        [q.companyId, 'm.company_id = ?'],
        [q.contactId, 'm.contact_id = ?'],
        [q.status, 'm.status = ?'],
        [q.from && new Date(q.from), 'm.scheduled_at >= ?'],
        [q.to && new Date(q.to), 'm.scheduled_at < ?'],
      ];
      for (const [value, condition] of filters) {
        if (value === undefined) continue;
        where.push(condition);
        params.push(value);
      }
      if (q.userId) {
        where.push('(m.host_user_id = ? or m.participants @> ?::jsonb)');
        params.push(q.userId, JSON.stringify([{ userId: q.userId }]));
      }
      params.push(q.limit);
      const rows = (await uow.em.execute(
        `select m.id from video_meetings m where ${where.join(' and ')}
          order by m.scheduled_at ${q.sort === 'scheduledAt' ? 'asc' : 'desc'} nulls last, m.id limit ?`,
        params,
      )) as { id: string }[];
      const found = await uow.em.find(VideoMeetingSchema, { id: { $in: rows.map((r) => r.id) } });
      const byId = new Map(found.map((m) => [m.id, m]));
      const ordered = rows.map((r) => byId.get(r.id)!).filter(Boolean);
      return { items: await meetingDtos(uow, ordered) };
    });
  }

  get(actor: Actor, id: string): Promise<MeetingDetail> {
    return inTenant(this.#orm, actor, async (uow) => {
      const m = await uow.em.findOne(VideoMeetingSchema, { id });
      if (!m) throw notFound('Meeting');
      return meetingDetail(uow, m);
    });
  }

  /** The invitation as it stands (REQUEST, or CANCEL once cancelled), for "add to my calendar". */
  calendar(actor: Actor, id: string): Promise<string> {
    return inTenant(this.#orm, actor, async (uow) => {
      const m = await uow.em.findOne(VideoMeetingSchema, { id });
      if (!m) throw notFound('Meeting');
      const host = await hostOf(uow, m);
      const method = m.status === 'cancelled' ? 'CANCEL' : 'REQUEST';
      return icsCalendar({ method, events: [icsEvent(this.#config.publicUrl, m, host, m.meetingUrl)] });
    });
  }

  create(actor: Actor, input: MeetingInput): Promise<MeetingDto> {
    requireWrite(actor);
    const instant = !input.scheduledAt;
    if (input.scheduledAt && new Date(input.scheduledAt).getTime() < Date.now() - 5 * 60_000)
      throw new HttpError(400, 'validation_failed', 'A meeting cannot be scheduled in the past', {
        scheduledAt: 'must not be in the past',
      });
    return inTenant(this.#orm, actor, async (uow) => {
      const { em } = uow;
      const link = await this.#checkLink(uow, input.companyId ?? null, input.contactId ?? null);
      const participants = await this.#participants(uow, input.participants);
      const id = randomUUID();
      const m = em.create(VideoMeetingSchema, {
        id,
        tenantId: actor.tenantId,
        companyId: link.companyId,
        contactId: link.contactId,
        title: input.title ?? (link.name ? `Video call with ${link.name}` : 'Video call'),
        kind: instant ? 'instant' : 'scheduled',
        scheduledAt: instant ? new Date() : new Date(input.scheduledAt!),
        durationMinutes: input.durationMinutes,
        meetingUrl: `${this.#config.publicUrl}/call/${id}`,
        provider: 'jitsi',
        // 128 random bits, lower case: Jitsi folds room names to lower case.
        roomId: `filo-${randomBytes(16).toString('hex')}`,
        hostUserId: actor.userId,
        participants,
        status: 'scheduled',
        notes: input.notes ?? null,
      });
      await em.flush();
      if (!instant) {
        const where = await linkedRecord(uow, m);
        await this.#activities.record(uow, {
          ...target(where),
          type: 'meeting.scheduled',
          title: `Video call scheduled: ${m.title}`,
          description: m.notes ? excerpt(m.notes) : null,
          data: activityData(m),
        });
      }
      await this.#invitations.send(uow, m, 'new', participants, []);
      await this.#live.notifyInvited(uow, m, participants);
      await this.#live.announce(uow, m);
      const [dto] = await meetingDtos(uow, [m]);
      return dto!;
    });
  }

  update(actor: Actor, id: string, patch: MeetingPatch): Promise<MeetingDto> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const m = await lockMeeting(uow, id);
      requireHost(uow.actor, m);
      if (m.status === 'completed' || m.status === 'cancelled')
        throw new HttpError(409, `meeting_${m.status}`, `The meeting is ${m.status}: it can no longer change`);
      const before = [...m.participants];
      const next: Partial<VideoMeeting> = {};
      if (patch.title !== undefined) next.title = patch.title;
      if (patch.durationMinutes !== undefined) next.durationMinutes = patch.durationMinutes;
      if (patch.notes !== undefined) next.notes = patch.notes;
      if (patch.scheduledAt !== undefined) next.scheduledAt = new Date(patch.scheduledAt);
      if (patch.participants !== undefined) next.participants = await this.#participants(uow, patch.participants);
      const changed = Object.keys(next).filter(
        (k) =>
          JSON.stringify((m as Record<string, unknown>)[k] ?? null) !==
          JSON.stringify((next as Record<string, unknown>)[k] ?? null),
      );
      if (!changed.length) return (await meetingDtos(uow, [m]))[0]!;
      uow.em.assign(m, { ...next, icsSequence: m.icsSequence + 1 });
      await uow.em.flush();
      const where = await linkedRecord(uow, m);
      await this.#activities.record(uow, {
        ...target(where),
        type: 'meeting.updated',
        title: `Video call updated: ${m.title}`,
        data: { ...activityData(m), changed },
      });
      const key = (p: MeetingParticipant) => p.userId ?? p.contactId ?? p.email;
      const kept = new Set(m.participants.map(key));
      const dropped = before.filter((p) => !kept.has(key(p)));
      await this.#invitations.dropGuests(uow, m, dropped);
      await this.#invitations.send(uow, m, 'update', m.participants, dropped);
      const had = new Set(before.map(key));
      await this.#live.notifyInvited(
        uow,
        m,
        m.participants.filter((p) => !had.has(key(p))),
      );
      await this.#live.announce(uow, m, dropped);
      return (await meetingDtos(uow, [m]))[0]!;
    });
  }

  cancel(actor: Actor, id: string): Promise<MeetingDto> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const m = await lockMeeting(uow, id);
      requireHost(uow.actor, m);
      if (m.status !== 'scheduled')
        throw new HttpError(
          409,
          `meeting_${m.status}`,
          m.status === 'in_progress' ? 'The call is in progress: end it instead' : `The meeting is already ${m.status}`,
        );
      uow.em.assign(m, { status: 'cancelled', icsSequence: m.icsSequence + 1 });
      await uow.em.flush();
      const where = await linkedRecord(uow, m);
      await this.#activities.record(uow, {
        ...target(where),
        type: 'meeting.cancelled',
        title: `Video call cancelled: ${m.title}`,
        data: activityData(m),
      });
      await this.#invitations.send(uow, m, 'cancel', [], m.participants);
      await this.#live.announce(uow, m);
      return (await meetingDtos(uow, [m]))[0]!;
    });
  }

  /** A company and/or contact of this workspace; a contact alone brings its company. */
  async #checkLink(uow: UnitOfWork, companyId: string | null, contactId: string | null) {
    const { em } = uow;
    let name: string | null = null;
    if (contactId) {
      const contact = await em.findOne(ContactSchema, { id: contactId });
      if (!contact) throw new HttpError(400, 'validation_failed', 'Unknown contact', { contactId: 'no such contact' });
      if (companyId && contact.companyId && contact.companyId !== companyId)
        throw new HttpError(400, 'validation_failed', 'The contact works at another company', {
          contactId: 'is not a contact of this company',
        });
      companyId ??= contact.companyId ?? null;
      name = `${contact.firstName} ${contact.lastName}`;
    }
    if (companyId) {
      const company = await em.findOne(CompanySchema, { id: companyId });
      if (!company) throw new HttpError(400, 'validation_failed', 'Unknown company', { companyId: 'no such company' });
      name ??= company.name;
    }
    return { companyId, contactId, name };
  }

  /** Invitees as stored: members and contacts resolved (and checked) to their name and email, no duplicates. */
  async #participants(uow: UnitOfWork, inputs: ParticipantInput[]): Promise<MeetingParticipant[]> {
    const { em } = uow;
    const userIds = [...new Set(inputs.flatMap((p) => ('userId' in p ? [p.userId] : [])))];
    const contactIds = [...new Set(inputs.flatMap((p) => ('contactId' in p ? [p.contactId] : [])))];
    const members = userIds.length
      ? await em.find(MembershipSchema, { tenant: uow.actor.tenantId, user: { $in: userIds } } as never)
      : [];
    const memberIds = new Set(members.map((m) => (m.user as { id: string }).id));
    const strangers = userIds.filter((id) => !memberIds.has(id));
    if (strangers.length)
      throw new HttpError(400, 'validation_failed', 'Invited users must be members of this workspace', {
        participants: `not members: ${strangers.join(', ')}`,
      });
    const users = await usersByIds(uow, userIds);
    const contacts = contactIds.length ? await em.find(ContactSchema, { id: { $in: contactIds } }) : [];
    const unknown = contactIds.filter((id) => !contacts.some((c) => c.id === id));
    if (unknown.length)
      throw new HttpError(400, 'validation_failed', 'Unknown contact', {
        participants: `no such contacts: ${unknown.join(', ')}`,
      });
    const out: MeetingParticipant[] = [];
    const seen = new Set<string>();
    const add = (key: string, p: MeetingParticipant) => {
      if (seen.has(key)) return;
      seen.add(key);
      out.push(p);
    };
    for (const p of inputs) {
      if ('userId' in p) {
        const u = users.get(p.userId)!;
        add(`u:${p.userId}`, { type: 'user', userId: p.userId, name: u.name, email: u.email });
      } else if ('contactId' in p) {
        const c = contacts.find((x) => x.id === p.contactId)!;
        add(`c:${c.id}`, {
          type: 'contact',
          contactId: c.id,
          name: `${c.firstName} ${c.lastName}`,
          email: c.email ?? null,
        });
      } else {
        const email = p.email.toLowerCase();
        add(`e:${email}`, { type: 'email', name: p.name ?? email, email });
      }
    }
    return out;
  }
}
