import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutbox } from '../server/delivery/mailer.ts';
import { apiClient, body, DEMO, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

/**
 * Meetings against people who should not get in: guests taken off the list, links used outside the meeting's
 * time, guests reporting for others, members acting on meetings that are not theirs, and workspace budgets
 * (invitation mails, storage) that a meeting must respect.
 */

let filo: TestFilo;
let owner: ApiClient;
let sara: ApiClient;
let saraId: string;
let tenantId: string;
let db: pg.Client;

/** Joins the call and reports the page really in it, as the call page does once lib-jitsi-meet has joined. */
async function enter(client: ApiClient, meetingId: string) {
  const info = await client.json('POST', `/api/meetings/${meetingId}/join`, {}, 200);
  await client.json('POST', `/api/meetings/${meetingId}/connected`, { attendeeId: info.attendeeId }, 200);
  return info;
}

const poll = <T>(fn: () => Promise<T> | T, timeout = 15_000) => expect.poll(fn, { timeout, interval: 100 });
const QUOTA_MB = 1;

beforeAll(async () => {
  filo = await startTestFilo({ PUBLIC_URL: 'http://crm.filo.test', STORAGE_QUOTA_MB: String(QUOTA_MB) });
  owner = apiClient(filo.baseUrl, await login(filo.baseUrl));
  sara = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'sara@filo.local', password: DEMO.password }));
  const me = await sara.json('GET', '/api/auth/me');
  saraId = me.user.id;
  tenantId = me.workspace.id;
  db = new pg.Client({ connectionString: filo.databaseUrl });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  await filo?.close();
});

/** A request without a session, as a guest's browser makes it. */
const anonymous = (url: string, payload?: unknown) =>
  fetch(`${filo.baseUrl}${url}`, {
    method: payload === undefined ? 'GET' : 'POST',
    headers: { origin: filo.baseUrl, 'content-type': 'application/json' },
    body: payload === undefined ? undefined : JSON.stringify(payload),
  });

const outboxSize = () => readOutbox(filo.services.mailer.outboxDir!).length;

/** The guest token in the newest invitation mailed to `to`. */
async function guestLink(to: string): Promise<string> {
  let token: string | null = null;
  await poll(async () => {
    for (const { raw } of readOutbox(filo.services.mailer.outboxDir!).reverse()) {
      const mail = await simpleParser(raw);
      const address = mail.to && 'text' in mail.to ? mail.to.text : '';
      if (!address.includes(to) || !mail.subject?.includes('nvitation')) continue;
      const link = new URL(/Join: (\S+)/.exec(mail.text ?? '')![1]!);
      // (Wherever the link carries it: where is a test of its own.)
      token = new URLSearchParams(link.hash.slice(1)).get('guest') ?? link.searchParams.get('guest');
      return token;
    }
    return null;
  }).not.toBeNull();
  return token!;
}

async function contact(firstName: string, email: string) {
  const acme = await owner.json('POST', '/api/crm/companies', { name: `${firstName} Co`, type: 'client' });
  return owner.json('POST', '/api/crm/contacts', { companyId: acme.id, firstName, lastName: 'Guest', email });
}

const soon = () => new Date(Date.now() + 5 * 60_000).toISOString();

const status = async (id: string) => (await owner.json('GET', `/api/meetings/${id}`)).status;

