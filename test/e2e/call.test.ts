import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { simpleParser } from 'mailparser';
import { DEMO, login } from '../support/harness.ts';
import { useE2e } from '../support/e2e.ts';
import { startJitsiStandIn, type JitsiStandIn } from '../support/jitsi-stand-in.ts';

/**
 * Video calls in Chromium against a real server and a local stand-in for a Jitsi deployment (token
 * authentication, lib-jitsi-meet served from it, signalling relayed by it, media browser to browser with fake
 * cameras): two members call from a company card, one leaves, the other ends it, and a third member's open
 * company card shows the call's note and activity without a reload. A contact joins by link, without an account.
 */

const APP_ID = 'filo-e2e';
const SECRET = 'e2e-jitsi-shared-secret-0123456789';
let jitsi: JitsiStandIn;
let cookie: string;

const poll = <T>(fn: () => Promise<T> | T, timeout = 15_000) => expect.poll(fn, { timeout });

beforeAll(async () => {
  jitsi = await startJitsiStandIn({ appId: APP_ID, secret: SECRET });
});
afterAll(() => jitsi?.close());
const e2e = useE2e('call', {
  env: () => ({ JITSI_DOMAIN: jitsi.url, JITSI_APP_ID: APP_ID, JITSI_APP_SECRET: SECRET }),
  browserArgs: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'],
});
beforeAll(async () => {
  cookie = await login(e2e.filo.baseUrl);
});

