import { createHmac } from 'node:crypto';
import ICAL from 'ical.js';
import { simpleParser } from 'mailparser';
import pg from 'pg';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientToServerEvents, ServerToClientEvents } from '../realtime/events.ts';
import type { ActivityDto } from '../server/timeline/publisher.ts';
import { loadConfig, ConfigError } from '../server/config.ts';
import { QUEUES } from '../server/jobs/jobs.ts';
import { endSilentCalls } from '../server/meetings/meetings.jobs.ts';
import { readOutbox } from '../server/delivery/mailer.ts';
import {
  apiClient,
  body,
  DEMO,
  login,
  signUp,
  startTestFilo,
  tempDir,
  type ApiClient,
  type TestFilo,
} from './support/harness.ts';

/**
 * Video meetings over the API against a whole Filo: instant and scheduled meetings, the call's presence reports
 * and its three endings (host, last one out, silence), the note and activity they post, invitations parsed by
 * ical.js, the calendar feed, guests, Jitsi JWTs, recordings and the searchable transcript.
 */

const JITSI_SECRET = 'jitsi-test-secret-0123456789';
let filo: TestFilo;
let owner: ApiClient;
let sara: ApiClient;
let other: ApiClient;
let ownerId: string;
let saraId: string;
const sockets: Socket[] = [];
let db: pg.Client;

const poll = <T>(fn: () => Promise<T> | T, timeout = 15_000) => expect.poll(fn, { timeout, interval: 100 });

beforeAll(async () => {
  filo = await startTestFilo({
    PUBLIC_URL: 'http://crm.filo.test',
    JITSI_DOMAIN: 'meet.filo.test',
    JITSI_APP_ID: 'filo-test',
    JITSI_APP_SECRET: JITSI_SECRET,
  });
  owner = apiClient(filo.baseUrl, await login(filo.baseUrl));
  sara = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'sara@filo.local', password: DEMO.password }));
  other = apiClient(
    filo.baseUrl,
    await signUp(filo, {
      workspace: 'Rival',
      name: 'Rival Owner',
      email: 'owner@rival.example',
      password: 'rival password 1',
    }),
  );
  ownerId = (await owner.json('GET', '/api/auth/me')).user.id;
  saraId = (await sara.json('GET', '/api/auth/me')).user.id;
  db = new pg.Client({ connectionString: filo.databaseUrl });
  await db.connect();
});

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await db?.end();
  await filo?.close();
});

// The API client sends our own Origin; with PUBLIC_URL elsewhere, writes must still come from the request's host.
const company = (name: string) => owner.json('POST', '/api/crm/companies', { name, type: 'client' });

/** A socket watching a company, collecting the activities it is sent. */
async function watchCompany(cookie: string, companyId: string): Promise<ActivityDto[]> {
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = connect(filo.baseUrl, {
    path: '/socket.io',
    transports: ['websocket'],
    extraHeaders: { cookie },
    reconnection: false,
  });
  sockets.push(socket);
  const seen: ActivityDto[] = [];
  socket.on('activity:new', (a) => seen.push(a));
  await new Promise((resolve) => socket.once('session:ready', resolve));
  const ack = await socket.emitWithAck('record:watch', { type: 'company', id: companyId });
  expect(ack.ok).toBe(true);
  return seen;
}