describe('guest links', () => {
  it('stop working for a guest taken off the list, who also leaves the call at once', async () => {
    const giulia = await contact('Giulia', 'giulia@removed.example');
    const meeting = await owner.json('POST', '/api/meetings', {
      title: 'Removal',
      scheduledAt: soon(),
      participants: [{ contactId: giulia.id }, { email: 'paolo@partner.example', name: 'Paolo' }],
    });
    const giuliaToken = await guestLink('giulia@removed.example');
    const paoloToken = await guestLink('paolo@partner.example');

    // Giulia is in the call when the host takes her off the list.
    const inCall = await body(await anonymous(`/api/meetings/${meeting.id}/join`, { guest: giuliaToken }));
    expect(inCall.attendeeId).toBeDefined();
    await anonymous(`/api/meetings/${meeting.id}/connected`, { guest: giuliaToken, attendeeId: inCall.attendeeId });
    await owner.json('PATCH', `/api/meetings/${meeting.id}`, { participants: [{ email: 'paolo@partner.example' }] });

    for (const [url, payload] of [
      [`/api/meetings/${meeting.id}/lobby`, { guest: giuliaToken }],
      [`/api/meetings/${meeting.id}/join`, { guest: giuliaToken }],
      [`/api/meetings/${meeting.id}/heartbeat`, { guest: giuliaToken, attendeeId: inCall.attendeeId }],
      [`/api/meetings/${meeting.id}/connected`, { guest: giuliaToken, attendeeId: inCall.attendeeId }],
      [`/api/meetings/${meeting.id}/leave`, { guest: giuliaToken, attendeeId: inCall.attendeeId }],
    ] as const) {
      const res = await anonymous(url, payload);
      expect(`${url} ${res.status} ${(await body(res)).error?.code}`).toBe(`${url} 403 guest_removed`);
    }
    const detail = await owner.json('GET', `/api/meetings/${meeting.id}`);
    expect(detail.attendees).toEqual([expect.objectContaining({ name: 'Giulia Guest', leftAt: expect.any(String) })]);

    // Paolo, still invited, gets in with his own link.
    expect((await anonymous(`/api/meetings/${meeting.id}/join`, { guest: paoloToken })).status).toBe(200);
  });

  it('open a call only around its scheduled time: not a day early, not hours after it was due', async () => {
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
    const meeting = await owner.json('POST', '/api/meetings', {
      title: 'Tomorrow',
      scheduledAt: tomorrow,
      participants: [{ email: 'early@partner.example' }, { userId: saraId }],
    });
    const token = await guestLink('early@partner.example');
    const lobby = await body(await anonymous(`/api/meetings/${meeting.id}/lobby`, { guest: token }));
    expect(lobby.opensAt).toBe(new Date(Date.parse(tomorrow) - 15 * 60_000).toISOString());

    const early = await anonymous(`/api/meetings/${meeting.id}/join`, { guest: token });
    expect(`${early.status} ${(await body(early)).error.code}`).toBe('409 meeting_too_early');
    const member = await sara.call('POST', `/api/meetings/${meeting.id}/join`, {});
    expect(`${member.status} ${(await body(member)).error.code}`).toBe('409 meeting_too_early');
    expect(await status(meeting.id)).toBe('scheduled');
    expect((await owner.json('GET', `/api/meetings/${meeting.id}`)).attendees).toEqual([]);

    // It was due three hours ago and nobody came: it no longer opens for guests or members.
    await db.query(`update video_meetings set scheduled_at = now() - interval '3 hours' where id = $1`, [meeting.id]);
    const late = await anonymous(`/api/meetings/${meeting.id}/join`, { guest: token });
    expect(`${late.status} ${(await body(late)).error.code}`).toBe('409 meeting_expired');
    expect((await sara.call('POST', `/api/meetings/${meeting.id}/join`, {})).status).toBe(409);
    expect(await status(meeting.id)).toBe('scheduled');

    // The host may still hold it; then invitees join the call in progress.
    await db.query(`update video_meetings set scheduled_at = now() + interval '1 day' where id = $1`, [meeting.id]);
    await enter(owner, meeting.id);
    expect((await anonymous(`/api/meetings/${meeting.id}/join`, { guest: token })).status).toBe(200);
  });

  it('report only for their own presence; once the call is over they cannot reopen it', async () => {
    const meeting = await owner.json('POST', '/api/meetings', {
      title: 'Two guests',
      scheduledAt: soon(),
      participants: [{ email: 'anna@partner.example' }, { email: 'bruno@partner.example' }],
    });
    const anna = await guestLink('anna@partner.example');
    const bruno = await guestLink('bruno@partner.example');
    const a = await body(await anonymous(`/api/meetings/${meeting.id}/join`, { guest: anna }));
    const b = await body(await anonymous(`/api/meetings/${meeting.id}/join`, { guest: bruno }));
    for (const [guest, attendeeId] of [
      [anna, a.attendeeId],
      [bruno, b.attendeeId],
    ])
      expect((await anonymous(`/api/meetings/${meeting.id}/connected`, { guest, attendeeId })).status).toBe(200);

    // Anna cannot beat or leave for Bruno; Sara (a member) cannot either.
    for (const what of ['heartbeat', 'leave'])
      expect(
        (await anonymous(`/api/meetings/${meeting.id}/${what}`, { guest: anna, attendeeId: b.attendeeId })).status,
      ).toBe(404);
    expect((await sara.call('POST', `/api/meetings/${meeting.id}/leave`, { attendeeId: b.attendeeId })).status).toBe(
      404,
    );
    // Anna leaving twice ends nothing while Bruno is still there.
    for (let i = 0; i < 2; i++)
      expect(
        await body(await anonymous(`/api/meetings/${meeting.id}/leave`, { guest: anna, attendeeId: a.attendeeId })),
      ).toEqual({
        status: 'in_progress',
      });
    const detail = await owner.json('GET', `/api/meetings/${meeting.id}`);
    expect(detail.attendees.find((x: { id: string }) => x.id === b.attendeeId).leftAt).toBeNull();

    // Bruno leaves last: the call is over, for good.
    expect(
      await body(await anonymous(`/api/meetings/${meeting.id}/leave`, { guest: bruno, attendeeId: b.attendeeId })),
    ).toEqual({
      status: 'completed',
    });
    const again = await anonymous(`/api/meetings/${meeting.id}/join`, { guest: anna });
    expect(`${again.status} ${(await body(again)).error.code}`).toBe('409 meeting_completed');
    expect(
      await body(await anonymous(`/api/meetings/${meeting.id}/heartbeat`, { guest: anna, attendeeId: a.attendeeId })),
    ).toEqual({
      status: 'completed',
      inCall: false,
    });
    expect(await status(meeting.id)).toBe('completed');
  });

  it('carry the token where no URL, and so no request log, has it', async () => {
    const meeting = await owner.json('POST', '/api/meetings', {
      scheduledAt: soon(),
      participants: [{ email: 'logged@partner.example' }],
    });
    const token = await guestLink('logged@partner.example');
    const mail = await simpleParser(readOutbox(filo.services.mailer.outboxDir!).at(-1)!.raw);
    expect(mail.text).toContain(`/call/${meeting.id}#guest=${token}`);
    expect(mail.text).not.toContain('?guest=');
    // The old query form is nobody: the lobby takes the token in a POST body only.
    expect((await anonymous(`/api/meetings/${meeting.id}/lobby?guest=${token}`)).status).toBe(401);
    expect((await anonymous(`/api/meetings/${meeting.id}/lobby`, { guest: token })).status).toBe(200);
    const bad = await anonymous(`/api/meetings/${meeting.id}/lobby`, { guest: { token } });
    expect(`${bad.status} ${(await body(bad)).error.code}`).toBe('400 validation_failed');
  });
});

