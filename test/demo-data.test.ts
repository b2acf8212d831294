import { randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_COMPANIES, DEMO_DEALS, DEMO_MAILBOXES, DEMO_MEETINGS, DEMO_NOTES } from '../db/seeders/demo-crm.ts';
import { DEMO_USERS } from '../db/seeders/demo.seeder.ts';
import { DEAL_STAGES } from '#contracts/crm';
import { withAdmin } from './support/postgres.ts';
import {
  apiClient,
  createTestDatabase,
  login,
  startTestFilo,
  tempDir,
  type ApiClient,
  type TestFilo,
} from './support/harness.ts';

interface Company {
  id: string;
  name: string;
  type: string;
  status: string;
  assignedTo: string | null;
  customFields: Record<string, unknown>;
}
interface Member {
  userId: string;
  email: string;
  name: string;
}
interface Notification {
  type: string;
  title: string;
  entityId: string | null;
  actor: { id: string; name: string } | null;
}

const asUser = async (filo: TestFilo, email: string) =>
  apiClient(filo.baseUrl, await login(filo.baseUrl, { email, password: 'filo-demo' }));

/** Rows of a table, counted as the schema owner (row-level security does not hide them from it). */
async function count(url: string, table: string): Promise<number> {
  return withAdmin(
    url,
    async (c) => (await c.query<{ n: number }>(`select count(*)::int as n from ${table}`)).rows[0]!.n,
  );
}

const contactsTotal = DEMO_COMPANIES.reduce((n, c) => n + c.contacts.length, 0);

