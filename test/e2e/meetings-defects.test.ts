import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { DEMO, login } from '../support/harness.ts';
import { useE2e } from '../support/e2e.ts';
import { startJitsiStandIn, type JitsiStandIn } from '../support/jitsi-stand-in.ts';

/**
 * The meeting defects of a first hour, in Chromium against a real server and the local Jitsi stand-in (fake
 * camera and microphone): Join on a meeting two days ahead while the video library fails shows Retry and Back and
 * leaves the meeting Scheduled with its invitations; a teammate's open Meetings page and bell get an invitation
 * live; the empty state schedules; the development outbox lists the invitation mail; phone width.
 */

const APP_ID = 'filo-e2e-defects';
const SECRET = 'e2e-defects-jitsi-secret-0123456789';
let jitsi: JitsiStandIn;
let cookie: string;

const poll = <T>(fn: () => Promise<T> | T, timeout = 15_000) => expect.poll(fn, { timeout });

beforeAll(async () => {
  jitsi = await startJitsiStandIn({ appId: APP_ID, secret: SECRET });
});
afterAll(() => jitsi?.close());
const e2e = useE2e('meetings-defects', {
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
  return (await (res.headers.get('content-type')?.includes('json') ? res.json() : res.text())) as T;
}

type PageWindow = { getComputedStyle(el: unknown): { color: string } };
const phase = (page: Page) => page.getByTestId('call-phase').getAttribute('data-phase');
const status = async (id: string) => (await api<{ status: string }>('GET', `/api/meetings/${id}`)).status;
/** Whether the page scrolls sideways (something wider than the phone). */
const overflows = (page: Page) => page.locator('html').evaluate((el) => el.scrollWidth > el.clientWidth);

describe('meetings in Chromium', () => {
  it('a failed join of a meeting two days ahead shows Retry and Back and leaves it scheduled; its mails in the outbox; 390 px', async () => {
    const acme = await api('POST', '/api/crm/companies', { name: 'Two Days Spa', type: 'client' });
    const luca = (await api<{ items: { userId: string; name: string }[] }>('GET', '/api/team/members')).items.find(
      (m) => m.name === 'Luca Verdi',
    )!;
    const meeting = await api<{ id: string }>('POST', '/api/meetings', {
      title: 'Review in two days',
      companyId: acme.id,
      scheduledAt: new Date(Date.now() + 2 * 86_400_000).toISOString(),
      participants: [{ email: 'guest@partner.example', name: 'Guest' }, { userId: luca.userId }],
    });

    const owner = await (await e2e.newContext()).newPage();
    await e2e.signIn(owner, DEMO.email);
    await owner.goto(`${e2e.filo.baseUrl}/meetings`);
    const row = owner.getByTestId('my-meeting').filter({ hasText: 'Review in two days' });
    await poll(() => row.getAttribute('data-status')).toBe('scheduled');
    await row.getByRole('link', { name: 'Join' }).click();
    await owner.waitForURL(`${e2e.filo.baseUrl}/call/${meeting.id}`);

    // The dark header shows the logo in its light variant.
    const logoColor = await owner
      .locator('header')
      .getByText('Filo', { exact: true })
      .evaluate((el) => (globalThis as unknown as PageWindow).getComputedStyle(el).color);
    expect(logoColor).toBe('rgb(255, 255, 255)');
    // Before joining: the camera's picture (Chromium's fake device) and the microphone's level.
    const preview = owner.getByTestId('device-preview');
    await poll(() => preview.getAttribute('data-state')).toBe('on');
    await poll(() =>
      preview
        .locator('video')
        .evaluate((v: { readyState: number; videoWidth: number }) => (v.readyState >= 2 ? v.videoWidth : 0)),
    ).toBeGreaterThan(0);
    expect(await preview.getByRole('meter', { name: 'Microphone level' }).count()).toBe(1);

    // The video service is down: Join says so, with Retry and Back, and nothing happened to the meeting.
    jitsi.libraryFails = true;
    await owner.getByRole('button', { name: 'Join now' }).click();
    await poll(() => owner.getByTestId('call-problem').textContent()).toBe(
      'The video service could not be loaded. Check your connection and try again.',
    );
    expect(await owner.getByRole('button', { name: 'Retry' }).count()).toBe(1);
    expect(await status(meeting.id)).toBe('scheduled');
    const detail = await api<{ attendees: unknown[]; startedAt: string | null }>('GET', `/api/meetings/${meeting.id}`);
    expect(detail).toMatchObject({ attendees: [], startedAt: null });
    const timeline = await api<{ items: { type: string }[] }>(
      'GET',
      `/api/crm/timeline?entityType=company&entityId=${acme.id}`,
    );
    expect(timeline.items.map((a) => a.type)).toEqual(['meeting.scheduled', 'company.created']);
    // Its invitations stand: the calendar still says REQUEST.
    expect(await api<string>('GET', `/api/meetings/${meeting.id}/calendar.ics`)).toContain('METHOD:REQUEST');

    // Back: to the agenda, where it is still Scheduled.
    await owner.getByRole('button', { name: 'Back' }).click();
    await owner.waitForURL(`${e2e.filo.baseUrl}/meetings`);
    await poll(() => row.getAttribute('data-status')).toBe('scheduled');

    // Again, still down; then the service is back and Retry gets in: only now the call starts.
    await row.getByRole('link', { name: 'Join' }).click();
    await owner.getByRole('button', { name: 'Join now' }).click();
    await poll(() => owner.getByRole('button', { name: 'Retry' }).count()).toBe(1);
    expect(await status(meeting.id)).toBe('scheduled');
    jitsi.libraryFails = false;
    await owner.getByRole('button', { name: 'Retry' }).click();
    await poll(() => phase(owner)).toBe('in-call');
    expect(await status(meeting.id)).toBe('in_progress');
    await owner.getByRole('button', { name: 'Leave' }).click();
    await poll(() => status(meeting.id)).toBe('completed');

    // The development outbox lists its invitation mails (the guest's and Luca's), each with its raw message.
    await owner.goto(`${e2e.filo.baseUrl}/dev/outbox`);
    const invitations = owner.getByTestId('outbox-item').filter({ hasText: 'Invitation: Review in two days' });
    await poll(() => invitations.count()).toBe(2);
    const invitation = invitations.filter({ hasText: 'guest@partner.example' });
    expect(await invitation.count()).toBe(1);
    expect(await invitations.filter({ hasText: 'luca@filo.local' }).count()).toBe(1);
    expect(await owner.getByText('Nothing kept yet').count()).toBe(0);
    await invitation.getByRole('button', { name: 'Raw' }).click();
    await poll(() => invitation.getByTestId('outbox-raw').textContent()).toContain('BEGIN:VCALENDAR');

    // At a 390 px phone width the Meetings page and the call page (preview, failure, call) fit the screen.
    await owner.setViewportSize({ width: 390, height: 844 });
    const phoneCall = await api('POST', '/api/meetings', { title: 'Phone call' });
    await owner.goto(`${e2e.filo.baseUrl}/meetings`);
    await poll(() => owner.getByTestId('my-meeting').filter({ hasText: 'Phone call' }).count()).toBe(1);
    expect(await overflows(owner)).toBe(false);
    expect(await owner.getByRole('button', { name: 'Schedule a meeting' }).isVisible()).toBe(true);
    await owner.goto(`${e2e.filo.baseUrl}/call/${phoneCall.id}`);
    await poll(() => owner.getByTestId('device-preview').getAttribute('data-state')).toBe('on');
    expect(await overflows(owner)).toBe(false);
    jitsi.libraryFails = true;
    await owner.getByRole('button', { name: 'Join now' }).click();
    await poll(() => owner.getByRole('button', { name: 'Retry' }).isVisible()).toBe(true);
    expect(await owner.getByRole('button', { name: 'Back' }).isVisible()).toBe(true);
    expect(await overflows(owner)).toBe(false);
    jitsi.libraryFails = false;
    await owner.getByRole('button', { name: 'Retry' }).click();
    await poll(() => phase(owner)).toBe('in-call');
    expect(await owner.getByRole('button', { name: 'Leave' }).isVisible()).toBe(true);
    expect(await overflows(owner)).toBe(false);
    await owner.getByRole('button', { name: 'Leave' }).click();
    await poll(() => status(phoneCall.id)).toBe('completed');
  }, 180_000);

  it("a teammate's bell and Meetings page get an invitation live; the empty state schedules", async () => {
    const lucaPage = await (await e2e.newContext()).newPage();
    await e2e.signIn(lucaPage, 'luca@filo.local');
    // Mario has no meetings yet: his page offers to schedule one.
    const mario = await (await e2e.newContext()).newPage();
    await e2e.signIn(mario, 'mario@filo.local');
    await mario.goto(`${e2e.filo.baseUrl}/meetings`);
    const empty = mario.getByTestId('meetings-empty');
    await poll(() => empty.count()).toBe(1);
    await empty.getByRole('button', { name: 'Schedule a meeting' }).click();
    const dialog = mario.getByRole('dialog', { name: 'Schedule a video call' });
    await dialog.getByLabel('Title').fill('Team sync');
    await dialog.getByLabel('Luca Verdi').check();
    await dialog.getByRole('button', { name: 'Schedule', exact: true }).click();
    await poll(() => mario.getByTestId('my-meeting').filter({ hasText: 'Team sync' }).count()).toBe(1);
    expect(await empty.count()).toBe(0);

    // Luca, on his Meetings page in another browser, sees it arrive, with a toast and his bell, without a reload.
    await lucaPage.goto(`${e2e.filo.baseUrl}/meetings`);
    await poll(() => lucaPage.getByTestId('meetings-agenda').count()).toBe(1);
    await lucaPage.evaluate(() => ((globalThis as unknown as { mark: number }).mark = 7));
    const { items } = await api<{ items: { id: string; title: string }[] }>('GET', '/api/meetings?limit=50');
    const sync = items.find((m) => m.title === 'Team sync')!;
    const bell = lucaPage.getByTestId('notification-bell');
    const unread = async () => Number(/(\d+) unread/.exec((await bell.getAttribute('aria-label')) ?? '')?.[1] ?? 0);
    await poll(unread).toBeGreaterThan(0);
    const before = await unread();
    await api('POST', '/api/meetings', {
      title: 'Pricing call',
      scheduledAt: new Date(Date.now() + 3 * 3600_000).toISOString(),
      participants: [{ userId: await lucaId() }],
    });
    const pricing = lucaPage.getByTestId('my-meeting').filter({ hasText: 'Pricing call' });
    await poll(() => pricing.getAttribute('data-status')).toBe('scheduled');
    await poll(() =>
      lucaPage.getByTestId('toast').filter({ hasText: 'Demo Owner invited you to a video call' }).count(),
    ).toBe(1);
    expect(await lucaPage.getByTestId('toast').filter({ hasText: 'Pricing call' }).count()).toBe(1);
    await poll(unread).toBe(before + 1);
    expect(await lucaPage.getByTestId('my-meeting').filter({ hasText: 'Team sync' }).count()).toBe(1);

    // Mario cancels his: Luca's row says so, live; the page was never reloaded.
    const marioCookie = (await mario.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const cancel = await fetch(`${e2e.filo.baseUrl}/api/meetings/${sync.id}/cancel`, {
      method: 'POST',
      headers: { cookie: marioCookie, origin: e2e.filo.baseUrl },
    });
    expect(cancel.status).toBe(200);
    await poll(() =>
      lucaPage.getByTestId('my-meeting').filter({ hasText: 'Team sync' }).getAttribute('data-status'),
    ).toBe('cancelled');
    expect(await lucaPage.evaluate(() => (globalThis as unknown as { mark?: number }).mark)).toBe(7);

    // The bell's dropdown names the invitation in words, not its English title.
    await bell.click();
    await poll(() => lucaPage.getByTestId('bell-item').filter({ hasText: 'Pricing call' }).count()).toBe(1);
    expect(await lucaPage.getByTestId('bell-item').filter({ hasText: 'Pricing call' }).textContent()).toContain(
      'Demo Owner invited you to the video call “Pricing call”',
    );
  }, 120_000);

  it('a count asked for at a reconnect and answered after a live invitation does not take the bell back', async () => {
    const context = await e2e.newContext();
    const page = await context.newPage();
    await e2e.signIn(page, 'luca@filo.local');
    const connection = page.getByTestId('connection-status');
    await poll(() => connection.getAttribute('data-state')).toBe('live');
    const bell = page.getByTestId('notification-bell');
    const unread = async () => Number(/(\d+) unread/.exec((await bell.getAttribute('aria-label')) ?? '')?.[1] ?? 0);

    // The reconnect's count is answered by the server at once (the invitation does not exist yet), and handed to
    // the page only after the invitation's live notice: the order a slow answer on a busy network gives.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const held: string[] = [];
    await page.route(/\/api\/notifications\?unread=true$/, async (route) => {
      const response = await route.fetch();
      held.push(await response.text());
      await released;
      await route.fulfill({ response });
    });
    await context.setOffline(true);
    await poll(() => connection.getAttribute('data-state')).not.toBe('live');
    await context.setOffline(false);
    // Socket.io retries with a backoff of up to 5 s.
    await poll(() => held.length, 20_000).toBeGreaterThan(0);
    // The count before the invitation, as the server said it; the page's own first count has arrived by now.
    const before = JSON.parse(held[0]!).unread as number;
    await poll(unread).toBe(before);

    await api('POST', '/api/meetings', {
      title: 'Late count call',
      scheduledAt: new Date(Date.now() + 5 * 3600_000).toISOString(),
      participants: [{ userId: await lucaId() }],
    });
    await poll(unread).toBe(before + 1);
    const answered = page.waitForResponse(/\/api\/notifications\?unread=true$/);
    release();
    await answered;
    // Two frames after the stale answer reached the page: its handler has run (a fetch body, then a state update).
    await page.evaluate(() => {
      const w = globalThis as unknown as { requestAnimationFrame(f: () => void): void };
      return new Promise<void>((done) => w.requestAnimationFrame(() => w.requestAnimationFrame(done)));
    });
    expect(await unread()).toBe(before + 1);
    await context.close();
  }, 120_000);
});

async function lucaId(): Promise<string> {
  const { items } = await api<{ items: { userId: string; name: string }[] }>('GET', '/api/team/members');
  return items.find((m) => m.name === 'Luca Verdi')!.userId;
}
