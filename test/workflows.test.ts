import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '#contracts/tasks';
import type { Notification } from '#contracts/timeline';
import type { Workflow, WorkflowRun } from '#contracts/workflows';
import {
  apiClient,
  errorCode,
  login,
  signUp,
  startTestFilo,
  type ApiClient,
  type TestFilo,
} from './support/harness.ts';

/**
 * Workflows (issue 17): fired once per event and not in a loop (depth limit), a run finishing on its own version
 * while a newer one is saved, a schedule and a date trigger driven through the sweep's `now`, scopes and checks.
 */
let filo: TestFilo;
let demo: ApiClient;
let luca: ApiClient;
let other: ApiClient;
const ids = { demo: '', luca: '' };
let zone = 'Europe/Rome';
/** A local receiver of "call a webhook" (allowed through OUTBOUND_ALLOWED_HOSTS, as tests do). */
let receiver: Server;
const received: { headers: Record<string, unknown>; body: { runId?: string; record?: { id: string } } }[] = [];

const runsOf = async (id: string) =>
  (await demo.json<{ items: WorkflowRun[] }>('GET', `/api/workflows/${id}/runs?limit=200`)).items;
const settled = (runs: WorkflowRun[]) => runs.every((r) => r.status !== 'running');
const tasksOf = async (c: ApiClient, title: string) =>
  (await c.json<{ items: Task[] }>('GET', '/api/tasks?limit=100')).items.filter((t) => t.title === title);
const create = (c: ApiClient, body: unknown, status = 201) => c.json<Workflow>('POST', '/api/workflows', body, status);
const tick = (at: Date) => filo.services.workflowEngine.tick(at);

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(data) as (typeof received)[number]['body'] });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  filo = await startTestFilo({ OUTBOUND_ALLOWED_HOSTS: '127.0.0.1' });
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  luca = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'luca@filo.local', password: 'filo-demo' }));
  other = apiClient(
    filo.baseUrl,
    await signUp(filo, {
      workspace: 'Altrove',
      name: 'Al Trove',
      email: 'al@altrove.example',
      password: 'correct horse battery',
    }),
  );
  ids.demo = (await demo.json('GET', '/api/auth/me')).user.id;
  ids.luca = (await luca.json('GET', '/api/auth/me')).user.id;
  zone = (await demo.json('GET', '/api/team/workspace')).timeZone;
});
afterAll(async () => {
  await filo?.close();
  receiver?.close();
});

