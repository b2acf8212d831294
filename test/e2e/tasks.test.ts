import nodemailer from 'nodemailer';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { apiClient, login, type ApiClient } from '../support/harness.ts';
import { useE2e } from '../support/e2e.ts';

/**
 * Tasks in Chromium (issue 20): a task made from a note's line, its reminder arriving live in the bell and as a
 * toast, completed with the keyboard on My tasks, told on the company's timeline; My tasks at 390 px. The reminder
 * job sweeps every second here; the task is made already due, so its reminder is the next sweep's.
 */
const e2e = useE2e('tasks', { env: () => ({ TASK_REMINDER_SWEEP_SECONDS: '1' }) });
let owner: ApiClient;
let company: { id: string };

beforeAll(async () => {
  owner = apiClient(e2e.filo.baseUrl, await login(e2e.filo.baseUrl));
  company = await owner.json('POST', '/api/crm/companies', { name: 'Officine Compiti', type: 'client' });
  await owner.json('POST', '/api/crm/notes', {
    entityType: 'company',
    entityId: company.id,
    content: '## Call **Mario** about the quote\n\nHe wants the new prices by Friday.',
  });
});

/** The page's own local date and time, `minutes` from now (what its date and time inputs take). */
const localInputs = (page: Page, minutes: number) =>
  page.evaluate((minutes) => {
    const d = new Date(Date.now() + minutes * 60_000);
    const pad = (n: number) => String(n).padStart(2, '0');
    return {
      date: `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`,
      time: `${pad(d.getHours())}:${pad(d.getMinutes())}`,
    };
  }, minutes);

/** What these checks read of the page (the test's own types have no DOM). */
type PageWindow = {
  document: { documentElement: { scrollWidth: number; clientWidth: number } };
  getComputedStyle(el: unknown): { color: string };
};