describe('a first start in development', () => {
  // Two nodes starting together on one fresh database: the demo marker lets exactly one of them seed.
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let nodes: TestFilo[] = [];
  let filo: TestFilo;
  let demo: ApiClient;
  let members: Member[];
  let companies: Company[];
  const idOf = (email: string) => members.find((m) => m.email === email)!.userId;
  const companyNamed = (name: string) => companies.find((c) => c.name === name)!;

  const shared = tempDir('filo-demo-data-');
  beforeAll(async () => {
    db = await createTestDatabase();
    expect(await count(db.url, 'users')).toBe(0);
    const env = {
      NODE_ENV: 'development',
      DATABASE_URL: db.url,
      // Both nodes must derive the same application-role password.
      SECRET_KEY: randomBytes(32).toString('hex'),
      // Nodes of one deployment share DATA_DIR (spool, documents): a message spooled by one node's gateway may
      // be processed by the other node's worker.
      DATA_DIR: shared.dir,
    };
    nodes = await Promise.all([startTestFilo(env), startTestFilo(env)]);
    filo = nodes[0]!;
    demo = await asUser(filo, 'demo@filo.local');
    members = (await demo.json<{ items: Member[] }>('GET', '/api/team/members')).items;
    companies = (await demo.json<{ items: Company[] }>('GET', '/api/crm/companies?limit=200')).items;
  }, 120_000);
  afterAll(async () => {
    for (const node of nodes) await node.close();
    await db?.drop();
    shared.remove();
  });

  it('seeds the demo team and, once, the companies with their contacts', async () => {
    expect(members.map((m) => m.email).sort()).toEqual(DEMO_USERS.map((u) => u.email).sort());
    expect(companies.map((c) => c.name).sort()).toEqual(DEMO_COMPANIES.map((c) => c.company.name).sort());
    expect(await count(db.url, 'companies')).toBe(DEMO_COMPANIES.length);
    expect(await count(db.url, 'contacts')).toBe(contactsTotal);
    expect(new Set(companies.map((c) => c.type))).toEqual(new Set(['client', 'supplier', 'stakeholder']));
    expect(companies.filter((c) => c.status === 'prospect').length).toBeGreaterThanOrEqual(2);

    const brambilla = companyNamed('Officine Brambilla S.p.A.');
    expect(brambilla.assignedTo).toBe(idOf('mario@filo.local'));
    expect(brambilla.customFields).toEqual({ account_tier: 'Strategic' });
    const people = await demo.json<{ items: { email: string; isPrimary: boolean }[] }>(
      'GET',
      `/api/crm/contacts?companyId=${brambilla.id}`,
    );
    expect(people.items.map((p) => p.email).sort()).toEqual(DEMO_COMPANIES[0]!.contacts.map((c) => c.email).sort());
    expect(people.items.filter((p) => p.isPrimary)).toHaveLength(1);
    const fields = await demo.json<{ items: { fieldName: string }[] }>('GET', '/api/crm/custom-fields');
    expect(fields.items.map((f) => f.fieldName).sort()).toEqual(['account_tier', 'preferred_language']);
  });

  it('spreads the deals over the pipeline, with their values per currency', async () => {
    const { stages } = await demo.json<{
      stages: { stage: string; count: number; totals: Record<string, string> }[];
    }>('GET', '/api/crm/pipeline');
    const expected = DEAL_STAGES.map((stage) => {
      const deals = DEMO_DEALS.filter((d) => d.deal.stage === stage);
      const totals: Record<string, string> = {};
      for (const { deal } of deals)
        totals[deal.currency!] = (Number(totals[deal.currency!] ?? 0) + Number(deal.value)).toFixed(2);
      return { stage, count: deals.length, totals };
    });
    expect(stages).toEqual(expected);
    expect(stages.filter((s) => s.count > 0).length).toBe(DEAL_STAGES.length);
    const currencies = new Set(stages.flatMap((s) => Object.keys(s.totals)));
    expect(currencies.size).toBeGreaterThan(1);
  });

  it('keeps projects, invoices and production jobs of other modules on demo companies (full-context)', async () => {
    const { items } = await demo.json<{ items: { id: string; name: string }[] }>('GET', '/api/crm/companies?limit=200');
    const brambilla = items.find((c) => c.name === 'Officine Brambilla S.p.A.')!;
    const ctx = await demo.json('GET', `/api/crm/companies/${brambilla.id}/full-context`);
    expect(ctx.activeProjects.map((r: { externalId: string }) => r.externalId)).toEqual(['PRJ-2026-014']);
    expect(ctx.pendingInvoices.map((r: { externalId: string }) => r.externalId)).toEqual(['FT-2026-0412']);
    expect(ctx.productionJobs.map((r: { externalId: string }) => r.externalId)).toEqual(['ODP-5531', 'ODP-5540']);
  });

  it('writes a timeline for each record, as if the team had done it', async () => {
    const brambilla = companyNamed('Officine Brambilla S.p.A.');
    const { items } = await demo.json<{ items: { type: string; actor: { name: string } | null; title: string }[] }>(
      'GET',
      `/api/crm/timeline?entityType=company&entityId=${brambilla.id}&limit=200`,
    );
    const types = items.map((a) => a.type);
    expect(types.filter((t) => t === 'company.created')).toHaveLength(1);
    expect(types.filter((t) => t === 'contact.created')).toHaveLength(DEMO_COMPANIES[0]!.contacts.length);
    expect(types.filter((t) => t === 'deal.created')).toHaveLength(
      DEMO_DEALS.filter((d) => d.company === brambilla.name).length,
    );
    expect(types).toContain('deal.stage_changed');
    expect(types.filter((t) => t === 'note.added')).toHaveLength(
      DEMO_NOTES.filter((n) => n.company === brambilla.name).length,
    );
    const authors = new Set(items.filter((a) => a.type === 'note.added').map((a) => a.actor?.name));
    expect(authors).toEqual(new Set(['Demo Owner', 'Sara Bianchi', 'Mario Rossi']));
    expect(items.find((a) => a.type === 'company.created')?.actor?.name).toBe('Demo Owner');
  });

  it('puts notes on the records, with @mentions that notified the team', async () => {
    expect(await count(db.url, 'notes')).toBe(DEMO_NOTES.length);
    const brambilla = companyNamed('Officine Brambilla S.p.A.');
    const notes = await demo.json<{ items: { content: string; isPinned: boolean; mentions: string[] }[] }>(
      'GET',
      `/api/crm/notes?entityType=company&entityId=${brambilla.id}`,
    );
    expect(notes.items[0]).toMatchObject({ isPinned: true, mentions: [idOf('mario@filo.local')] });
    expect(notes.items[0]!.content).toContain('@Mario Rossi');

    for (const user of DEMO_USERS) {
      const client = user.email === 'demo@filo.local' ? demo : await asUser(filo, user.email);
      const { items, unread } = await client.json<{ items: Notification[]; unread: number }>(
        'GET',
        '/api/notifications?limit=100',
      );
      const mentioning = DEMO_NOTES.filter((n) => n.mentions?.includes(user.email) && n.author !== user.email);
      expect(items.filter((n) => n.type === 'mention')).toHaveLength(mentioning.length);
      expect(unread).toBe(mentioning.length);
      const authors = new Set(mentioning.map((n) => members.find((m) => m.email === n.author)!.name));
      expect(new Set(items.map((n) => n.actor?.name))).toEqual(authors);
    }
    const mario = await asUser(filo, 'mario@filo.local');
    const forMario = await mario.json<{ items: Notification[] }>('GET', '/api/notifications');
    expect(forMario.items).toContainEqual(
      expect.objectContaining({
        title: 'Demo Owner mentioned you on Officine Brambilla S.p.A.',
        entityId: brambilla.id,
      }),
    );
  });

  it('opens the Support and Sales mailboxes, and mail to support@ reaches the inbox, linked to its company', async () => {
    const { items } = await demo.json<{ items: { name: string; localPart: string; inboundAddress: string }[] }>(
      'GET',
      '/api/inbox/mailboxes',
    );
    expect(items.map((m) => m.name).sort()).toEqual(DEMO_MAILBOXES.map((m) => m.name).sort());
    expect(items.find((m) => m.localPart === 'support')?.inboundAddress).toBe('support@demo.inbound.localhost');

    const sender = DEMO_COMPANIES[0]!.contacts[0]!.email!;
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: filo.smtpPort!,
      secure: false,
      ignoreTLS: true,
    });
    try {
      await transport.sendMail({
        from: sender,
        to: 'support@demo.inbound.localhost',
        subject: 'Linea 2 ferma',
        text: 'La saldatrice della linea 2 segnala un errore.',
      });
    } finally {
      transport.close();
    }
    await expect
      .poll(
        async () => {
          const page = await demo.json<{ items: { subject: string; companyId: string | null }[] }>(
            'GET',
            '/api/inbox/conversations?limit=100',
          );
          return page.items.find((c) => c.subject === 'Linea 2 ferma')?.companyId;
        },
        { timeout: 20_000, interval: 100 },
      )
      .toBe(companyNamed('Officine Brambilla S.p.A.').id);
  });

  it('spreads the history over the past six weeks, in seq order, with meetings held and to come', async () => {
    const rows = await withAdmin(
      db.url,
      async (c) =>
        (
          await c.query<{ seq: string; at: Date }>(
            `select a.seq, a.created_at as at from activities a join tenants t on t.id = a.tenant_id
              where t.slug = 'demo' and a.created_at < now() - interval '1 minute' order by a.seq`,
          )
        ).rows,
    );
    // Everything the seed wrote is in the past (the mail above, written during this test, is not counted).
    expect(rows.length).toBeGreaterThan(40);
    const days = new Set(rows.map((r) => r.at.toISOString().slice(0, 10)));
    expect(days.size).toBeGreaterThanOrEqual(20);
    const oldest = rows[0]!.at.getTime();
    expect(Date.now() - oldest).toBeGreaterThan(35 * 86_400_000);
    expect(Date.now() - oldest).toBeLessThan(43 * 86_400_000);
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.at.getTime()).toBeGreaterThan(rows[i - 1]!.at.getTime());

    const brambilla = companyNamed('Officine Brambilla S.p.A.');
    const card = await demo.json<{ createdAt: string }>('GET', `/api/crm/companies/${brambilla.id}`);
    expect(Date.now() - Date.parse(card.createdAt)).toBeGreaterThan(30 * 86_400_000);
    const notes = await demo.json<{ items: { createdAt: string }[] }>(
      'GET',
      `/api/crm/notes?entityType=company&entityId=${brambilla.id}`,
    );
    expect(notes.items.every((n) => Date.now() - Date.parse(n.createdAt) > 3_600_000)).toBe(true);

    const deals = await demo.json<{
      items: { stage: string; expectedCloseDate: string | null; actualCloseDate: string | null; createdAt: string }[];
    }>('GET', '/api/crm/deals?limit=100');
    const today = new Date().toISOString().slice(0, 10);
    const closed = deals.items.filter((d) => d.stage === 'won' || d.stage === 'lost');
    expect(closed.length).toBeGreaterThan(0);
    for (const d of closed) {
      expect(d.actualCloseDate! < today).toBe(true);
      expect(d.actualCloseDate! >= d.createdAt.slice(0, 10)).toBe(true);
    }
    const open = deals.items.filter((d) => d.stage !== 'won' && d.stage !== 'lost');
    expect(open.some((d) => d.expectedCloseDate! < today)).toBe(true);
    expect(new Set(deals.items.map((d) => d.createdAt.slice(0, 10))).size).toBeGreaterThan(3);

    const meetings = await demo.json<{ items: { title: string; status: string; scheduledAt: string }[] }>(
      'GET',
      '/api/meetings?limit=100',
    );
    const held = meetings.items.filter((m) => m.status === 'completed');
    const coming = meetings.items.filter((m) => m.status === 'scheduled' && Date.parse(m.scheduledAt) > Date.now());
    expect(held.length).toBe(DEMO_MEETINGS.filter((m) => m.inDays < 0).length);
    expect(held.every((m) => Date.parse(m.scheduledAt) < Date.now())).toBe(true);
    expect(coming.length).toBe(DEMO_MEETINGS.filter((m) => m.inDays > 0).length);
  });
});

