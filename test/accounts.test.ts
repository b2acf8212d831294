import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pg from 'pg';
import { pino } from 'pino';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmailAccountView } from '#contracts/accounts';
import { loadConfig } from '../server/config.ts';
import { startFilo, type Filo } from '../server/filo.ts';
import { apiClient, body, createTestDatabase, login, signUp, tempDir, type ApiClient } from './support/harness.ts';
import { startDovecot, type Dovecot } from './support/dovecot.ts';

/**
 * Email accounts over the API: a member connects their IMAP/SMTP account (a real Dovecot and a real SMTP
 * server), sees it with its health, shares it or not, edits it on a version, tests it, pauses and deletes it.
 * Passwords are write-only: no answer and no log line (at debug level) carries one.
 */
const ALICE = { user: 'alice@acme.example', password: 'imap-Secret-7f3a' };
const SMTP_PASSWORD = 'smtp-Secret-91bc';
let dovecot: Dovecot;
let smtp: { port: number; close: () => Promise<void> };
let filo: Filo & { baseUrl: string };
let cleanup: () => Promise<void>;
let logText = '';
let dbUrl = '';

/** A query as the database's owner (row-level security does not hide rows from it). */
async function sql<T>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}
/** Every answer's body, to look for secrets in. */
const answers: string[] = [];
let demo: ApiClient;
let sara: ApiClient;
let luca: ApiClient;
let stranger: ApiClient;
const ids = { sara: '', luca: '' };

/** A client that keeps every answer's text. */
function recording(client: ApiClient): ApiClient {
  const call = async (method: string, path: string, payload?: unknown) => {
    const res = await client.call(method, path, payload);
    const text = await res.clone().text();
    answers.push(text);
    return res;
  };
  return {
    cookie: client.cookie,
    call,
    async json(method, path, payload, status) {
      const res = await call(method, path, payload);
      const data = res.status === 204 ? null : await body(res);
      const expected = status ?? (method === 'POST' ? 201 : method === 'DELETE' ? 204 : 200);
      if (res.status !== expected) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(data)}`);
      return data;
    },
  };
}

const settings = (over: Record<string, unknown> = {}) => ({
  email: ALICE.user,
  displayName: 'Alice at Acme',
  imap: { host: '127.0.0.1', port: dovecot.port, security: 'none', password: ALICE.password },
  smtp: { host: '127.0.0.1', port: smtp.port, security: 'none', user: 'smtp-alice', password: SMTP_PASSWORD },
  ...over,
});

async function error(
  res: Response,
): Promise<{ status: number; code: string; fields?: Record<string, string>; message?: string }> {
  const data = await body(res);
  return { status: res.status, code: data.error?.code, fields: data.error?.fields, message: data.error?.message };
}

beforeAll(async () => {
  dovecot = await startDovecot([ALICE]);
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, cb) {
      if (auth.username === 'smtp-alice' && auth.password === SMTP_PASSWORD) return cb(null, { user: 'alice' });
      return cb(Object.assign(new Error('5.7.8 Username and Password not accepted'), { responseCode: 535 }));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  smtp = {
    port: (server.server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  // A whole Filo whose log (at debug level) is kept, to prove no secret reaches it.
  const db = await createTestDatabase();
  dbUrl = db.url;
  const data = tempDir('filo-data-');
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    SMTP_PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: data.dir,
    LOG_LEVEL: 'debug',
    DATABASE_URL: db.url,
    SMTP_ALLOWED_HOSTS: '127.0.0.1',
    SMTP_ALLOW_PLAIN_AUTH: '1',
  });
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logText += chunk.toString();
      cb();
    },
  });
  const started = await startFilo(config, pino({ level: 'debug' }, sink));
  filo = { ...started, baseUrl: `http://127.0.0.1:${started.httpPort}` };
  cleanup = async () => {
    await started.stop();
    await db.drop();
    data.remove();
  };
  // Provider presets name real hosts: answer them with a public address instead of asking DNS.
  const policy = filo.services.mailer.smtpTargets;
  const system = policy.lookup;
  policy.lookup = async (host) =>
    /(gmail|office365)\.com$/.test(host) ? [{ address: '142.250.180.1', family: 4 }] : system(host);
  demo = recording(apiClient(filo.baseUrl, await login(filo.baseUrl)));
  sara = recording(
    apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'sara@filo.local', password: 'filo-demo' })),
  );
  luca = recording(
    apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'luca@filo.local', password: 'filo-demo' })),
  );
  ids.sara = (await sara.json('GET', '/api/auth/me')).user.id;
  ids.luca = (await luca.json('GET', '/api/auth/me')).user.id;
  const otherCookie = await signUp(filo as never, {
    workspace: 'Other Co',
    name: 'Olga Other',
    email: 'olga@other.example',
    password: 'a-long-enough-passphrase-1',
  });
  stranger = recording(apiClient(filo.baseUrl, otherCookie));
});

