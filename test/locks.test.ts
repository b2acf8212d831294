import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { apiClient, body, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

// Rows that the ORM versions and locks (settings, meetings, memberships): concurrent writers queue behind the row's
// lock, each lands on the row the previous one left, and the version counts every write once.

/** Joins the call and reports the page really in it, as the call page does once lib-jitsi-meet has joined. */
async function enter(client: ApiClient, meetingId: string) {
  const info = await client.json('POST', `/api/meetings/${meetingId}/join`, {}, 200);
  await client.json('POST', `/api/meetings/${meetingId}/connected`, { attendeeId: info.attendeeId }, 200);
  return info;
}

let filo: TestFilo;
let demo: ApiClient;
let mario: ApiClient;
let workspaceId: string;

beforeAll(async () => {
  filo = await startTestFilo();
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  mario = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'mario@filo.local', password: 'filo-demo' }));
  workspaceId = (await demo.json('GET', '/api/auth/me')).workspace.id as string;
});
afterAll(() => filo?.close());

interface Versioned {
  id: string;
  version: number;
  [key: string]: unknown;
}

/** A connection of its own, in a transaction of the demo workspace, to hold row locks while requests queue. */
async function holder() {
  const conn = new pg.Client({ connectionString: filo.orm.config.get('clientUrl') as string });
  await conn.connect();
  await conn.query('begin');
  await conn.query(`select set_config('app.tenant_id', $1, true)`, [workspaceId]);
  /** Backends waiting behind this transaction: directly, or behind another that waits for it. */
  const waiting = async () =>
    (
      await conn.query(
        `select count(distinct w.pid)::int as n from pg_locks w
          where not w.granted and (pg_backend_pid() = any(pg_blocking_pids(w.pid)) or exists (
            select 1 from pg_locks f where not f.granted and f.pid = any(pg_blocking_pids(w.pid))
               and pg_backend_pid() = any(pg_blocking_pids(f.pid))))`,
      )
    ).rows[0].n as number;
  return { conn, waiting };
}

interface Case {
  name: string;
  table: string;
  path: string;
  field: string;
  create(): Promise<Versioned>;
  /** The row as its own page shows it. */
  read(id: string): Promise<Versioned>;
}

const cases: Case[] = [
  {
    name: 'template',
    table: 'email_templates',
    path: '/api/inbox/templates',
    field: 'name',
    create: () => demo.json('POST', '/api/inbox/templates', { name: 'Benvenuto', body: 'Ciao {{contact.first_name}}' }),
    read: (id) => demo.json('GET', `/api/inbox/templates/${id}`),
  },
  {
    name: 'signature',
    table: 'signatures',
    path: '/api/inbox/signatures',
    field: 'body',
    create: () => demo.json('POST', '/api/inbox/signatures', { scope: 'user', body: 'Demo' }),
    read: async (id) =>
      ((await demo.json('GET', '/api/inbox/signatures')).items as Versioned[]).find((s) => s.id === id)!,
  },
  {
    name: 'mailbox',
    table: 'mailboxes',
    path: '/api/inbox/mailboxes',
    field: 'name',
    create: () => demo.json('POST', '/api/inbox/mailboxes', { name: 'Vendite', localPart: 'vendite' }),
    read: (id) => demo.json('GET', `/api/inbox/mailboxes/${id}`),
  },
  {
    name: 'meeting',
    table: 'video_meetings',
    path: '/api/meetings',
    field: 'title',
    create: () =>
      demo.json('POST', '/api/meetings', {
        title: 'Revisione',
        scheduledAt: new Date(Date.now() + 86_400_000).toISOString(),
      }),
    read: (id) => demo.json('GET', `/api/meetings/${id}`),
  },
];

describe.each(cases)('two concurrent edits of a $name', (c) => {
  it('both land, one after the other, and the version counts each once', async () => {
    const row = await c.create();
    expect(row.version).toBe(1);
    const { conn, waiting } = await holder();
    try {
      await conn.query(`select 1 from ${c.table} where id = $1 for update`, [row.id]);
      const both = Promise.all([
        demo.call('PATCH', `${c.path}/${row.id}`, { [c.field]: 'first writer' }),
        demo.call('PATCH', `${c.path}/${row.id}`, { [c.field]: 'second writer' }),
      ]);
      await expect.poll(waiting, { timeout: 10_000 }).toBe(2);
      await conn.query('rollback');
      const answers = await both;
      expect(answers.map((r) => r.status)).toEqual([200, 200]);
      const written = ((await Promise.all(answers.map(body))) as Versioned[]).sort((a, b) => a.version - b.version);
      // Each wrote on the row the other left: versions 2 then 3, and the later one is what stays.
      expect(written.map((w) => w.version)).toEqual([2, 3]);
      expect(await c.read(row.id)).toMatchObject({ [c.field]: written[1]![c.field], version: 3 });
    } finally {
      await conn.end();
    }
  });
});