describe("a meeting's record", () => {
  it('takes recordings and transcripts from its host or an admin, not from another member', async () => {
    const acme = await owner.json('POST', '/api/crm/companies', { name: 'Hosted Co', type: 'client' });
    const meeting = await owner.json('POST', '/api/meetings', {
      title: 'Hosted',
      companyId: acme.id,
      participants: [{ userId: saraId }],
    });
    await enter(owner, meeting.id);
    await owner.json('POST', `/api/meetings/${meeting.id}/end`, undefined, 200);
    await owner.json('POST', `/api/meetings/${meeting.id}/transcript`, { text: 'The real minutes.' }, 200);

    const attempts: [string, unknown][] = [
      ['transcript', { text: 'Rewritten by someone else.' }],
      ['recordings', { fileUrl: 'https://evil.example/fake.mp4' }],
    ];
    for (const [what, payload] of attempts) {
      const res = await sara.call('POST', `/api/meetings/${meeting.id}/${what}`, payload);
      expect(`${what} ${res.status} ${(await body(res)).error?.code}`).toBe(`${what} 403 forbidden`);
    }
    const form = new FormData();
    form.append('file', new Blob(['not hers to add']), 'call.webm');
    const upload = await fetch(`${filo.baseUrl}/api/meetings/${meeting.id}/recordings`, {
      method: 'POST',
      headers: { cookie: sara.cookie, origin: filo.baseUrl },
      body: form,
    });
    expect(upload.status).toBe(403);
    expect((await sara.call('PATCH', `/api/meetings/${meeting.id}`, { title: 'Mine' })).status).toBe(403);

    const detail = await owner.json('GET', `/api/meetings/${meeting.id}`);
    expect(detail).toMatchObject({ transcript: 'The real minutes.', recordings: [], title: 'Hosted' });
    // The transcript's note stays the host's to edit.
    const { rows } = await db.query(`select created_by from notes where id = $1`, [detail.transcriptNoteId]);
    expect(rows).toEqual([{ created_by: detail.hostUserId }]);
  });

  it("counts recordings against the workspace's storage quota, keeping nothing that does not fit", async () => {
    const meeting = await owner.json('POST', '/api/meetings', { title: 'Big recording' });
    await enter(owner, meeting.id);
    await owner.json('POST', `/api/meetings/${meeting.id}/end`, undefined, 200);
    const blobs = path.join(filo.config.dataDir, 'blobs');
    const files = () =>
      existsSync(blobs)
        ? readdirSync(blobs, { recursive: true, withFileTypes: true }).filter((f) => f.isFile()).length
        : 0;
    const before = files();

    const form = new FormData();
    form.append('file', new Blob([Buffer.alloc((QUOTA_MB + 1) * 1024 * 1024, 1)]), 'call.webm');
    const res = await fetch(`${filo.baseUrl}/api/meetings/${meeting.id}/recordings`, {
      method: 'POST',
      headers: { cookie: owner.cookie, origin: filo.baseUrl },
      body: form,
    });
    expect(`${res.status} ${(await body(res)).error.code}`).toBe('413 storage_quota_exceeded');
    expect(files()).toBe(before);

    const byUrl = await owner.call('POST', `/api/meetings/${meeting.id}/recordings`, {
      fileUrl: 'https://recordings.example.com/huge.mp4',
      fileSize: (QUOTA_MB + 1) * 1024 * 1024,
    });
    expect(`${byUrl.status} ${(await body(byUrl)).error.code}`).toBe('413 storage_quota_exceeded');
    expect((await owner.json('GET', `/api/meetings/${meeting.id}`)).recordings).toEqual([]);
  });
});