describe('workflows', () => {
  it('deal moved to Negotiation -> a task for the owner and a notice, once per move', async () => {
    const wf = await create(demo, {
      name: 'Negotiation follow-up',
      active: true,
      definition: {
        trigger: { type: 'event', event: 'deal.stage_changed', toStage: 'negotiation' },
        conditions: { match: 'all', rules: [{ field: 'value', op: 'greater', value: 1000 }] },
        steps: [
          { action: 'create_task', title: 'Prepare the negotiation', assignTo: 'owner', dueInDays: 2 },
          { action: 'notify', to: 'owner', message: 'Your deal is in negotiation' },
        ],
      },
    });
    expect(wf.version).toBe(1);
    const deal = await demo.json('POST', '/api/crm/deals', {
      title: 'Forniture 2027',
      value: '25000',
      stage: 'proposal',
      assignedTo: ids.luca,
    });
    const small = await demo.json('POST', '/api/crm/deals', { title: 'Piccolo', value: '10', stage: 'proposal' });
    await demo.json('PATCH', `/api/crm/deals/${deal.id}`, { stage: 'negotiation' });
    await demo.json('PATCH', `/api/crm/deals/${small.id}`, { stage: 'negotiation' });
    await demo.json('PATCH', `/api/crm/deals/${deal.id}`, { title: 'Forniture 2027 (rev)' });
    await expect
      .poll(async () => (await runsOf(wf.id)).filter((r) => r.status !== 'running').length, { timeout: 20_000 })
      .toBe(2);
    let runs = await runsOf(wf.id);
    // The small deal's run stopped at the conditions; the other did both steps, logged.
    expect(runs.map((r) => r.status).sort()).toEqual(['done', 'skipped']);
    const done = runs.find((r) => r.status === 'done')!;
    expect(done).toMatchObject({ recordType: 'deal', recordId: deal.id, depth: 1, version: 1 });
    expect(done.log.map((l) => [l.action, l.status])).toEqual([
      ['create_task', 'done'],
      ['notify', 'done'],
    ]);
    expect(runs.find((r) => r.status === 'skipped')!.log[0]!.error).toBe('conditions not met');
    const [task] = await tasksOf(luca, 'Prepare the negotiation');
    expect(task).toMatchObject({ assignee: { id: ids.luca }, source: 'bot' });
    const notices = (await luca.json<{ items: Notification[] }>('GET', '/api/notifications?limit=50')).items.filter(
      (n) => n.type === 'workflow_notice',
    );
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({
      entityType: 'deal',
      entityId: deal.id,
      data: { message: 'Your deal is in negotiation' },
    });

    // Out and back in: a second move, a second run (and no more).
    await demo.json('PATCH', `/api/crm/deals/${deal.id}`, { stage: 'proposal' });
    await demo.json('PATCH', `/api/crm/deals/${deal.id}`, { stage: 'negotiation' });
    await expect.poll(async () => (await tasksOf(luca, 'Prepare the negotiation')).length, { timeout: 20_000 }).toBe(2);
    await expect.poll(async () => settled(await runsOf(wf.id))).toBe(true);
    runs = await runsOf(wf.id);
    expect(runs.filter((r) => r.status === 'done')).toHaveLength(2);
    expect(new Set(runs.map((r) => r.trigger.activityId)).size).toBe(3);
    // Each firing is one run: a sweep of the feed and of the workflows finds nothing more to do.
    await filo.services.feed.sweep();
    await tick(new Date());
    expect(await runsOf(wf.id)).toHaveLength(3);
    await demo.json('PATCH', `/api/workflows/${wf.id}`, { active: false });
  });

  it('stops a workflow that retriggers itself at the depth limit, logged as skipped', async () => {
    const deal = await demo.json('POST', '/api/crm/deals', { title: 'Ricorsivo', stage: 'lead' });
    const wf = await create(demo, {
      name: 'Echo notes',
      active: true,
      definition: {
        trigger: { type: 'event', event: 'note.added' },
        steps: [{ action: 'add_note', body: 'echo' }],
      },
    });
    await demo.json('POST', '/api/crm/notes', { entityType: 'deal', entityId: deal.id, content: 'first' });
    await expect
      .poll(async () => (await runsOf(wf.id)).some((r) => r.status === 'skipped'), { timeout: 30_000 })
      .toBe(true);
    const runs = (await runsOf(wf.id)).sort((a, b) => a.depth - b.depth);
    expect(runs.map((r) => [r.depth, r.status])).toEqual([
      [1, 'done'],
      [2, 'done'],
      [3, 'done'],
      [4, 'skipped'],
    ]);
    expect(runs[3]!.log[0]!.error).toMatch(/depth limit/);
    const notes = await demo.json<{ items: unknown[] }>('GET', `/api/crm/notes?entityType=deal&entityId=${deal.id}`);
    expect(notes.items).toHaveLength(4);
    await demo.json('PATCH', `/api/workflows/${wf.id}`, { active: false });
  });

  it('a run waiting finishes on its version while a newer one is saved', async () => {
    const wf = await create(demo, {
      name: 'Tag later',
      active: true,
      definition: {
        trigger: { type: 'event', event: 'company.created' },
        steps: [
          { action: 'wait', minutes: 60 },
          { action: 'add_tag', tag: 'v1' },
        ],
      },
    });
    const company = await demo.json('POST', '/api/crm/companies', { name: 'Attesa Srl', type: 'client' });
    await expect.poll(async () => (await runsOf(wf.id))[0]?.status, { timeout: 20_000 }).toBe('waiting');
    const edited = await demo.json<Workflow>('PATCH', `/api/workflows/${wf.id}`, {
      definition: {
        trigger: { type: 'event', event: 'company.created' },
        steps: [
          { action: 'wait', minutes: 60 },
          { action: 'add_tag', tag: 'v2' },
        ],
      },
    });
    expect(edited.version).toBe(2);
    // Not yet: the wait is not over.
    await tick(new Date(Date.now() + 30 * 60_000));
    expect((await runsOf(wf.id))[0]!.status).toBe('waiting');
    await tick(new Date(Date.now() + 61 * 60_000));
    await expect.poll(async () => (await runsOf(wf.id))[0]?.status, { timeout: 20_000 }).toBe('done');
    const [run] = await runsOf(wf.id);
    expect(run!.version).toBe(1);
    expect((await demo.json('GET', `/api/crm/companies/${company.id}`)).tags).toEqual(['v1']);
    await demo.json('PATCH', `/api/workflows/${wf.id}`, { active: false });
  });

  it('a schedule fires once per cron tick in the workspace time zone', async () => {
    const wf = await create(demo, {
      name: 'Morning review',
      active: true,
      definition: {
        trigger: { type: 'schedule', cron: '30 9 * * *' },
        steps: [{ action: 'create_task', title: 'Morning review', assignTo: ids.demo }],
      },
    });
    // The next 9:30 in the workspace's zone (today's, unless it has passed).
    const today = DateTime.now().setZone(zone).set({ hour: 9, minute: 30, second: 0, millisecond: 0 });
    const nineThirty = today > DateTime.now() ? today : today.plus({ days: 1 });
    await tick(nineThirty.minus({ minutes: 1 }).toJSDate());
    expect(await runsOf(wf.id)).toHaveLength(0);
    await tick(nineThirty.plus({ minutes: 5 }).toJSDate());
    await tick(nineThirty.plus({ minutes: 6 }).toJSDate());
    await expect.poll(async () => (await tasksOf(demo, 'Morning review')).length, { timeout: 20_000 }).toBe(1);
    const [run] = await runsOf(wf.id);
    expect(run!.trigger).toEqual({ type: 'schedule', at: nineThirty.toUTC().toISO({ suppressMilliseconds: false }) });
    await tick(nineThirty.plus({ days: 1, minutes: 1 }).toJSDate());
    await expect.poll(async () => (await tasksOf(demo, 'Morning review')).length, { timeout: 20_000 }).toBe(2);
    await demo.json('PATCH', `/api/workflows/${wf.id}`, { active: false });
  });

  it('a date trigger fires once per record and date', async () => {
    const at = new Date(Date.now() + 5 * 60_000);
    const closing = DateTime.fromJSDate(at, { zone }).startOf('day').plus({ days: 30 }).toISODate();
    const deal = await demo.json('POST', '/api/crm/deals', {
      title: 'Rinnovo',
      stage: 'proposal',
      expectedCloseDate: closing,
      assignedTo: ids.demo,
    });
    await demo.json('POST', '/api/crm/deals', {
      title: 'Altra data',
      stage: 'proposal',
      expectedCloseDate: '2030-01-01',
    });
    const wf = await create(demo, {
      name: 'Renewal in 30 days',
      active: true,
      definition: {
        trigger: { type: 'date', recordType: 'deal', field: 'expectedCloseDate', daysBefore: 30 },
        steps: [{ action: 'create_task', title: 'Renewal call', assignTo: 'owner' }],
      },
    });
    await tick(at);
    await tick(new Date(at.getTime() + 2 * 60_000));
    await expect.poll(async () => (await tasksOf(demo, 'Renewal call')).length, { timeout: 20_000 }).toBe(1);
    const runs = await runsOf(wf.id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ recordId: deal.id, trigger: { type: 'date', date: closing } });
  });

  it('calls a webhook through the webhooks domain (signed one-off POST), logged with its answer', async () => {
    const port = (receiver.address() as AddressInfo).port;
    const wf = await create(demo, {
      name: 'Tell the ERP',
      active: true,
      definition: {
        trigger: { type: 'event', event: 'contact.created' },
        steps: [{ action: 'call_webhook', url: `http://127.0.0.1:${port}/erp` }],
      },
    });
    const contact = await demo.json('POST', '/api/crm/contacts', { firstName: 'Erp', lastName: 'Hook' });
    await expect.poll(async () => (await runsOf(wf.id))[0]?.status, { timeout: 20_000 }).toBe('done');
    const [run] = await runsOf(wf.id);
    expect(run!.log[0]).toMatchObject({ action: 'call_webhook', status: 'done', result: { status: 204 } });
    const call = received.find((r) => r.body.runId === run!.id)!;
    expect(call.body.record).toEqual({ type: 'contact', id: contact.id });
    expect(call.headers['filo-event']).toBe('workflow.call');
    await demo.json('PATCH', `/api/workflows/${wf.id}`, { active: false });
  });

  it('sends a template email to the new contact from a mailbox, and nothing to a suppressed address', async () => {
    const mailbox = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Welcome', localPart: 'welcome-wf' });
    const template = await demo.json('POST', '/api/inbox/templates', {
      name: 'Welcome',
      subject: 'Benvenuta {{contact.first_name}}',
      body: 'Ciao {{contact.first_name}}, grazie!',
    });
    const unknown = await demo.call('POST', '/api/workflows', {
      name: 'Welcome mail (bad)',
      definition: {
        trigger: { type: 'event', event: 'contact.created' },
        steps: [{ action: 'send_email', mailboxId: mailbox.id, templateId: '00000000-0000-4000-8000-000000000002' }],
      },
    });
    expect(unknown.status).toBe(400);
    const wf = await create(demo, {
      name: 'Welcome mail',
      active: true,
      definition: {
        trigger: { type: 'event', event: 'contact.created' },
        steps: [{ action: 'send_email', mailboxId: mailbox.id, templateId: template.id }],
      },
    });
    await demo.json('POST', '/api/consent/suppressions', { address: 'gone@welcome.example' }, 201);
    await demo.json('POST', '/api/crm/contacts', {
      firstName: 'Giulia',
      lastName: 'Nuova',
      email: 'giulia@welcome.example',
    });
    await demo.json('POST', '/api/crm/contacts', { firstName: 'Gino', lastName: 'Via', email: 'gone@welcome.example' });
    await expect
      .poll(async () => (await runsOf(wf.id)).filter((r) => r.status === 'done').length, { timeout: 20_000 })
      .toBe(2);
    const results = (await runsOf(wf.id)).map((r) => r.log[0]!.result as Record<string, unknown>);
    expect(results.find((r) => r.to)).toMatchObject({ to: 'giulia@welcome.example' });
    expect(results.find((r) => r.skipped)).toMatchObject({ skipped: 'suppressed' });
    const sent = results.find((r) => r.to)!;
    const message = await demo.json('GET', `/api/inbox/messages/${String(sent.messageId)}/delivery`);
    expect(message.subject).toBe('Benvenuta Giulia');
    await demo.json('PATCH', `/api/workflows/${wf.id}`, { active: false });
  });

  it('members read, admins edit; references are checked; other workspaces see nothing', async () => {
    const body = {
      name: 'Checked',
      definition: {
        trigger: { type: 'schedule', cron: '0 8 * * 1' },
        steps: [{ action: 'notify', to: ids.demo, message: 'Monday' }],
      },
    };
    expect(await errorCode(await luca.call('POST', '/api/workflows', body))).toBe('forbidden');
    const wf = await create(demo, body);
    expect((await luca.json('GET', '/api/workflows')).items.map((w: Workflow) => w.id)).toContain(wf.id);
    const bad = await demo.call('POST', '/api/workflows', {
      name: 'Bad',
      definition: {
        trigger: { type: 'schedule', cron: 'every day' },
        steps: [
          { action: 'notify', to: '00000000-0000-4000-8000-000000000000', message: 'x' },
          { action: 'update_field', field: 'colour', value: 'red' },
          { action: 'add_to_list', listId: '00000000-0000-4000-8000-000000000001' },
        ],
      },
    });
    expect(bad.status).toBe(400);
    const { error } = (await bad.json()) as { error: { code: string; fields: Record<string, string> } };
    expect(error.code).toBe('validation_failed');
    expect(Object.keys(error.fields).sort()).toEqual([
      'definition.steps.0.to',
      'definition.steps.1.field',
      'definition.steps.2.listId',
      'definition.trigger.cron',
    ]);
    expect((await demo.call('POST', '/api/workflows', { name: 'x', definition: { steps: [] } })).status).toBe(400);
    expect((await other.call('GET', `/api/workflows/${wf.id}`)).status).toBe(404);
    expect((await other.call('PATCH', `/api/workflows/${wf.id}`, { active: true })).status).toBe(404);
    expect((await other.call('GET', `/api/workflows/${wf.id}/runs`)).status).toBe(404);
    expect((await other.json('GET', '/api/workflows')).items).toEqual([]);
  });
});
