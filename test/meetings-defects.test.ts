import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, ServerToClientEvents } from '../realtime/events.ts';
import type { Meeting } from '../contracts/meetings.ts';
import type { Notification } from '../contracts/timeline.ts';
import { readOutbox } from '../server/delivery/mailer.ts';
import {
  apiClient,
  body,
  DEMO,
  login,
  signUp,
  startTestFilo,
  type ApiClient,
  type TestFilo,
} from './support/harness.ts';

/**
 * The meeting defects of a first hour, against a whole Filo: a call starts only when a page really joined it (a
 * page that opened, or whose video library failed to load, changes nothing), invited teammates hear of a meeting
 * live (bell and Meetings page) while guests get mail only, and the development outbox lists every kind of mail
 * kept for the workspace, newest first, to its owners and admins only.
 */

let filo: TestFilo;
let owner: ApiClient;
let sara: ApiClient;
let luca: ApiClient;
let rival: ApiClient;
let saraId: string;
const sockets: Socket[] = [];

const poll = <T>(fn: () => Promise<T> | T, timeout = 15_000) => expect.poll(fn, { timeout, interval: 100 });

beforeAll(async () => {
  filo = await startTestFilo({ JITSI_DOMAIN: 'meet.filo.test' });
  owner = apiClient(filo.baseUrl, await login(filo.baseUrl));
  sara = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'sara@filo.local', password: DEMO.password }));
  luca = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'luca@filo.local', password: DEMO.password }));
  rival = apiClient(
    filo.baseUrl,
    await signUp(filo, {
      workspace: 'Rival',
      name: 'Rival Owner',
      email: 'owner@rival.example',
      password: 'rival pw 12',
    }),
  );
  saraId = (await sara.json('GET', '/api/auth/me')).user.id;
});

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await filo?.close();
});

/** What a member's open tabs hear: notifications and meeting changes. */
async function listen(cookie: string) {
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = connect(filo.baseUrl, {
    path: '/socket.io',
    transports: ['websocket'],
    extraHeaders: { cookie },
    reconnection: false,
  });
  sockets.push(socket);
  const heard = { notifications: [] as Notification[], meetings: [] as { meeting: Meeting; removed: boolean }[] };
  socket.on('notification:new', ({ notification }) => heard.notifications.push(notification));
  socket.on('meeting:updated', (payload) => heard.meetings.push(payload));
  await new Promise((resolve) => socket.once('session:ready', resolve));
  return heard;
}

const timelineTypes = async (companyId: string) =>
  (await owner.json('GET', `/api/crm/timeline?entityType=company&entityId=${companyId}`)).items.map(
    (a: { type: string }) => a.type,
  );

const inTwoDays = () => new Date(Date.now() + 2 * 86_400_000).toISOString();