/** Parses a JWT's claims after checking its HS256 signature with the secret (independently of the signer). */
function jwtClaims(token: string, secret: string) {
  const [h, p, s] = token.split('.');
  expect(createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url')).toBe(s);
  return JSON.parse(Buffer.from(p!, 'base64url').toString());
}

/** The mails of the outbox, parsed, with their calendar part parsed by ical.js. */
async function outbox() {
  const mails = [];
  for (const { raw } of readOutbox(filo.services.mailer.outboxDir!)) {
    const parsed = await simpleParser(raw);
    const calendar = parsed.attachments.find((a) => a.contentType.startsWith('text/calendar'));
    const ics = calendar?.content.toString('utf8') ?? null;
    mails.push({
      to: parsed.to && 'text' in parsed.to ? parsed.to.text : '',
      subject: parsed.subject ?? '',
      text: parsed.text ?? '',
      raw,
      ics,
    });
  }
  return mails;
}

function vevent(ics: string) {
  const cal = new ICAL.Component(ICAL.parse(ics));
  const e = cal.getFirstSubcomponent('vevent')!;
  return {
    method: cal.getFirstPropertyValue('method'),
    uid: e.getFirstPropertyValue('uid') as string,
    sequence: Number(e.getFirstPropertyValue('sequence')),
    status: e.getFirstPropertyValue('status'),
    summary: e.getFirstPropertyValue('summary') as string,
    start: new ICAL.Event(e).startDate.toJSDate(),
    end: new ICAL.Event(e).endDate.toJSDate(),
    description: e.getFirstPropertyValue('description') as string,
    attendees: e.getAllProperties('attendee').map((a) => String(a.getFirstValue())),
    organizer: String(e.getFirstPropertyValue('organizer')),
  };
}

/** Joins the call and reports the page really in it, as the call page does once lib-jitsi-meet has joined. */
async function enter(client: ApiClient, meetingId: string) {
  const info = await client.json('POST', `/api/meetings/${meetingId}/join`, {}, 200);
  await client.json('POST', `/api/meetings/${meetingId}/connected`, { attendeeId: info.attendeeId }, 200);
  return info;
}

const inAnHour = () => new Date(Date.now() + 3600_000).toISOString();

describe('instant meetings', () => {
  it('gets an unguessable room and a join URL; ending it once joined posts the note and meeting.completed live', async () => {
    const acme = await company('Instant Acme');
    const seen = await watchCompany(owner.cookie, acme.id);
    const meeting = await owner.json('POST', '/api/meetings', { companyId: acme.id });
    expect(meeting).toMatchObject({
      kind: 'instant',
      status: 'scheduled',
      title: 'Video call with Instant Acme',
      companyId: acme.id,
      provider: 'jitsi',
      durationMinutes: 60,
      hostUserId: ownerId,
      meetingUrl: `http://crm.filo.test/call/${meeting.id}`,
    });
    expect(meeting.roomId).toMatch(/^filo-[0-9a-f]{32}$/);
    const again = await owner.json('POST', '/api/meetings', { companyId: acme.id });
    expect(again.roomId).not.toBe(meeting.roomId);

    // Nobody has joined: there is no call to end (it would read "completed · 0 min").
    const early = await owner.call('POST', `/api/meetings/${meeting.id}/end`);
    expect(`${early.status} ${(await body(early)).error.code}`).toBe('409 meeting_not_started');
    expect((await owner.json('GET', `/api/meetings/${meeting.id}`)).status).toBe('scheduled');

    await enter(owner, meeting.id);
    await db.query(`update video_meetings set started_at = now() - interval '5 minutes' where id = $1`, [meeting.id]);
    const ended = await owner.json('POST', `/api/meetings/${meeting.id}/end`, undefined, 200);
    expect(ended).toMatchObject({ status: 'completed', endReason: 'host_ended' });
    expect(Math.round(ended.actualDurationSeconds / 60)).toBe(5);
    const notes = (await owner.json('GET', `/api/crm/notes?entityType=company&entityId=${acme.id}`)).items;
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatchObject({ noteType: 'meeting', id: ended.noteId, createdBy: ownerId });
    expect(notes[0].content).toMatch(
      /^Video call completed · 5 min · with Demo Owner\n\n\*\*Video call with Instant Acme\*\*$/,
    );
    const { items } = await owner.json('GET', `/api/crm/timeline?entityType=company&entityId=${acme.id}`);
    expect(items[0]).toMatchObject({
      type: 'meeting.completed',
      description: 'Video call completed · 5 min · with Demo Owner',
      data: { meetingId: meeting.id, noteId: ended.noteId, durationMinutes: 5, participants: ['Demo Owner'] },
    });
    await poll(() => seen.map((a) => a.type)).toContain('meeting.completed');
    expect(await owner.call('POST', `/api/meetings/${meeting.id}/end`).then((r) => r.status)).toBe(409);
    const join = await owner.call('POST', `/api/meetings/${meeting.id}/join`, {});
    expect(join.status).toBe(409);
    expect((await body(join)).error.code).toBe('meeting_completed');
  });
});

describe('a call', () => {
  it('records who joined and for how long; the host ends it: one note, one activity, on every watcher', async () => {
    const acme = await company('Call Acme');
    const seen = await watchCompany(sara.cookie, acme.id);
    const meeting = await owner.json('POST', '/api/meetings', { companyId: acme.id, title: 'Kick-off' });

    const mine = await enter(owner, meeting.id);
    expect(mine).toMatchObject({
      domain: 'meet.filo.test',
      libUrl: 'https://meet.filo.test/libs/lib-jitsi-meet.min.js',
      roomName: meeting.roomId,
      displayName: 'Demo Owner',
      moderator: true,
      hosts: { domain: 'meet.filo.test', muc: 'conference.meet.filo.test' },
      // Joining only says where and how: the call starts when the page reports it is in.
      meeting: { id: meeting.id, status: 'scheduled', companyId: acme.id, guest: false },
    });
    const ownerClaims = jwtClaims(mine.jwt, JITSI_SECRET);
    expect(ownerClaims).toMatchObject({
      aud: 'jitsi',
      iss: 'filo-test',
      sub: 'meet.filo.test',
      room: meeting.roomId,
      context: { user: { id: ownerId, name: 'Demo Owner', email: 'demo@filo.local', moderator: true } },
    });
    expect(ownerClaims.exp - Date.now() / 1000).toBeGreaterThan(60 * 60);
    expect(ownerClaims.exp - Date.now() / 1000).toBeLessThan(4 * 60 * 60);
    const saras = await enter(sara, meeting.id);
    expect(jwtClaims(saras.jwt, JITSI_SECRET).context.user).toMatchObject({ name: 'Sara Bianchi', moderator: false });
    await poll(() => seen.map((a) => a.type)).toContain('meeting.started');
    expect(seen.filter((a) => a.type === 'meeting.started')).toHaveLength(1);

    expect(
      await sara.json('POST', `/api/meetings/${meeting.id}/heartbeat`, { attendeeId: saras.attendeeId }, 200),
    ).toEqual({
      status: 'in_progress',
      inCall: true,
    });
    // A presence is reported only by whoever joined as it.
    expect(
      (await sara.call('POST', `/api/meetings/${meeting.id}/heartbeat`, { attendeeId: mine.attendeeId })).status,
    ).toBe(404);
    expect(await sara.json('POST', `/api/meetings/${meeting.id}/leave`, { attendeeId: saras.attendeeId }, 200)).toEqual(
      {
        status: 'in_progress',
      },
    );
    // Sara is not the host: she cannot end it for everyone.
    expect((await sara.call('POST', `/api/meetings/${meeting.id}/end`)).status).toBe(403);

    // The call began 45 minutes ago.
    await db.query(`update video_meetings set started_at = now() - interval '45 minutes' where id = $1`, [meeting.id]);
    const ended = await owner.json('POST', `/api/meetings/${meeting.id}/end`, undefined, 200);
    expect(ended).toMatchObject({ status: 'completed', endReason: 'host_ended' });
    expect(ended.actualDurationSeconds).toBeGreaterThanOrEqual(45 * 60);
    expect(ended.actualDurationSeconds).toBeLessThan(46 * 60);

    const detail = await owner.json('GET', `/api/meetings/${meeting.id}`);
    expect(detail.attendees.map((a: { name: string; leftAt: string | null }) => [a.name, Boolean(a.leftAt)])).toEqual([
      ['Demo Owner', true],
      ['Sara Bianchi', true],
    ]);
    const summary = 'Video call completed · 45 min · with Demo Owner, Sara Bianchi';
    const note = (await owner.json('GET', `/api/crm/notes?entityType=company&entityId=${acme.id}`)).items[0];
    expect(note.content).toBe(`${summary}\n\n**Kick-off**`);
    await poll(() => seen.find((a) => a.type === 'meeting.completed')?.data).toMatchObject({
      noteId: note.id,
      durationMinutes: 45,
      participants: ['Demo Owner', 'Sara Bianchi'],
      endReason: 'host_ended',
    });
    expect(seen.find((a) => a.type === 'meeting.completed')?.description).toBe(summary);

    // Everyone still in the call hears that it is over at their next heartbeat.
    expect(
      await owner.json('POST', `/api/meetings/${meeting.id}/heartbeat`, { attendeeId: mine.attendeeId }, 200),
    ).toEqual({
      status: 'completed',
      inCall: false,
    });

    // The auto-note is the host's to edit; a member who is not its author cannot.
    const edited = await owner.json(
      'PATCH',
      `/api/crm/notes/${note.id}`,
      { content: `${summary}\n\nAgreed on Q4 scope.` },
      200,
    );
    expect(edited.content).toContain('Agreed on Q4 scope.');
    expect((await sara.call('PATCH', `/api/crm/notes/${note.id}`, { content: 'mine now' })).status).toBe(403);
  });

  it('ends when the last participant leaves, with the note on the contact (and its company timeline)', async () => {
    const acme = await company('Leave Acme');
    const giulia = await owner.json('POST', '/api/crm/contacts', {
      companyId: acme.id,
      firstName: 'Giulia',
      lastName: 'Neri',
    });
    const meeting = await owner.json('POST', '/api/meetings', { contactId: giulia.id });
    expect(meeting).toMatchObject({ companyId: acme.id, contactId: giulia.id, title: 'Video call with Giulia Neri' });
    const a = await enter(owner, meeting.id);
    const b = await enter(sara, meeting.id);
    await owner.json('POST', `/api/meetings/${meeting.id}/leave`, { attendeeId: a.attendeeId }, 200);
    const last = await sara.json('POST', `/api/meetings/${meeting.id}/leave`, { attendeeId: b.attendeeId }, 200);
    expect(last).toEqual({ status: 'completed' });
    const got = await owner.json('GET', `/api/meetings/${meeting.id}`);
    expect(got.endReason).toBe('last_left');
    const notes = (await owner.json('GET', `/api/crm/notes?entityType=contact&entityId=${giulia.id}`)).items;
    expect(notes[0].content).toMatch(/^Video call completed · \d+ min · with Demo Owner, Sara Bianchi/);
    const timeline = (await owner.json('GET', `/api/crm/timeline?entityType=company&entityId=${acme.id}`)).items;
    expect(timeline[0]).toMatchObject({ type: 'meeting.completed', entityType: 'contact', entityId: giulia.id });
  });

  it('ends by itself when nobody has reported for 2 minutes (the scheduled sweep), and not before', async () => {
    const schedules = await filo.jobs!.boss.getSchedules();
    expect(schedules.map((s: { name: string }) => s.name)).toContain(QUEUES.meetingTimeouts);

    const acme = await company('Silent Acme');
    const silent = await owner.json('POST', '/api/meetings', { companyId: acme.id });
    const lively = await owner.json('POST', '/api/meetings', { companyId: acme.id });
    const s = await enter(sara, silent.id);
    await enter(owner, lively.id);
    // Sara's tab was closed 3 minutes ago: her last heartbeat is that old.
    await db.query(
      `update meeting_attendees set joined_at = now() - interval '10 minutes', last_seen_at = now() - interval '3 minutes' where id = $1`,
      [s.attendeeId],
    );
    await db.query(`update video_meetings set started_at = now() - interval '10 minutes' where id = $1`, [silent.id]);
    await filo.jobs!.boss.send(QUEUES.meetingTimeouts, {});
    await poll(async () => (await owner.json('GET', `/api/meetings/${silent.id}`)).status).toBe('completed');
    const done = await owner.json('GET', `/api/meetings/${silent.id}`);
    expect(done.endReason).toBe('timeout');
    // It ended when Sara was last heard from: 7 minutes after it began.
    expect(Math.round(done.actualDurationSeconds / 60)).toBe(7);
    const timeline = (await owner.json('GET', `/api/crm/timeline?entityType=company&entityId=${acme.id}`)).items;
    const completed = timeline.find((a: ActivityDto) => a.type === 'meeting.completed');
    expect(completed).toMatchObject({ actor: null, data: { meetingId: silent.id, participants: ['Sara Bianchi'] } });
    // The same sweep left the call whose page still reports.
    expect((await owner.json('GET', `/api/meetings/${lively.id}`)).status).toBe('in_progress');
  });

  it('the sweep, run with a later clock, ends a call 2 minutes after its last heartbeat, not 1 minute after', async () => {
    const acme = await company('Clock Acme');
    const seen = await watchCompany(owner.cookie, acme.id);
    const meeting = await owner.json('POST', '/api/meetings', { companyId: acme.id, title: 'Clocked' });
    const a = await enter(owner, meeting.id);
    const b = await enter(sara, meeting.id);
    await owner.json('POST', `/api/meetings/${meeting.id}/heartbeat`, { attendeeId: a.attendeeId }, 200);
    await sara.json('POST', `/api/meetings/${meeting.id}/heartbeat`, { attendeeId: b.attendeeId }, 200);
    const { rows } = await db.query<{ last: Date; started: Date }>(
      `select max(a.last_seen_at) as last, m.started_at as started from meeting_attendees a
         join video_meetings m on m.id = a.meeting_id where a.meeting_id = $1 group by m.started_at`,
      [meeting.id],
    );
    const last = rows[0]!.last.getTime();
    const sweep = (afterLastBeat: number) =>
      endSilentCalls(filo.jobs!.boss, filo.services.meetings, new Date(last + afterLastBeat));

    // One minute of silence, then 1 s short of two: the call goes on.
    await sweep(60_000);
    await sweep(119_000);
    expect((await owner.json('GET', `/api/meetings/${meeting.id}`)).status).toBe('in_progress');
    // Past two minutes: over, as Filo, ended when the pages were last heard from.
    expect(await sweep(121_000)).toBeGreaterThanOrEqual(1);
    const done = await owner.json('GET', `/api/meetings/${meeting.id}`);
    expect(done).toMatchObject({ status: 'completed', endReason: 'timeout' });
    expect(new Date(done.endedAt).getTime()).toBe(last);
    expect(done.actualDurationSeconds).toBe(Math.round((last - rows[0]!.started.getTime()) / 1000));
    expect(done.attendees.every((x: { leftAt: string | null }) => x.leftAt !== null)).toBe(true);
    const note = (await owner.json('GET', `/api/crm/notes?entityType=company&entityId=${acme.id}`)).items[0];
    expect(note).toMatchObject({ id: done.noteId, noteType: 'meeting', createdBy: ownerId });
    expect(note.content).toMatch(/^Video call completed · \d+ min · with Demo Owner, Sara Bianchi/);
    // (The socket also hears the workspace's feed: other calls the same sweep ended.)
    const mine = () => seen.filter((x) => x.type === 'meeting.completed' && x.data.meetingId === meeting.id);
    await poll(() => mine().map((x) => x.data.endReason)).toEqual(['timeout']);
    // A second sweep finds nothing more to do with it.
    await sweep(600_000);
    const timeline = (await owner.json('GET', `/api/crm/timeline?entityType=company&entityId=${acme.id}`)).items;
    expect(timeline.filter((x: ActivityDto) => x.type === 'meeting.completed')).toHaveLength(1);
  });

  it('ends all or nothing: when the activity cannot be written, there is no note and the call goes on', async () => {
    const acme = await company('Atomic Acme');
    const meeting = await owner.json('POST', '/api/meetings', { companyId: acme.id, title: 'Doomed call' });
    await enter(owner, meeting.id);
    // The activity insert fails for this call only (as a full disk or a lost connection would).
    await db.query(`create or replace function meeting_test_refuse() returns trigger language plpgsql as $$
      begin
        if new.activity_type = 'meeting.completed' and new.metadata->>'title' = 'Doomed call' then
          raise exception 'refused by the test';
        end if;
        return new;
      end $$`);
    await db.query(
      `create trigger meeting_test_refuse before insert on activities for each row execute function meeting_test_refuse()`,
    );
    try {
      expect((await owner.call('POST', `/api/meetings/${meeting.id}/end`)).status).toBe(500);
    } finally {
      await db.query(`drop trigger meeting_test_refuse on activities`);
      await db.query(`drop function meeting_test_refuse()`);
    }
    const still = await owner.json('GET', `/api/meetings/${meeting.id}`);
    expect(still).toMatchObject({ status: 'in_progress', noteId: null, endedAt: null, endReason: null });
    expect((await owner.json('GET', `/api/crm/notes?entityType=company&entityId=${acme.id}`)).items).toEqual([]);
    // Once the cause is gone, ending works and posts both.
    const ended = await owner.json('POST', `/api/meetings/${meeting.id}/end`, undefined, 200);
    expect(ended.noteId).toBeTruthy();
    const types = (await owner.json('GET', `/api/crm/timeline?entityType=company&entityId=${acme.id}`)).items.map(
      (x: ActivityDto) => x.type,
    );
    expect(types.filter((t: string) => t === 'meeting.completed')).toHaveLength(1);
  });

  it('a call linked to no record ends too: its activity on the meeting itself, and no note', async () => {
    const meeting = await owner.json('POST', '/api/meetings', { title: 'Team stand-up' });
    expect(meeting).toMatchObject({ companyId: null, contactId: null, companyName: null, contactName: null });
    await enter(owner, meeting.id);
    const ended = await owner.json('POST', `/api/meetings/${meeting.id}/end`, undefined, 200);
    expect(ended).toMatchObject({ status: 'completed', noteId: null });
    const { rows } = await db.query(
      `select activity_type, entity_type from activities where entity_id = $1 order by seq`,
      [meeting.id],
    );
    expect(rows).toEqual([
      { activity_type: 'meeting.started', entity_type: 'meeting' },
      { activity_type: 'meeting.completed', entity_type: 'meeting' },
    ]);
  });
});

describe('scheduled meetings and calendars', () => {
  it('emails RFC 5545 invitations, updates with a higher SEQUENCE and cancels with METHOD:CANCEL', async () => {
    const acme = await company('Calendar Acme');
    const giulia = await owner.json('POST', '/api/crm/contacts', {
      companyId: acme.id,
      firstName: 'Giulia',
      lastName: 'Neri',
      email: 'giulia@acme.example',
    });
    const when = new Date(Date.now() + 2 * 86_400_000);
    when.setUTCSeconds(0, 0);
    const before = readOutbox(filo.services.mailer.outboxDir!).length;
    const meeting = await owner.json('POST', '/api/meetings', {
      title: 'Quarterly review; Q4, budget',
      companyId: acme.id,
      scheduledAt: when.toISOString(),
      durationMinutes: 45,
      notes: 'Bring the numbers',
      participants: [
        { userId: saraId },
        { contactId: giulia.id },
        { email: 'Paolo@Partner.example', name: 'Paolo' },
        { userId: saraId },
      ],
    });
    expect(meeting).toMatchObject({
      kind: 'scheduled',
      status: 'scheduled',
      icsSequence: 0,
      scheduledAt: when.toISOString(),
      durationMinutes: 45,
      notes: 'Bring the numbers',
      companyName: 'Calendar Acme',
    });
    expect(meeting.participants).toEqual([
      { type: 'user', userId: saraId, name: 'Sara Bianchi', email: 'sara@filo.local' },
      { type: 'contact', contactId: giulia.id, name: 'Giulia Neri', email: 'giulia@acme.example' },
      { type: 'email', name: 'Paolo', email: 'paolo@partner.example' },
    ]);
    await poll(async () => (await outbox()).length - before).toBe(3);
    const invitations = (await outbox()).slice(before);
    expect(invitations.map((m) => m.to).sort()).toEqual([
      'giulia@acme.example',
      'paolo@partner.example',
      'sara@filo.local',
    ]);
    for (const mail of invitations) {
      expect(mail.subject).toMatch(/^Invitation: Quarterly review; Q4, budget · /);
      expect(mail.raw).toMatch(/Content-Type: text\/calendar; charset=utf-8; method=REQUEST/i);
      const e = vevent(mail.ics!);
      expect(e).toMatchObject({
        method: 'REQUEST',
        uid: `${meeting.id}@crm.filo.test`,
        sequence: 0,
        status: 'CONFIRMED',
        summary: 'Quarterly review; Q4, budget',
        organizer: 'mailto:demo@filo.local',
      });
      expect(e.start.toISOString()).toBe(when.toISOString());
      expect(e.end.getTime() - e.start.getTime()).toBe(45 * 60_000);
      expect(e.attendees.sort()).toEqual([
        'mailto:giulia@acme.example',
        'mailto:paolo@partner.example',
        'mailto:sara@filo.local',
      ]);
      expect(e.description).toContain('Bring the numbers');
    }
    // Members join signed in; guests get a signed link of their own.
    const toSara = invitations.find((m) => m.to === 'sara@filo.local')!;
    expect(vevent(toSara.ics!).description).toContain(`Join the video call: http://crm.filo.test/call/${meeting.id}`);
    expect(vevent(toSara.ics!).description).not.toContain('guest=');
    const toGiulia = invitations.find((m) => m.to === 'giulia@acme.example')!;
    expect(vevent(toGiulia.ics!).description).toMatch(new RegExp(`/call/${meeting.id}#guest=[\\w-]+\\.[\\w-]+`));

    // Moved by an hour and Paolo dropped: updates (SEQUENCE 1) to those invited, a cancellation to Paolo.
    const later = new Date(when.getTime() + 3600_000);
    const mark = readOutbox(filo.services.mailer.outboxDir!).length;
    const moved = await owner.json(
      'PATCH',
      `/api/meetings/${meeting.id}`,
      { scheduledAt: later.toISOString(), participants: [{ userId: saraId }, { contactId: giulia.id }] },
      200,
    );
    expect(moved.icsSequence).toBe(1);
    await poll(async () => (await outbox()).length - mark).toBe(3);
    const updates = (await outbox()).slice(mark);
    const toPaolo = updates.find((m) => m.to === 'paolo@partner.example')!;
    expect(vevent(toPaolo.ics!)).toMatchObject({
      method: 'CANCEL',
      sequence: 1,
      status: 'CANCELLED',
      uid: `${meeting.id}@crm.filo.test`,
    });
    for (const mail of updates.filter((m) => m !== toPaolo)) {
      expect(mail.subject).toMatch(/^Updated invitation: /);
      const e = vevent(mail.ics!);
      expect(e).toMatchObject({ method: 'REQUEST', sequence: 1, uid: `${meeting.id}@crm.filo.test` });
      expect(e.start.toISOString()).toBe(later.toISOString());
    }

    // The calendar file from the API says the same.
    const ics = await (
      await fetch(`${filo.baseUrl}/api/meetings/${meeting.id}/calendar.ics`, { headers: { cookie: owner.cookie } })
    ).text();
    expect(vevent(ics)).toMatchObject({ method: 'REQUEST', sequence: 1 });

    // Sara is not the host: she cannot cancel it.
    expect((await sara.call('POST', `/api/meetings/${meeting.id}/cancel`)).status).toBe(403);
    const mark2 = readOutbox(filo.services.mailer.outboxDir!).length;
    const cancelled = await owner.json('POST', `/api/meetings/${meeting.id}/cancel`, undefined, 200);
    expect(cancelled).toMatchObject({ status: 'cancelled', icsSequence: 2 });
    await poll(async () => (await outbox()).length - mark2).toBe(2);
    for (const mail of (await outbox()).slice(mark2)) {
      expect(mail.subject).toBe('Cancelled: Quarterly review; Q4, budget');
      expect(vevent(mail.ics!)).toMatchObject({
        method: 'CANCEL',
        sequence: 2,
        status: 'CANCELLED',
        uid: `${meeting.id}@crm.filo.test`,
      });
    }
    const after = await (
      await fetch(`${filo.baseUrl}/api/meetings/${meeting.id}/calendar.ics`, { headers: { cookie: owner.cookie } })
    ).text();
    expect(vevent(after)).toMatchObject({ method: 'CANCEL', sequence: 2, status: 'CANCELLED' });
    expect((await owner.call('POST', `/api/meetings/${meeting.id}/join`, {})).status).toBe(409);
    const types = (await owner.json('GET', `/api/crm/timeline?entityType=company&entityId=${acme.id}`)).items.map(
      (a: ActivityDto) => a.type,
    );
    expect(types).toEqual(expect.arrayContaining(['meeting.scheduled', 'meeting.updated', 'meeting.cancelled']));
  });

  it('lists meetings per company, per member and by time', async () => {
    const acme = await company('List Acme');
    const soon = new Date(Date.now() + 86_400_000).toISOString();
    const later = new Date(Date.now() + 5 * 86_400_000).toISOString();
    const a = await owner.json('POST', '/api/meetings', { companyId: acme.id, scheduledAt: later, title: 'Later' });
    const b = await owner.json('POST', '/api/meetings', {
      companyId: acme.id,
      scheduledAt: soon,
      title: 'Soon',
      participants: [{ userId: saraId }],
    });
    const list = await owner.json('GET', `/api/meetings?companyId=${acme.id}&sort=scheduledAt`);
    expect(list.items.map((m: { id: string }) => m.id)).toEqual([b.id, a.id]);
    expect(list.items[0]).toMatchObject({ companyName: 'List Acme', contactName: null });
    const window = await owner.json(
      'GET',
      `/api/meetings?companyId=${acme.id}&to=${new Date(Date.now() + 2 * 86_400_000).toISOString()}`,
    );
    expect(window.items.map((m: { title: string }) => m.title)).toEqual(['Soon']);
    const saras = await sara.json('GET', `/api/meetings?userId=${saraId}`);
    expect(saras.items.map((m: { id: string }) => m.id)).toContain(b.id);
    expect(saras.items.map((m: { id: string }) => m.id)).not.toContain(a.id);
    expect((await other.json('GET', `/api/meetings?companyId=${acme.id}`)).items).toEqual([]);
    const bad = await owner.call('GET', '/api/meetings?from=yesterday');
    expect(bad.status).toBe(400);
    expect((await body(bad)).error.fields.from).toBeDefined();
  });

  it('serves each member a secret calendar feed URL without a session; only its hash is stored', async () => {
    const scheduled = await owner.json('POST', '/api/meetings', {
      title: 'Feed sync',
      scheduledAt: inAnHour(),
      participants: [{ userId: saraId }],
    });
    const feed = await sara.json('POST', '/api/meetings/feed');
    expect(feed.url).toMatch(/^http:\/\/crm\.filo\.test\/api\/meetings\/feed\/[\w-]{43}\.ics$/);
    const path = new URL(feed.url).pathname;
    const res = await fetch(`${filo.baseUrl}${path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/calendar/);
    const cal = new ICAL.Component(ICAL.parse(await res.text()));
    const uids = cal.getAllSubcomponents('vevent').map((e) => e.getFirstPropertyValue('uid'));
    expect(uids).toContain(`${scheduled.id}@crm.filo.test`);
    const token = path
      .split('/')
      .at(-1)!
      .replace(/\.ics$/, '');
    const { rows } = await db.query(`select token_hash from calendar_feeds where user_id = $1`, [saraId]);
    expect(rows).toHaveLength(1);
    expect(rows[0].token_hash).not.toContain(token);
    expect(rows[0].token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await sara.json('GET', '/api/meetings/feed')).toMatchObject({ active: true });

    // A new URL retires the old one; turning the feed off retires both.
    const rotated = await sara.json('POST', '/api/meetings/feed');
    expect((await fetch(`${filo.baseUrl}${path}`)).status).toBe(404);
    const rotatedPath = new URL(rotated.url).pathname;
    expect((await fetch(`${filo.baseUrl}${rotatedPath}`)).status).toBe(200);
    await sara.json('DELETE', '/api/meetings/feed');
    expect((await fetch(`${filo.baseUrl}${rotatedPath}`)).status).toBe(404);
    expect((await fetch(`${filo.baseUrl}/api/meetings/feed/not-a-token.ics`)).status).toBe(404);
  });
});

describe('guests', () => {
  it('join by their signed link without an account, seeing nothing of the CRM', async () => {
    const acme = await company('Guest Acme');
    const giulia = await owner.json('POST', '/api/crm/contacts', {
      companyId: acme.id,
      firstName: 'Giulia',
      lastName: 'Guest',
      email: 'giulia.guest@acme.example',
    });
    const mark = readOutbox(filo.services.mailer.outboxDir!).length;
    const meeting = await owner.json('POST', '/api/meetings', {
      companyId: acme.id,
      participants: [{ contactId: giulia.id }],
    });
    await poll(async () => (await outbox()).length - mark).toBe(1);
    const mail = (await outbox())[mark]!;
    const link = /Join: (\S+)/.exec(mail.text)![1]!;
    // The token rides in the fragment, which browsers never send: no request log or Referer carries it.
    const guest = new URLSearchParams(new URL(link).hash.slice(1)).get('guest')!;
    expect(new URL(link).search).toBe('');
    expect(new URL(link).pathname).toBe(`/call/${meeting.id}`);

    const anonymous = (path: string, payload?: unknown) =>
      fetch(`${filo.baseUrl}${path}`, {
        method: payload === undefined ? 'GET' : 'POST',
        headers: { origin: filo.baseUrl, 'content-type': 'application/json' },
        body: payload === undefined ? undefined : JSON.stringify(payload),
      });
    const lobby = await body(await anonymous(`/api/meetings/${meeting.id}/lobby`, { guest }));
    expect(lobby).toEqual({
      id: meeting.id,
      title: 'Video call with Guest Acme',
      kind: 'instant',
      status: 'scheduled',
      scheduledAt: meeting.scheduledAt,
      durationMinutes: 60,
      hostName: 'Demo Owner',
      companyId: null,
      contactId: null,
      displayName: 'Giulia Guest',
      guest: true,
      opensAt: new Date(new Date(meeting.scheduledAt).getTime() - 15 * 60_000).toISOString(),
      closesAt: new Date(new Date(meeting.scheduledAt).getTime() + 120 * 60_000).toISOString(),
    });
    const join = await anonymous(`/api/meetings/${meeting.id}/join`, { guest });
    expect(join.status).toBe(200);
    const info = await body(join);
    expect(info).toMatchObject({ displayName: 'Giulia Guest', moderator: false, roomName: meeting.roomId });
    expect(jwtClaims(info.jwt, JITSI_SECRET)).toMatchObject({
      room: meeting.roomId,
      context: { user: { name: 'Giulia Guest', moderator: false } },
    });
    // The guest's page really joined: the call starts, and goes on while it reports.
    expect(
      await body(await anonymous(`/api/meetings/${meeting.id}/connected`, { guest, attendeeId: info.attendeeId })),
    ).toEqual({ status: 'in_progress', inCall: true });
    expect(
      await body(await anonymous(`/api/meetings/${meeting.id}/heartbeat`, { guest, attendeeId: info.attendeeId })),
    ).toEqual({
      status: 'in_progress',
      inCall: true,
    });

    // Without a session or a valid link there is nothing here.
    expect((await anonymous(`/api/meetings/${meeting.id}/join`, {})).status).toBe(401);
    const [claims, signature] = guest.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(claims!, 'base64url').toString()), n: 'Impostor' }),
    ).toString('base64url');
    expect((await anonymous(`/api/meetings/${meeting.id}/join`, { guest: `${forged}.${signature}` })).status).toBe(404);
    const elsewhere = await owner.json('POST', '/api/meetings', { companyId: acme.id });
    expect((await anonymous(`/api/meetings/${elsewhere.id}/join`, { guest })).status).toBe(404);
    expect((await anonymous(`/api/meetings/${meeting.id}`)).status).toBe(401);

    await anonymous(`/api/meetings/${meeting.id}/leave`, { guest, attendeeId: info.attendeeId });
    const done = await owner.json('GET', `/api/meetings/${meeting.id}`);
    expect(done).toMatchObject({ status: 'completed', endReason: 'last_left' });
    expect(done.attendees).toMatchObject([{ name: 'Giulia Guest', contactId: giulia.id, userId: null, isHost: false }]);
  });
});

describe('recordings and transcripts', () => {
  it('attach recordings by URL or upload, shown on the timeline', async () => {
    const acme = await company('Recording Acme');
    const meeting = await owner.json('POST', '/api/meetings', { companyId: acme.id });
    await enter(owner, meeting.id);
    await owner.json('POST', `/api/meetings/${meeting.id}/end`, undefined, 200);
    const byUrl = await owner.json('POST', `/api/meetings/${meeting.id}/recordings`, {
      fileUrl: 'https://recordings.example.com/abc.mp4',
      durationSeconds: 2700,
      fileSize: 123456,
      thumbnailUrl: 'https://recordings.example.com/abc.jpg',
      transcriptUrl: 'https://recordings.example.com/abc.vtt',
    });
    // Every field of the seed's meeting_recordings.
    expect(byUrl).toEqual({
      id: expect.any(String),
      meetingId: meeting.id,
      fileUrl: 'https://recordings.example.com/abc.mp4',
      fileSize: 123456,
      fileType: null,
      durationSeconds: 2700,
      thumbnailUrl: 'https://recordings.example.com/abc.jpg',
      transcriptUrl: 'https://recordings.example.com/abc.vtt',
      createdAt: expect.any(String),
    });
    const timeline = (await owner.json('GET', `/api/crm/timeline?entityType=company&entityId=${acme.id}`)).items;
    expect(timeline[0]).toMatchObject({
      type: 'meeting.recording_added',
      data: { meetingId: meeting.id, recordingId: byUrl.id, recordingUrl: 'https://recordings.example.com/abc.mp4' },
    });

    const form = new FormData();
    form.append('durationSeconds', '60');
    form.append('file', new Blob(['not really a video']), 'call.webm');
    const res = await fetch(`${filo.baseUrl}/api/meetings/${meeting.id}/recordings`, {
      method: 'POST',
      headers: { cookie: owner.cookie, origin: filo.baseUrl },
      body: form,
    });
    expect(res.status).toBe(201);
    const uploaded = await body(res);
    expect(uploaded.fileUrl).toBe(`/api/meetings/${meeting.id}/recordings/${uploaded.id}/file`);
    const file = await fetch(`${filo.baseUrl}${uploaded.fileUrl}`, { headers: { cookie: owner.cookie } });
    expect(file.status).toBe(200);
    // Bytes that are not audio or video are never served as themselves.
    expect(file.headers.get('content-type')).toBe('application/octet-stream');
    expect(file.headers.get('content-disposition')).toMatch(/^attachment/);
    expect(await file.text()).toBe('not really a video');
    expect((await fetch(`${filo.baseUrl}${uploaded.fileUrl}`, { headers: { cookie: other.cookie } })).status).toBe(404);
    const got = await owner.json('GET', `/api/meetings/${meeting.id}`);
    expect(got.recordingUrl).toBe(uploaded.fileUrl);
    expect(got.recordings.map((r: { id: string }) => r.id)).toEqual([uploaded.id, byUrl.id]);

    const invalid = await owner.call('POST', `/api/meetings/${meeting.id}/recordings`, {
      fileUrl: 'javascript:alert(1)',
    });
    expect(invalid.status).toBe(400);
    expect((await body(invalid)).error.fields.fileUrl).toBeDefined();
  });

  it('keeps the transcript as a note that search finds; sending it again replaces it', async () => {
    const acme = await company('Transcript Acme');
    const meeting = await owner.json('POST', '/api/meetings', { companyId: acme.id });
    await enter(owner, meeting.id);
    await owner.json('POST', `/api/meetings/${meeting.id}/end`, undefined, 200);
    const detail = await owner.json(
      'POST',
      `/api/meetings/${meeting.id}/transcript`,
      { text: 'Mario: we need the zanzibarite samples by Friday.\nGiulia: agreed.' },
      200,
    );
    expect(detail.transcript).toContain('zanzibarite');
    const hits = (await owner.json('GET', '/api/search?q=zanzibarite')).items;
    expect(hits).toEqual([expect.objectContaining({ type: 'note', id: detail.transcriptNoteId, companyId: acme.id })]);
    const timeline = (await owner.json('GET', `/api/crm/timeline?entityType=company&entityId=${acme.id}`)).items;
    expect(timeline[0]).toMatchObject({ type: 'meeting.transcript_added', data: { noteId: detail.transcriptNoteId } });

    const form = new FormData();
    form.append('file', new Blob(['WEBVTT\n\n00:00.000 --> 00:02.000\nThe quokkaberry shipment is late.']), 'call.vtt');
    const res = await fetch(`${filo.baseUrl}/api/meetings/${meeting.id}/transcript`, {
      method: 'POST',
      headers: { cookie: owner.cookie, origin: filo.baseUrl },
      body: form,
    });
    expect(res.status).toBe(200);
    expect((await body(res)).transcriptNoteId).toBe(detail.transcriptNoteId);
    expect((await owner.json('GET', '/api/search?q=quokkaberry')).items).toHaveLength(1);
    expect((await owner.json('GET', '/api/search?q=zanzibarite')).items).toEqual([]);
    expect((await other.json('GET', '/api/search?q=quokkaberry')).items).toEqual([]);
  });
});

describe('validation and access', () => {
  it('names every invalid field with a machine-readable code', async () => {
    const acme = await company('Validation Acme');
    const theirs = await other.json('POST', '/api/crm/companies', { name: 'Theirs', type: 'client' });
    const cases: [unknown, string][] = [
      [{ companyId: acme.id, scheduledAt: '2020-01-01T10:00:00Z' }, 'scheduledAt'],
      [{ companyId: acme.id, scheduledAt: 'tomorrow' }, 'scheduledAt'],
      [{ companyId: acme.id, durationMinutes: 2 }, 'durationMinutes'],
      [{ companyId: acme.id, participants: [{ phone: '123' }] }, 'participants.0'],
      [{ companyId: acme.id, participants: [{ email: 'not-an-email' }] }, 'participants.0.email'],
      [{ companyId: theirs.id }, 'companyId'],
      [{ companyId: acme.id, provider: 'zoom' }, 'body'],
    ];
    for (const [payload, field] of cases) {
      const res = await owner.call('POST', '/api/meetings', payload);
      const { error } = await body(res);
      expect(`${res.status} ${error.code}`, JSON.stringify(payload)).toBe('400 validation_failed');
      expect(Object.keys(error.fields), JSON.stringify(payload)).toContain(field);
    }
    const rivalUser = (await other.json('GET', '/api/auth/me')).user.id;
    const res = await owner.call('POST', '/api/meetings', {
      companyId: acme.id,
      participants: [{ userId: rivalUser }],
    });
    expect((await body(res)).error.fields.participants).toMatch(/not members/);
    const other_ = await owner.json('POST', '/api/crm/companies', { name: 'Another', type: 'client' });
    const paolo = await owner.json('POST', '/api/crm/contacts', {
      companyId: other_.id,
      firstName: 'P',
      lastName: 'R',
    });
    const mismatch = await owner.call('POST', '/api/meetings', { companyId: acme.id, contactId: paolo.id });
    expect((await body(mismatch)).error.fields.contactId).toBe('is not a contact of this company');
  });

  it('keeps each workspace to its own meetings', async () => {
    const acme = await company('Private Acme');
    const meeting = await owner.json('POST', '/api/meetings', { companyId: acme.id, scheduledAt: inAnHour() });
    for (const [method, path, payload] of [
      ['GET', `/api/meetings/${meeting.id}`],
      ['PATCH', `/api/meetings/${meeting.id}`, { title: 'hijack' }],
      ['POST', `/api/meetings/${meeting.id}/join`, {}],
      ['POST', `/api/meetings/${meeting.id}/connected`, { attendeeId: meeting.id }],
      ['POST', `/api/meetings/${meeting.id}/end`],
      ['POST', `/api/meetings/${meeting.id}/cancel`],
      ['POST', `/api/meetings/${meeting.id}/transcript`, { text: 'x' }],
      ['POST', `/api/meetings/${meeting.id}/recordings`, { fileUrl: 'https://x.example/y' }],
    ] as [string, string, unknown?][]) {
      expect(`${method} ${path} -> ${(await other.call(method, path, payload)).status}`).toBe(
        `${method} ${path} -> 404`,
      );
    }
    expect((await other.json('GET', '/api/meetings')).items).toEqual([]);
    expect((await owner.json('GET', `/api/meetings/${meeting.id}`)).title).toBe('Video call with Private Acme');
  });
});

describe('Jitsi configuration', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());
  const config = (env: Record<string, string>) => loadConfig({ DATA_DIR: dir.dir, ...env });

  it('defaults to meet.jit.si over https, without tokens', () => {
    expect(config({}).jitsi).toEqual({
      domain: 'meet.jit.si',
      baseUrl: 'https://meet.jit.si',
      appId: undefined,
      appSecret: undefined,
    });
  });

  it('takes a host, or an address with a scheme and port (http for a local stand-in)', () => {
    expect(config({ JITSI_DOMAIN: 'meet.example.com' }).jitsi).toMatchObject({
      domain: 'meet.example.com',
      baseUrl: 'https://meet.example.com',
    });
    expect(config({ JITSI_DOMAIN: 'http://127.0.0.1:8443' }).jitsi).toMatchObject({
      domain: '127.0.0.1:8443',
      baseUrl: 'http://127.0.0.1:8443',
    });
    for (const bad of ['meet.example.com/room', 'ftp://meet.example.com', 'https://u:p@meet.example.com'])
      expect(() => config({ JITSI_DOMAIN: bad }), bad).toThrow(/^Invalid configuration: JITSI_DOMAIN/);
    expect(() => config({ JITSI_APP_ID: 'filo' })).toThrow(ConfigError);
    expect(() => config({ JITSI_APP_ID: 'filo' })).toThrow('JITSI_APP_ID and JITSI_APP_SECRET go together');
  });
});