describe('a meeting written by a call and its transcript', () => {
  it('counts each change of the meeting once, notes included', async () => {
    const acme = await demo.json('POST', '/api/crm/companies', { name: 'Versioni Spa', type: 'client' });
    const meeting = await demo.json<Versioned>('POST', '/api/meetings', { companyId: acme.id, title: 'Chiamata' });
    expect(meeting.version).toBe(1);
    await enter(demo, meeting.id);
    expect((await demo.json('GET', `/api/meetings/${meeting.id}`)).version).toBe(2);

    // The end writes the meeting and its note on the company: one change of the meeting.
    const ended = await demo.json('POST', `/api/meetings/${meeting.id}/end`, {}, 200);
    expect(ended).toMatchObject({ status: 'completed', version: 3, noteId: expect.any(String) });
    expect((await demo.json('GET', `/api/meetings/${meeting.id}`)).version).toBe(3);

    const first = await demo.json(
      'POST',
      `/api/meetings/${meeting.id}/transcript`,
      { text: 'Buongiorno a tutti' },
      200,
    );
    expect(first).toMatchObject({ version: 4, transcriptNoteId: expect.any(String) });
    const second = await demo.json(
      'POST',
      `/api/meetings/${meeting.id}/transcript`,
      { text: 'Buonasera a tutti' },
      200,
    );
    expect(second).toMatchObject({ version: 5, transcriptNoteId: first.transcriptNoteId });
    expect((await demo.json('GET', `/api/meetings/${meeting.id}`)).version).toBe(5);
  });
});

describe('an auto-reply rule edited on the version it was read at', () => {
  let rules: string;
  beforeAll(async () => {
    const box = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Regole', localPart: 'regole' });
    rules = `/api/inbox/mailboxes/${box.id}/rules`;
  });
  const rule = () => demo.json<Versioned>('POST', rules, { name: 'Etichetta', actions: { tags: ['uno'] } });

  it('answers a stale version with 409 version_conflict and the rule as it is now, and changes nothing', async () => {
    const row = await rule();
    await mario.json('PATCH', `${rules}/${row.id}`, { name: 'Di Mario', version: 1 });
    const stale = await demo.call('PATCH', `${rules}/${row.id}`, { name: 'Di Demo', version: 1 });
    expect(stale.status).toBe(409);
    expect((await body(stale)).error).toMatchObject({
      code: 'version_conflict',
      current: { id: row.id, name: 'Di Mario', version: 2 },
      fields: { version: 'the current version is 2' },
    });
    const now = ((await demo.json(`GET`, rules)).items as Versioned[]).find((r) => r.id === row.id);
    expect(now).toMatchObject({ name: 'Di Mario', version: 2 });
  });

  it('lets exactly one of two concurrent edits made on the same version win', async () => {
    const row = await rule();
    const { conn, waiting } = await holder();
    try {
      // Both read version 1 before either writes: the ORM's `where version = ?` at flush must refuse the second.
      await conn.query(`select 1 from auto_reply_rules where id = $1 for update`, [row.id]);
      const both = Promise.all([
        demo.call('PATCH', `${rules}/${row.id}`, { name: 'Prima', version: 1 }),
        mario.call('PATCH', `${rules}/${row.id}`, { name: 'Seconda', version: 1 }),
      ]);
      await expect.poll(waiting, { timeout: 10_000 }).toBe(2);
      await conn.query('rollback');
      const answers = await both;
      expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
      const winner = await body(answers.find((r) => r.status === 200)!);
      expect(winner.version).toBe(2);
      expect((await body(answers.find((r) => r.status === 409)!)).error.current).toMatchObject({
        name: winner.name,
        version: 2,
      });
    } finally {
      await conn.end();
    }
  });
});

// Last: one of the two owners leaves the workspace.
describe('two owners who leave at the same time', () => {
  it('lets one go; the other is told that the workspace needs an owner', async () => {
    const members = (await demo.json('GET', '/api/team/members')).items as { userId: string; email: string }[];
    const id = (email: string) => members.find((m) => m.email === email)!.userId;
    await demo.json('PATCH', `/api/team/members/${id('mario@filo.local')}`, { role: 'owner' });
    const { conn, waiting } = await holder();
    try {
      // Each leaver's sessions are held, so that both have checked the owners before either commits.
      await conn.query(`select 1 from sessions where user_id = any($1::uuid[]) for update`, [
        [id('demo@filo.local'), id('mario@filo.local')],
      ]);
      const both = Promise.all([
        demo.call('DELETE', `/api/team/members/${id('demo@filo.local')}`),
        mario.call('DELETE', `/api/team/members/${id('mario@filo.local')}`),
      ]);
      await expect.poll(waiting, { timeout: 10_000 }).toBe(2);
      await conn.query('rollback');
      const answers = await both;
      expect(answers.map((r) => r.status).sort()).toEqual([204, 409]);
      const refused = answers.findIndex((r) => r.status === 409);
      expect((await body(answers[refused]!)).error.code).toBe('last_owner');
      // The one who stayed is the workspace's owner, alone.
      const stayed = [demo, mario][refused]!;
      const left = (await stayed.json('GET', '/api/team/members')).items as { email: string; role: string }[];
      expect(left.filter((m) => m.role === 'owner').map((m) => m.email)).toEqual([
        refused === 0 ? 'demo@filo.local' : 'mario@filo.local',
      ]);
    } finally {
      await conn.end();
    }
  });
});