afterAll(async () => {
  await cleanup?.();
  await smtp?.close();
  await dovecot?.stop();
});

describe('connecting an account', () => {
  let account: EmailAccountView;

  it('creates the account with its private mailbox; passwords are write-only', async () => {
    account = await sara.json('POST', '/api/email-accounts', settings());
    expect(account).toMatchObject({
      email: ALICE.user,
      displayName: 'Alice at Acme',
      own: true,
      canEdit: true,
      provider: 'imap',
      authMethod: 'password',
      imap: { host: '127.0.0.1', port: dovecot.port, security: 'none', user: ALICE.user, hasPassword: true },
      smtp: { host: '127.0.0.1', port: smtp.port, security: 'none', user: 'smtp-alice', hasPassword: true },
      visibility: 'private',
      memberIds: [],
      status: 'pending',
      syncDone: 0,
      syncTotal: 0,
      lastError: null,
      enabled: true,
      syncDays: 90,
      providerSavesSent: false,
    });
    const mailboxes = (await sara.json('GET', '/api/inbox/mailboxes')).items as {
      id: string;
      kind: string;
      name: string;
      private: boolean;
      memberIds: string[];
      localPart: string;
      createContacts: boolean;
    }[];
    const mailbox = mailboxes.find((m) => m.id === account.mailboxId);
    expect(mailbox).toMatchObject({
      kind: 'account',
      name: 'Alice at Acme',
      private: true,
      memberIds: [ids.sara],
      createContacts: true,
    });
    expect(mailbox!.localPart).toMatch(/^acct-[0-9a-f]{8}$/);
    // Stored encrypted, not as typed.
    const [row] = await sql<{ imap_password_enc: string; smtp_password_enc: string }>(
      `select imap_password_enc, smtp_password_enc from email_accounts where id = $1`,
      [account.id],
    );
    expect(row!.imap_password_enc).toMatch(/^v1:/);
    expect(row!.imap_password_enc).not.toContain(ALICE.password);
    expect(row!.smtp_password_enc).not.toContain(SMTP_PASSWORD);
  });

  it('lists the account to its owner and to admins (the row), never to another member', async () => {
    const own = (await sara.json('GET', '/api/email-accounts')).items as EmailAccountView[];
    expect(own.map((a) => a.id)).toEqual([account.id]);
    const admin = (await demo.json('GET', '/api/email-accounts')).items as EmailAccountView[];
    expect(admin.find((a) => a.id === account.id)).toMatchObject({ own: false, canEdit: true });
    expect((await luca.json('GET', '/api/email-accounts')).items).toEqual([]);
    expect((await error(await luca.call('GET', `/api/email-accounts/${account.id}`))).status).toBe(404);
    expect((await error(await luca.call('PATCH', `/api/email-accounts/${account.id}`, { syncDays: 5 }))).status).toBe(
      404,
    );
    expect((await error(await luca.call('POST', `/api/email-accounts/${account.id}/pause`))).status).toBe(404);
    expect((await error(await luca.call('DELETE', `/api/email-accounts/${account.id}`))).status).toBe(404);
  });

  it('answers 404 to another workspace for every route', async () => {
    for (const [method, path, payload] of [
      ['GET', `/api/email-accounts/${account.id}`],
      ['PATCH', `/api/email-accounts/${account.id}`, { syncDays: 3 }],
      ['POST', `/api/email-accounts/${account.id}/pause`],
      ['POST', `/api/email-accounts/${account.id}/resume`],
      ['DELETE', `/api/email-accounts/${account.id}`],
      ['POST', '/api/email-accounts/test', { accountId: account.id }],
    ] as const) {
      const res = await stranger.call(method, path, payload);
      expect({ path, method, status: res.status }).toEqual({ path, method, status: 404 });
    }
    expect((await stranger.json('GET', '/api/email-accounts')).items).toEqual([]);
    // Still there, unchanged.
    expect(await sara.json('GET', `/api/email-accounts/${account.id}`)).toMatchObject({ syncDays: 90, enabled: true });
  });

  it('shares the account with a chosen member, who sees it but cannot edit it', async () => {
    const shared = await sara.json<EmailAccountView>('PATCH', `/api/email-accounts/${account.id}`, {
      visibility: 'members',
      memberIds: [ids.luca],
      version: account.version,
    });
    expect(shared).toMatchObject({ visibility: 'members', memberIds: [ids.luca] });
    expect(shared.version).toBeGreaterThan(account.version);
    const seen = await luca.json<EmailAccountView>('GET', `/api/email-accounts/${account.id}`);
    expect(seen).toMatchObject({ own: false, canEdit: false });
    const mailbox = await luca.json('GET', `/api/inbox/mailboxes/${account.mailboxId}`);
    expect(mailbox).toMatchObject({ private: true, memberIds: [ids.sara, ids.luca] });
    const edit = await error(await luca.call('PATCH', `/api/email-accounts/${account.id}`, { syncDays: 5 }));
    expect(edit).toMatchObject({ status: 403, code: 'forbidden' });
    expect((await error(await luca.call('DELETE', `/api/email-accounts/${account.id}`))).status).toBe(403);
    expect((await error(await luca.call('POST', '/api/email-accounts/test', { accountId: account.id }))).status).toBe(
      403,
    );
    const team = await sara.json<EmailAccountView>('PATCH', `/api/email-accounts/${account.id}`, {
      visibility: 'team',
    });
    expect(team).toMatchObject({ visibility: 'team', memberIds: [] });
    expect(await sara.json('GET', `/api/inbox/mailboxes/${account.mailboxId}`)).toMatchObject({
      private: false,
      memberIds: [],
    });
    account = await sara.json('PATCH', `/api/email-accounts/${account.id}`, { visibility: 'private' });
    expect((await luca.json('GET', '/api/email-accounts')).items).toEqual([]);
  });

  it('refuses an edit made on a stale version with 409 version_conflict and the account as it is now', async () => {
    const stale = account.version;
    account = await sara.json('PATCH', `/api/email-accounts/${account.id}`, { syncDays: 30, version: stale });
    const res = await sara.call('PATCH', `/api/email-accounts/${account.id}`, { syncDays: 7, version: stale });
    expect(res.status).toBe(409);
    const data = await body(res);
    expect(data.error.code).toBe('version_conflict');
    expect(data.error.current).toMatchObject({ id: account.id, syncDays: 30, version: account.version });
    expect(JSON.stringify(data)).not.toContain('Enc');
    expect(await sara.json('GET', `/api/email-accounts/${account.id}`)).toMatchObject({ syncDays: 30 });
  });

  it('needs the password again when a server or its user changes', async () => {
    const moved = await error(
      await sara.call('PATCH', `/api/email-accounts/${account.id}`, { imap: { host: '127.0.0.2' } }),
    );
    expect(moved).toMatchObject({
      status: 400,
      code: 'password_required',
      fields: { 'imap.password': expect.any(String) },
    });
    const user = await error(
      await sara.call('PATCH', `/api/email-accounts/${account.id}`, { smtp: { user: 'other' } }),
    );
    expect(user).toMatchObject({ status: 400, code: 'password_required' });
    const refused = await error(
      await sara.call('PATCH', `/api/email-accounts/${account.id}`, { imap: { host: '10.1.2.3', password: 'x' } }),
    );
    expect(refused).toMatchObject({ status: 400, code: 'host_refused' });
    // The IMAP side is not called an SMTP server.
    expect(refused.message).toBe('This server cannot be used: give the name of a public mail server');
    expect(await sara.json('GET', `/api/email-accounts/${account.id}`)).toMatchObject({
      imap: { host: '127.0.0.1' },
      smtp: { user: 'smtp-alice' },
    });
  });

  it('pauses and resumes', async () => {
    const paused = await sara.json<EmailAccountView>('POST', `/api/email-accounts/${account.id}/pause`, undefined, 200);
    expect(paused).toMatchObject({ enabled: false, status: 'paused' });
    const resumed = await sara.json<EmailAccountView>(
      'POST',
      `/api/email-accounts/${account.id}/resume`,
      undefined,
      200,
    );
    expect(resumed).toMatchObject({ enabled: true });
    expect(resumed.status).not.toBe('paused');
  });
});

