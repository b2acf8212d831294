import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync, createWriteStream, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrationsList } from '../db/migrations/index.ts';
import { databaseUrl, randomDatabaseName, withAdmin } from './support/postgres.ts';
import { loadConfig } from '../server/config.ts';
import { startFilo, type Filo } from '../server/filo.ts';
import { createBackup, type BackupResult } from '../server/ops/backup/backup.ts';
import { BACKUP_QUEUE } from '../server/ops/backup/backup.jobs.ts';
import { restoreBackup, type RestoreRefused } from '../server/ops/backup/restore.ts';
import { extractTar, TarWriter } from '../server/ops/backup/tar.ts';
import {
  apiClient,
  errorCode,
  login,
  signUp,
  startTestFilo,
  tempDir,
  type ApiClient,
  type TestFilo,
} from './support/harness.ts';

const run = promisify(execFile);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const log = pino({ level: 'silent' });

let filo: TestFilo;
let demo: ApiClient;
let other: ApiClient;
const temps: { remove(): void }[] = [];
const temp = (prefix: string) => {
  const t = tempDir(prefix);
  temps.push(t);
  return t.dir;
};

beforeAll(async () => {
  filo = await startTestFilo({ BACKUP_SCHEDULE: '30 3 * * *', BACKUP_KEEP: '1', OPERATOR_EMAILS: 'demo@filo.local' });
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  const cookie = await signUp(filo, {
    workspace: 'Other Works',
    name: 'Olga Other',
    email: 'olga@other.test',
    password: 'other-works-pass-1',
  });
  other = apiClient(filo.baseUrl, cookie);
});
afterAll(async () => {
  await filo?.close();
  for (const t of temps) t.remove();
});

/** `npm run restore` as an operator runs it; resolves with its exit code and output. */
async function restoreCli(archive: string, env: Record<string, string>) {
  try {
    const { stdout, stderr } = await run(process.execPath, ['scripts/restore.ts', archive], {
      env: { ...process.env, DATABASE_URL: '', LOG_LEVEL: 'silent', ...env },
    });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

/** Data of every kind, in two workspaces: records, notes, a document, mail with an attachment, a meeting. */
async function makeData() {
  const acme = await demo.json('POST', '/api/crm/companies', { name: 'Acme Backup Srl', type: 'client' });
  await demo.json('POST', '/api/crm/contacts', { firstName: 'Bea', lastName: 'Kup', companyId: acme.id });
  await demo.json('POST', '/api/crm/deals', { title: 'Restore deal', companyId: acme.id, value: 1200 });
  await demo.json('POST', '/api/crm/notes', { entityType: 'company', entityId: acme.id, content: 'Kept safe' });
  const docBytes = Buffer.from(`document bytes ${Math.random()}\n`.repeat(500));
  const form = new FormData();
  form.append('entityType', 'company');
  form.append('entityId', acme.id);
  form.append('file', new Blob([docBytes]), 'contract.txt');
  const up = await fetch(`${filo.baseUrl}/api/crm/documents`, {
    method: 'POST',
    headers: { cookie: demo.cookie, origin: filo.baseUrl },
    body: form,
  });
  expect(up.status).toBe(201);
  const document = await up.json();
  const support = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Support', localPart: 'support' });
  const attachment = Buffer.from(`attached ${Math.random()}`);
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: filo.smtpPort!, ignoreTLS: true });
  await transport.sendMail({
    from: 'client@example.com',
    to: support.inboundAddress,
    subject: 'Backup me',
    text: 'With a file',
    attachments: [{ filename: 'invoice.txt', content: attachment, contentType: 'text/plain' }],
  });
  transport.close();
  let conversation: { id: string } | undefined;
  await expect
    .poll(async () => {
      const page = await demo.json('GET', '/api/inbox/conversations?limit=50');
      conversation = page.items.find((c: { subject: string }) => c.subject === 'Backup me');
      return conversation ? 1 : 0;
    })
    .toBe(1);
  const meeting = await demo.json('POST', '/api/meetings', { companyId: acme.id, title: 'Backup review' });
  const theirs = await other.json('POST', '/api/crm/companies', { name: 'Other Co', type: 'supplier' });
  await other.json('POST', '/api/crm/notes', { entityType: 'company', entityId: theirs.id, content: 'Theirs' });
  return { acme, document: document as { id: string }, docBytes, conversation: conversation!, attachment, meeting };
}

