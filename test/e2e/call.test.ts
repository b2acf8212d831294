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
    const guestUrl = `${e2e.filo.baseUrl}${new URL(link).pathname}${new URL(link).search}`;

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

    await guest.getByRole('button', { name: 'Leave' }).click();
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
});