describe('a first start outside development', () => {
  const envs: Record<string, string>[] = [
    { NODE_ENV: 'test' },
    { NODE_ENV: 'production', SECRET_KEY: randomBytes(32).toString('hex') },
  ];
  for (const env of envs) {
    it(`with NODE_ENV=${env.NODE_ENV} seeds ${env.NODE_ENV === 'test' ? 'only the demo users' : 'nothing'}`, async () => {
      const db = await createTestDatabase();
      let filo: TestFilo | undefined;
      try {
        expect(await count(db.url, 'users')).toBe(0);
        filo = await startTestFilo({ ...env, DATABASE_URL: db.url });
        expect(await count(db.url, 'users')).toBe(env.NODE_ENV === 'test' ? DEMO_USERS.length : 0);
        for (const table of ['companies', 'contacts', 'deals', 'notes', 'notifications', 'mailboxes', 'activities'])
          expect({ table, rows: await count(db.url, table) }).toEqual({ table, rows: 0 });
        if (env.NODE_ENV === 'test') {
          const demo = await asUser(filo, 'demo@filo.local');
          const companies = await demo.json<{ items: unknown[] }>('GET', '/api/crm/companies');
          expect(companies.items).toEqual([]);
        }
      } finally {
        await filo?.close();
        await db.drop();
      }
    }, 60_000);
  }
});
