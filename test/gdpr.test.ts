import { existsSync } from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ConsentChange } from '../server/consent/consent.service.ts';
import { inTenant, systemActor } from '../server/tenancy.ts';
import {
  apiClient,
  errorCode,
  login,
  signUp,
  startTestFilo,
  type ApiClient,
  type TestFilo,
} from './support/harness.ts';
import { readZip } from './support/zip.ts';

/**
 * A contact's data subject rights: the export (a ZIP of contact.json and their files, without mail of mailboxes the
 * reader does not see) and the erasure (nothing of them left in any table or file, while their address stays
 * refused and the send counters stay as they were).
 */
let filo: TestFilo;
let demo: ApiClient;
let sara: ApiClient;
let other: ApiClient;
const ids = { tenant: '', sara: '' };
let company: { id: string };
let contact: { id: string };
let list = '';
const EMAIL = 'erika@gdpr.example';
const NAME = 'Erika Cancellata';

const sql = <T = Record<string, unknown>>(query: string, params: unknown[] = []) =>
  inTenant(filo.orm, systemActor(ids.tenant), (uow) => uow.em.execute(query, params) as Promise<T[]>);
const setConsent = (change: ConsentChange) =>
  inTenant(filo.orm, systemActor(ids.tenant), (uow) => filo.services.consent.set(uow, change));
const refusal = (address: string) =>
  inTenant(filo.orm, systemActor(ids.tenant), (uow) => filo.services.consent.refusal(uow.em, 'email', address, [list]));

async function deliver(message: Mail.Options): Promise<void> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: filo.smtpPort!,
    secure: false,
    ignoreTLS: true,
  });
  try {
    await transport.sendMail(message);
  } finally {
    transport.close();
  }
}

const conversationId = (who: ApiClient, subject: string) =>
  vi.waitFor(
    async () => {
      const page = await who.json('GET', '/api/inbox/conversations?limit=100');
      const id = page.items.find((c: { subject: string }) => c.subject === subject)?.id;
      if (!id) throw new Error(`no conversation “${subject}” yet`);
      return id as string;
    },
    { timeout: 20_000, interval: 100 },
  );

async function download(
  who: ApiClient,
  path: string,
): Promise<{ status: number; type: string | null; disposition: string | null; bytes: Buffer }> {
  const res = await fetch(`${filo.baseUrl}${path}`, { headers: { cookie: who.cookie } });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    disposition: res.headers.get('content-disposition'),
    bytes: Buffer.from(await res.arrayBuffer()),
  };
}

beforeAll(async () => {
  filo = await startTestFilo();
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  sara = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'sara@filo.local', password: 'filo-demo' }));
  other = apiClient(
    filo.baseUrl,
    await signUp(filo, {
      workspace: 'Elsewhere',
      name: 'Else',
      email: 'else@else.example',
      password: 'correct horse battery',
    }),
  );
  ids.tenant = (await demo.json('GET', '/api/auth/me')).workspace.id;
  ids.sara = (await sara.json('GET', '/api/auth/me')).user.id;
  company = await demo.json('POST', '/api/crm/companies', { name: 'Acme Gdpr', type: 'client' });
  contact = await demo.json('POST', '/api/crm/contacts', {
    firstName: 'Erika',
    lastName: 'Cancellata',
    email: EMAIL,
    phone: '+39 02 5550199',
    companyId: company.id,
    tags: ['vip'],
  });
  list = (
    await sql<{ id: string }>(
      `insert into mailing_lists (id, tenant_id, name) values (gen_random_uuid(), ?, 'News') returning id`,
      [ids.tenant],
    )
  )[0]!.id;
  await setConsent({
    channel: 'email',
    address: EMAIL,
    listId: list,
    status: 'subscribed',
    source: 'form',
    contactId: contact.id,
    evidence: { ip: '198.51.100.23', userAgent: 'ErikaBrowser/1.0', consentText: 'Send me news, Erika agrees' },
  });
  const campaign = '11111111-1111-4111-8111-111111111111';
  await sql(
    `insert into bulk_sends (id, tenant_id, source, source_id, contact_id, address, status, message_id, sent_at, opened_at)
     values (gen_random_uuid(), ?, 'campaign', ?, ?, ?, 'sent', '<b1@filo>', now(), now())`,
    [ids.tenant, campaign, contact.id, EMAIL],
  );
  await sql(
    `insert into delivery_stats (source, source_id, variant, tenant_id, recipients, sent, opened) values ('campaign', ?, '', ?, 1, 1, 1)`,
    [campaign, ids.tenant],
  );
  const form = new FormData();
  form.append('entityType', 'contact');
  form.append('entityId', contact.id);
  form.append('file', new Blob(['Passport of Erika Cancellata']), 'passport.txt');
  const up = await fetch(`${filo.baseUrl}/api/crm/documents`, {
    method: 'POST',
    headers: { cookie: demo.cookie, origin: filo.baseUrl },
    body: form,
  });
  expect(up.status).toBe(201);
  await demo.json('POST', '/api/crm/notes', {
    entityType: 'contact',
    entityId: contact.id,
    content: 'Call Erika Cancellata back',
  });

  const support = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Support', localPart: 'support' });
  const mine = await demo.json('POST', '/api/inbox/mailboxes', {
    name: 'Sara mail',
    localPart: 'sara-mail',
    memberIds: [ids.sara],
  });
  await sql(`update mailboxes set private = true where id = ?`, [mine.id]);
  await deliver({
    from: `${NAME} <${EMAIL}>`,
    to: support.inboundAddress,
    subject: 'My order',
    text: 'Where is my order? Erika',
    attachments: [{ filename: 'receipt.txt', content: Buffer.from('Receipt for Erika Cancellata') }],
  });
  await deliver({
    from: `${NAME} <${EMAIL}>`,
    to: mine.inboundAddress,
    subject: 'Private matter',
    text: 'The pangolin secret',
  });
  await conversationId(demo, 'My order');
  await conversationId(sara, 'Private matter');
}, 90_000);
afterAll(() => filo?.close());