/** A browser that has already said "Not now" to the offer of browser notifications (it sits over the page). */
async function withoutNotifyOffer(context: BrowserContext) {
  await context.addInitScript(() =>
    (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem(
      'filo.notify.banner-dismissed',
      '1',
    ),
  );
  return context;
}

const noSidewaysScroll = (page: Page) =>
  page.evaluate(() => {
    const root = (globalThis as unknown as PageWindow).document.documentElement;
    return root.scrollWidth <= root.clientWidth;
  });

describe('tasks', () => {
  it(
    'makes a task from a note, reminds live, completes it from the keyboard and tells the timeline',
    { timeout: 60_000 },
    async () => {
      const page = await (await withoutNotifyOffer(await e2e.newContext())).newPage();
      await e2e.signIn(page, 'demo@filo.local');
      await page.goto(`${e2e.filo.baseUrl}/companies/${company.id}?tab=notes`);

      // "Create task" on the note: its first line, without the Markdown, is the title.
      await page.getByTestId('note-create-task').first().click();
      const form = page.getByTestId('task-form');
      await form.waitFor();
      expect(await form.getByLabel('Title').inputValue()).toBe('Call Mario about the quote');
      // Due a few minutes ago: its reminder is due at once.
      const due = await localInputs(page, -5);
      await form.getByLabel('Due date').fill(due.date);
      await form.getByLabel('Time').fill(due.time);
      await form.getByRole('button', { name: 'Create task' }).click();
      await form.waitFor({ state: 'detached' });

      // The company's task panel shows it at once, overdue.
      const panelItem = page.getByTestId('task-panel').getByTestId('task-item');
      await expect.poll(() => panelItem.count()).toBe(1);
      expect(await panelItem.first().getAttribute('data-overdue')).toBe('true');

      // The reminder reaches this tab live: a toast and the bell's count.
      const toast = page.getByTestId('toast').filter({ hasText: 'Task reminder' });
      await toast.waitFor({ timeout: 15_000 });
      expect(await toast.textContent()).toContain('Task due: Call Mario about the quote');
      await expect.poll(() => page.getByTestId('notification-count').textContent()).toBe('1');
      await expect.poll(() => page.getByTestId('nav-tasks-due').textContent()).toMatch(/^1/);

      // My tasks: overdue, in red; j selects it, x completes it.
      await page.getByRole('link', { name: /^Tasks/ }).click();
      await page.waitForURL(`${e2e.filo.baseUrl}/tasks`);
      const overdue = page.getByTestId('bucket-overdue');
      await overdue.getByText('Call Mario about the quote').waitFor();
      // Highlighted: the item marked overdue, its due time said so in red (Tailwind's red-700, hue ~27).
      expect(await overdue.getByTestId('task-item').getAttribute('data-overdue')).toBe('true');
      const dueText = overdue.getByTestId('task-due');
      expect(await dueText.textContent()).toContain('Overdue');
      expect(await dueText.evaluate((el) => (globalThis as unknown as PageWindow).getComputedStyle(el).color)).toMatch(
        /^oklch\(0\.5\d* 0\.2\d* 2\d/,
      );
      await page.keyboard.press('j');
      await expect.poll(() => overdue.getByTestId('task-item').getAttribute('class')).toContain('ring-2');
      await page.keyboard.press('x');
      const done = page.getByTestId('bucket-done');
      await done.getByText('Call Mario about the quote').waitFor();
      await expect.poll(() => page.getByTestId('bucket-overdue').count()).toBe(0);
      await expect.poll(() => page.getByTestId('nav-tasks-due').count()).toBe(0);
      const [task] = (await owner.json('GET', '/api/tasks?status=done')).items;
      expect(task).toMatchObject({ title: 'Call Mario about the quote', source: 'note', companyId: company.id });

      // The company's timeline tells the task's story.
      await page.goto(`${e2e.filo.baseUrl}/companies/${company.id}?tab=timeline`);
      const timeline = page.getByRole('tabpanel');
      await timeline.getByText('created the task “Call Mario about the quote”').waitFor();
      await timeline.getByText('completed the task “Call Mario about the quote”').waitFor();
    },
  );

  it('is usable on a 390 px phone: My tasks, a new task from the keyboard shortcut, nothing scrolls sideways', async () => {
    // The browser lives in the workspace's time zone: "tomorrow" is the workspace's tomorrow for the buckets, and
    // between 23:00 and 00:00 UTC a UTC browser's tomorrow is already Rome's today.
    const context = await e2e.browser.newContext({
      locale: 'en-US',
      timezoneId: 'Europe/Rome',
      viewport: { width: 390, height: 844 },
    });
    e2e.contexts.push(context);
    const page = await (await withoutNotifyOffer(context)).newPage();
    await e2e.signIn(page, 'demo@filo.local');
    await page.goto(`${e2e.filo.baseUrl}/tasks`);
    await page.getByRole('heading', { name: 'My tasks' }).waitFor();
    expect(await noSidewaysScroll(page)).toBe(true);
    await page.keyboard.press('n');
    const form = page.getByTestId('task-form');
    await form.waitFor();
    await form.getByLabel('Title').fill('Send the samples');
    const tomorrow = await localInputs(page, 24 * 60);
    await form.getByLabel('Due date').fill(tomorrow.date);
    await form.getByLabel('Remind me').selectOption({ label: '1 hour before' });
    const box = await form.boundingBox();
    expect(box!.width).toBeLessThanOrEqual(390);
    await form.getByRole('button', { name: 'Create task' }).click();
    await page.getByTestId('bucket-upcoming').getByText('Send the samples').waitFor();
    expect(await page.getByTestId('bucket-upcoming').getByTestId('task-due').textContent()).toContain(
      'Due Tomorrow 09:00',
    );
    expect(await noSidewaysScroll(page)).toBe(true);
    const [task] = (await owner.json('GET', '/api/tasks?due=upcoming&assignee=me')).items;
    expect(new Date(task.dueAt).getTime() - new Date(task.remindAt).getTime()).toBe(3600_000);
  });

  it('makes a task from a conversation of the inbox, about the conversation and its customer', async () => {
    const mailbox = await owner.json<{ id: string; inboundAddress: string }>('POST', '/api/inbox/mailboxes', {
      name: 'Support',
      localPart: 'support-tasks',
    });
    const smtp = nodemailer.createTransport({
      host: '127.0.0.1',
      port: e2e.filo.smtpPort,
      secure: false,
      ignoreTLS: true,
    });
    await smtp.sendMail({
      from: 'Mario Rossi <mario@compiti.example>',
      to: mailbox.inboundAddress,
      subject: 'Prices for 2027',
      text: 'Could you send them?',
    });
    smtp.close();
    let conversationId = '';
    await expect
      .poll(
        async () => {
          const page = await owner.json<{ items: { id: string; subject: string }[] }>(
            'GET',
            '/api/inbox/conversations',
          );
          conversationId = page.items.find((c) => c.subject === 'Prices for 2027')?.id ?? '';
          return conversationId;
        },
        { timeout: 20_000 },
      )
      .not.toBe('');
    const page = await (await withoutNotifyOffer(await e2e.newContext())).newPage();
    await e2e.signIn(page, 'demo@filo.local');
    await page.goto(`${e2e.filo.baseUrl}/inbox/${conversationId}`);
    await page.getByTestId('conversation').getByTestId('create-task').click();
    const form = page.getByTestId('task-form');
    await form.waitFor();
    expect(await form.getByLabel('Title').inputValue()).toBe('Follow up: Prices for 2027');
    expect(await form.getByTestId('task-link').textContent()).toContain('Conversation: Prices for 2027');
    await form.getByRole('button', { name: 'Create task' }).click();
    await form.waitFor({ state: 'detached' });
    await expect
      .poll(async () => (await owner.json('GET', `/api/tasks?conversationId=${conversationId}`)).items.length)
      .toBe(1);
    const [task] = (await owner.json('GET', `/api/tasks?conversationId=${conversationId}`)).items;
    expect(task).toMatchObject({ title: 'Follow up: Prices for 2027', source: 'inbox', conversationId });
  });
});
