import type { LobbyView, MeetingParticipant } from '#contracts/meetings';
import type { VideoMeeting } from '../../db/entities/video-meeting.entity.ts';
import { HttpError, notFound } from '../http/errors.ts';
import { systemActor, type Actor, type UnitOfWork } from '../tenancy.ts';
import { verifyGuestToken, type GuestClaims } from './guest-token.ts';
import { hostOf, iso, isoOrNull } from './meetings.common.ts';

// Who may be in front of a call page, and when: members by their session, guests by their signed link.

/** A call that has not started opens this long before its scheduled time... */
export const JOIN_EARLY_MINUTES = 15;
/** ...and can still be started until this long after its planned end. */
export const JOIN_LATE_MINUTES = 60;

/** Who is in front of the call page: a signed-in member, or a guest with a signed link. */
export type Joiner = { actor: Actor } | { guest: string };

export const removed = () => new HttpError(403, 'guest_removed', 'You are no longer invited to this meeting');

/** When a call that has not started may be joined (the host may start it any time). */
export function joinWindow(m: Pick<VideoMeeting, 'scheduledAt' | 'createdAt' | 'durationMinutes'>) {
  const start = (m.scheduledAt ?? m.createdAt).getTime();
  return {
    opensAt: new Date(start - JOIN_EARLY_MINUTES * 60_000),
    closesAt: new Date(start + (m.durationMinutes + JOIN_LATE_MINUTES) * 60_000),
  };
}

/** The invitee a guest link stands for, if they are still on the meeting's list. */
export function invitedGuest(m: VideoMeeting, claims: GuestClaims): MeetingParticipant | undefined {
  const email = claims.email?.toLowerCase() ?? null;
  return m.participants.find((p) =>
    claims.contactId
      ? p.type === 'contact' && p.contactId === claims.contactId
      : p.type === 'email' && p.email === email,
  );
}

/** The actor a joiner acts as: a member as themselves, a guest as Filo in the link's workspace. */
export function resolveJoiner(
  secretKey: string,
  who: Joiner,
  id: string,
): { actor: Actor; claims: GuestClaims | null } {
  if ('actor' in who) return { actor: who.actor, claims: null };
  const claims = verifyGuestToken(secretKey, who.guest);
  // A link that does not verify, or is for another meeting, is as good as no meeting.
  if (!claims || claims.meetingId !== id) throw notFound('Meeting');
  return { actor: systemActor(claims.tenantId, claims.name), claims };
}

/** The meeting as the call page shows it before joining; guests see no CRM data. */
export async function lobbyView(uow: UnitOfWork, m: VideoMeeting, claims: GuestClaims | null): Promise<LobbyView> {
  const host = await hostOf(uow, m);
  const { opensAt, closesAt } = joinWindow(m);
  return {
    id: m.id,
    title: m.title,
    kind: m.kind,
    status: m.status,
    scheduledAt: isoOrNull(m.scheduledAt),
    durationMinutes: m.durationMinutes,
    hostName: host?.name ?? null,
    companyId: claims ? null : (m.companyId ?? null),
    contactId: claims ? null : (m.contactId ?? null),
    displayName: claims ? claims.name : uow.actor.userName,
    guest: Boolean(claims),
    opensAt: iso(opensAt),
    closesAt: iso(closesAt),
  };
}