describe('invitation mails', () => {
  it("draw on the workspace's meeting-mail budget; over it, nothing is scheduled and nothing sent", async () => {
    // The workspace has sent all but one of its meeting mails this hour.
    const limits = filo.services.sendLimits;
    while (limits.tryTake(tenantId, 'meeting')) continue;
    limits.release(tenantId, 'meeting');
    const mark = outboxSize();
    const count = async () => (await owner.json('GET', '/api/meetings?limit=200')).items.length;
    const meetings = await count();
    const res = await owner.call('POST', '/api/meetings', {
      title: 'Spam',
      scheduledAt: soon(),
      participants: [{ email: 'one@spam.example' }, { email: 'two@spam.example' }],
    });
    expect(`${res.status} ${(await body(res)).error.code}`).toBe('429 send_limited');
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await count()).toBe(meetings);
    await owner.json('POST', '/api/meetings', { scheduledAt: soon(), participants: [{ email: 'one@ok.example' }] });
    await poll(outboxSize).toBe(mark + 1);
    limits.release(tenantId, 'meeting', 1000);
  });
});

describe('the calendar feed', () => {
  // Last: Sara leaves the workspace.
  it('stops when its member is removed from the workspace, and stays dead if they are let back in', async () => {
    const feed = await sara.json('POST', '/api/meetings/feed');
    const url = new URL(feed.url).pathname;
    expect((await fetch(`${filo.baseUrl}${url}`)).status).toBe(200);
    const { rows } = await db.query(`select role from memberships where user_id = $1 and tenant_id = $2`, [
      saraId,
      tenantId,
    ]);
    await owner.json('DELETE', `/api/team/members/${saraId}`);
    expect((await fetch(`${filo.baseUrl}${url}`)).status).toBe(404);
    await db.query(`insert into memberships (tenant_id, user_id, role) values ($1, $2, $3)`, [
      tenantId,
      saraId,
      rows[0].role,
    ]);
    expect((await fetch(`${filo.baseUrl}${url}`)).status).toBe(404);
  });
});