describe('validation', () => {
  it('answers bad input with 4xx and a code, and writes nothing', async () => {
    const before = (await demo.json('GET', '/api/email-accounts')).items.length;
    const cases: [Record<string, unknown>, number, string, string?][] = [
      [settings({ email: 'not an address' }), 400, 'validation_failed', 'email'],
      [settings({ imap: { host: '127.0.0.1', port: 99999, password: 'x' } }), 400, 'validation_failed', 'imap.port'],
      [settings({ imap: { host: '127.0.0.1', security: 'none' } }), 400, 'validation_failed', 'imap.password'],
      [settings({ imap: { password: 'x' } }), 400, 'validation_failed', 'imap.host'],
      [settings({ imap: { host: 'bad host!', password: 'x' } }), 400, 'validation_failed', 'imap.host'],
      [settings({ visibility: 'members' }), 400, 'validation_failed', 'memberIds'],
      [
        settings({ visibility: 'members', memberIds: ['5f1b1c1e-0000-4000-8000-000000000000'] }),
        400,
        'validation_failed',
        'memberIds',
      ],
      [settings({ visibility: 'secret' }), 400, 'validation_failed', 'visibility'],
      [settings({ visibility: 'members', memberIds: ['not-a-uuid'] }), 400, 'validation_failed', 'memberIds.0'],
      [settings({ surprise: true }), 400, 'validation_failed'],
      [settings({ imap: { host: '10.0.0.7', security: 'tls', password: 'x' } }), 400, 'host_refused', 'imap.host'],
      [
        settings({ smtp: { host: '93.184.216.34', security: 'none', password: 'x' } }),
        400,
        'tls_required',
        'smtp.security',
      ],
    ];
    for (const [payload, status, code, field] of cases) {
      const got = await error(await sara.call('POST', '/api/email-accounts', payload));
      expect({ payload, status: got.status, code: got.code }).toEqual({ payload, status, code });
      if (field) expect(Object.keys(got.fields ?? {})).toContain(field);
    }
    const bad = await error(await sara.call('PATCH', '/api/email-accounts/not-a-uuid', { syncDays: 1 }));
    expect(bad.status).toBe(404);
    const [own] = (await sara.json('GET', '/api/email-accounts')).items as EmailAccountView[];
    const members = await error(
      await sara.call('PATCH', `/api/email-accounts/${own!.id}`, { visibility: 'members', memberIds: ['x'] }),
    );
    expect(members).toMatchObject({ status: 400, code: 'validation_failed' });
    const test = await error(await sara.call('POST', '/api/email-accounts/test', { accountId: 'not-a-uuid' }));
    expect(test).toMatchObject({ status: 400, code: 'validation_failed' });
    expect((await demo.json('GET', '/api/email-accounts')).items.length).toBe(before);
  });

  it('refuses a second account of the same address in the workspace with 409', async () => {
    const got = await error(await luca.call('POST', '/api/email-accounts', settings()));
    expect(got).toMatchObject({ status: 409, code: 'account_exists' });
    expect((await luca.json('GET', '/api/email-accounts')).items).toEqual([]);
  });

  it('fills Gmail and Microsoft settings from their presets', async () => {
    const gmail = await luca.json<EmailAccountView>('POST', '/api/email-accounts', {
      provider: 'google',
      email: 'luca.rossi@gmail.com',
      imap: { password: 'app-password-1' },
    });
    expect(gmail).toMatchObject({
      provider: 'google',
      imap: { host: 'imap.gmail.com', port: 993, security: 'tls', user: 'luca.rossi@gmail.com' },
      smtp: { host: 'smtp.gmail.com', port: 465, security: 'tls', user: 'luca.rossi@gmail.com', hasPassword: true },
      providerSavesSent: true,
    });
    const outlook = await luca.json<EmailAccountView>('POST', '/api/email-accounts', {
      provider: 'microsoft',
      email: 'luca@contoso.onmicrosoft.com',
      imap: { password: 'p' },
      smtp: { password: 'q' },
      visibility: 'team',
    });
    expect(outlook).toMatchObject({
      imap: { host: 'outlook.office365.com', port: 993, security: 'tls' },
      smtp: { host: 'smtp.office365.com', port: 587, security: 'starttls' },
      providerSavesSent: true,
      visibility: 'team',
    });
    // Shared with the whole team: Sara sees it, cannot edit it.
    expect(await sara.json('GET', `/api/email-accounts/${outlook.id}`)).toMatchObject({ canEdit: false });
  });
});

