import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Task } from '#contracts/tasks';
import type { Activity, Notification } from '#contracts/timeline';
import { apiClient, body, login, signUp, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';
import { LiveClient } from './support/live.ts';
import { withAdmin } from './support/postgres.ts';

/**
 * Tasks (issue 20): the API, its buckets in the workspace's time zone, versions, links checked in the workspace and
 * against mailbox visibility, timeline entries, and reminders sent once by the job (its clock driven by `now`).
 */
let filo: TestFilo;
let demo: ApiClient;
let luca: ApiClient;
let other: ApiClient;
const ids = { demo: '', luca: '', outsider: '' };
let company: { id: string; name: string };
let contact: { id: string };
let lucaLive: LiveClient;
const taskEvents: { id: string; deleted?: boolean }[] = [];

const HOUR = 3600_000;
const at = (ms: number) => new Date(Date.now() + ms).toISOString();
const timeline = async (c: ApiClient, type: string, id: string) =>
  (await c.json<{ items: Activity[] }>('GET', `/api/crm/timeline?entityType=${type}&entityId=${id}&limit=100`)).items;
const noticesOf = async (c: ApiClient, taskId: string, type: Notification['type']) =>
  (await c.json<{ items: Notification[] }>('GET', '/api/notifications?limit=100')).items.filter(
    (n) => n.type === type && 'taskId' in n.data && n.data.taskId === taskId,
  );

beforeAll(async () => {
  filo = await startTestFilo();
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  luca = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'luca@filo.local', password: 'filo-demo' }));
  other = apiClient(
    filo.baseUrl,
    await signUp(filo, {
      workspace: 'Elsewhere',
      name: 'Else Where',
      email: 'else@elsewhere.example',
      password: 'correct horse battery',
    }),
  );
  ids.demo = (await demo.json('GET', '/api/auth/me')).user.id;
  ids.luca = (await luca.json('GET', '/api/auth/me')).user.id;
  ids.outsider = (await other.json('GET', '/api/auth/me')).user.id;
  company = await demo.json('POST', '/api/crm/companies', { name: 'Compiti Srl', type: 'client' });
  contact = await demo.json('POST', '/api/crm/contacts', {
    companyId: company.id,
    firstName: 'Tina',
    lastName: 'Task',
  });
  lucaLive = new LiveClient(filo.baseUrl, { cookie: luca.cookie });
  lucaLive.socket.on('task:changed', (c) => taskEvents.push(c));
  await lucaLive.ready();
});
afterAll(async () => {
  lucaLive?.close();
  await filo?.close();
});

