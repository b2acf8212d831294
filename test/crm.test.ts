import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { readOutbox } from '../server/delivery/mailer.ts';
import {
  apiClient,
  body,
  errorCode,
  login,
  signUp,
  startTestFilo,
  type ApiClient,
  type TestFilo,
} from './support/harness.ts';

let filo: TestFilo;
let demo: Client;
let other: Client;

type Client = ApiClient;
const client = (cookieOrToken: string, bearer = false): Client => apiClient(filo.baseUrl, cookieOrToken, bearer);

async function signup(workspace: string, email: string) {
  const res = await fetch(`${filo.baseUrl}/api/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: filo.baseUrl },
    body: JSON.stringify({ workspace, name: 'Other Owner', email, password: 'correct horse battery' }),
  });
  return res;
}

beforeAll(async () => {
  filo = await startTestFilo();
  demo = client(await login(filo.baseUrl));
  other = client(
    await signUp(filo, {
      workspace: 'Other Workspace',
      name: 'Other Owner',
      email: 'owner@other.example',
      password: 'correct horse battery',
    }),
  );
});
afterAll(() => filo?.close());

const member = async (c: Client, email: string) =>
  (await c.json('GET', '/api/team/members')).items.find((m: { email: string }) => m.email === email);

describe('sign-up', () => {
  it('creates a workspace with its owner and signs them in', async () => {
    const me = await other.json('GET', '/api/auth/me');
    expect(me).toMatchObject({ role: 'owner', workspace: { name: 'Other Workspace' } });
    expect(me.workspace.slug).toMatch(/^other-workspace-[0-9a-f]{6}$/);
  });

  it('answers an email that already has an account as any other (mailing its owner), and refuses a weak password', async () => {
    const dup = await signup('Again', 'Owner@Other.example');
    expect(dup.status).toBe(202);
    expect(dup.headers.get('set-cookie')).toBeNull();
    await expect
      .poll(() => readOutbox(filo.services.mailer.outboxDir!).some((m) => m.raw.includes('Someone tried to sign up')))
      .toBe(true);
    const weak = await fetch(`${filo.baseUrl}/api/auth/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: filo.baseUrl },
      body: JSON.stringify({ workspace: 'W', name: 'N', email: 'n@x.example', password: 'short' }),
    });
    expect(weak.status).toBe(400);
    expect((await body(weak)).error.fields.password).toMatch(/8 characters/);
  });
});