describe('test connection', () => {
  it('checks both sides and answers each in the server’s own words', async () => {
    const good = await sara.json('POST', '/api/email-accounts/test', settings(), 200);
    expect(good).toEqual({
      imap: { ok: true, kind: null, message: null },
      smtp: { ok: true, kind: null, message: null },
    });
    const wrongImap = await sara.json(
      'POST',
      '/api/email-accounts/test',
      settings({ imap: { host: '127.0.0.1', port: dovecot.port, security: 'none', password: 'wrong-one' } }),
      200,
    );
    expect(wrongImap.imap).toEqual({ ok: false, kind: 'auth', message: 'Authentication failed.' });
    // Left out, the SMTP password is the IMAP one: here the wrong one, refused in the SMTP server's words.
    const wrongSmtp = await sara.json(
      'POST',
      '/api/email-accounts/test',
      settings({ smtp: { host: '127.0.0.1', port: smtp.port, security: 'none', user: 'smtp-alice' } }),
      200,
    );
    expect(wrongSmtp.imap.ok).toBe(true);
    expect(wrongSmtp.smtp).toMatchObject({ ok: false, kind: 'auth' });
    expect(wrongSmtp.smtp.message).toContain('Username and Password not accepted');
  });

  it('tests a saved account by id', async () => {
    const [account] = (await sara.json('GET', '/api/email-accounts')).items as EmailAccountView[];
    const saved = await sara.json('POST', '/api/email-accounts/test', { accountId: account!.id }, 200);
    expect(saved).toMatchObject({ imap: { ok: true }, smtp: { ok: true } });
  });

  it('refuses a private address without connecting, and limits tests per member', async () => {
    const refused = settings({
      email: 'x@example.com',
      imap: { host: '10.9.8.7', password: 'x' },
      smtp: { host: '10.9.8.7', password: 'x' },
    });
    let status = 200;
    let tries = 0;
    while (status === 200 && tries < 50) {
      const res = await luca.call('POST', '/api/email-accounts/test', refused);
      status = res.status;
      tries += 1;
      if (status === 200)
        expect(await body(res)).toMatchObject({ imap: { kind: 'refused' }, smtp: { kind: 'refused' } });
      else expect(await error(res)).toMatchObject({ status: 429, code: 'rate_limited' });
    }
    expect(status).toBe(429);
    // 20 tests per member in the window: Luca used one already (the refused one on Sara's account).
    expect(tries).toBe(20);
    // Another member is not limited by Luca's tries.
    expect((await sara.call('POST', '/api/email-accounts/test', refused)).status).toBe(200);
  });
});