describe('a scheduled meeting starts only by a real join', () => {
  it('opening the call page, or a video library that failed to load, leaves it scheduled with its invitations', async () => {
    const acme = await owner.json('POST', '/api/crm/companies', { name: 'Two Days Acme', type: 'client' });
    const meeting = await owner.json('POST', '/api/meetings', {
      title: 'Review in two days',
      companyId: acme.id,
      scheduledAt: inTwoDays(),
      participants: [{ email: 'guest@partner.example', name: 'Guest' }, { userId: saraId }],
    });
    const mailsBefore = readOutbox(filo.services.mailer.outboxDir!).length;

    // The host opens the call page and clicks Join: Filo answers where to connect, and nothing starts.
    await owner.json('GET', `/api/meetings/${meeting.id}/lobby`);
    const info = await owner.json('POST', `/api/meetings/${meeting.id}/join`, {}, 200);
    expect(info.meeting.status).toBe('scheduled');
    expect((await owner.json('GET', `/api/meetings/${meeting.id}`)).status).toBe('scheduled');
    // Before joining, a heartbeat does not pretend the page is in a call.
    expect(
      await owner.json('POST', `/api/meetings/${meeting.id}/heartbeat`, { attendeeId: info.attendeeId }, 200),
    ).toEqual({ status: 'scheduled', inCall: false });

    // The video library failed to load: the page leaves. The meeting is as it was.
    expect(await owner.json('POST', `/api/meetings/${meeting.id}/leave`, { attendeeId: info.attendeeId }, 200)).toEqual(
      { status: 'scheduled' },
    );
    const after = await owner.json('GET', `/api/meetings/${meeting.id}`);
    expect(after).toMatchObject({ status: 'scheduled', startedAt: null, endedAt: null, noteId: null, attendees: [] });
    expect(await timelineTypes(acme.id)).toEqual(['meeting.scheduled', 'company.created']);
    // Its invitations are alive: no cancellation went out, the calendar still says REQUEST, the guest's link works.
    const mails = readOutbox(filo.services.mailer.outboxDir!).slice(mailsBefore);
    expect(mails.filter((m) => /Subject: Cancelled/.test(m.raw))).toEqual([]);
    const ics = await owner.call('GET', `/api/meetings/${meeting.id}/calendar.ics`);
    expect(await ics.text()).toContain('METHOD:REQUEST');
    // Nothing to end: "completed" only ever follows a real start.
    const end = await owner.call('POST', `/api/meetings/${meeting.id}/end`);
    expect(`${end.status} ${(await body(end)).error.code}`).toBe('409 meeting_not_started');
    expect((await owner.json('GET', `/api/meetings/${meeting.id}`)).status).toBe('scheduled');
  });

  it('the page reporting it joined starts the call once; leaving then completes it', async () => {
    const acme = await owner.json('POST', '/api/crm/companies', { name: 'Joined Acme', type: 'client' });
    const meeting = await owner.json('POST', '/api/meetings', { companyId: acme.id, scheduledAt: inTwoDays() });
    const mine = await owner.json('POST', `/api/meetings/${meeting.id}/join`, {}, 200);
    // Only the presence's own page reports for it.
    expect(
      (await sara.call('POST', `/api/meetings/${meeting.id}/connected`, { attendeeId: mine.attendeeId })).status,
    ).toBe(404);
    expect(
      (await rival.call('POST', `/api/meetings/${meeting.id}/connected`, { attendeeId: mine.attendeeId })).status,
    ).toBe(404);
    expect((await owner.call('POST', `/api/meetings/${meeting.id}/connected`, { attendeeId: 'nope' })).status).toBe(
      400,
    );
    expect((await owner.json('GET', `/api/meetings/${meeting.id}`)).status).toBe('scheduled');

    expect(
      await owner.json('POST', `/api/meetings/${meeting.id}/connected`, { attendeeId: mine.attendeeId }, 200),
    ).toEqual({ status: 'in_progress', inCall: true });
    // A second report (a reconnect of the same page) starts nothing again.
    await owner.json('POST', `/api/meetings/${meeting.id}/connected`, { attendeeId: mine.attendeeId }, 200);
    const started = await owner.json('GET', `/api/meetings/${meeting.id}`);
    expect(started).toMatchObject({ status: 'in_progress', startedAt: expect.any(String) });
    expect(started.attendees.map((a: { name: string }) => a.name)).toEqual(['Demo Owner']);
    expect((await timelineTypes(acme.id)).filter((t: string) => t === 'meeting.started')).toHaveLength(1);

    // Sara opens the page but never gets in: she is not among the call's participants.
    const saras = await sara.json('POST', `/api/meetings/${meeting.id}/join`, {}, 200);
    await sara.json('POST', `/api/meetings/${meeting.id}/leave`, { attendeeId: saras.attendeeId }, 200);
    expect(await owner.json('POST', `/api/meetings/${meeting.id}/leave`, { attendeeId: mine.attendeeId }, 200)).toEqual(
      { status: 'completed' },
    );
    const done = await owner.json('GET', `/api/meetings/${meeting.id}`);
    expect(done).toMatchObject({ status: 'completed', endReason: 'last_left' });
    const note = (await owner.json('GET', `/api/crm/notes?entityType=company&entityId=${acme.id}`)).items[0];
    expect(note.content).toMatch(/^Video call completed · \d+ min · with Demo Owner\n/);
    // Over is over: a late report does not reopen it.
    const late = await owner.call('POST', `/api/meetings/${meeting.id}/connected`, { attendeeId: mine.attendeeId });
    expect(`${late.status} ${(await body(late)).error.code}`).toBe('409 meeting_completed');
  });
});

