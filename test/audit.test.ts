import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '#contracts/audit';
import { entryHash } from '../server/audit/chain.ts';
import { apiClient, DEMO, errorCode, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

/** The audit log and retention (issue 21, items 4 and 5): what is written, who reads it, the chain, the purge. */

let filo: TestFilo;
let owner: ApiClient;
let luca: ApiClient;
let tenantId: string;
const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '..');

beforeAll(async () => {
  filo = await startTestFilo();
  owner = apiClient(filo.baseUrl, await login(filo.baseUrl));
  luca = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'luca@filo.local', password: DEMO.password }));
  tenantId = (await owner.json('GET', '/api/auth/me')).workspace.id;
});
afterAll(() => filo?.close());

/** As the database owner (a superuser here), what an intruder with the server's disk could do. */
async function asSuperuser<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: filo.databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

const entries = async (query = 'limit=200'): Promise<AuditEntry[]> =>
  (await owner.json<{ items: AuditEntry[] }>('GET', `/api/audit?${query}`)).items;
const find = async (action: string, targetId?: string) =>
  (await entries(`action=${action}&limit=200`)).filter((e) => !targetId || e.targetId === targetId);

const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
  fetch(`${filo.baseUrl}${url}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: filo.baseUrl, ...headers },
    body: JSON.stringify(payload),
  });

const verifyScript = () =>
  run(process.execPath, [path.join(ROOT, 'scripts/audit-verify.ts')], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: filo.databaseUrl },
  }).then(
    (r) => ({ code: 0, out: r.stdout }),
    (err: { code: number; stdout: string }) => ({ code: err.code, out: err.stdout }),
  );

describe('audit entries', () => {
  it('record sign-ins (success and failure), sign-out and password changes, with IP and user agent', async () => {
    const agent = { 'user-agent': 'AuditTest/1.0', 'x-forwarded-for': '203.0.113.7' };
    expect((await post('/api/auth/login', { email: 'sara@filo.local', password: 'wrong-one' }, agent)).status).toBe(
      401,
    );
    expect((await post('/api/auth/login', { email: 'nobody@nowhere.example', password: 'x' }, agent)).status).toBe(401);
    const res = await post('/api/auth/login', { email: 'sara@filo.local', password: DEMO.password }, agent);
    expect(res.status).toBe(200);
    const sara = apiClient(filo.baseUrl, res.headers.get('set-cookie')!.split(';')[0]!);
    const saraId = (await sara.json('GET', '/api/auth/me')).user.id as string;
    await sara.json('POST', '/api/auth/password', { current: DEMO.password, password: 'a-new-long-passphrase-7' }, 204);
    await sara.json('POST', '/api/auth/logout', undefined, 204);

    const failed = await find('auth.sign_in_failed', saraId);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ actorId: null, ip: '203.0.113.7', userAgent: 'AuditTest/1.0' });
    expect(failed[0]!.summary).toContain('sara@filo.local');
    // An address with no account belongs to no workspace: nothing of it is written (what was typed may be a password).
    expect(JSON.stringify(await entries())).not.toContain('nobody@nowhere.example');
    expect(await find('auth.sign_in', saraId)).toEqual([
      expect.objectContaining({ actorId: saraId, actorName: 'Sara Bianchi', actorKind: 'user', ip: '203.0.113.7' }),
    ]);
    expect(await find('auth.password_changed', saraId)).toHaveLength(1);
    expect(await find('auth.sign_out', saraId)).toHaveLength(1);
    expect(JSON.stringify(await entries())).not.toMatch(/a-new-long-passphrase|wrong-one/);
  });

  it('record role and membership changes, invitations, and API tokens (one use a day at most)', async () => {
    const members = (await owner.json('GET', '/api/team/members')).items as { userId: string; email: string }[];
    const sara = members.find((m) => m.email === 'sara@filo.local')!;
    await owner.json('PATCH', `/api/team/members/${sara.userId}`, { role: 'admin' });
    const [role] = await find('member.role_changed', sara.userId);
    expect(role).toMatchObject({ before: { role: 'member' }, after: { role: 'admin' }, actorName: 'Demo Owner' });

    const sent = await owner.json('POST', '/api/team/invitations', { email: 'nina@new.example', role: 'member' });
    const resent = await owner.json('POST', `/api/team/invitations/${sent.id}/resend`, undefined, 200);
    const accepted = await post('/api/auth/accept-invite', {
      token: resent.token,
      name: 'Nina',
      password: 'nina-long-passphrase-1',
    });
    expect(accepted.status).toBe(200);
    const other = await owner.json('POST', '/api/team/invitations', { email: 'olaf@new.example', role: 'member' });
    await owner.json('DELETE', `/api/team/invitations/${other.id}`);
    expect((await find('invitation.sent', sent.id))[0]!.after).toEqual({ email: 'nina@new.example', role: 'member' });
    expect(await find('invitation.resent', sent.id)).toHaveLength(1);
    expect((await find('invitation.accepted', sent.id))[0]!.summary).toContain('nina@new.example');
    expect(await find('invitation.revoked', other.id)).toHaveLength(1);
    const nina = (await owner.json('GET', '/api/team/members')).items.find(
      (m: { email: string }) => m.email === 'nina@new.example',
    );
    await owner.json('DELETE', `/api/team/members/${nina.userId}`);
    expect(await find('member.removed', nina.userId)).toHaveLength(1);

    const token = await owner.json('POST', '/api/tokens', { name: 'Accounting', scope: 'read' });
    const bearer = apiClient(filo.baseUrl, token.token, true);
    for (let i = 0; i < 3; i++) await bearer.json('GET', '/api/crm/companies');
    await owner.json('DELETE', `/api/tokens/${token.id}`);
    expect((await find('token.created', token.id))[0]!.after).toMatchObject({ name: 'Accounting', scope: 'read' });
    expect(JSON.stringify(await entries())).not.toContain(token.token);
    expect(await find('token.used', token.id)).toEqual([expect.objectContaining({ actorKind: 'token' })]);
    expect(await find('token.revoked', token.id)).toHaveLength(1);
  });

  it('record exports, erasure, deletions and settings changes with before and after', async () => {
    const company = await owner.json('POST', '/api/crm/companies', { name: 'Gone Srl', type: 'client' });
    await owner.json('DELETE', `/api/crm/companies/${company.id}`);
    expect((await find('record.deleted', company.id))[0]!.summary).toContain('Gone Srl');

    const contact = await owner.json('POST', '/api/crm/contacts', {
      firstName: 'Ada',
      lastName: 'Erased',
      email: 'ada@erased.example',
    });
    expect((await owner.call('GET', '/api/crm/contacts/export.csv?q=Ada')).status).toBe(200);
    expect((await find('export.crm_csv'))[0]).toMatchObject({
      targetType: 'contact',
      after: { filters: { q: 'Ada' } },
    });
    expect((await owner.call('GET', `/api/contacts/${contact.id}/export`)).status).toBe(200);
    expect(await find('export.gdpr', contact.id)).toHaveLength(1);
    await owner.json('POST', `/api/contacts/${contact.id}/erase`, { confirm: 'ada@erased.example' }, 204);
    expect(await find('contact.erased', contact.id)).toHaveLength(1);
    // An erased person's name and address stay out of the log that outlives them.
    expect(JSON.stringify(await find('contact.erased', contact.id))).not.toMatch(/Ada|erased\.example/);

    await owner.json('PATCH', '/api/team/workspace', { name: 'Demo Audited', currency: 'EUR' });
    expect((await find('workspace.updated'))[0]).toMatchObject({
      before: { name: expect.any(String) },
      after: { name: 'Demo Audited' },
    });
    const box = await owner.json('POST', '/api/inbox/mailboxes', { name: 'Help', localPart: 'help' });
    await owner.json('PATCH', `/api/inbox/mailboxes/${box.id}`, { name: 'Help desk' });
    await owner.json('DELETE', `/api/inbox/mailboxes/${box.id}`);
    expect(await find('mailbox.created', box.id)).toHaveLength(1);
    expect((await find('mailbox.updated', box.id))[0]).toMatchObject({
      before: { name: 'Help' },
      after: { name: 'Help desk' },
    });
    expect(await find('mailbox.deleted', box.id)).toHaveLength(1);
    const domain = await owner.json('POST', '/api/inbox/sending-domains', { domain: 'audit.example' });
    await owner.json('DELETE', `/api/inbox/sending-domains/${domain.id}`);
    expect(await find('sending_domain.added', domain.id)).toHaveLength(1);
    expect(await find('sending_domain.removed', domain.id)).toHaveLength(1);
    const stages = await owner.json('GET', '/api/crm/pipeline/stages');
    const edited = stages.items.map(({ key, name, probability, kind }: Record<string, unknown>) => ({
      key,
      name: key === 'lead' ? 'Prospect' : name,
      probability,
      kind,
    }));
    await owner.json('PUT', '/api/crm/pipeline/stages', { version: stages.version, stages: edited });
    const [pipeline] = await find('pipeline.updated');
    expect(JSON.stringify(pipeline!.before)).toContain('lead: Lead');
    expect(JSON.stringify(pipeline!.after)).toContain('lead: Prospect');
  });

  it('are read by owners and admins only, filtered and in keyset pages; the CSV export is itself audited', async () => {
    expect(await errorCode(await luca.call('GET', '/api/audit'))).toBe('forbidden');
    expect(await errorCode(await luca.call('GET', '/api/audit/export'))).toBe('forbidden');
    expect((await luca.call('GET', '/api/audit?action=nope')).status).toBe(403);
    expect(await errorCode(await owner.call('GET', '/api/audit?action=nope'))).toBe('validation_failed');
    expect(await errorCode(await owner.call('GET', '/api/audit?cursor=abc'))).toBe('validation_failed');

    const all = await entries();
    const first = await owner.json('GET', '/api/audit?limit=3');
    const second = await owner.json('GET', `/api/audit?limit=3&cursor=${first.nextCursor}`);
    expect([...first.items, ...second.items].map((e: AuditEntry) => e.seq)).toEqual(all.slice(0, 6).map((e) => e.seq));
    const me = (await owner.json('GET', '/api/auth/me')).user.id;
    const mine = await entries(`actor=${me}&limit=200`);
    expect(mine.length).toBeGreaterThan(5);
    expect(mine.every((e) => e.actorId === me)).toBe(true);
    expect(await entries('to=2020-01-01')).toEqual([]);
    expect((await entries(`from=${new Date().toISOString().slice(0, 10)}`)).length).toBe(all.length);

    const res = await owner.call('GET', '/api/audit/export?action=member.role_changed');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    const csv = await res.text();
    expect(csv.split('\n')[0]).toContain('seq,at,actorName');
    expect(csv).toContain('member.role_changed');
    expect(csv).not.toContain('invitation.sent');
    expect((await find('export.audit_csv'))[0]).toMatchObject({
      after: { filters: { action: 'member.role_changed' } },
    });
  });
});

describe('the chain', () => {
  it('stays one chain under concurrent writers, and the app role cannot change or delete entries', async () => {
    const before = (await entries())[0]!.seq;
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        i % 2
          ? owner.json('POST', '/api/tokens', { name: `t${i}`, scope: 'read' })
          : owner.json('PATCH', '/api/team/workspace', { name: `Demo ${i}` }),
      ),
    );
    const seqs = (await asSuperuser<{ seq: string }>(`select seq from audit_entries where tenant_id = $1`, [tenantId]))
      .map((r) => Number(r.seq))
      .sort((a, b) => a - b);
    expect(seqs.at(-1)).toBe(before + 12);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(await owner.json('GET', '/api/audit/verify')).toEqual({ ok: true, entries: seqs.length });

    const app = filo.orm.em.getConnection();
    await expect(app.execute(`update audit_entries set summary = 'x'`)).rejects.toThrow(/permission denied/);
    await expect(app.execute(`delete from audit_entries`)).rejects.toThrow(/permission denied/);
    // Even the owner's own UPDATE meets the trigger; only switching triggers off (as a superuser) gets past it.
    await expect(asSuperuser(`update audit_entries set summary = 'x' where seq = 1`)).rejects.toThrow(/append-only/);
  });

  it('is verified by `npm run audit:verify`, which finds a row tampered with as the superuser', async () => {
    const ok = await verifyScript();
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/ok\s+demo: \d+ entries/);
    const [row] = await asSuperuser<{ summary: string }>(
      `select summary from audit_entries where tenant_id = $1 and seq = 3`,
      [tenantId],
    );
    const tamper = (summary: string) =>
      asSuperuser(
        `set session_replication_role = replica; update audit_entries set summary = '${summary.replaceAll("'", "''")}' where tenant_id = '${tenantId}' and seq = 3; set session_replication_role = origin;`,
      );
    await tamper('Nothing happened here');
    const broken = await verifyScript();
    expect(broken.code).toBe(1);
    expect(broken.out).toContain('BROKEN  demo: first broken seq 3');
    expect(await owner.json('GET', '/api/audit/verify')).toMatchObject({ ok: false, brokenSeq: 3 });
    await tamper(row!.summary);
    expect((await verifyScript()).code).toBe(0);
  });
});