describe('backup and restore', () => {
  let data: Awaited<ReturnType<typeof makeData>>;
  let backup: BackupResult;
  let restoredDir: string;
  let restored: Filo | undefined;
  afterAll(() => restored?.stop());

  it('takes one consistent archive while notes are being written', async () => {
    data = await makeData();
    let stop = false;
    let written = 0;
    const load = (async () => {
      while (!stop) {
        await demo.json('POST', '/api/crm/notes', {
          entityType: 'company',
          entityId: data.acme.id,
          content: `n${written}`,
        });
        written++;
      }
    })();
    await expect.poll(() => written).toBeGreaterThan(3);
    const before = written;
    backup = await createBackup({
      databaseUrl: filo.databaseUrl,
      dataDir: filo.config.dataDir,
      destination: temp('filo-backups-'),
      log,
    });
    const during = written - before;
    stop = true;
    await load;
    expect(during).toBeGreaterThan(0);
    const m = backup.manifest;
    expect(m.format).toBe('filo-backup');
    expect(m.filo.migrations.length).toBeGreaterThan(40);
    // The snapshot holds every note written before the dump and none written after it.
    const notes = m.database.tables['public.notes']!;
    expect(notes).toBeGreaterThanOrEqual(before + 2);
    expect(notes).toBeLessThanOrEqual(written + 2);
    expect(Object.keys(m.tenants)).toHaveLength(2);
    expect(m.missing).toEqual([]);
    const names = m.files.map((f) => f.name);
    expect(names).toContain('db/notes.copy');
    expect(names.filter((n) => n.startsWith('blobs/')).length).toBeGreaterThanOrEqual(2);
    expect(names.filter((n) => n.startsWith('spool/'))).toHaveLength(1);
    expect(path.basename(backup.path)).toMatch(/^filo-backup-\d{8}T\d{9}Z\.tar\.gz$/);
  });

  it('restores into a new data folder with the embedded PostgreSQL and verifies it against the manifest', async () => {
    restoredDir = path.join(temp('filo-restore-'), 'data');
    const result = await restoreCli(backup.path, { DATA_DIR: restoredDir });
    expect(result.output).toMatch(/verified: \d+ tables and \d+ rows, the timeline seq of 2 workspaces/);
    expect(result.code).toBe(0);
    // Every restored file has the bytes the manifest hashed.
    for (const f of backup.manifest.files.filter((f) => !f.name.startsWith('db/'))) {
      expect(sha256(readFileSync(path.join(restoredDir, f.name))), f.name).toBe(f.sha256);
    }
  });

  it('starts Filo on the restored data folder, which serves the same data and goes on with the seq', async () => {
    restored = await startFilo(
      loadConfig({
        NODE_ENV: 'test',
        PORT: '0',
        SMTP_PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: restoredDir,
        LOG_LEVEL: 'silent',
      }),
      log,
    );
    const client = new pg.Client({ connectionString: restored.databaseUrl });
    await client.connect();
    let demoTenant: string;
    try {
      demoTenant = (await client.query('select tenant_id from companies where id = $1', [data.acme.id])).rows[0]
        .tenant_id;
      for (const [name, rows] of Object.entries(backup.manifest.database.tables)) {
        if (name === 'public.sessions') continue; // signing in below adds one
        const { rows: r } = await client.query(`select count(*)::int as n from ${name}`);
        expect(r[0].n, name).toBe(rows);
      }
      // Per workspace, the seq counter and the activities come from the same snapshot.
      const { rows: seqs } = await client.query(
        `select t.id, t.activity_seq::int as seq, (select max(seq)::int from activities a where a.tenant_id = t.id) as top
           from tenants t`,
      );
      for (const t of seqs) {
        expect(t.seq).toBe(backup.manifest.tenants[t.id]);
        expect(t.top).toBe(t.seq);
      }
    } finally {
      await client.end();
    }
    const base = `http://127.0.0.1:${restored.httpPort}`;
    const api = apiClient(base, await login(base));
    const company = await api.json('GET', `/api/crm/companies/${data.acme.id}`);
    expect(company.name).toBe('Acme Backup Srl');
    const doc = await api.call('GET', `/api/crm/documents/${data.document.id}/download`);
    expect(doc.status).toBe(200);
    expect(Buffer.from(await doc.arrayBuffer()).equals(data.docBytes)).toBe(true);
    const conv = await api.json('GET', `/api/inbox/conversations/${data.conversation.id}`);
    const [message] = conv.messages;
    const file = await api.call(
      'GET',
      `/api/inbox/messages/${message.id}/attachments/${message.attachments[0].documentId}`,
    );
    expect(Buffer.from(await file.arrayBuffer()).equals(data.attachment)).toBe(true);
    expect((await api.json('GET', `/api/meetings/${data.meeting.id}`)).title).toBe('Backup review');
    // The timeline goes on from the restored seq.
    const note = await api.json('POST', '/api/crm/notes', {
      entityType: 'company',
      entityId: data.acme.id,
      content: 'after',
    });
    expect(note.id).toBeTruthy();
    const timeline = await api.json('GET', `/api/crm/timeline?entityType=company&entityId=${data.acme.id}&limit=1`);
    expect(timeline.items[0].seq).toBe(backup.manifest.tenants[demoTenant]! + 1);
  });

  it('refuses a non-empty target and a damaged archive, writing nothing', async () => {
    const again = await restoreCli(backup.path, { DATA_DIR: restoredDir });
    expect(again.code).toBe(73);
    expect(again.output).toContain('is not empty');
    const refusal = (archive: string, dataDir: string, databaseUrl?: string) =>
      restoreBackup({ archive, dataDir, databaseUrl, log }).then(
        () => null,
        (err: RestoreRefused) => ({ code: err.exitCode, output: err.message }),
      );
    const intoDb = await refusal(backup.path, temp('filo-restore-'), filo.databaseUrl);
    expect(intoDb?.code).toBe(73);
    expect(intoDb?.output).toContain('DATABASE_URL is not empty');

    // Bytes flipped in the compressed stream.
    const bytes = readFileSync(backup.path);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    const flipped = path.join(temp('filo-bad-'), 'flipped.tar.gz');
    writeFileSync(flipped, bytes);
    const target = path.join(temp('filo-restore-'), 'data');
    const damaged = await refusal(flipped, target);
    expect(damaged?.code).toBe(65);
    expect(damaged?.output).toMatch(/damaged|does not match/);
    expect(existsSync(path.join(target, 'postgres'))).toBe(false);

    // A well-formed archive whose blob was changed after the manifest was written.
    const unpacked = temp('filo-unpacked-');
    const entries = await extractTar(backup.path, unpacked);
    const blob = entries.find((e) => e.name.startsWith('blobs/'))!;
    writeFileSync(path.join(unpacked, blob.name), 'tampered');
    const tampered = path.join(temp('filo-bad-'), 'tampered.tar.gz');
    const gzip = createGzip();
    const out = createWriteStream(tampered);
    const closed = new Promise((resolve) => out.once('close', () => resolve(null)));
    gzip.pipe(out);
    const tar = new TarWriter(gzip);
    for (const e of entries) {
      const file = path.join(unpacked, e.name);
      await tar.addFile(e.name, file, statSync(file).size);
    }
    await tar.finish();
    await closed;
    const changed = await refusal(tampered, target);
    expect(changed?.code).toBe(65);
    expect(changed?.output).toContain(`${blob.name} does not match its SHA-256`);
    expect(readdirSync(target)).toEqual([]);
  });
});