describe('invitations notify teammates', () => {
  it('a teammate hears of the invitation live (bell and Meetings page), of the change and of the cancellation', async () => {
    const saraHears = await listen(sara.cookie);
    const lucaHears = await listen(luca.cookie);
    const ownerHears = await listen(owner.cookie);
    const when = inTwoDays();
    const meeting = await owner.json('POST', '/api/meetings', {
      title: 'Planning with Sara',
      scheduledAt: when,
      participants: [{ userId: saraId }, { email: 'outside@partner.example', name: 'Outside' }],
    });

    await poll(() => saraHears.notifications.map((n) => n.type)).toEqual(['meeting_invitation']);
    expect(saraHears.notifications[0]).toMatchObject({
      type: 'meeting_invitation',
      entityType: 'meeting',
      entityId: meeting.id,
      actor: { name: 'Demo Owner' },
      data: { meetingId: meeting.id, title: 'Planning with Sara', startsAt: when },
    });
    await poll(() => saraHears.meetings.map((m) => [m.meeting.id, m.meeting.status, m.removed])).toEqual([
      [meeting.id, 'scheduled', false],
    ]);
    // The host hears the meeting on their own page, but no notice of their own invitation.
    await poll(() => ownerHears.meetings.map((m) => m.meeting.id)).toEqual([meeting.id]);
    expect(ownerHears.notifications).toEqual([]);
    // In the bell after a reload too; nobody else (Luca, the guest, who has no account) got a notice.
    const bell = await sara.json('GET', '/api/notifications');
    expect(bell.items.find((n: Notification) => n.type === 'meeting_invitation')?.entityId).toBe(meeting.id);
    expect((await luca.json('GET', '/api/notifications')).items.map((n: Notification) => n.type)).not.toContain(
      'meeting_invitation',
    );
    expect(lucaHears.meetings).toEqual([]);

    // Rescheduled: Sara's page hears the new time; inviting Luca then tells him, and only him, with a notice.
    const later = new Date(Date.now() + 3 * 86_400_000).toISOString();
    await owner.json('PATCH', `/api/meetings/${meeting.id}`, { scheduledAt: later }, 200);
    await poll(() => saraHears.meetings.at(-1)?.meeting.scheduledAt).toBe(later);
    const lucaId = (await luca.json('GET', '/api/auth/me')).user.id;
    await owner.json(
      'PATCH',
      `/api/meetings/${meeting.id}`,
      { participants: [{ userId: lucaId }, { email: 'outside@partner.example' }] },
      200,
    );
    await poll(() => lucaHears.notifications.map((n) => n.type)).toEqual(['meeting_invitation']);
    // Sara, taken off the list, hears that she is; she gets no second notice.
    await poll(() => saraHears.meetings.at(-1)).toMatchObject({ meeting: { id: meeting.id }, removed: true });
    expect(saraHears.notifications).toHaveLength(1);

    // Cancelled: Luca's page hears it.
    await owner.json('POST', `/api/meetings/${meeting.id}/cancel`, undefined, 200);
    await poll(() => lucaHears.meetings.at(-1)?.meeting.status).toBe('cancelled');
    // Another workspace hears nothing of it.
    expect((await rival.json('GET', '/api/notifications')).items).toEqual([]);
  });
});

