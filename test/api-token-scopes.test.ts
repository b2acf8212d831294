import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenGrant } from '#contracts/auth';
import { TOKEN_FAMILIES } from '#contracts/auth';
import { familyOf } from '../server/auth/route-families.ts';
import { may } from '../server/auth/scopes.ts';
import { TokenRateLimiter } from '../server/auth/token-rate-limit.ts';
import type { Actor } from '../server/tenancy.ts';
import { apiClient, body, errorCode, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';
import { startRedis } from './support/redis.ts';

let filo: TestFilo;
let demo: ApiClient;

beforeAll(async () => {
  filo = await startTestFilo();
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
});
afterAll(() => filo?.close());

async function token(input: Record<string, unknown>): Promise<{ id: string; token: string; client: ApiClient }> {
  const made = await demo.json('POST', '/api/tokens', { name: 'Integration', ...input });
  return { id: made.id, token: made.token, client: apiClient(filo.baseUrl, made.token, true) };
}

// Every authenticated API route, with its ids filled in (they name nothing: only the refusal's reason matters).
const apiRoutes = () =>
  filo.routes
    .filter((r) => r.path.startsWith('/api/') && !r.spec.public)
    .map((r) => ({
      method: r.method.toUpperCase(),
      pattern: r.path,
      path: r.path.replace(/:(\w+)/g, () => crypto.randomUUID()),
    }));

async function refusals(client: ApiClient, routes: ReturnType<typeof apiRoutes>) {
  const out: string[] = [];
  for (const route of routes) {
    const res = await client.call(route.method, route.path, route.method === 'GET' ? undefined : {});
    if (res.status === 403 && (await errorCode(res)) === 'insufficient_scope')
      out.push(`${route.method} ${route.pattern}`);
  }
  return out;
}

describe('grants', () => {
  it('a crm:read token reads companies but not the inbox, and cannot write', async () => {
    const { client } = await token({ grants: [{ family: 'crm', access: 'read' }] });
    expect((await client.call('GET', '/api/crm/companies')).status).toBe(200);
    const inbox = await client.call('GET', '/api/inbox/conversations');
    expect(inbox.status).toBe(403);
    expect(await errorCode(inbox)).toBe('insufficient_scope');
    const write = await client.call('POST', '/api/crm/companies', { name: 'Scoped Spa', type: 'client' });
    expect(write.status).toBe(403);
    expect(await errorCode(write)).toBe('read_only_token');
    expect((await demo.json('GET', '/api/crm/companies?q=Scoped')).items).toEqual([]);
    const listed = (await demo.json('GET', '/api/tokens')).items.find((t: { scope: string }) => t.scope === 'read');
    expect(listed.grants).toEqual([{ family: 'crm', access: 'read' }]);
  });

  it('a crm:write token writes companies and nothing of another family', async () => {
    const { client } = await token({ grants: [{ family: 'crm', access: 'write' }], rateLimit: 1000 });
    const made = await client.call('POST', '/api/crm/companies', { name: 'Granted Srl', type: 'client' });
    expect(made.status).toBe(201);
    const task = await client.call('POST', '/api/tasks', { title: 'Not mine to make' });
    expect(task.status).toBe(403);
    expect(await errorCode(task)).toBe('insufficient_scope');
  });

  it('every API route belongs to a family, and a token granted one family is refused on every other', async () => {
    const routes = apiRoutes();
    expect(routes.length).toBeGreaterThan(150);
    const unlisted = routes.filter((r) => familyOf(r.method, r.pattern.slice(4)) === undefined);
    expect(unlisted.map((r) => `${r.method} ${r.pattern}`)).toEqual([]);
    const { client } = await token({ grants: [{ family: 'tasks', access: 'write' }], rateLimit: 5000 });
    const family = (r: { method: string; pattern: string }) => familyOf(r.method, r.pattern.slice(4));
    const others = routes.filter((r) => family(r) !== 'tasks' && family(r) !== null);
    const refused = await refusals(client, others);
    expect(others.filter((r) => !refused.includes(`${r.method} ${r.pattern}`)).map((r) => r.pattern)).toEqual([]);
    const own = routes.filter((r) => family(r) === 'tasks' || family(r) === null);
    expect(own.length).toBeGreaterThan(5);
    expect(await refusals(client, own)).toEqual([]);
  });

  it('settings are reached only with a settings grant; tokens made before grants keep every family', async () => {
    const routes = apiRoutes().filter((r) => familyOf(r.method, r.pattern.slice(4)) === 'settings');
    expect(routes.map((r) => r.pattern)).toEqual(
      expect.arrayContaining(['/api/team/members', '/api/tokens', '/api/audit', '/api/inbox/sending-domains']),
    );
    const everythingElse = TOKEN_FAMILIES.filter((f) => f !== 'settings').map((family) => ({
      family,
      access: 'write',
    }));
    const { client } = await token({ grants: everythingElse, rateLimit: 5000 });
    expect((await refusals(client, routes)).length).toBe(routes.length);
    // A token cannot mint itself a broader one.
    expect((await client.call('POST', '/api/tokens', { name: 'Escalate' })).status).toBe(403);
    const settings = await token({ grants: [{ family: 'settings', access: 'read' }] });
    expect((await settings.client.call('GET', '/api/team/members')).status).toBe(200);
    const legacy = await token({ scope: 'full' });
    expect((await legacy.client.call('GET', '/api/team/members')).status).toBe(200);
    expect((await legacy.client.call('GET', '/api/inbox/conversations')).status).toBe(200);
  });

  it('answers from grants, per family and per linked-record kind', () => {
    const actor = (grants?: TokenGrant[]): Actor => ({
      tenantId: 't',
      userId: 'u',
      userName: 'U',
      role: 'admin',
      scope: grants && !grants.some((g) => g.access === 'write') ? 'read' : 'full',
      ...(grants ? { grants } : {}),
    });
    const invoices = actor([
      { family: 'crm', access: 'read' },
      { family: 'linked', access: 'write', kind: 'invoice' },
    ]);
    expect(may(invoices, 'linked', 'write', 'invoice')).toBe(true);
    expect(may(invoices, 'linked', 'read', 'invoice')).toBe(true);
    expect(may(invoices, 'linked', 'read', 'project')).toBe(false);
    expect(may(invoices, 'linked', 'read')).toBe(true);
    expect(may(invoices, 'crm', 'write')).toBe(false);
    expect(may(invoices, 'inbox', 'read')).toBe(false);
    const allKinds = actor([{ family: 'linked', access: 'read' }]);
    expect(may(allKinds, 'linked', 'read', 'production_job')).toBe(true);
    expect(may(allKinds, 'linked', 'write', 'production_job')).toBe(false);
    expect(may(actor(), 'settings', 'write')).toBe(true);
  });

  it('refuses malformed grants, a past expiry and a zero limit with 400', async () => {
    for (const bad of [
      { grants: [{ family: 'crm', access: 'read', kind: 'invoice' }] },
      { grants: [{ family: 'billing', access: 'read' }] },
      { grants: [] },
      { expiresAt: '2020-01-01T00:00:00Z' },
      { rateLimit: 0 },
    ]) {
      const res = await demo.call('POST', '/api/tokens', { name: 'Bad', ...bad });
      expect(`${JSON.stringify(bad)} ${res.status}`).toBe(`${JSON.stringify(bad)} 400`);
    }
  });
});

describe('full-context', () => {
  it('omits the mail of a company for a token without an inbox grant', async () => {
    const company = await demo.json('POST', '/api/crm/companies', { name: 'Contesto Spa', type: 'client' });
    await demo.json('POST', '/api/crm/contacts', {
      firstName: 'Carla',
      lastName: 'Contesto',
      email: 'carla@contesto.example',
      companyId: company.id,
    });
    const mailbox = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Orders', localPart: 'orders' });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: filo.smtpPort!, ignoreTLS: true });
    await transport.sendMail({
      from: 'Carla <carla@contesto.example>',
      to: mailbox.inboundAddress,
      subject: 'Order 42',
      text: 'The private terms of order 42.',
    });
    transport.close();
    const path = `/api/crm/companies/${company.id}/full-context`;
    const mailOf = (context: { recentActivities: { data: Record<string, unknown> }[] }) =>
      context.recentActivities.filter((a) => a.data.mailboxId === mailbox.id);
    await expect.poll(async () => mailOf(await demo.json('GET', path)).length, { timeout: 20_000 }).toBeGreaterThan(0);
    const crmOnly = await token({ grants: [{ family: 'crm', access: 'read' }] });
    const withInbox = await token({
      grants: [
        { family: 'crm', access: 'read' },
        { family: 'inbox', access: 'read' },
      ],
    });
    const seen = await withInbox.client.json('GET', path);
    expect(mailOf(seen).length).toBeGreaterThan(0);
    const hidden = await crmOnly.client.json('GET', path);
    expect(hidden.company.name).toBe('Contesto Spa');
    expect(hidden.contacts.map((c: { email: string }) => c.email)).toEqual(['carla@contesto.example']);
    expect(mailOf(hidden)).toEqual([]);
    expect(JSON.stringify(hidden)).not.toContain('Order 42');
    const timeline = `/api/crm/timeline?entityType=company&entityId=${company.id}`;
    expect(mailOf({ recentActivities: (await withInbox.client.json('GET', timeline)).items }).length).toBeGreaterThan(
      0,
    );
    expect(mailOf({ recentActivities: (await crmOnly.client.json('GET', timeline)).items })).toEqual([]);
  });
});

describe('lifetime', () => {
  it('a token granted some families opens no socket; a read token still does', async () => {
    const { io: connect } = await import('socket.io-client');
    const handshake = (token: string) =>
      new Promise<string>((resolve) => {
        const socket = connect(filo.baseUrl, { transports: ['websocket'], auth: { token }, reconnection: false });
        socket.on('connect', () => {
          socket.close();
          resolve('connected');
        });
        socket.on('connect_error', (err) => {
          socket.close();
          resolve(err.message);
        });
      });
    const scoped = await token({
      grants: [
        { family: 'crm', access: 'read' },
        { family: 'inbox', access: 'read' },
      ],
    });
    expect(await handshake(scoped.token)).toBe('insufficient_scope');
    const wall = await token({ scope: 'read' });
    expect(await handshake(wall.token)).toBe('connected');
  });

  it('an expired token is refused at once with token_expired', async () => {
    const { client } = await token({ expiresAt: new Date(Date.now() + 1500).toISOString() });
    expect((await client.call('GET', '/api/crm/companies')).status).toBe(200);
    await expect
      .poll(
        async () => {
          const res = await client.call('GET', '/api/crm/companies');
          return `${res.status} ${res.status === 200 ? '' : await errorCode(res)}`;
        },
        { timeout: 10_000, interval: 200 },
      )
      .toBe('401 token_expired');
  });

  it('a revoked token is cut off on its next request; create, change and revoke are audited', async () => {
    const { id, client } = await token({ grants: [{ family: 'crm', access: 'read' }] });
    expect((await client.call('GET', '/api/crm/companies')).status).toBe(200);
    const changed = await demo.json('PATCH', `/api/tokens/${id}`, {
      grants: [{ family: 'crm', access: 'write' }],
    });
    expect(changed.scope).toBe('full');
    expect((await client.call('POST', '/api/crm/companies', { name: 'Widened Spa', type: 'client' })).status).toBe(201);
    await demo.json('DELETE', `/api/tokens/${id}`);
    const after = await client.call('GET', '/api/crm/companies');
    expect(after.status).toBe(401);
    expect(await errorCode(after)).toBe('invalid_token');
    const { items } = await demo.json('GET', `/api/audit?target=${id}`);
    const actions = items.map((e: { action: string }) => e.action).filter((a: string) => a !== 'token.used');
    expect(actions.sort()).toEqual(['token.created', 'token.revoked', 'token.updated']);
    const update = items.find((e: { action: string }) => e.action === 'token.updated');
    expect(update.before.grants).toBe('crm:read');
    expect(update.after.grants).toBe('crm:write');
  });
});

describe('rate limit', () => {
  it('answers 429 with Retry-After past the limit; other tokens go on; a raised limit applies at once', async () => {
    const limited = await token({ grants: [{ family: 'crm', access: 'read' }], rateLimit: 3 });
    const other = await token({ grants: [{ family: 'crm', access: 'read' }], rateLimit: 3 });
    for (let i = 0; i < 3; i++) expect((await limited.client.call('GET', '/api/crm/companies')).status).toBe(200);
    const over = await limited.client.call('GET', '/api/crm/companies');
    expect(over.status).toBe(429);
    const retryAfter = Number(over.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect((await body(over)).error.code).toBe('token_rate_limited');
    expect((await other.client.call('GET', '/api/crm/companies')).status).toBe(200);
    // The signed-in member is never limited by their token's budget.
    expect((await demo.call('GET', '/api/crm/companies')).status).toBe(200);
    await demo.json('PATCH', `/api/tokens/${limited.id}`, { rateLimit: 100 });
    expect((await limited.client.call('GET', '/api/crm/companies')).status).toBe(200);
  });

  it('with Redis, nodes share one count per token', async () => {
    const redis = await startRedis();
    const nodeA = new TokenRateLimiter(redis.url);
    const nodeB = new TokenRateLimiter(redis.url);
    try {
      const outcomes: string[] = [];
      for (const node of [nodeA, nodeB, nodeA, nodeB, nodeA])
        outcomes.push(
          await node.hit('token-1', 4).then(
            () => 'ok',
            (err: { status: number; code: string; retryAfter: number }) => `${err.status} ${err.code}`,
          ),
        );
      expect(outcomes).toEqual(['ok', 'ok', 'ok', 'ok', '429 token_rate_limited']);
      await expect(nodeB.hit('token-1', 4)).rejects.toMatchObject({ status: 429 });
      await expect(nodeB.hit('token-2', 4)).resolves.toBeUndefined();
      // Without Redis a process counts alone: the shared count above is Redis's doing.
      const alone = new TokenRateLimiter();
      for (let i = 0; i < 4; i++) await alone.hit('token-1', 4);
      await expect(alone.hit('token-1', 4)).rejects.toMatchObject({ status: 429 });
    } finally {
      await nodeA.close();
      await nodeB.close();
      await redis.stop();
    }
  });
});