describe('export', () => {
  it('is a ZIP of contact.json and the files, for owners and admins, without mail they may not see', async () => {
    expect((await download(sara, `/api/contacts/${contact.id}/export`)).status).toBe(403);
    expect((await download(other, `/api/contacts/${contact.id}/export`)).status).toBe(404);
    const got = await download(demo, `/api/contacts/${contact.id}/export`);
    expect(got.status).toBe(200);
    expect(got.type).toBe('application/zip');
    expect(got.disposition).toMatch(/^attachment; filename="?Erika-Cancellata-export\.zip/);
    const files = readZip(got.bytes);
    const data = JSON.parse(files.get('contact.json')!.toString('utf8'));
    expect(data.contact).toMatchObject({ email: EMAIL, first_name: 'Erika', company_name: 'Acme Gdpr', tags: ['vip'] });
    expect(data.notes.map((n: { content: string }) => n.content)).toEqual(['Call Erika Cancellata back']);
    expect(data.conversations.map((c: { subject: string }) => c.subject)).toEqual(['My order']);
    expect(data.conversations[0].messages[0].text).toContain('Where is my order?');
    expect(data.consents[0]).toMatchObject({
      status: 'subscribed',
      source: 'form',
      ip: '198.51.100.23',
      list_name: 'News',
    });
    expect(data.consents[0].events[0]).toMatchObject({
      userAgent: 'ErikaBrowser/1.0',
      consentText: 'Send me news, Erika agrees',
    });
    expect(data.bulkSends).toEqual([expect.objectContaining({ source: 'campaign', status: 'sent', address: EMAIL })]);
    expect(data.timeline.length).toBeGreaterThan(0);
    const names = data.documents.map((d: { file_name: string }) => d.file_name).sort();
    expect(names).toEqual(['passport.txt', 'receipt.txt']);
    const stored = [...files.keys()].filter((k) => k.startsWith('files/'));
    expect(stored).toHaveLength(2);
    expect(stored.map((k) => files.get(k)!.toString()).sort()).toEqual([
      'Passport of Erika Cancellata',
      'Receipt for Erika Cancellata',
    ]);
    // The owner is not in Sara's private mailbox: none of its mail, by any part of the archive.
    for (const [name, bytes] of files)
      expect(`${name}: ${bytes.toString('utf8')}`).not.toMatch(/pangolin|Private matter/);
  });
});

describe('erasure', () => {
  it('refuses members, a wrong confirmation, and other workspaces', async () => {
    const erase = `/api/contacts/${contact.id}/erase`;
    expect((await sara.call('POST', erase, { confirm: EMAIL })).status).toBe(403);
    expect((await other.call('POST', erase, { confirm: EMAIL })).status).toBe(404);
    expect(await errorCode(await demo.call('POST', erase, {}))).toBe('validation_failed');
    const wrong = await demo.call('POST', erase, { confirm: 'Erika' });
    expect(wrong.status).toBe(400);
    expect(await errorCode(wrong)).toBe('confirmation_mismatch');
    expect((await demo.json('GET', `/api/crm/contacts/${contact.id}`)).email).toBe(EMAIL);
  });

  it('leaves nothing of the person in any table or file, keeps refusing their address and keeps the counts', async () => {
    const blobs = (await sql<{ file_url: string }>(`select file_url from documents`)).map((d) =>
      path.join(filo.config.dataDir, 'blobs', d.file_url.replace(/^blob:/, '')),
    );
    const spools = (
      await sql<{ spool_key: string }>(`select spool_key from inbound_messages where spool_key is not null`)
    ).map((r) => filo.services.spool.path(r.spool_key));
    expect(blobs).toHaveLength(2);
    expect(spools).toHaveLength(2);
    for (const f of [...blobs, ...spools]) expect(existsSync(f)).toBe(true);
    const counts = await sql(`select * from delivery_stats`);

    await demo.json('POST', `/api/contacts/${contact.id}/erase`, { confirm: ' erika cancellata ' }, 204);

    expect((await demo.call('GET', `/api/crm/contacts/${contact.id}`)).status).toBe(404);
    for (const f of [...blobs, ...spools]) expect(existsSync(f), f).toBe(false);
    const tables = await sql<{ table_name: string }>(
      `select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`,
    );
    const left: string[] = [];
    for (const { table_name: table } of tables) {
      // Notes are the team's: they stay (moved to the company), mentions of the person included.
      if (table === 'notes') continue;
      const [row] = await sql<{ n: number }>(
        `select count(*)::int as n from "${table}" x where x::text ilike any(?::text[])`,
        [`{"%${EMAIL}%","%Cancellata%","%198.51.100.23%","%ErikaBrowser%","%pangolin%","%02 5550199%"}`],
      );
      if (row!.n) left.push(`${table}: ${row!.n}`);
    }
    expect(left).toEqual([]);
    const notes = await demo.json('GET', `/api/crm/notes?entityType=company&entityId=${company.id}`);
    expect(notes.items.map((n: { content: string }) => n.content)).toContain('Call Erika Cancellata back');

    // Still refused, by the hash alone; the counters as they were.
    expect(await refusal(EMAIL)).toEqual({ status: 'unsubscribed', listId: null });
    expect(await sql(`select * from delivery_stats`)).toEqual(counts);
    expect(await sql(`select address, status from bulk_sends`)).toEqual([{ address: null, status: 'sent' }]);
    const suppressions = await demo.json('GET', '/api/consent/suppressions?status=erased');
    expect(suppressions.items).toEqual([
      expect.objectContaining({ address: null, status: 'erased', source: 'erasure' }),
    ]);
    expect(await errorCode(await demo.call('DELETE', `/api/consent/suppressions/${suppressions.items[0].id}`))).toBe(
      'address_erased',
    );
    const { items } = await demo.json('GET', `/api/crm/timeline?entityType=company&entityId=${company.id}`);
    expect(items.find((a: { type: string }) => a.type === 'contact.deleted')?.data).toEqual({ name: 'Erased contact' });
  });

  it('an import or a new contact never re-subscribes the address; a fresh opt-in on the form does', async () => {
    const again = await demo.json('POST', '/api/crm/contacts', { firstName: 'New', lastName: 'Person', email: EMAIL });
    const imported = await setConsent({
      channel: 'email',
      address: EMAIL,
      listId: list,
      status: 'subscribed',
      source: 'import',
    });
    expect(imported.erased).toBe(true);
    expect(await refusal(EMAIL)).toEqual({ status: 'unsubscribed', listId: null });
    const byHand = await demo.call('PUT', `/api/contacts/${again.id}/consent`, { listId: list, status: 'subscribed' });
    expect(await errorCode(byHand)).toBe('address_erased');
    expect(await errorCode(await demo.call('POST', '/api/consent/suppressions', { address: EMAIL }))).toBe(
      'address_erased',
    );
    await setConsent({ channel: 'email', address: EMAIL, listId: list, status: 'unconfirmed', source: 'form' });
    expect(await refusal(EMAIL)).toEqual({ status: 'unsubscribed', listId: null });
    await setConsent({
      channel: 'email',
      address: EMAIL,
      listId: list,
      status: 'subscribed',
      source: 'form',
      evidence: { ip: '192.0.2.1' },
    });
    expect(await refusal(EMAIL)).toBeNull();
  });
});