describe('scheduled backups', () => {
  it('refuses a BACKUP_SCHEDULE that is not a 5-field cron expression, naming the variable', () => {
    const dataDir = filo.config.dataDir;
    for (const bad of ['61 3 * * *', 'every day', '30 3 * * * *']) {
      expect(() => loadConfig({ BACKUP_SCHEDULE: bad, DATA_DIR: dataDir })).toThrow(
        /^Invalid configuration: BACKUP_SCHEDULE/,
      );
    }
    expect(() => loadConfig({ BACKUP_KEEP: '0', DATA_DIR: dataDir })).toThrow(/BACKUP_KEEP/);
    expect(loadConfig({ BACKUP_SCHEDULE: '30 3 * * 1-5', DATA_DIR: dataDir }).backup).toEqual({
      schedule: '30 3 * * 1-5',
      keep: 7,
    });
  });

  it('are scheduled on the worker, keep the BACKUP_KEEP newest, and are listed to admins only', async () => {
    const boss = filo.jobs!.boss;
    expect((await boss.getSchedules(BACKUP_QUEUE)).map((s) => s.cron)).toEqual(['30 3 * * *']);
    const names: string[] = [];
    for (let i = 0; i < 2; i++) {
      const id = (await boss.send(BACKUP_QUEUE, {}))!;
      await expect
        .poll(async () => (await boss.getJobById(BACKUP_QUEUE, id))?.state, { timeout: 30_000, interval: 100 })
        .toBe('completed');
      names.push(path.basename(((await boss.getJobById(BACKUP_QUEUE, id))!.output as { archive: string }).archive));
    }
    const listed = await demo.json('GET', '/api/ops/backups');
    expect(listed.schedule).toBe('30 3 * * *');
    expect(listed.keep).toBe(1);
    // The newest is kept; the one before was deleted.
    expect(listed.items.map((b: { name: string }) => b.name)).toEqual([names[1]]);
    expect(readdirSync(path.join(filo.config.dataDir, 'backups'))).toEqual([names[1]]);
    for (const b of listed.items) {
      expect(b.sizeBytes).toBe(statSync(path.join(filo.config.dataDir, 'backups', b.name)).size);
      expect(Date.parse(b.createdAt)).not.toBeNaN();
    }
    const member = apiClient(
      filo.baseUrl,
      await login(filo.baseUrl, { email: 'luca@filo.local', password: 'filo-demo' }),
    );
    const refused = await member.call('GET', '/api/ops/backups');
    expect(refused.status).toBe(403);
    expect(await errorCode(refused)).toBe('forbidden');
    // The owner of a workspace signed up later is not the installation's operator.
    const other = apiClient(
      filo.baseUrl,
      await signUp(filo, {
        workspace: 'Other Ops',
        name: 'Olga',
        email: 'olga@ops.example',
        password: 'a-long-password-1',
      }),
    );
    const notOperator = await other.call('GET', '/api/ops/backups');
    expect(notOperator.status).toBe(403);
    expect(await errorCode(notOperator)).toBe('forbidden');
    // Nor does that owner see the installation's job queues; the operator does.
    const queuesRefused = await other.call('GET', '/api/system/health');
    expect(queuesRefused.status).toBe(403);
    expect(await errorCode(queuesRefused)).toBe('forbidden');
    const health = await demo.json('GET', '/api/system/health');
    expect(health.checks.database).toBe('ok');
    expect(Array.isArray(health.queues)).toBe(true);
  });
});