describe('retention', () => {
  it('is set per workspace by owners and admins, within bounds, and audited', async () => {
    expect(await owner.json('GET', '/api/retention')).toEqual({ spoolDays: 90, trackingDays: 365, auditDays: 730 });
    expect(await errorCode(await luca.call('PATCH', '/api/retention', { auditDays: 400 }))).toBe('forbidden');
    expect(await errorCode(await owner.call('PATCH', '/api/retention', { auditDays: 5 }))).toBe('validation_failed');
    expect(await owner.json('PATCH', '/api/retention', { spoolDays: 30, auditDays: 365 })).toEqual({
      spoolDays: 30,
      trackingDays: 365,
      auditDays: 365,
    });
    expect((await find('retention.updated'))[0]).toMatchObject({
      before: { spoolDays: 90, auditDays: 730 },
      after: { spoolDays: 30, auditDays: 365 },
    });
  });

  it('removes old raw mail files (the message stays readable), old tracking and audit entries, and keeps the chain verifiable', async () => {
    const box = await owner.json('POST', '/api/inbox/mailboxes', { name: 'Support', localPart: 'support' });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: filo.smtpPort!, ignoreTLS: true });
    await transport.sendMail({
      from: 'old@customer.example',
      to: box.inboundAddress,
      subject: 'An old question',
      text: 'Still here after the purge',
    });
    transport.close();
    let conversationId = '';
    await expect
      .poll(async () => {
        const list = (await owner.json('GET', '/api/inbox/conversations?limit=50')).items as {
          id: string;
          subject: string;
        }[];
        conversationId = list.find((c) => c.subject === 'An old question')?.id ?? '';
        return conversationId;
      })
      .not.toBe('');
    const [inbound] = await asSuperuser<{ id: string; spool_key: string }>(
      `select id, spool_key from inbound_messages where tenant_id = $1 and status = 'processed'`,
      [tenantId],
    );
    const file = filo.services.spool.path(inbound!.spool_key);
    expect(existsSync(file)).toBe(true);
    await asSuperuser(`update inbound_messages set created_at = now() - interval '40 days' where id = $1`, [
      inbound!.id,
    ]);
    // An open of that message long ago, and one today (which stays).
    await asSuperuser(
      `insert into tracking_events (id, tenant_id, created_at, message_id, kind)
       select gen_random_uuid(), tenant_id, now() - make_interval(days => d), id, 'open'
         from messages cross join (values (400), (0)) as ago(d) where tenant_id = $1 limit 2`,
      [tenantId],
    );

    // The first five entries were made long ago: their times and the chain from them are rewritten to say so.
    const rows = await asSuperuser<Record<string, unknown>>(
      `select * from audit_entries where tenant_id = $1 order by seq`,
      [tenantId],
    );
    let prev = '0'.repeat(64);
    let fifthHash = '';
    const statements: string[] = ['set session_replication_role = replica;'];
    for (const r of rows) {
      const seq = Number(r.seq);
      const at = seq <= 5 ? new Date(Date.now() - (800 - seq) * 86_400_000) : (r.at as Date);
      const hash = entryHash(prev, {
        tenantId,
        seq,
        at,
        actorId: r.actor_id as string | null,
        actorKind: String(r.actor_kind),
        ip: r.ip as string | null,
        userAgent: r.user_agent as string | null,
        action: String(r.action),
        targetType: r.target_type as string | null,
        targetId: r.target_id as string | null,
        summary: String(r.summary),
        before: r.before,
        after: r.after,
      });
      if (seq === 5) fifthHash = hash;
      statements.push(
        `update audit_entries set at = '${at.toISOString()}', prev_hash = '${prev}', hash = '${hash}' where id = '${String(r.id)}';`,
      );
      prev = hash;
    }
    statements.push(`update audit_chains set hash = '${prev}' where tenant_id = '${tenantId}';`);
    statements.push('set session_replication_role = origin;');
    await asSuperuser(statements.join('\n'));
    expect((await verifyScript()).code).toBe(0);

    const purged = await filo.services.retention.enforce(tenantId);
    expect(purged).toMatchObject({ spoolFiles: 1, trackingEvents: 1, auditEntries: 5 });
    expect(await asSuperuser(`select 1 from tracking_events where tenant_id = $1`, [tenantId])).toHaveLength(1);
    expect(existsSync(file)).toBe(false);
    const detail = await owner.json('GET', `/api/inbox/conversations/${conversationId}`);
    expect(detail.messages[0].text).toContain('Still here after the purge');
    const remaining = await asSuperuser<{ seq: string }>(
      `select min(seq) as seq from audit_entries where tenant_id = $1`,
      [tenantId],
    );
    expect(Number(remaining[0]!.seq)).toBe(6);
    const [chain] = await asSuperuser<{ anchor_seq: string; anchor_hash: string }>(
      `select anchor_seq, anchor_hash from audit_chains where tenant_id = $1`,
      [tenantId],
    );
    expect({ seq: Number(chain!.anchor_seq), hash: chain!.anchor_hash }).toEqual({ seq: 5, hash: fifthHash });
    const [entry] = await find('retention.purged');
    expect(entry).toMatchObject({ actorKind: 'system', actorId: null, after: { auditEntries: 5, spoolFiles: 1 } });
    expect((await verifyScript()).code).toBe(0);
    expect(await owner.json('GET', '/api/audit/verify')).toMatchObject({ ok: true });
    // A second run finds nothing more to remove, and writes nothing.
    expect(await filo.services.retention.enforce(tenantId)).toMatchObject({ spoolFiles: 0, auditEntries: 0 });
    expect(await find('retention.purged')).toHaveLength(1);
  });
});