async function api<T = { id: string }>(method: string, path: string, payload?: unknown): Promise<T> {
  const res = await fetch(`${e2e.filo.baseUrl}${path}`, {
    method,
    headers: { cookie, origin: e2e.filo.baseUrl, 'content-type': 'application/json' },
    body: payload === undefined ? undefined : JSON.stringify(payload),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

const phase = (page: Page) => page.getByTestId('call-phase').getAttribute('data-phase');
const tileNames = (page: Page) =>
  page.getByTestId('video-tile').evaluateAll((els) => els.map((e) => e.getAttribute('data-name')));
/** The size of the picture a tile shows: non-zero once real frames arrive. */
const tileVideoWidth = (page: Page, name: string) =>
  page
    .locator(`[data-testid="video-tile"][data-name="${name}"] video`)
    .evaluate((v: { readyState: number; videoWidth: number }) => (v.readyState >= 2 ? v.videoWidth : 0));
const mark = (page: Page) => page.evaluate(() => ((globalThis as unknown as { callMark: number }).callMark = 7));
const marked = (page: Page) => page.evaluate(() => (globalThis as unknown as { callMark?: number }).callMark);

describe('video calls in Chromium', () => {
  it('two members call from a company card; a third sees the note and meeting.completed live', async () => {
    const acme = await api('POST', '/api/crm/companies', { name: 'Call Acme', type: 'client' });

    // Mario keeps the company's timeline and notes open, in one browser.
    const marioContext = await e2e.newContext();
    const timeline = await marioContext.newPage();
    await e2e.signIn(timeline, 'mario@filo.local');
    await timeline.goto(`${e2e.filo.baseUrl}/companies/${acme.id}?tab=timeline`);
    await poll(() => timeline.getByTestId('timeline-item').count()).toBe(1);
    const notes = await marioContext.newPage();
    await notes.goto(`${e2e.filo.baseUrl}/companies/${acme.id}?tab=notes`);
    await poll(() => notes.getByText('No notes yet.').count()).toBe(1);
    await mark(timeline);
    await mark(notes);

    // The owner starts a call from the card's quick action and is in it.
    const owner = await (await e2e.newContext()).newPage();
    await e2e.signIn(owner, DEMO.email);
    await owner.goto(`${e2e.filo.baseUrl}/companies/${acme.id}`);
    await owner.getByRole('button', { name: 'Video Call' }).click();
    await owner.waitForURL(/\/call\/[0-9a-f-]{36}\?join=1$/);
    const meetingId = new URL(owner.url()).pathname.split('/').at(-1)!;
    await poll(() => phase(owner)).toBe('in-call');
    expect(await tileNames(owner)).toEqual(['Demo Owner (You)']);
    await poll(() => tileVideoWidth(owner, 'Demo Owner (You)')).toBeGreaterThan(0);
    expect(await owner.getByTestId('call-company').textContent()).toContain('Call Acme');

    // The call shows up live on Mario's timeline, and Sara's card offers to join it.
    await poll(() => timeline.locator('[data-type="meeting.started"]').count()).toBe(1);
    const sara = await (await e2e.newContext()).newPage();
    await e2e.signIn(sara, 'sara@filo.local');
    await sara.goto(`${e2e.filo.baseUrl}/companies/${acme.id}`);
    await sara.getByTestId('live-call').getByRole('link', { name: 'Join the call' }).click();
    await sara.waitForURL(`${e2e.filo.baseUrl}/call/${meetingId}`);
    await sara.getByRole('button', { name: 'Join now' }).click();
    await poll(() => phase(sara)).toBe('in-call');

    // Each sees the other, with real frames from the other's (fake) camera.
    await poll(() => tileNames(owner)).toEqual(['Demo Owner (You)', 'Sara Bianchi']);
    await poll(() => tileNames(sara)).toEqual(['Sara Bianchi (You)', 'Demo Owner']);
    await poll(() => tileVideoWidth(owner, 'Sara Bianchi')).toBeGreaterThan(0);
    await poll(() => tileVideoWidth(sara, 'Demo Owner')).toBeGreaterThan(0);

    // The deployment let each in with a JWT for this room; only the host moderates.
    const meeting = await api<{ roomId: string; status: string }>('GET', `/api/meetings/${meetingId}`);
    expect(meeting.status).toBe('in_progress');
    expect(jitsi.refusals).toEqual([]);
    expect(
      jitsi.joins.map((j) => [j.name, j.room, (j.claims.context as { user: { moderator: boolean } }).user.moderator]),
    ).toEqual([
      ['Demo Owner', meeting.roomId, true],
      ['Sara Bianchi', meeting.roomId, false],
    ]);

    // In-call chat, and mute shown to the other side.
    await sara.getByLabel('Message').fill('Ciao, vi sento bene');
    await sara.getByRole('button', { name: 'Send' }).click();
    await poll(() => owner.getByTestId('chat-message').allTextContents()).toEqual([
      expect.stringContaining('Ciao, vi sento bene'),
    ]);
    expect(await owner.getByTestId('chat-message').textContent()).toContain('Sara Bianchi');
    await sara.getByRole('button', { name: 'Mute' }).click();
    await poll(() => owner.locator('[data-testid="video-tile"][data-name="Sara Bianchi"]').textContent()).toContain(
      'muted',
    );

    // Camera off and on, seen by the other side.
    const saraTile = owner.locator('[data-testid="video-tile"][data-name="Sara Bianchi"]');
    await sara.getByRole('button', { name: 'Stop camera' }).click();
    await poll(() => saraTile.getAttribute('data-video-off')).toBe('true');
    await sara.getByRole('button', { name: 'Start camera' }).click();
    await poll(() => saraTile.getAttribute('data-video-off')).toBe('false');

    // Sara shares her screen: the owner sees the screen's picture in place of her camera's, then the camera again.
    const size = () =>
      saraTile
        .locator('video')
        .evaluate((v: { readyState: number; videoWidth: number; videoHeight: number }) =>
          v.readyState >= 2 ? `${v.videoWidth}x${v.videoHeight}` : '',
        );
    await poll(size).not.toBe('');
    const cameraSize = await size();
    await sara.getByRole('button', { name: 'Share screen' }).click();
    await poll(() => sara.getByRole('button', { name: 'Stop sharing' }).getAttribute('aria-pressed')).toBe('true');
    await poll(async () => ['', cameraSize].includes(await size())).toBe(false);
    const screenSize = await size();
    await sara.getByRole('button', { name: 'Stop sharing' }).click();
    // The camera's picture again: its shape, not the screen's (WebRTC may scale it down on a busy machine).
    const shape = (s: string) => {
      const [w, h] = s.split('x').map(Number);
      return (w! / h!).toFixed(2);
    };
    await poll(async () => {
      const now = await size();
      return now !== '' && now !== screenSize && shape(now) === shape(cameraSize);
    }).toBe(true);

    // Sara leaves: the call goes on with the owner alone.
    await sara.getByRole('button', { name: 'Leave' }).click();
    await poll(() => sara.getByText('You left the call.').count()).toBe(1);
    await poll(() => tileNames(owner)).toEqual(['Demo Owner (You)']);
    expect((await api<{ status: string }>('GET', `/api/meetings/${meetingId}`)).status).toBe('in_progress');

    // The owner ends it for everyone.
    await owner.getByRole('button', { name: 'End for everyone' }).click();
    await poll(() => owner.getByTestId('call-ended').count()).toBe(1);

    // Mario's open timeline and notes show the call's entry and its note, without a reload.
    const completed = timeline.locator('[data-type="meeting.completed"]');
    await poll(() => completed.count()).toBe(1);
    expect(await completed.textContent()).toMatch(/Video call completed · \d+ min/);
    expect(await completed.textContent()).toContain('With Demo Owner, Sara Bianchi');
    await poll(() => notes.getByText(/Video call completed · \d+ min · with Demo Owner, Sara Bianchi/).count()).toBe(1);
    expect(await marked(timeline)).toBe(7);
    expect(await marked(notes)).toBe(7);

    const done = await api<{ status: string; endReason: string; noteId: string }>('GET', `/api/meetings/${meetingId}`);
    expect(done).toMatchObject({ status: 'completed', endReason: 'host_ended' });
    expect(done.noteId).toBeTruthy();

    // A recording attached afterwards (as a Jibri finalize script would): "View recording" on the call's entry.
    await api('POST', `/api/meetings/${meetingId}/recordings`, {
      fileUrl: 'https://recordings.example.com/call-acme.mp4',
      durationSeconds: 120,
    });
    await poll(() => completed.getByRole('link', { name: 'View recording' }).getAttribute('href')).toBe(
      'https://recordings.example.com/call-acme.mp4',
    );

    // The host edits the auto-note on the company card; Mario's open notes show the edit.
    await owner.goto(`${e2e.filo.baseUrl}/companies/${acme.id}?tab=notes`);
    // (The call's note is the card's only one; editing turns its text into the editor's value.)
    const autoNote = owner.getByRole('article');
    await poll(() => autoNote.filter({ hasText: 'Video call completed' }).count(), 30_000).toBe(1);
    await autoNote.getByRole('button', { name: 'Edit' }).click();
    const editor = autoNote.getByRole('combobox', { name: 'Note' });
    expect(await editor.inputValue()).toMatch(/^Video call completed · \d+ min · with Demo Owner, Sara Bianchi/);
    await editor.fill(`${await editor.inputValue()}\n\nAgreed: samples by Friday.`);
    await autoNote.getByRole('button', { name: 'Save' }).click();
    await poll(() => notes.getByText('Agreed: samples by Friday.').count()).toBe(1);
    expect(await marked(notes)).toBe(7);
  }, 120_000);

  it('lets a contact join by the link in their invitation, without an account', async () => {
    const acme = await api('POST', '/api/crm/companies', { name: 'Guest Call Acme', type: 'client' });
    const giulia = await api('POST', '/api/crm/contacts', {
      companyId: acme.id,
      firstName: 'Giulia',
      lastName: 'Ospite',
      email: 'giulia@guest.example',
    });
    const meeting = await api<{ id: string }>('POST', '/api/meetings', {
      companyId: acme.id,
      participants: [{ contactId: giulia.id }],
    });
    // The invitation is in the development outbox; its link carries the guest's signed token.
    const { readdirSync, readFileSync } = await import('node:fs');
    const outbox = `${e2e.dataDir}/outbox`;
    const invitation = async () => {
      for (const file of readdirSync(outbox)) {
        const raw = readFileSync(`${outbox}/${file}`, 'utf8');
        if (raw.includes('giulia@guest.example')) return raw;
      }
      return null;
    };
    await poll(invitation).not.toBeNull();
    const text = (await simpleParser((await invitation())!)).text ?? '';
    const link = /Join: (\S+)/.exec(text)![1]!;
    expect(new URL(link).pathname).toBe(`/call/${meeting.id}`);
    // The token rides in the fragment: it never reaches a server, so no request log can keep it.
    expect(new URL(link).search).toBe('');
    const guestUrl = `${e2e.filo.baseUrl}${new URL(link).pathname}${new URL(link).hash}`;

    const owner = await (await e2e.newContext()).newPage();
    await e2e.signIn(owner, DEMO.email);
    await owner.goto(`${e2e.filo.baseUrl}/call/${meeting.id}?join=1`);
    await poll(() => phase(owner)).toBe('in-call');

    const guestContext = await e2e.newContext();
    const guest = await guestContext.newPage();
    await guest.goto(guestUrl);
    await poll(() => guest.getByTestId('call-lobby').textContent()).toContain('You will join as Giulia Ospite.');
    // A guest sees nothing of the CRM.
    expect(await guest.getByTestId('call-company').count()).toBe(0);
    await guest.getByRole('button', { name: 'Join now' }).click();
    await poll(() => phase(guest)).toBe('in-call');
    await poll(() => tileNames(owner)).toEqual(['Demo Owner (You)', 'Giulia Ospite']);
    await poll(() => tileVideoWidth(owner, 'Giulia Ospite')).toBeGreaterThan(0);
    expect(await guestContext.cookies()).toEqual([]);
    // The guest has no "End for everyone".
    expect(await guest.getByRole('button', { name: 'End for everyone' }).count()).toBe(0);

    // The guest closes the tab instead of pressing Leave: the page's beacon still tells Filo.
    const attendees = async () =>
      (await api<{ attendees: { name: string; leftAt: string | null }[] }>('GET', `/api/meetings/${meeting.id}`))
        .attendees;
    expect((await attendees()).find((a) => a.name === 'Giulia Ospite')?.leftAt).toBeNull();
    await guest.close({ runBeforeUnload: true });
    await poll(async () => (await attendees()).find((a) => a.name === 'Giulia Ospite')?.leftAt ?? null).not.toBeNull();
    expect((await api<{ status: string }>('GET', `/api/meetings/${meeting.id}`)).status).toBe('in_progress');
    await owner.getByRole('button', { name: 'Leave' }).click();
    // The last one out ended the call; the note names the guest.
    await poll(async () => (await api<{ status: string }>('GET', `/api/meetings/${meeting.id}`)).status).toBe(
      'completed',
    );
    const notes = await api<{ items: { content: string }[] }>(
      'GET',
      `/api/crm/notes?entityType=company&entityId=${acme.id}`,
    );
    expect(notes.items[0]!.content).toMatch(/^Video call completed · \d+ min · with Demo Owner, Giulia Ospite/);
  }, 120_000);

  it('tells a guest why they cannot join: too early, then no longer invited (old query links too)', async () => {
    const meeting = await api<{ id: string }>('POST', '/api/meetings', {
      title: 'Tomorrow call',
      scheduledAt: new Date(Date.now() + 86_400_000).toISOString(),
      participants: [{ email: 'early@guest.example', name: 'Early Guest' }],
    });
    const { readdirSync, readFileSync } = await import('node:fs');
    const outbox = `${e2e.dataDir}/outbox`;
    const invitation = async () => {
      for (const file of readdirSync(outbox)) {
        const raw = readFileSync(`${outbox}/${file}`, 'utf8');
        if (raw.includes('early@guest.example')) return raw;
      }
      return null;
    };
    await poll(invitation).not.toBeNull();
    const link = new URL(/Join: (\S+)/.exec((await simpleParser((await invitation())!)).text ?? '')![1]!);
    const token = new URLSearchParams(link.hash.slice(1)).get('guest')!;

    const guest = await (await e2e.newContext()).newPage();
    await guest.goto(`${e2e.filo.baseUrl}${link.pathname}${link.hash}`);
    await poll(() => guest.getByTestId('call-lobby').textContent()).toContain('You will join as Early Guest.');
    await guest.getByRole('button', { name: 'Join now' }).click();
    await poll(() => guest.getByTestId('call-problem').textContent()).toMatch(
      /^This call opens at .+\. Come back then\.$/,
    );
    expect((await api<{ status: string }>('GET', `/api/meetings/${meeting.id}`)).status).toBe('scheduled');

    // Taken off the list, the same link (and its older query form, moved out of the URL) says so.
    await api('PATCH', `/api/meetings/${meeting.id}`, { participants: [] });
    await guest.goto(`${e2e.filo.baseUrl}${link.pathname}?guest=${token}`);
    await poll(() => guest.getByTestId('call-problem').textContent()).toBe(
      'You are no longer invited to this meeting.',
    );
    expect(new URL(guest.url()).search).toBe('');
    expect(new URL(guest.url()).hash).toBe(`#guest=${token}`);
  }, 120_000);

  it('schedules from a contact page, lists the call by day, serves a replaceable calendar address, calls at once', async () => {
    const acme = await api('POST', '/api/crm/companies', { name: 'Agenda Acme', type: 'client' });
    const giulia = await api('POST', '/api/crm/contacts', {
      companyId: acme.id,
      firstName: 'Giulia',
      lastName: 'Agenda',
      email: 'giulia@agenda.example',
    });
    const owner = await (await e2e.newContext()).newPage();
    await e2e.signIn(owner, DEMO.email);
    await owner.goto(`${e2e.filo.baseUrl}/contacts/${giulia.id}`);

    // The schedule dialog: Sara and Giulia invited, at the next full hour (the default).
    await owner.getByRole('button', { name: 'Schedule', exact: true }).click();
    const dialog = owner.getByRole('dialog', { name: 'Schedule a video call' });
    await dialog.getByLabel('Title').fill('Supply review');
    await dialog.getByLabel('Sara Bianchi').check();
    await dialog.getByLabel(/Giulia Agenda/).check();
    await dialog.getByRole('button', { name: 'Schedule', exact: true }).click();
    await poll(() => owner.getByText('“Supply review” scheduled: invitations sent').count()).toBe(1);
    const row = owner.getByTestId('meeting-row').filter({ hasText: 'Supply review' });
    await poll(() => row.getAttribute('data-status')).toBe('scheduled');
    const { items } = await api<{
      items: { id: string; title: string; scheduledAt: string; participants: unknown[] }[];
    }>('GET', `/api/meetings?contactId=${giulia.id}`);
    const meeting = items.find((m) => m.title === 'Supply review')!;
    expect(meeting.participants).toEqual([
      expect.objectContaining({ type: 'user', name: 'Sara Bianchi' }),
      expect.objectContaining({ type: 'contact', contactId: giulia.id, email: 'giulia@agenda.example' }),
    ]);
    const start = new Date(meeting.scheduledAt);
    expect(start.getMinutes()).toBe(0);
    expect(start.getTime() - Date.now()).toBeGreaterThan(0);
    expect(start.getTime() - Date.now()).toBeLessThanOrEqual(2 * 3600_000);

    // My meetings: an agenda grouped by day, the call under its day with the contact and company it is with.
    await owner.getByRole('link', { name: 'Meetings' }).click();
    await owner.waitForURL(`${e2e.filo.baseUrl}/meetings`);
    const pad = (n: number) => String(n).padStart(2, '0');
    const dayKey = `${start.getFullYear()}-${pad(start.getMonth() + 1)}-${pad(start.getDate())}`;
    const day = owner.locator(`[data-testid="meeting-day"][data-day="${dayKey}"]`);
    await poll(() => day.getByTestId('my-meeting').filter({ hasText: 'Supply review' }).count()).toBe(1);
    const sameDay = start.toDateString() === new Date().toDateString();
    expect(await day.getByRole('heading').textContent()).toMatch(sameDay ? /^Today · / : /^Tomorrow · /);
    const entry = day.getByTestId('my-meeting').filter({ hasText: 'Supply review' });
    expect(await entry.getByRole('link', { name: 'Giulia Agenda' }).getAttribute('href')).toBe(
      `/contacts/${giulia.id}`,
    );
    expect(await entry.getByRole('link', { name: 'Agenda Acme' }).getAttribute('href')).toBe(`/companies/${acme.id}`);

    // The calendar address: created, replaced (the old one stops working), turned off.
    const feedPath = async () => new URL(await owner.getByLabel('Calendar address').inputValue()).pathname;
    await owner.getByRole('button', { name: 'Create the address' }).click();
    const first = await feedPath();
    const calendar = await fetch(`${e2e.filo.baseUrl}${first}`);
    expect(calendar.status).toBe(200);
    expect(await calendar.text()).toContain(`UID:${meeting.id}@`);
    await owner.getByRole('button', { name: 'Replace the address' }).click();
    await poll(feedPath).not.toBe(first);
    const second = await feedPath();
    expect((await fetch(`${e2e.filo.baseUrl}${first}`)).status).toBe(404);
    expect((await fetch(`${e2e.filo.baseUrl}${second}`)).status).toBe(200);
    await owner.getByRole('button', { name: 'Turn off' }).click();
    await poll(() => owner.getByText('No calendar subscription.').count()).toBe(1);
    expect((await fetch(`${e2e.filo.baseUrl}${second}`)).status).toBe(404);

    // The contact page's Video Call: an instant call with Giulia, her company's card beside it.
    await owner.goto(`${e2e.filo.baseUrl}/contacts/${giulia.id}`);
    await owner.getByRole('button', { name: 'Video Call' }).click();
    await owner.waitForURL(/\/call\/[0-9a-f-]{36}\?join=1$/);
    const callId = new URL(owner.url()).pathname.split('/').at(-1)!;
    await poll(() => phase(owner)).toBe('in-call');
    await poll(() => owner.getByTestId('call-company').textContent()).toContain('Agenda Acme');
    expect(await owner.getByTestId('call-title').textContent()).toBe('Video call with Giulia Agenda');
    await owner.getByRole('button', { name: 'Leave' }).click();
    await poll(async () => (await api<{ status: string }>('GET', `/api/meetings/${callId}`)).status).toBe('completed');
    const onContact = await api<{ items: { content: string }[] }>(
      'GET',
      `/api/crm/notes?entityType=contact&entityId=${giulia.id}`,
    );
    expect(onContact.items[0]!.content).toMatch(/^Video call completed · \d+ min · with Demo Owner/);
  }, 120_000);
});