// Made once by commit 790e234 (before the newsletters migrations): its demo data plus a document, a mail with an
// attachment through its SMTP gateway, a meeting and a second workspace, archived by `npm run backup`.
const FIXTURE = path.resolve(import.meta.dirname, 'fixtures/upgrade-790e234.tar.gz');
const OLD = {
  company: '46dc6932-5550-46f4-b3d2-1d395032a07d',
  document: 'bb4f6682-4bf6-4e11-adde-4191576de647',
  conversation: '7560c55b-3233-4c80-8809-5ee72cfd9f21',
  meeting: '52cfd29d-e09b-46da-9757-ea0be2cf4902',
  second: '3afb1402-f729-48ee-8489-91624a48e362',
};

describe('upgrades keep data', () => {
  let upgraded: TestFilo | undefined;
  let dropDatabase = async () => {};
  afterAll(async () => {
    await upgraded?.close();
    await dropDatabase();
  });

  it("starts the current code on an earlier commit's database: migrations apply, data reads back, seq goes on", async () => {
    const adminUrl = inject('pgAdminUrl');
    const name = randomDatabaseName('filo_upgrade');
    await withAdmin(adminUrl, (c) => c.query(`create database ${name}`));
    dropDatabase = () =>
      withAdmin(adminUrl, (c) => c.query(`drop database if exists ${name} with (force)`)).then(() => {});
    const url = databaseUrl(adminUrl, name);
    const dataDir = temp('filo-upgrade-');
    const report = await restoreBackup({ archive: FIXTURE, dataDir, databaseUrl: url, log });
    const old = report.manifest;
    expect(old.filo.migrations.at(-1)).toBe('Migration20261205239000_account_error_side');
    const pending = migrationsList.length - old.filo.migrations.length;
    expect(pending).toBeGreaterThan(10);

    upgraded = await startTestFilo({ DATABASE_URL: url, DATA_DIR: dataDir });
    const applied = await upgraded.orm.em
      .getConnection()
      .execute<{ n: number }[]>('select count(*)::int as n from mikro_orm_migrations');
    expect(applied[0]!.n).toBe(migrationsList.length);

    const api = apiClient(upgraded.baseUrl, await login(upgraded.baseUrl));
    expect((await api.json('GET', `/api/crm/companies/${OLD.company}`)).name).toBe('Upgrade Fixture Srl');
    const companies = await api.json('GET', '/api/crm/companies?limit=100');
    expect(companies.items.length).toBe(old.database.tables['public.companies']! - 1); // one is the second workspace's
    const deals = await api.json('GET', '/api/crm/deals?limit=100');
    expect(deals.items.some((d: { title: string }) => d.title === 'Fixture deal')).toBe(true);
    const doc = await api.call('GET', `/api/crm/documents/${OLD.document}/download`);
    expect(await doc.text()).toBe('fixture document bytes\n'.repeat(40));
    const [message] = (await api.json('GET', `/api/inbox/conversations/${OLD.conversation}`)).messages;
    const attachment = await api.call('GET', message.attachments[0].url);
    expect(await attachment.text()).toBe('attachment from an earlier Filo');
    expect((await api.json('GET', `/api/meetings/${OLD.meeting}`)).title).toBe('Fixture meeting');

    // Each workspace's timeline continues from the seq it had.
    const owner = new pg.Client({ connectionString: url });
    await owner.connect();
    const tenantOf = async (company: string) =>
      (await owner.query('select tenant_id from companies where id = $1', [company])).rows[0].tenant_id as string;
    const [demoTenant, secondTenant] = [await tenantOf(OLD.company), await tenantOf(OLD.second)];
    await owner.end();
    await api.json('POST', '/api/crm/notes', {
      entityType: 'company',
      entityId: OLD.company,
      content: 'After upgrade',
    });
    const top = await api.json('GET', `/api/crm/timeline?entityType=company&entityId=${OLD.company}&limit=1`);
    expect(top.items[0].seq).toBe(old.tenants[demoTenant]! + 1);
    const second = apiClient(
      upgraded.baseUrl,
      await login(upgraded.baseUrl, { email: 'second@fixture.example', password: 'second-fixture-pass' }),
    );
    await second.json('POST', '/api/crm/notes', { entityType: 'company', entityId: OLD.second, content: 'Also after' });
    const theirs = await second.json('GET', `/api/crm/timeline?entityType=company&entityId=${OLD.second}&limit=1`);
    expect(theirs.items[0].seq).toBe(old.tenants[secondTenant]! + 1);
  });
});