describe('deleting', () => {
  it('deletes the account with its mailbox', async () => {
    const [account] = (await sara.json('GET', '/api/email-accounts')).items as EmailAccountView[];
    // A conversation of the account's mailbox (as its sync would have written it) goes with it.
    const [conversation] = await sql<{ id: string }>(
      `insert into conversations (id, tenant_id, mailbox_id, subject, normalized_subject, last_message_at)
       select gen_random_uuid(), tenant_id, id, 'Synced', 'synced', now() from mailboxes where id = $1 returning id`,
      [account!.mailboxId],
    );
    expect(conversation).toBeDefined();
    await sara.json('DELETE', `/api/email-accounts/${account!.id}`);
    expect((await error(await sara.call('GET', `/api/email-accounts/${account!.id}`))).status).toBe(404);
    expect((await error(await demo.call('GET', `/api/inbox/mailboxes/${account!.mailboxId}`))).status).toBe(404);
    const [before] = await sql<{ n: number }>(`select count(*)::int as n from email_accounts where id = $1`, [
      account!.id,
    ]);
    expect(before!.n).toBe(0);
    const rows = await sql<{ n: number }>(`select count(*)::int as n from mailboxes where id = $1`, [
      account!.mailboxId,
    ]);
    expect(rows[0]!.n).toBe(0);
    expect(await sql(`select id from conversations where id = $1`, [conversation!.id])).toEqual([]);
  });
});

describe('secrets', () => {
  it('never answers or logs a password', () => {
    expect(answers.length).toBeGreaterThan(30);
    expect(logText.length).toBeGreaterThan(0);
    for (const secret of [ALICE.password, SMTP_PASSWORD, 'app-password-1', 'wrong-one']) {
      expect(answers.filter((a) => a.includes(secret))).toEqual([]);
      expect(logText).not.toContain(secret);
    }
  });
});