describe('the development outbox', () => {
  it('lists every kind of mail kept for the workspace, newest first, to owners and admins only', async () => {
    const contact = await owner.json('POST', '/api/crm/contacts', {
      firstName: 'Outbox',
      lastName: 'Guest',
      email: 'outbox-guest@partner.example',
    });
    // A team invitation, a meeting invitation (to a contact), a notice and a campaign's test send: four kinds.
    await owner.json('POST', '/api/team/invitations', { email: 'newcomer@filo.example', role: 'member' });
    await owner.json('POST', '/api/meetings', {
      title: 'Outbox call',
      scheduledAt: inTwoDays(),
      participants: [{ contactId: contact.id }],
    });
    await filo.services.mailer.send({ to: 'sara@filo.local', subject: 'Reset your Filo password', text: 'a link' });
    const tenantId = (await owner.json('GET', '/api/auth/me')).workspace.id;
    await filo.services.mailer.deliver(
      { from: 'news@filo.local', to: 'test@filo.local', subject: '[Test] Autumn newsletter', text: 'hi' },
      { tenantId },
    );
    // Mail that is not this workspace's: another's tagged mail, and Filo's own mail to a stranger.
    await rival.json('POST', '/api/team/invitations', { email: 'someone@rival.example', role: 'member' });
    await filo.services.mailer.send({
      to: 'stranger@else.example',
      subject: 'Confirm your new Filo workspace',
      text: 'x',
    });

    const subjects = async () =>
      (await owner.json('GET', '/api/dev/outbox')).items.map((m: { subject: string }) => m.subject);
    await poll(async () => (await subjects()).some((s: string) => s.startsWith('Invitation: Outbox call'))).toBe(true);
    const listed: string[] = await subjects();
    const at = (prefix: string) => listed.findIndex((s) => s.startsWith(prefix));
    for (const prefix of [
      'Demo Owner invited you to',
      'Invitation: Outbox call',
      'Reset your Filo password',
      '[Test] Autumn newsletter',
    ])
      expect(at(prefix), prefix).toBeGreaterThanOrEqual(0);
    expect(listed.some((s) => s.startsWith('Confirm your new Filo workspace'))).toBe(false);
    expect(listed.some((s) => s.includes('Rival'))).toBe(false);
    // Newest first.
    expect(at('[Test] Autumn newsletter')).toBeLessThan(at('Reset your Filo password'));
    expect(at('Reset your Filo password')).toBeLessThan(at('Demo Owner invited you to'));

    // Each with its raw message; nothing outside the folder, nothing of another workspace.
    const items = (await owner.json('GET', '/api/dev/outbox')).items as { id: string; subject: string; to: string }[];
    const invitation = items.find((m) => m.subject.startsWith('Invitation: Outbox call'))!;
    expect(invitation.to).toContain('outbox-guest@partner.example');
    const raw = await owner.call('GET', `/api/dev/outbox/${encodeURIComponent(invitation.id)}/raw`);
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await raw.text()).toMatch(/BEGIN:VCALENDAR/);
    const rivals = (await rival.json('GET', '/api/dev/outbox')).items as { id: string }[];
    expect(rivals.length).toBeGreaterThan(0);
    expect((await owner.call('GET', `/api/dev/outbox/${encodeURIComponent(rivals[0]!.id)}/raw`)).status).toBe(404);
    expect((await rival.call('GET', `/api/dev/outbox/${encodeURIComponent(invitation.id)}/raw`)).status).toBe(404);
    expect((await owner.call('GET', `/api/dev/outbox/${encodeURIComponent('../../secret.eml')}/raw`)).status).toBe(404);
    // A member sees no outbox.
    expect((await sara.call('GET', '/api/dev/outbox')).status).toBe(403);
    expect((await sara.call('GET', `/api/dev/outbox/${encodeURIComponent(invitation.id)}/raw`)).status).toBe(403);
  });
});