describe('tasks API', () => {
  it('creates a task assigned to its author, about a record, and tells it on the record’s timeline', async () => {
    const task = await demo.json<Task>('POST', '/api/tasks', {
      title: 'Call Tina about the renewal',
      dueAt: at(2 * HOUR),
      priority: 'high',
      contactId: contact.id,
    });
    expect(task).toMatchObject({
      title: 'Call Tina about the renewal',
      priority: 'high',
      assignee: { id: ids.demo },
      contactId: contact.id,
      // the contact's company is the task's company too
      companyId: company.id,
      link: { type: 'contact', id: contact.id, name: 'Tina Task' },
      source: 'manual',
      doneAt: null,
      version: 1,
    });
    expect(await demo.json('GET', `/api/tasks/${task.id}`)).toEqual(task);
    // On the contact's timeline, and (through its company) on the company's.
    const onContact = (await timeline(demo, 'contact', contact.id)).find((a) => a.type === 'task.created');
    expect(onContact).toMatchObject({ companyId: company.id, data: { taskId: task.id, title: task.title } });
    expect((await timeline(demo, 'company', company.id)).some((a) => a.id === onContact!.id)).toBe(true);
    // Live: the workspace hears of it.
    await lucaLive.until(() => taskEvents.some((e) => e.id === task.id));
  });

  it('refuses bad input with a 400 and a code, and writes nothing', async () => {
    const before = (await demo.json('GET', '/api/tasks?status=all&limit=200')).items.length;
    const cases: [unknown, string, string?][] = [
      [{ title: '  ' }, 'validation_failed', 'title'],
      [{ title: 'x', priority: 'whenever' }, 'validation_failed', 'priority'],
      [{ title: 'x', dueAt: 'tomorrow' }, 'validation_failed', 'dueAt'],
      [{ title: 'x', surprise: true }, 'validation_failed'],
      [{ title: 'x', dueAt: at(HOUR), remindAt: at(2 * HOUR) }, 'validation_failed', 'remindAt'],
      [{ title: 'x', companyId: 'not-an-id' }, 'validation_failed', 'companyId'],
      [{ title: 'x', assigneeId: ids.outsider }, 'assignee_not_member', 'assigneeId'],
    ];
    for (const [payload, code, field] of cases) {
      const res = await demo.call('POST', '/api/tasks', payload);
      const answer = await body(res);
      expect(`${res.status} ${answer.error.code}`, JSON.stringify(payload)).toBe(`400 ${code}`);
      if (field) expect(answer.error.fields).toHaveProperty(field);
    }
    for (const query of ['due=later', 'assignee=someone', 'cursor=bm90LWEtY3Vyc29y', 'limit=0']) {
      const res = await demo.call('GET', `/api/tasks?${query}`);
      expect(`${query} -> ${res.status}`).toBe(`${query} -> 400`);
    }
    expect((await demo.json('GET', '/api/tasks?status=all&limit=200')).items.length).toBe(before);
  });

  it('answers 404 for another workspace’s tasks and records', async () => {
    const mine = await demo.json<Task>('POST', '/api/tasks', { title: 'Mine only', companyId: company.id });
    for (const [method, payload] of [['GET'], ['PATCH', { version: 1, title: 'hijack' }], ['DELETE']] as const) {
      expect((await other.call(method, `/api/tasks/${mine.id}`, payload)).status).toBe(404);
    }
    for (const link of ['companyId', 'contactId']) {
      const res = await other.call('POST', '/api/tasks', {
        title: 'x',
        [link]: link === 'companyId' ? company.id : contact.id,
      });
      expect(`${link} -> ${res.status}`).toBe(`${link} -> 404`);
    }
    expect((await other.json('GET', '/api/tasks?status=all')).items).toEqual([]);
    expect((await demo.json<Task>('GET', `/api/tasks/${mine.id}`)).title).toBe('Mine only');
  });

  it('completes and reopens on the current version, refuses a stale one with 409, and tells the timeline', async () => {
    const task = await demo.json<Task>('POST', '/api/tasks', { title: 'Send the offer', companyId: company.id });
    const done = await demo.json<Task>('PATCH', `/api/tasks/${task.id}`, { version: task.version, done: true });
    expect(done).toMatchObject({ doneBy: { id: ids.demo }, version: task.version + 1 });
    expect(done.doneAt).not.toBeNull();
    const open = (await demo.json('GET', `/api/tasks?companyId=${company.id}`)).items.map((t: Task) => t.id);
    expect(open).not.toContain(task.id);
    const doneList = (await demo.json('GET', `/api/tasks?companyId=${company.id}&status=done`)).items;
    expect(doneList.map((t: Task) => t.id)).toContain(task.id);

    const stale = await demo.call('PATCH', `/api/tasks/${task.id}`, { version: task.version, title: 'Old copy' });
    expect(stale.status).toBe(409);
    const conflict = (await body(stale)).error;
    expect(conflict).toMatchObject({ code: 'version_conflict', current: { id: task.id, version: done.version } });

    const reopened = await demo.json<Task>('PATCH', `/api/tasks/${task.id}`, {
      version: done.version,
      done: false,
      title: 'Send the new offer',
    });
    expect(reopened).toMatchObject({ doneAt: null, doneBy: null, title: 'Send the new offer' });
    const entries = (await timeline(demo, 'company', company.id)).filter((a) => a.data.taskId === task.id);
    expect(entries.map((a) => a.type).sort()).toEqual([
      'task.completed',
      'task.created',
      'task.reopened',
      'task.updated',
    ]);
    const updated = entries.find((a) => a.type === 'task.updated')!;
    expect(updated.data).toMatchObject({ changes: { title: { from: 'Send the offer', to: 'Send the new offer' } } });

    await demo.json('DELETE', `/api/tasks/${task.id}`);
    expect((await demo.call('GET', `/api/tasks/${task.id}`)).status).toBe(404);
    const gone = (await timeline(demo, 'company', company.id)).find(
      (a) => a.type === 'task.deleted' && a.data.taskId === task.id,
    );
    expect(gone).toBeDefined();
    await lucaLive.until(() => taskEvents.some((e) => e.id === task.id && e.deleted));
  });

  it('puts open tasks in buckets by the workspace’s time zone, and pages them by due date, undated last', async () => {
    const tz = 'Pacific/Kiritimati';
    const me = (await luca.json('GET', '/api/auth/me')).workspace;
    await withAdmin(filo.config.databaseUrl!, (c) =>
      c.query(`update tenants set time_zone = $1 where id = $2`, [tz, me.id]),
    );
    // Midnight after today in that zone (UTC+14): 10 to 14 hours away from UTC's, so a UTC day would mix these up.
    const parts = Object.fromEntries(
      new Intl.DateTimeFormat('en-US', {
        timeZone: tz,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      })
        .formatToParts(new Date())
        .map((p) => [p.type, p.value]),
    );
    const sinceMidnight = ((+parts.hour! * 60 + +parts.minute!) * 60 + +parts.second!) * 1000;
    const midnight = Date.now() - sinceMidnight + 24 * HOUR;
    const make = (title: string, dueAt: string | null) =>
      demo.json<Task>('POST', '/api/tasks', { title, dueAt, assigneeId: ids.luca });
    const late = await make('Late', new Date(Date.now() - HOUR).toISOString());
    const today = await make('Before midnight there', new Date(midnight - 60_000).toISOString());
    const tomorrow = await make('After midnight there', new Date(midnight + 60_000).toISOString());
    const undated = await make('Some day', null);
    const bucket = async (due: string) =>
      (await luca.json('GET', `/api/tasks?assignee=me&due=${due}`)).items.map((t: Task) => t.title);
    expect(await bucket('overdue')).toEqual(['Late']);
    expect(await bucket('today')).toEqual(['Before midnight there']);
    expect(await bucket('upcoming')).toEqual(['After midnight there']);
    expect(await bucket('none')).toEqual(['Some day']);
    expect(await luca.json('GET', '/api/tasks/summary')).toEqual({ overdue: 1, today: 1, upcoming: 1, noDate: 1 });

    // Keyset pages of one: the same order as one page, undated last.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Task[]; nextCursor: string | null } = await luca.json(
        'GET',
        `/api/tasks?assignee=me&limit=1${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...page.items.map((t) => t.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([late.id, today.id, tomorrow.id, undated.id]);
    await withAdmin(filo.config.databaseUrl!, (c) =>
      c.query(`update tenants set time_zone = 'Europe/Rome' where id = $1`, [me.id]),
    );
  });
});

describe('visibility', () => {
  it('keeps a task about a conversation of a restricted mailbox to those who see that mailbox', async () => {
    const sara = (await demo.json('GET', '/api/team/members')).items.find(
      (m: { email: string }) => m.email === 'sara@filo.local',
    );
    const legal = await demo.json('POST', '/api/inbox/mailboxes', {
      name: 'Legal tasks',
      localPart: 'legal-tasks',
      memberIds: [sara.userId],
    });
    const smtp = nodemailer.createTransport({
      host: '127.0.0.1',
      port: filo.smtpPort!,
      secure: false,
      ignoreTLS: true,
    });
    await smtp.sendMail({
      from: 'Tina Task <tina@compiti.example>',
      to: legal.inboundAddress,
      subject: 'Confidential dispute',
      text: 'hush',
    });
    smtp.close();
    const conversationId = await vi.waitFor(
      async () => {
        const page = await demo.json('GET', '/api/inbox/conversations?limit=100');
        const id = page.items.find((c: { subject: string }) => c.subject === 'Confidential dispute')?.id;
        if (!id) throw new Error('not yet');
        return id as string;
      },
      { timeout: 20_000, interval: 100 },
    );
    const task = await demo.json<Task>('POST', '/api/tasks', {
      title: 'Answer the dispute',
      conversationId,
      source: 'inbox',
      assigneeId: ids.demo,
    });
    // About the conversation and its customer (its contact, named first).
    expect(task).toMatchObject({ conversationId, contactId: expect.any(String) });
    expect(task.link?.type).toBe('contact');
    // Luca (a member outside Legal) does not see it, by any path, nor can he link to that conversation.
    expect((await luca.call('GET', `/api/tasks/${task.id}`)).status).toBe(404);
    expect((await luca.call('PATCH', `/api/tasks/${task.id}`, { version: 1, done: true })).status).toBe(404);
    const all = (await luca.json('GET', '/api/tasks?status=all&limit=200')).items.map((t: Task) => t.id);
    expect(all).not.toContain(task.id);
    expect((await luca.call('POST', '/api/tasks', { title: 'peek', conversationId })).status).toBe(404);
    // Its timeline entry is on the contact's timeline, kept out of Luca's timelines and sockets.
    const entry = (await timeline(demo, 'contact', task.contactId!)).find((a) => a.data.taskId === task.id);
    expect(entry?.type).toBe('task.created');
    const lucaFeed = (await luca.json<{ items: Activity[] }>('GET', '/api/crm/timeline?limit=200')).items;
    expect(lucaFeed.some((a) => a.data.taskId === task.id)).toBe(false);
    expect(lucaLive.activities.some((a) => a.data.taskId === task.id)).toBe(false);
    expect(taskEvents.some((e) => e.id === task.id)).toBe(false);
    // Demo (owner) does.
    expect((await demo.json<Task>('GET', `/api/tasks/${task.id}`)).id).toBe(task.id);
  });
});

describe('reminders and assignment', () => {
  it('tells the assignee a task was given to them, but not when they gave it to themselves', async () => {
    const given = await demo.json<Task>('POST', '/api/tasks', { title: 'Yours, Luca', assigneeId: ids.luca });
    await lucaLive.until(() =>
      lucaLive.events.some(
        (e) =>
          e.name === 'notification:new' &&
          (e.payload as { notification: Notification }).notification.data.taskId === given.id,
      ),
    );
    expect(await noticesOf(luca, given.id, 'task_assigned')).toHaveLength(1);
    const own = await luca.json<Task>('POST', '/api/tasks', { title: 'Mine, by me' });
    expect(own.assignee?.id).toBe(ids.luca);
    expect(await noticesOf(luca, own.id, 'task_assigned')).toHaveLength(0);
    // Handing it over to Demo tells Demo.
    await luca.json('PATCH', `/api/tasks/${own.id}`, { version: own.version, assigneeId: ids.demo });
    expect(await noticesOf(demo, own.id, 'task_assigned')).toHaveLength(1);
  });

  it('reminds once at the earlier time and once at the due time, again after an edit, never when done', async () => {
    const task = await demo.json<Task>('POST', '/api/tasks', {
      title: 'Renew the contract',
      dueAt: at(3 * HOUR),
      remindAt: at(HOUR),
      assigneeId: ids.luca,
      companyId: company.id,
    });
    const reminders = () => noticesOf(luca, task.id, 'task_reminder');
    const run = (ms: number) => filo.services.taskReminders.sendDue(new Date(Date.now() + ms));
    await run(30 * 60_000);
    expect(await reminders()).toHaveLength(0);
    // The earlier reminder's time comes: one notice, live, however often the job runs.
    await run(2 * HOUR);
    await run(2 * HOUR);
    const first = await reminders();
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({
      entityType: 'company',
      entityId: company.id,
      data: { title: 'Renew the contract', dueAt: task.dueAt },
    });
    await lucaLive.until(() =>
      lucaLive.events.some(
        (e) =>
          e.name === 'notification:new' &&
          (e.payload as { notification: Notification }).notification.type === 'task_reminder',
      ),
    );
    // Then the due time: a second one, once.
    await run(4 * HOUR);
    await run(4 * HOUR);
    expect(await reminders()).toHaveLength(2);
    // A new reminder time re-arms it.
    const current = await demo.json<Task>('GET', `/api/tasks/${task.id}`);
    await demo.json('PATCH', `/api/tasks/${task.id}`, { version: current.version, remindAt: at(2.5 * HOUR) });
    await run(4 * HOUR);
    expect(await reminders()).toHaveLength(3);
    // Two sweeps at once (two worker nodes): still one notice for a re-armed due time.
    const again = await demo.json<Task>('GET', `/api/tasks/${task.id}`);
    await demo.json('PATCH', `/api/tasks/${task.id}`, { version: again.version, dueAt: at(5 * HOUR) });
    await Promise.all([run(6 * HOUR), run(6 * HOUR), run(6 * HOUR)]);
    expect(await reminders()).toHaveLength(4);
  });

  it('never reminds of a done task', async () => {
    const task = await demo.json<Task>('POST', '/api/tasks', {
      title: 'Already handled',
      dueAt: at(HOUR),
      remindAt: at(HOUR / 2),
      assigneeId: ids.luca,
    });
    const done = await luca.json<Task>('PATCH', `/api/tasks/${task.id}`, { version: task.version, done: true });
    await luca.json('PATCH', `/api/tasks/${task.id}`, { version: done.version, dueAt: at(2 * HOUR) });
    await filo.services.taskReminders.sendDue(new Date(Date.now() + 24 * HOUR));
    expect(await noticesOf(luca, task.id, 'task_reminder')).toHaveLength(0);
  });
});