describe('companies, contacts and deals', () => {
  let acme: { id: string; version: number };

  it('creates a company with every field of the seed', async () => {
    acme = await demo.json('POST', '/api/crm/companies', {
      name: 'Acme Corp',
      type: 'client',
      vatNumber: 'IT01234567890',
      taxCode: 'ACMCRP80A01F205X',
      website: 'https://www.acme.example',
      industry: 'Manufacturing',
      size: 'large',
      annualRevenue: 1250000.5,
      logoUrl: 'https://www.acme.example/logo.png',
      billingAddress: { street: 'Via Roma 1', city: 'Milano', postalCode: '20121', country: 'IT' },
      shippingAddress: { city: 'Torino', country: 'IT' },
      tags: ['key-account', 'north'],
      status: 'active',
    });
    const got = await demo.json('GET', `/api/crm/companies/${acme.id}`);
    expect(got).toMatchObject({
      name: 'Acme Corp',
      type: 'client',
      vatNumber: 'IT01234567890',
      annualRevenue: '1250000.50',
      billingAddress: { city: 'Milano' },
      tags: ['key-account', 'north'],
      status: 'active',
      version: 1,
      customFields: {},
    });
    expect(got.createdBy).toBe((await demo.json('GET', '/api/auth/me')).user.id);
  });

  it('names every invalid field and refuses unknown ones', async () => {
    const res = await demo.call('POST', '/api/crm/companies', { name: '', type: 'partner', website: 'acme', extra: 1 });
    expect(res.status).toBe(400);
    const { error } = await body(res);
    expect(error.code).toBe('validation_failed');
    expect(Object.keys(error.fields).sort()).toEqual(expect.arrayContaining(['name', 'type', 'website']));
  });

  it('updates, bumps the version and records what changed on the timeline', async () => {
    const updated = await demo.json('PATCH', `/api/crm/companies/${acme.id}`, {
      status: 'prospect',
      industry: 'Robotics',
    });
    expect(updated.version).toBe(2);
    const { items } = await demo.json('GET', `/api/crm/timeline?entityType=company&entityId=${acme.id}`);
    expect(items[0]).toMatchObject({
      type: 'company.updated',
      data: {
        changes: { status: { from: 'active', to: 'prospect' }, industry: { from: 'Manufacturing', to: 'Robotics' } },
      },
      actor: { name: 'Demo Owner' },
    });
    expect(items.at(-1).type).toBe('company.created');
  });

  it('keeps one primary contact per company and refuses a company of another workspace', async () => {
    const first = await demo.json('POST', '/api/crm/contacts', {
      companyId: acme.id,
      firstName: 'Giulia',
      lastName: 'Neri',
      email: 'giulia@acme.example',
      role: 'CEO',
      isPrimary: true,
      birthday: '1980-05-17',
      linkedinUrl: 'https://www.linkedin.com/in/giulia',
    });
    const second = await demo.json('POST', '/api/crm/contacts', {
      companyId: acme.id,
      firstName: 'Paolo',
      lastName: 'Russo',
      isPrimary: true,
    });
    expect((await demo.json('GET', `/api/crm/contacts/${first.id}`)).isPrimary).toBe(false);
    expect((await demo.json('GET', `/api/crm/contacts/${second.id}`)).isPrimary).toBe(true);
    expect((await demo.json('GET', `/api/crm/contacts/${first.id}`)).birthday).toBe('1980-05-17');
    const theirs = await other.json('POST', '/api/crm/companies', { name: 'Theirs', type: 'supplier' });
    const res = await demo.call('POST', '/api/crm/contacts', { companyId: theirs.id, firstName: 'X', lastName: 'Y' });
    expect(res.status).toBe(400);
    expect((await body(res)).error.fields.companyId).toBeDefined();
  });

  it('records a deal stage change with from and to, on the company timeline too', async () => {
    const deal = await demo.json('POST', '/api/crm/deals', {
      companyId: acme.id,
      title: 'Website Redesign',
      value: 45000,
      probability: 40,
      source: 'referral',
    });
    expect(deal).toMatchObject({ stage: 'lead', currency: 'EUR', value: '45000.00' });
    await demo.json('PATCH', `/api/crm/deals/${deal.id}`, { stage: 'negotiation', probability: 70 });
    const { items } = await demo.json('GET', `/api/crm/timeline?entityType=company&entityId=${acme.id}`);
    const stage = items.find((a: { type: string }) => a.type === 'deal.stage_changed');
    expect(stage).toMatchObject({ entityType: 'deal', entityId: deal.id, data: { from: 'lead', to: 'negotiation' } });
    expect(items.some((a: { type: string }) => a.type === 'contact.created')).toBe(true);
    const seqs = items.map((a: { seq: number }) => a.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    expect(new Set(seqs).size).toBe(seqs.length);
  });

  it('lists with filters and keyset pagination, every row once', async () => {
    for (const n of ['Beta', 'Gamma', 'Delta', 'Epsilon', 'Zeta'])
      await demo.json('POST', '/api/crm/companies', { name: `${n} Srl`, type: 'supplier', tags: ['page'] });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { items: { name: string }[]; nextCursor: string | null } = await demo.json(
        'GET',
        `/api/crm/companies?tag=page&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      );
      seen.push(...page.items.map((c) => c.name));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(['Beta Srl', 'Delta Srl', 'Epsilon Srl', 'Gamma Srl', 'Zeta Srl']);
    const q = await demo.json('GET', '/api/crm/companies?q=amm&type=supplier');
    expect(q.items.map((c: { name: string }) => c.name)).toEqual(['Gamma Srl']);
    // An unset form field (`type=`) is no filter, not a bad value.
    const blank = await demo.json('GET', '/api/crm/companies?tag=page&type=&q=&limit=10');
    expect(blank.items).toHaveLength(5);
    expect((await demo.call('GET', '/api/crm/companies?type=nonsense')).status).toBe(400);
    expect((await demo.call('GET', '/api/crm/companies?limit=500')).status).toBe(400);
    expect((await demo.call('GET', '/api/crm/companies?cursor=garbage')).status).toBe(400);
  });

  it('deletes a company, and then it is gone', async () => {
    const tmp = await demo.json('POST', '/api/crm/companies', { name: 'Temporary', type: 'stakeholder' });
    await demo.json('DELETE', `/api/crm/companies/${tmp.id}`);
    expect((await demo.call('GET', `/api/crm/companies/${tmp.id}`)).status).toBe(404);
    const { items } = await demo.json('GET', `/api/crm/timeline`);
    expect(items[0]).toMatchObject({ type: 'company.deleted', entityId: tmp.id });
  });

  it('serves the full context of a company', async () => {
    const ctx = await demo.json('GET', `/api/crm/companies/${acme.id}/full-context`);
    expect(ctx.company.id).toBe(acme.id);
    expect(ctx.contacts.map((c: { lastName: string }) => c.lastName)).toEqual(['Russo', 'Neri']);
    expect(ctx.deals).toHaveLength(1);
    expect(ctx.recentActivities.length).toBeGreaterThan(3);
    expect(ctx).toHaveProperty('recentNotes');
    expect(ctx).toHaveProperty('documents');
  });
});

describe('custom fields', () => {
  it('validates record values against the definitions', async () => {
    await demo.json('POST', '/api/crm/custom-fields', {
      entityType: 'company',
      fieldName: 'payment_terms',
      fieldLabel: 'Payment terms',
      fieldType: 'select',
      fieldOptions: ['30 days', '60 days'],
      isRequired: true,
      defaultValue: '30 days',
    });
    await demo.json('POST', '/api/crm/custom-fields', {
      entityType: 'company',
      fieldName: 'employees',
      fieldLabel: 'Employees',
      fieldType: 'number',
    });
    const bad = await demo.call('POST', '/api/crm/companies', {
      name: 'Bad',
      type: 'client',
      customFields: { payment_terms: '90 days', employees: 'many', unknown_field: 1 },
    });
    expect(bad.status).toBe(400);
    const { fields } = (await body(bad)).error;
    expect(fields['customFields.payment_terms']).toMatch(/one of: 30 days, 60 days/);
    expect(fields['customFields.employees']).toMatch(/number/);
    expect(fields['customFields.unknown_field']).toMatch(/not a custom field/);
    const good = await demo.json('POST', '/api/crm/companies', {
      name: 'Good',
      type: 'client',
      customFields: { employees: 120 },
    });
    expect(good.customFields).toEqual({ employees: 120, payment_terms: '30 days' });
    const cleared = await demo.call('PATCH', `/api/crm/companies/${good.id}`, {
      customFields: { payment_terms: null },
    });
    expect(cleared.status).toBe(400);
    expect((await body(cleared)).error.fields['customFields.payment_terms']).toBe('is required');
    const list = await demo.json('GET', '/api/crm/companies?cf.employees=120');
    expect(list.items.map((c: { name: string }) => c.name)).toEqual(['Good']);
  });

  it('refuses a duplicate name and a select without options, and only admins define fields', async () => {
    const dup = await demo.call('POST', '/api/crm/custom-fields', {
      entityType: 'company',
      fieldName: 'employees',
      fieldLabel: 'Again',
      fieldType: 'text',
    });
    expect(dup.status).toBe(409);
    const noOptions = await demo.call('POST', '/api/crm/custom-fields', {
      entityType: 'deal',
      fieldName: 'channel',
      fieldLabel: 'Channel',
      fieldType: 'select',
    });
    expect((await body(noOptions)).error.fields.fieldOptions).toMatch(/needs options/);
    const sara = client(await login(filo.baseUrl, { email: 'sara@filo.local', password: 'filo-demo' }));
    const res = await sara.call('POST', '/api/crm/custom-fields', {
      entityType: 'deal',
      fieldName: 'channel',
      fieldLabel: 'Channel',
      fieldType: 'text',
    });
    expect(res.status).toBe(403);
  });
});

describe('notes, mentions and notifications', () => {
  it('notifies each mentioned teammate (not oneself) and puts the note on the timeline', async () => {
    const company = await demo.json('POST', '/api/crm/companies', { name: 'Mention Spa', type: 'client' });
    const sara = await member(demo, 'sara@filo.local');
    const me = (await demo.json('GET', '/api/auth/me')).user;
    const note = await demo.json('POST', '/api/crm/notes', {
      entityType: 'company',
      entityId: company.id,
      content: '@Sara the client asks for **new specs**',
      noteType: 'production',
      mentions: [sara.userId, me.id],
    });
    expect(note).toMatchObject({ noteType: 'production', isPinned: false });
    const saraClient = client(await login(filo.baseUrl, { email: 'sara@filo.local', password: 'filo-demo' }));
    const inbox = await saraClient.json('GET', '/api/notifications');
    expect(inbox.unread).toBe(1);
    expect(inbox.items[0]).toMatchObject({
      type: 'mention',
      entityId: company.id,
      noteId: note.id,
      actor: { name: 'Demo Owner' },
    });
    expect((await demo.json('GET', '/api/notifications')).unread).toBe(0);
    const read = await saraClient.json('POST', '/api/notifications/read', { all: true }, 200);
    expect(read).toEqual({ updated: 1, unread: 0 });
    const { items } = await demo.json('GET', `/api/crm/timeline?entityType=company&entityId=${company.id}`);
    expect(items[0]).toMatchObject({ type: 'note.added', description: expect.stringContaining('new specs') });
    const edit = await saraClient.call('PATCH', `/api/crm/notes/${note.id}`, { content: 'changed' });
    expect(edit.status).toBe(403);
  });

  it('refuses a mention of someone outside the workspace, and writes nothing', async () => {
    const company = await demo.json('POST', '/api/crm/companies', { name: 'Nobody Srl', type: 'client' });
    const outsider = (await other.json('GET', '/api/auth/me')).user.id;
    const res = await demo.call('POST', '/api/crm/notes', {
      entityType: 'company',
      entityId: company.id,
      content: 'hello',
      mentions: [outsider],
    });
    expect(res.status).toBe(400);
    const notes = await demo.json('GET', `/api/crm/notes?entityType=company&entityId=${company.id}`);
    expect(notes.items).toEqual([]);
    const { items } = await demo.json('GET', `/api/crm/timeline?entityType=company&entityId=${company.id}`);
    expect(items.map((a: { type: string }) => a.type)).toEqual(['company.created']);
  });
});

describe('team and API tokens', () => {
  it('invites by email; the invitee accepts and joins with the given role', async () => {
    const inv = await demo.json('POST', '/api/team/invitations', { email: 'new.person@example.com', role: 'member' });
    expect(inv.inviteUrl).toBe(`${filo.config.publicUrl}/invite#${inv.token}`);
    const mail = await simpleParser(readOutbox(filo.services.mailer.outboxDir!).at(-1)!.raw);
    expect(mail.to).toMatchObject({ text: 'new.person@example.com' });
    expect(mail.subject).toBe('Demo Owner invited you to Filo Demo on Filo');
    expect(mail.text).toContain(inv.inviteUrl);
    const res = await fetch(`${filo.baseUrl}/api/auth/accept-invite`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: filo.baseUrl },
      body: JSON.stringify({ token: inv.token, name: 'New Person', password: 'a good long password' }),
    });
    expect(res.status).toBe(200);
    expect((await body(res)).role).toBe('member');
    expect(await member(demo, 'new.person@example.com')).toMatchObject({ name: 'New Person', role: 'member' });
    const again = await fetch(`${filo.baseUrl}/api/auth/accept-invite`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: filo.baseUrl },
      body: JSON.stringify({ token: inv.token, name: 'Twice', password: 'a good long password' }),
    });
    expect(again.status).toBe(410);
  });

  it('changes roles but never leaves a workspace without an owner', async () => {
    const me = (await demo.json('GET', '/api/auth/me')).user;
    const res = await demo.call('PATCH', `/api/team/members/${me.id}`, { role: 'member' });
    expect(res.status).toBe(409);
    expect(await errorCode(res)).toBe('last_owner');
    const luca = await member(demo, 'luca@filo.local');
    expect((await demo.json('PATCH', `/api/team/members/${luca.userId}`, { role: 'admin' })).role).toBe('admin');
  });

  it('issues a bearer token that works on the API, a read-only one that cannot write, and revokes them', async () => {
    const full = await demo.json('POST', '/api/tokens', { name: 'Accounting module' });
    expect(full.token).toMatch(/^filo_/);
    const listed = await demo.json('GET', '/api/tokens');
    expect(JSON.stringify(listed)).not.toContain(full.token);
    const api = client(full.token, true);
    const company = await api.json('POST', '/api/crm/companies', { name: 'Via token', type: 'client' });
    expect(company.name).toBe('Via token');
    const read = client((await demo.json('POST', '/api/tokens', { name: 'Wall', scope: 'read' })).token, true);
    expect((await read.call('GET', `/api/crm/companies/${company.id}`)).status).toBe(200);
    const denied = await read.call('POST', '/api/crm/companies', { name: 'No', type: 'client' });
    expect(denied.status).toBe(403);
    expect(await errorCode(denied)).toBe('read_only_token');
    await demo.json('DELETE', `/api/tokens/${full.id}`);
    const revoked = await api.call('GET', '/api/crm/companies');
    expect(revoked.status).toBe(401);
    expect(await errorCode(revoked)).toBe('invalid_token');
  });
});

