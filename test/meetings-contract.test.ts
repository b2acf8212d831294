import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  calendarFeedStatus,
  heartbeatAnswer,
  joinInfo,
  lobbyView,
  meetingDetail,
  meetingList,
  recordingList,
} from '#contracts/meetings';
import { apiClient, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

/**
 * The meetings API against contracts/meetings.ts: every route declares what it takes and answers, and the answers
 * the other meetings tests do not read (a member's lobby, the recordings list, the feed's status) parse with it.
 * The harness also checks every JSON answer against its route's schema (FILO_CHECK_RESPONSES=1).
 */

/** Joins the call and reports the page really in it, as the call page does once lib-jitsi-meet has joined. */
async function enter(client: ApiClient, meetingId: string) {
  const info = await client.json('POST', `/api/meetings/${meetingId}/join`, {}, 200);
  await client.json('POST', `/api/meetings/${meetingId}/connected`, { attendeeId: info.attendeeId }, 200);
  return info;
}

let filo: TestFilo;
let owner: ApiClient;

beforeAll(async () => {
  filo = await startTestFilo();
  owner = apiClient(filo.baseUrl, await login(filo.baseUrl));
});

afterAll(async () => {
  await filo?.close();
});

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('the meetings contract', () => {
  it('is declared on every meetings route: a summary and an answer, public only where a token is the key', () => {
    const routes = filo.routes.filter((r) => r.path.startsWith('/api/meetings'));
    expect(routes.length).toBeGreaterThanOrEqual(20);
    const undeclared = routes.filter((r) => !r.spec?.summary || !r.spec.response).map((r) => `${r.method} ${r.path}`);
    expect(undeclared).toEqual([]);
    const publicRoutes = routes.filter((r) => r.spec?.public).map((r) => `${r.method} ${r.path}`);
    expect(publicRoutes.sort()).toEqual(
      [
        'get /api/meetings/feed/:file',
        'post /api/meetings/:id/lobby',
        'post /api/meetings/:id/join',
        'post /api/meetings/:id/heartbeat',
        'post /api/meetings/:id/connected',
        'post /api/meetings/:id/leave',
      ].sort(),
    );
    // Calendars and recordings are files; everything else is JSON with a schema.
    const files = routes.filter((r) => typeof r.spec?.response === 'object' && 'file' in r.spec.response);
    expect(files.map((r) => r.path).sort()).toEqual(
      [
        '/api/meetings/feed/:file',
        '/api/meetings/:id/calendar.ics',
        '/api/meetings/:id/recordings/:recordingId/file',
      ].sort(),
    );
  });

  it('describes what a member reads of a call: the list, the meeting, its lobby, presence, recordings, the feed', async () => {
    const meeting = await owner.json('POST', '/api/meetings', { title: 'Contract call' });
    const list = meetingList.parse(await owner.json('GET', '/api/meetings?limit=5'));
    expect(list.items.map((m) => m.id)).toContain(meeting.id);

    const lobby = lobbyView.parse(await owner.json('GET', `/api/meetings/${meeting.id}/lobby`));
    expect(lobby).toMatchObject({ id: meeting.id, guest: false, status: 'scheduled' });
    expect(lobby.opensAt).toMatch(ISO);

    const join = joinInfo.parse(await enter(owner, meeting.id));
    const beat = heartbeatAnswer.parse(
      await owner.json('POST', `/api/meetings/${meeting.id}/heartbeat`, { attendeeId: join.attendeeId }, 200),
    );
    expect(beat).toEqual({ status: 'in_progress', inCall: true });
    await owner.json('POST', `/api/meetings/${meeting.id}/recordings`, { fileUrl: 'https://rec.example/a.mp4' });

    const recordings = recordingList.parse(await owner.json('GET', `/api/meetings/${meeting.id}/recordings`));
    expect(recordings.items).toMatchObject([{ meetingId: meeting.id, fileUrl: 'https://rec.example/a.mp4' }]);
    expect(recordings.items[0]!.createdAt).toMatch(ISO);

    const detail = meetingDetail.parse(await owner.json('GET', `/api/meetings/${meeting.id}`));
    expect(detail.attendees).toHaveLength(1);
    expect(detail.attendees[0]!.joinedAt).toMatch(ISO);
    expect(detail.startedAt).toMatch(ISO);

    expect(calendarFeedStatus.parse(await owner.json('GET', '/api/meetings/feed'))).toEqual({
      active: false,
      createdAt: null,
      lastUsedAt: null,
    });
  });
});