describe('sign-in throttling', () => {
  it('answers 429 with Retry-After after 10 failures for one email', async () => {
    const attempt = () =>
      fetch(`${filo.baseUrl}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: filo.baseUrl },
        body: JSON.stringify({ email: 'mario@filo.local', password: 'wrong' }),
      });
    for (let i = 0; i < 10; i++) expect((await attempt()).status).toBe(401);
    const limited = await attempt();
    expect(limited.status).toBe(429);
    expect(await errorCode(limited)).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('tenant isolation', () => {
  // It walks every registered route (over two hundred) with the other workspace's ids: its own time budget.
  it('answers 404 on every registered route given another workspace’s ids', async () => {
    const company = await demo.json('POST', '/api/crm/companies', { name: 'Secret Spa', type: 'client' });
    const contact = await demo.json('POST', '/api/crm/contacts', {
      companyId: company.id,
      firstName: 'S',
      lastName: 'P',
    });
    const deal = await demo.json('POST', '/api/crm/deals', { companyId: company.id, title: 'Secret deal' });
    const note = await demo.json('POST', '/api/crm/notes', {
      entityType: 'company',
      entityId: company.id,
      content: 'x',
    });
    const field = await demo.json('POST', '/api/crm/custom-fields', {
      entityType: 'contact',
      fieldName: 'secret',
      fieldLabel: 'Secret',
      fieldType: 'text',
    });
    const token = await demo.json('POST', '/api/tokens', { name: 'Secret token' });
    const document = await upload(demo, { entityType: 'company', entityId: company.id }, 'secret.txt', 'top secret');
    const importForm = new FormData();
    importForm.append('entityType', 'company');
    importForm.append('file', new Blob(['name,type\nSecret Import,client\n']), 'secret.csv');
    const importRes = await fetch(`${filo.baseUrl}/api/crm/imports`, {
      method: 'POST',
      headers: { cookie: demo.cookie, origin: filo.baseUrl },
      body: importForm,
    });
    const importId = (await body(importRes)).id as string;
    const view = await demo.json('POST', '/api/crm/views', {
      entityType: 'company',
      name: 'Secret view',
      filters: { type: 'client' },
      isShared: true,
    });
    const sara = await member(demo, 'sara@filo.local');
    const meeting = await demo.json('POST', '/api/meetings', { companyId: company.id, title: 'Secret call' });
    const { attendeeId } = await demo.json('POST', `/api/meetings/${meeting.id}/join`, {}, 200);
    await demo.json('POST', `/api/meetings/${meeting.id}/connected`, { attendeeId }, 200);
    const mailbox = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Secret box', localPart: 'secret' });
    const smtp = nodemailer.createTransport({
      host: '127.0.0.1',
      port: filo.smtpPort!,
      secure: false,
      ignoreTLS: true,
    });
    await smtp.sendMail({
      from: 'someone@secret.example',
      to: mailbox.inboundAddress,
      subject: 'Secret mail',
      html: '<p>hush <img src="cid:logo@secret"></p>',
      attachments: [{ filename: 'logo.png', content: Buffer.from('89504e470d0a1a0a', 'hex'), cid: 'logo@secret' }],
    });
    smtp.close();
    let conversationId = '';
    await expect
      .poll(
        async () => {
          const page = await demo.json('GET', '/api/inbox/conversations');
          conversationId = page.items.find((c: { subject: string }) => c.subject === 'Secret mail')?.id ?? '';
          return conversationId;
        },
        { timeout: 20_000, interval: 100 },
      )
      .not.toBe('');
    const [message] = (await demo.json('GET', `/api/inbox/conversations/${conversationId}`)).messages;
    expect(message.attachments).toHaveLength(1);
    const params: Record<string, string> = { documentId: message.attachments[0].documentId, cid: 'logo@secret' };
    const template = await demo.json('POST', '/api/inbox/templates', { name: 'Secret template', body: 'Hi' });
    const messagingAccount = await demo.json('POST', '/api/messaging/accounts', {
      provider: 'twilio',
      name: 'Secret SMS',
      credentials: { accountSid: `AC${'0'.repeat(32)}`, authToken: 'f'.repeat(32) },
      settings: { smsNumbers: ['+390212345678'] },
    });
    const messageTemplate = await demo.json('POST', '/api/messaging/templates', {
      channel: 'sms',
      name: 's',
      body: 'x',
    });
    const signature = await demo.json('POST', '/api/inbox/signatures', { scope: 'user', body: 'Secret signature' });
    params.ruleId = (
      await demo.json('POST', `/api/inbox/mailboxes/${mailbox.id}/rules`, {
        name: 'Secret rule',
        actions: { tags: ['x'] },
      })
    ).id;
    const sendingDomain = await demo.json('POST', '/api/inbox/sending-domains', { domain: 'secret.example' });
    const blocked = await demo.json('POST', '/api/inbox/blocklist', { pattern: '@secret-spam.example' });
    const campaign = await demo.json('POST', '/api/newsletters/campaigns', { name: 'Secret campaign' });
    const suppressed = await demo.json('POST', '/api/consent/suppressions', { address: 'secret@suppressed.example' });
    const emailAccount = await demo.json('POST', '/api/email-accounts', {
      email: 'secret@secret.example',
      // a public address (no name to resolve offline); paused at once: nothing connects to it
      imap: { host: '192.0.43.10', port: 993, security: 'tls', password: 'secret' },
      smtp: { host: '192.0.43.10', port: 465, security: 'tls', password: 'secret' },
    });
    await demo.json('POST', `/api/email-accounts/${emailAccount.id}/pause`, {}, 200);
    // a sign-in provider is not a workspace's record: the other workspace's walk uses a real one
    params.provider = 'google';
    // A newsletter list with a member and a subscriber import.
    const mailingList = await demo.json('POST', '/api/newsletters/lists', { name: 'Secret list' });
    await demo.json('POST', `/api/newsletters/lists/${mailingList.id}/members`, { contactIds: [contact.id] }, 200);
    const messageBulk = await demo.json('POST', '/api/messaging/bulks', {
      name: 'Secret bulk',
      accountId: messagingAccount.id,
      channel: 'sms',
      listIds: [mailingList.id],
      text: 'x',
    });
    const subscribersForm = new FormData();
    subscribersForm.append('mapping', JSON.stringify({ email: 'email' }));
    subscribersForm.append('file', new Blob(['email\nsecret@subscriber.example\n']), 'secret.csv');
    const subscribersRes = await fetch(`${filo.baseUrl}/api/newsletters/lists/${mailingList.id}/import`, {
      method: 'POST',
      headers: { cookie: demo.cookie, origin: filo.baseUrl },
      body: subscribersForm,
    });
    params.importId = (await body(subscribersRes)).id as string;
    params.contactId = contact.id;
    const task = await demo.json('POST', '/api/tasks', { title: 'Secret task', companyId: company.id });
    const workflow = await demo.json('POST', '/api/workflows', {
      name: 'Secret workflow',
      definition: { trigger: { type: 'event', event: 'deal.created' }, steps: [{ action: 'add_note', body: 'x' }] },
    });
    const pendingInvite = await demo.json('POST', '/api/team/invitations', { email: 'walk@invite.example' });
    // The invitation's mail, kept in the development outbox: this workspace's to read, nobody else's.
    const keptMail = (await demo.json('GET', '/api/dev/outbox')).items.find((m: { to: string }) =>
      m.to.includes('walk@invite.example'),
    );
    // A sequence with a prospect in it.
    const sequence = await demo.json('POST', '/api/sequences', { name: 'Secret sequence' });
    const prospect = await demo.json('POST', '/api/crm/contacts', {
      firstName: 'S',
      lastName: 'Q',
      email: 's@q.example',
    });
    await demo.json(
      'POST',
      `/api/sequences/${sequence.id}/enrolments`,
      {
        source: 'selection',
        contactIds: [prospect.id],
      },
      200,
    );
    params.eid = (await demo.json('GET', `/api/sequences/${sequence.id}/enrolments`)).items[0].id;
    const webhook = (
      await demo.json('POST', '/api/webhooks', {
        url: 'https://192.0.43.10/hook',
        events: ['company.created'],
        active: false,
      })
    ).webhook;
    params.deliveryId = randomUUID();
    // A project of another module on the company, and a workspace kind of linked records.
    const linked = await demo.json(
      'PUT',
      '/api/linked-records/pm/project/SECRET-1',
      {
        companyId: company.id,
        title: 'Secret project',
      },
      201,
    );
    const linkedKind = await demo.json('POST', '/api/linked-records/kinds', {
      key: 'secret',
      label: 'Secret',
      tab: 'projects',
    });
    Object.assign(params, { source: 'pm', kind: 'project', externalId: 'SECRET-1' });
    const idFor = (path: string) => {
      if (path.includes('/webhooks/')) return webhook.id;
      if (path.includes('/linked-records/kinds/')) return linkedKind.id;
      if (path.includes('/linked-records/')) return linked.record.id;
      if (path.includes('/sequences/') && !path.includes('/sequences/mailboxes/')) return sequence.id;
      if (path.includes('/tasks/')) return task.id;
      if (path.includes('/messaging/bulks/')) return messageBulk.id;
      if (path.includes('/messaging/accounts/')) return messagingAccount.id;
      if (path.includes('/messaging/templates/')) return messageTemplate.id;
      if (path.includes('/workflows/')) return workflow.id;
      if (path.includes('/newsletters/lists/')) return mailingList.id;
      if (path.includes('/campaigns/')) return campaign.id;
      if (path.includes('/blocklist/')) return blocked.id;
      if (path.includes('/suppressions/')) return suppressed.id;
      if (path.includes('/email-accounts/')) return emailAccount.id;
      if (path.includes('/sending-domains/')) return sendingDomain.id;
      if (path.includes('/meetings/')) return meeting.id;
      if (path.includes('/mailboxes/')) return mailbox.id;
      if (path.includes('/templates/')) return template.id;
      if (path.includes('/signatures/')) return signature.id;
      if (path.includes('/conversations/')) return conversationId;
      if (path.includes('/messages/')) return message.id;
      if (path.includes('/inbound/')) return message.inboundId;
      if (path.includes('/companies/')) return company.id;
      if (path.includes('/contacts/')) return contact.id;
      if (path.includes('/deals/')) return deal.id;
      if (path.includes('/notes/')) return note.id;
      if (path.includes('/custom-fields/')) return field.id;
      if (path.includes('/tokens/')) return token.id;
      if (path.includes('/members/')) return sara.userId;
      if (path.includes('/users/')) return sara.userId;
      if (path.includes('/invitations/')) return pendingInvite.id;
      if (path.includes('/documents/')) return document.id;
      if (path.includes('/imports/')) return importId;
      if (path.includes('/views/')) return view.id;
      if (path.includes('/dev/outbox/')) return keptMail.id;
      throw new Error(`no id for ${path}`);
    };
    const routes = filo.routes;
    const withIds = routes.filter((r) => r.path.includes(':'));
    expect(withIds.length).toBeGreaterThanOrEqual(15);
    for (const route of withIds) {
      if (/^\/(u|s)\//.test(route.path)) {
        // Newsletter public pages: no workspace, a signed token or a list's id is the key. A forged token, or an id
        // of no public list, finds nothing: 404 whatever the method, never a redirect.
        const forged = route.path.replace(':token', 'a'.repeat(47)).replace(':listId', randomUUID());
        const res = await fetch(`${filo.baseUrl}${forged}`, {
          method: route.method.toUpperCase(),
          redirect: 'manual',
          ...(route.method === 'get'
            ? {}
            : { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' }),
        });
        expect(`${route.method} ${forged} -> ${res.status}`).toBe(`${route.method} ${forged} -> 404`);
        continue;
      }
      if (route.path.startsWith('/api/messaging/:provider/')) {
        // Providers' webhooks: no session, the provider's signature is the key; unsigned is refused, never stored.
        const res = await fetch(`${filo.baseUrl}/api/messaging/twilio/${messagingAccount.id}/inbound`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'MessageSid=SMx&Body=hijack',
        });
        expect(`${route.method} ${route.path} -> ${res.status}`).toBe(`${route.method} ${route.path} -> 403`);
        continue;
      }
      if (route.path.startsWith('/t/')) {
        // Public tracking routes: no workspace, the signed token is the key. A forged one finds nothing and tells
        // nothing: the pixel is the same 1x1 GIF as ever, a link is a 404.
        const forged = route.path.replace(':token', route.path.startsWith('/t/b/') ? 'a'.repeat(47) : 'A'.repeat(47));
        const pixel = forged.endsWith('.gif');
        const res = await fetch(`${filo.baseUrl}${forged}`, { redirect: 'manual' });
        const expected = pixel ? '200 image/gif' : '404 no redirect';
        const got = pixel
          ? `${res.status} ${res.headers.get('content-type')}`
          : `${res.status} ${res.headers.get('location') ? 'redirect' : 'no redirect'}`;
        expect(`${route.method} ${forged} -> ${got}`).toBe(`${route.method} ${forged} -> ${expected}`);
        continue;
      }
      const path = route.path.replace(/:(\w+)/g, (_, name: string) => params[name] ?? idFor(route.path));
      let payload: unknown;
      if (route.method === 'patch' && path.includes('/companies/')) payload = { name: 'hijack' };
      if (route.method === 'patch' && path.includes('/webhooks/')) payload = { active: true };
      if (route.method === 'patch' && path.includes('/newsletters/lists/')) payload = { name: 'hijack', version: 1 };
      if (route.method === 'post' && /\/newsletters\/lists\/[^/]+\/members$/.test(path))
        payload = { contactIds: [contact.id] };
      if (route.method === 'patch' && path.includes('/contacts/')) payload = { firstName: 'hijack' };
      if (route.method === 'patch' && path.includes('/deals/')) payload = { title: 'hijack' };
      if (route.method === 'patch' && path.includes('/notes/')) payload = { content: 'hijack' };
      if (route.method === 'patch' && path.includes('/custom-fields/')) payload = { fieldLabel: 'hijack' };
      if (route.method === 'patch' && path.includes('/members/')) payload = { role: 'admin' };
      if (route.method === 'patch' && path.includes('/meetings/')) payload = { title: 'hijack' };
      if (route.method === 'patch' && path.includes('/mailboxes/')) payload = { name: 'hijack' };
      if (route.method === 'post' && /\/mailboxes\/[^/]+\/rules$/.test(path))
        payload = { name: 'hijack', actions: { tags: ['hijack'] } };
      if (route.method === 'patch' && path.includes('/templates/')) payload = { name: 'hijack' };
      if (route.method === 'patch' && path.includes('/messaging/templates/'))
        payload = { channel: 'sms', name: 'hijack', body: 'x', version: 1 };
      if (route.method === 'patch' && path.includes('/messaging/accounts/')) payload = { name: 'hijack', version: 1 };
      if (route.method === 'put' && /\/messaging\/accounts\/[^/]+\/bot$/.test(path))
        payload = { enabled: true, rules: [] };
      if (route.method === 'patch' && path.includes('/campaigns/')) payload = { name: 'hijack', version: 1 };
      if (/\/campaigns\/[^/]+\/test$/.test(path)) payload = { to: ['x@hijack.example'] };
      if (/\/campaigns\/[^/]+\/schedule$/.test(path)) payload = { at: new Date(Date.now() + 3600_000).toISOString() };
      if (route.method === 'patch' && path.includes('/signatures/')) payload = { body: 'hijack' };
      if (route.method === 'patch' && path.includes('/tasks/')) payload = { version: 1, title: 'hijack' };
      if (/\/conversations\/[^/]+\/replies$/.test(path)) payload = { body: 'hijack', to: 'x@hijack.example' };
      if (route.method === 'patch' && /\/conversations\/[^/]+$/.test(path)) payload = { status: 'closed' };
      if (route.method === 'post' && /\/conversations\/[^/]+\/notes$/.test(path)) payload = { content: 'hijack' };
      if (/\/meetings\/[^/]+\/(heartbeat|leave|connected)$/.test(path)) payload = { attendeeId };
      if (/\/meetings\/[^/]+\/transcript$/.test(path)) payload = { text: 'hijack' };
      if (route.method === 'put' && /\/contacts\/[^/]+\/consent$/.test(path))
        payload = { listId: null, status: 'subscribed' };
      if (/\/contacts\/[^/]+\/erase$/.test(path)) payload = { confirm: 'hijack' };
      if (/\/meetings\/[^/]+\/recordings$/.test(path) && route.method === 'post')
        payload = { fileUrl: 'https://hijack.example/x.mp4' };
      if (route.method === 'patch' && /\/sequences\/[^/]+$/.test(path)) payload = { name: 'hijack', version: 1 };
      if (route.method === 'patch' && path.includes('/sequences/mailboxes/')) payload = { dailyCap: 1 };
      if (/\/sequences\/[^/]+\/steps$/.test(path)) payload = { steps: [], version: 1 };
      if (route.method === 'post' && /\/sequences\/[^/]+\/enrolments$/.test(path))
        payload = { source: 'selection', contactIds: [prospect.id] };
      if (route.method === 'patch' && /\/enrolments\/[^/]+$/.test(path)) payload = { positive: true };
      if (route.method === 'put' && path.includes('/linked-records/'))
        payload = { companyId: company.id, title: 'hijack' };
      if (route.method === 'patch' && path.includes('/linked-records/kinds/')) payload = { label: 'hijack' };
      if (/\/linked-records\/[^/]+\/events$/.test(path)) payload = { title: 'hijack' };
      const res = await other.call(route.method.toUpperCase(), path, payload);
      expect(`${route.method} ${path} -> ${res.status}`).toBe(`${route.method} ${path} -> 404`);
    }
    // Routes that take ids in the query or body.
    for (const [method, path, payload] of [
      ['GET', `/api/crm/timeline?entityType=company&entityId=${company.id}`],
      ['GET', `/api/crm/notes?entityType=company&entityId=${company.id}`],
      ['POST', '/api/crm/notes', { entityType: 'company', entityId: company.id, content: 'hi' }],
      ['POST', '/api/inbox/messages', { mailboxId: mailbox.id, to: 'x@hijack.example', subject: 's', body: 'b' }],
      ['GET', `/api/inbox/signatures/default?mailboxId=${mailbox.id}`],
      ['POST', '/api/crm/calls', { contactId: contact.id, outcome: 'connected' }],
      ['POST', '/api/crm/calls', { companyId: company.id, outcome: 'connected' }],
      ['POST', '/api/tasks', { title: 'hijack', companyId: company.id }],
      ['POST', '/api/tasks', { title: 'hijack', dealId: deal.id }],
      ['POST', '/api/tasks', { title: 'hijack', conversationId }],
      ['POST', '/api/messaging/messages', { conversationId, text: 'hijack' }],
      [
        'POST',
        '/api/messaging/messages',
        { accountId: messagingAccount.id, channel: 'sms', to: '+393331234567', text: 'x' },
      ],
      ['GET', `/api/linked-records?companyId=${company.id}`],
      ['PUT', '/api/linked-records/pm/project/HIJACK-1', { contactId: contact.id, title: 'hijack' }],
      ['PUT', '/api/linked-records/pm/project/HIJACK-2', { dealId: deal.id, title: 'hijack' }],
    ] as [string, string, unknown?][]) {
      expect(`${method} ${path} -> ${(await other.call(method, path, payload)).status}`).toBe(
        `${method} ${path} -> 404`,
      );
    }
    expect((await other.call('GET', `/api/crm/documents?entityType=company&entityId=${company.id}`)).status).toBe(404);
    // Nothing changed on our side.
    expect((await demo.json('GET', `/api/crm/companies/${company.id}`)).name).toBe('Secret Spa');
    expect((await demo.json('GET', `/api/tasks/${task.id}`)).title).toBe('Secret task');
    expect((await demo.json('GET', `/api/linked-records/${linked.record.id}`)).title).toBe('Secret project');
    expect((await other.json('GET', '/api/linked-records')).items).toEqual([]);
    expect(await demo.json('GET', `/api/sequences/${sequence.id}`)).toMatchObject({
      name: 'Secret sequence',
      status: 'draft',
    });
    expect(await demo.json('GET', `/api/meetings/${meeting.id}`)).toMatchObject({
      title: 'Secret call',
      status: 'in_progress',
      recordingUrl: null,
      hasTranscript: false,
    });
    expect((await demo.json('GET', '/api/tokens')).items.map((t: { name: string }) => t.name)).toContain(
      'Secret token',
    );
    expect((await demo.json('GET', `/api/crm/contacts/${contact.id}`)).firstName).not.toBe('hijack');
    expect((await demo.json('GET', '/api/consent/suppressions')).items.map((x: { id: string }) => x.id)).toContain(
      suppressed.id,
    );
    expect((await other.json('GET', '/api/consent/suppressions')).items).toEqual([]);
    // And lists never show another workspace's rows.
    expect((await other.json('GET', '/api/inbox/templates')).items).toEqual([]);
    expect((await other.json('GET', '/api/inbox/signatures')).items).toEqual([]);
    expect((await other.json('GET', '/api/messaging/accounts')).items).toEqual([]);
    expect((await other.json('GET', '/api/messaging/templates')).items).toEqual([]);
    expect((await demo.json('GET', `/api/inbox/templates/${template.id}`)).name).toBe('Secret template');
    const theirs = await other.json('GET', '/api/crm/companies?limit=200');
    expect(theirs.items.map((c: { name: string }) => c.name)).toEqual(['Theirs']);
  }, 120_000);

  it('is enforced by PostgreSQL too: the application role sees no rows without a tenant', async () => {
    const appUrl = (filo.orm.config.get('clientUrl') as string) ?? '';
    const conn = new pg.Client({ connectionString: appUrl });
    await conn.connect();
    try {
      const who = await conn.query(`select rolsuper, rolbypassrls from pg_roles where rolname = current_user`);
      expect(who.rows[0]).toEqual({ rolsuper: false, rolbypassrls: false });
      expect((await conn.query('select count(*)::int as n from companies')).rows[0].n).toBe(0);
      const [tenant] = (await conn.query(`select id from tenants`)).rows;
      expect(tenant).toBeUndefined();
      await conn.query('begin');
      const me = (await demo.json('GET', '/api/auth/me')).workspace.id;
      await conn.query(`select set_config('app.tenant_id', $1, true)`, [me]);
      const names = (await conn.query('select distinct tenant_id from companies')).rows.map((r) => r.tenant_id);
      expect(names).toEqual([me]);
      await expect(
        conn.query(
          `insert into companies (id, tenant_id, name, type) values (gen_random_uuid(), gen_random_uuid(), 'x', 'client')`,
        ),
      ).rejects.toThrow(/row-level security/);
      await conn.query('rollback');
    } finally {
      await conn.end();
    }
  });
});

describe('search', () => {
  it('finds companies, contacts, deals and notes by prefix and by a misspelt name, in this workspace only', async () => {
    const c = await demo.json('POST', '/api/crm/companies', { name: 'Officine Meccaniche Lombarde', type: 'client' });
    await demo.json('POST', '/api/crm/contacts', {
      companyId: c.id,
      firstName: 'Federica',
      lastName: 'Colombo',
      email: 'f.colombo@oml.example',
    });
    await demo.json('POST', '/api/crm/deals', { companyId: c.id, title: 'Linea di verniciatura' });
    await demo.json('POST', '/api/crm/notes', {
      entityType: 'company',
      entityId: c.id,
      content: 'Sopralluogo in stabilimento per la verniciatura',
    });
    await other.json('POST', '/api/crm/companies', { name: 'Officine Altrui', type: 'client' });
    const find = async (q: string) =>
      (await demo.json('GET', `/api/search?q=${encodeURIComponent(q)}`)).items as { type: string; title: string }[];
    expect((await find('offic mecc'))[0]).toMatchObject({ type: 'company', title: 'Officine Meccaniche Lombarde' });
    expect((await find('Officine')).map((h) => h.title)).not.toContain('Officine Altrui');
    expect((await find('colombo'))[0]).toMatchObject({ type: 'contact', title: 'Federica Colombo' });
    expect((await find('Federika Colombo'))[0]).toMatchObject({ type: 'contact' });
    const paint = await find('verniciatura');
    expect(paint.map((h) => h.type).sort()).toEqual(['deal', 'note']);
    expect(await find('!!!')).toEqual([]);
    expect((await demo.call('GET', '/api/search')).status).toBe(400);
  });
});

async function upload(
  c: Client,
  fields: Record<string, string>,
  name: string,
  content: string | Uint8Array,
  bearer = false,
) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([content]), name);
  const res = await fetch(`${filo.baseUrl}/api/crm/documents`, {
    method: 'POST',
    headers: bearer ? { authorization: `Bearer ${c.cookie}` } : { cookie: c.cookie, origin: filo.baseUrl },
    body: form,
  });
  if (res.status !== 201) throw new Error(`upload: ${res.status} ${await res.text()}`);
  return body(res);
}

describe('documents', () => {
  it('stores a file with its sha256 and sniffed type, lists it, and serves it as a download', async () => {
    const company = await demo.json('POST', '/api/crm/companies', { name: 'Docs Srl', type: 'client' });
    const png = Uint8Array.from([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1, 8, 6,
      0, 0, 0,
    ]);
    const doc = await upload(
      demo,
      { entityType: 'company', entityId: company.id, category: 'contract' },
      'specs.pdf',
      png,
    );
    const { createHash } = await import('node:crypto');
    expect(doc).toMatchObject({
      fileName: 'specs.pdf',
      fileType: 'image/png',
      fileSize: png.length,
      category: 'contract',
      sha256: createHash('sha256').update(png).digest('hex'),
    });
    const list = await demo.json('GET', `/api/crm/documents?entityType=company&entityId=${company.id}`);
    expect(list.items.map((d: { id: string }) => d.id)).toEqual([doc.id]);
    const dl = await demo.call('GET', `/api/crm/documents/${doc.id}/download`);
    expect(dl.status).toBe(200);
    expect(dl.headers.get('content-disposition')).toMatch(/^attachment; filename="?specs\.pdf"?$/);
    expect(dl.headers.get('x-content-type-options')).toBe('nosniff');
    expect(new Uint8Array(await dl.arrayBuffer())).toEqual(png);
    const { items } = await demo.json('GET', `/api/crm/timeline?entityType=company&entityId=${company.id}`);
    expect(items[0]).toMatchObject({ type: 'document.uploaded', data: { fileName: 'specs.pdf' } });
  });

  it('never serves SVG or HTML as themselves', async () => {
    const company = await demo.json('POST', '/api/crm/companies', { name: 'Svg Srl', type: 'client' });
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>';
    const doc = await upload(demo, { entityType: 'company', entityId: company.id }, 'logo.svg', svg);
    const dl = await demo.call('GET', `/api/crm/documents/${doc.id}/download`);
    expect(dl.headers.get('content-type')).toBe('application/octet-stream');
    expect(dl.headers.get('content-disposition')).toContain('attachment');
  });

  it('refuses a file over 25 MB with 413 and keeps nothing; refuses an upload without its record', async () => {
    const company = await demo.json('POST', '/api/crm/companies', { name: 'Big Srl', type: 'client' });
    const big = new Uint8Array(25 * 1024 * 1024 + 1);
    const tooBig = await upload(demo, { entityType: 'company', entityId: company.id }, 'big.bin', big).catch(
      (e: Error) => e.message,
    );
    expect(tooBig).toMatch(/^upload: 413 .*payload_too_large/);
    const noRecord = await upload(demo, { entityType: 'company', entityId: crypto.randomUUID() }, 'a.txt', 'x').catch(
      (e: Error) => e.message,
    );
    expect(noRecord).toMatch(/^upload: 404/);
    expect((await demo.json('GET', `/api/crm/documents?entityType=company&entityId=${company.id}`)).items).toEqual([]);
    const { readdirSync } = await import('node:fs');
    const blobs = readdirSync(`${filo.config.dataDir}/blobs`, { recursive: true }) as string[];
    expect(blobs.filter((f) => f.endsWith('.part'))).toEqual([]);
  });
});

describe('OpenAPI', () => {
  it('describes every registered route, with the request schemas the routes validate with', async () => {
    const doc = await body(await fetch(`${filo.baseUrl}/api/openapi.json`));
    expect(doc.openapi).toBe('3.1.0');
    for (const route of filo.routes) {
      const path = route.path.replace(/:(\w+)/g, '{$1}');
      expect(doc.paths[path]?.[route.method], `${route.method} ${path}`).toBeDefined();
    }
    const create = doc.paths['/api/crm/companies'].post.requestBody.content['application/json'].schema;
    expect(create.required).toEqual(expect.arrayContaining(['name', 'type']));
    expect(create.properties.type.enum).toEqual(['client', 'supplier', 'stakeholder']);
    const list = doc.paths['/api/crm/companies'].get.parameters.map((p: { name: string }) => p.name);
    expect(list).toEqual(expect.arrayContaining(['q', 'type', 'status', 'tag', 'cursor', 'limit']));
  });

  it('describes what every route answers: a JSON schema for JSON answers, and the shared error answer', async () => {
    const doc = await body(await fetch(`${filo.baseUrl}/api/openapi.json`));
    expect(filo.routes.filter((r) => !r.spec?.summary || !r.spec.response).map((r) => `${r.method} ${r.path}`)).toEqual(
      [],
    );
    const wrong: string[] = [];
    for (const route of filo.routes) {
      const key = `${route.method} ${route.path}`;
      const op = doc.paths[route.path.replace(/:(\w+)/g, '{$1}')][route.method];
      const answers = Object.entries(op.responses as Record<string, { description?: string; content?: unknown }>);
      const [status, success] = answers.find(([code]) => /^[23]/.test(code)) ?? [];
      if (!success?.description) wrong.push(`${key}: no success answer`);
      const response = route.spec?.response;
      if (response === 'empty' && status !== String(route.spec?.status ?? 204))
        wrong.push(`${key}: ${status}, not 204`);
      if (typeof response === 'object' && !('file' in response)) {
        const schema = (success?.content as Record<string, { schema?: object }> | undefined)?.['application/json']
          ?.schema;
        if (!schema || !Object.keys(schema).length) wrong.push(`${key}: no response schema`);
        if (status !== String(route.spec?.status ?? 200)) wrong.push(`${key}: ${status}, not its declared status`);
      }
      if (op.responses['4XX']?.content?.['application/json']?.schema?.$ref !== '#/components/schemas/ApiError')
        wrong.push(`${key}: no error answer`);
    }
    expect(wrong).toEqual([]);
    expect(doc.components.schemas.ApiError.properties.error.required).toEqual(['code', 'message']);
    const me = doc.paths['/api/auth/me'].get.responses['200'].content['application/json'].schema;
    expect(me.required).toEqual(['user', 'workspace', 'role']);
    expect(me.properties.role.enum).toEqual(['owner', 'admin', 'member']);
    expect(me.properties.user.properties.locale).toBeDefined();
    const token = doc.paths['/api/tokens'].post.responses['201'].content['application/json'].schema;
    expect(token.required).toEqual(expect.arrayContaining(['id', 'prefix', 'scope', 'createdAt', 'token']));
    expect(doc.paths['/api/tokens/{id}'].delete.responses['204'].description).toBeTruthy();
    expect(doc.paths['/api/auth/login'].post.security).toEqual([]);
    expect(doc.paths['/api/team/members'].get.security).toBeUndefined();
    expect(doc.paths['/api/openapi.json'].get.responses['200']).toBeDefined();
    expect(Object.keys(doc.paths['/t/o/{token}.gif'].get.responses['200'].content)).toEqual(['image/gif']);
    expect(doc.paths['/t/c/{token}'].get.responses['302']).toBeDefined();
  });
});

describe('CSV import and export', () => {
  async function startImport(entityType: string, csv: string) {
    const form = new FormData();
    form.append('entityType', entityType);
    form.append('file', new Blob([csv], { type: 'text/csv' }), 'import.csv');
    const res = await fetch(`${filo.baseUrl}/api/crm/imports`, {
      method: 'POST',
      headers: { cookie: demo.cookie, origin: filo.baseUrl },
      body: form,
    });
    expect(res.status).toBe(202);
    return (await body(res)).id as string;
  }
  /** Polls the import until the job has finished it (bounded). */
  async function finished(id: string) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const row = await demo.json('GET', `/api/crm/imports/${id}`);
      if (row.status === 'completed' || row.status === 'failed') return row;
      if (Date.now() > deadline) throw new Error(`import still ${row.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('creates the good rows and reports the bad ones with their line numbers', async () => {
    const csv = [
      'name,type,vat_number,website,tags,billing_city,cf.employees',
      'Import Uno Srl,client,IT111,https://uno.example,"a;b",Milano,12',
      'Import Due Spa,partner,IT222,,,,',
      'Import Tre Srl,supplier,,,,,',
      ',client,,,,,',
      'Import Quattro,client,,not-a-url,,,',
    ].join('\n');
    const done = await finished(await startImport('company', csv));
    expect(done).toMatchObject({ status: 'completed', totalRows: 5, processedRows: 5, createdRows: 2 });
    expect(done.errors.map((e: { line: number }) => e.line)).toEqual([3, 5, 6]);
    expect(done.errors[0].fields.type).toBeDefined();
    const uno = (await demo.json('GET', '/api/crm/companies?q=Import%20Uno')).items[0];
    expect(uno).toMatchObject({ vatNumber: 'IT111', tags: ['a', 'b'], billingAddress: { city: 'Milano' } });
    expect(uno.customFields.employees).toBe(12);
  });

  it('links imported contacts to companies by name', async () => {
    const csv =
      'first_name,last_name,email,company,is_primary\nAnna,Verdi,anna@uno.example,Import Uno Srl,yes\nBob,Nessuno,,No Such Company,\n';
    const done = await finished(await startImport('contact', csv));
    expect(done).toMatchObject({ status: 'completed', createdRows: 1 });
    expect(done.errors).toEqual([
      {
        line: 3,
        message: 'Row 3: no company named “No Such Company”',
        fields: { company: 'not found' },
        problems: [{ field: 'company', reason: 'company_not_found', value: 'No Such Company' }],
      },
    ]);
    const anna = (await demo.json('GET', '/api/crm/contacts?q=anna@uno')).items[0];
    expect(anna).toMatchObject({ firstName: 'Anna', isPrimary: true });
  });

  it('exports a filtered list as CSV', async () => {
    const res = await demo.call('GET', '/api/crm/companies/export.csv?q=Import');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const { parse } = await import('csv-parse/sync');
    const rows = parse((await res.text()).replace(/^\uFEFF/, ''), { columns: true }) as Record<string, string>[];
    const listed = (await demo.json('GET', '/api/crm/companies?q=Import&limit=200')).items.map(
      (c: { name: string }) => c.name,
    );
    expect(rows.map((r) => r.name)).toEqual(listed);
    expect(listed).toEqual(expect.arrayContaining(['Import Tre Srl', 'Import Uno Srl']));
    expect(listed).not.toContain('Import Due Spa');
    expect(rows.find((r) => r.name === 'Import Uno Srl')!.tags).toBe('a;b');
  });
});

describe('pipeline', () => {
  it('sums deals per stage and currency, in stage order', async () => {
    const company = await other.json('POST', '/api/crm/companies', { name: 'Pipeline Srl', type: 'client' });
    for (const [title, value, stage, currency] of [
      ['A', 1000, 'lead', 'EUR'],
      ['B', 2500.5, 'lead', 'EUR'],
      ['C', 400, 'lead', 'USD'],
      ['D', 9000, 'won', 'EUR'],
    ] as const)
      await other.json('POST', '/api/crm/deals', { companyId: company.id, title, value, stage, currency });
    const { stages } = await other.json('GET', '/api/crm/pipeline');
    expect(stages.map((s: { stage: string }) => s.stage)).toEqual([
      'lead',
      'qualified',
      'proposal',
      'negotiation',
      'won',
      'lost',
    ]);
    expect(stages[0]).toEqual({ stage: 'lead', count: 3, totals: { EUR: '3500.50', USD: '400.00' } });
    expect(stages[4]).toEqual({ stage: 'won', count: 1, totals: { EUR: '9000.00' } });
    expect(stages[1]).toEqual({ stage: 'qualified', count: 0, totals: {} });
  });
});

describe('saved views', () => {
  it('keeps private views private and shows shared ones to the team', async () => {
    const sara = client(await login(filo.baseUrl, { email: 'sara@filo.local', password: 'filo-demo' }));
    await demo.json('POST', '/api/crm/views', {
      entityType: 'company',
      name: 'My clients',
      filters: { type: 'client', status: 'active', sort: '-createdAt' },
    });
    const shared = await demo.json('POST', '/api/crm/views', {
      entityType: 'company',
      name: 'Team suppliers',
      filters: { type: 'supplier' },
      isShared: true,
    });
    const mine = (await demo.json('GET', '/api/crm/views?entityType=company')).items.map(
      (v: { name: string }) => v.name,
    );
    expect(mine).toEqual(expect.arrayContaining(['My clients', 'Team suppliers']));
    const theirs = (await sara.json('GET', '/api/crm/views?entityType=company')).items.map(
      (v: { name: string }) => v.name,
    );
    expect(theirs).toContain('Team suppliers');
    expect(theirs).not.toContain('My clients');
    expect((await sara.call('DELETE', `/api/crm/views/${shared.id}`)).status).toBe(403);
    const bad = await demo.call('POST', '/api/crm/views', { entityType: 'company', name: '', filters: { q: 1 } });
    expect(bad.status).toBe(400);
  });
});
