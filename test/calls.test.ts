import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPayload } from '#contracts/timeline';
import { apiClient, body, login, signUp, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';
import { LiveClient } from './support/live.ts';

/**
 * Calls logged by hand (POST /api/crm/calls -> `call.logged` on the contact or the company), the Home page's
 * record names, and sent mail naming the teammate who wrote it.
 */

let filo: TestFilo;
let demo: ApiClient;
let luca: ApiClient;
let other: ApiClient;
let company: { id: string; name: string };
let maria: { id: string };
let paolo: { id: string };

beforeAll(async () => {
  filo = await startTestFilo();
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  luca = apiClient(filo.baseUrl, await login(filo.baseUrl, { email: 'luca@filo.local', password: 'filo-demo' }));
  other = apiClient(
    filo.baseUrl,
    await signUp(filo, {
      workspace: 'Elsewhere',
      name: 'Else Owner',
      email: 'owner@elsewhere.example',
      password: 'correct horse battery',
    }),
  );
  company = await demo.json('POST', '/api/crm/companies', { name: 'Acme S.p.A.', type: 'client' });
  paolo = await demo.json('POST', '/api/crm/contacts', {
    companyId: company.id,
    firstName: 'Paolo',
    lastName: 'Neri',
    mobile: '+39 333 000 1111',
  });
  maria = await demo.json('POST', '/api/crm/contacts', {
    companyId: company.id,
    firstName: 'Maria',
    lastName: 'Rossi',
    email: 'maria@acme.example',
    phone: '+39 02 1234 5678',
    isPrimary: true,
  });
}, 60_000);
afterAll(() => filo?.close());

type Activity = { id: string; type: string; entityType: string; entityId: string; companyId: string | null } & {
  data: Record<string, unknown>;
  actor: { id: string; name: string } | null;
  title: string;
  description: string | null;
};

const timeline = async (c: ApiClient, type: string, id: string): Promise<Activity[]> =>
  (await c.json('GET', `/api/crm/timeline?entityType=${type}&entityId=${id}`)).items;

describe('logging a call', () => {
  it('writes call.logged on the contact, with its company, the number dialled by default, live to watchers', async () => {
    const live = new LiveClient(filo.baseUrl, { cookie: demo.cookie });
    await live.ready();
    await live.socket.emitWithAck('record:watch', { type: 'company', id: company.id });
    const call: Activity = await luca.json('POST', '/api/crm/calls', {
      contactId: maria.id,
      outcome: 'connected',
      durationSeconds: 245,
      note: 'Wants the **new** price list:\n\n- brakes\n- tyres',
    });
    expect(call).toMatchObject({
      type: 'call.logged',
      entityType: 'contact',
      entityId: maria.id,
      companyId: company.id,
      title: 'Call with Maria Rossi · connected · 4 min',
      actor: { name: 'Luca Verdi' },
      data: {
        phone: '+39 02 1234 5678',
        contactName: 'Maria Rossi',
        companyName: 'Acme S.p.A.',
        direction: 'outbound',
        outcome: 'connected',
        durationSeconds: 245,
        note: 'Wants the **new** price list:\n\n- brakes\n- tyres',
      },
    });
    expect(() => checkPayload('call.logged', call.data)).not.toThrow();
    // On the contact's timeline and on its company's.
    expect((await timeline(demo, 'contact', maria.id)).map((a) => a.id)).toContain(call.id);
    expect((await timeline(demo, 'company', company.id)).map((a) => a.id)).toContain(call.id);
    await live.until(() => live.activities.find((a) => a.id === call.id));
    live.close();
  });

  it('on a company alone: the primary contact’s number, no contact name; a contact of the company is accepted with it', async () => {
    const call: Activity = await demo.json('POST', '/api/crm/calls', {
      companyId: company.id,
      direction: 'inbound',
      outcome: 'voicemail',
    });
    expect(call).toMatchObject({
      entityType: 'company',
      entityId: company.id,
      companyId: company.id,
      title: 'Call with Acme S.p.A. · voicemail',
      data: { phone: '+39 02 1234 5678', contactName: null, direction: 'inbound', durationSeconds: null, note: null },
    });
    const withContact: Activity = await demo.json('POST', '/api/crm/calls', {
      companyId: company.id,
      contactId: paolo.id,
      outcome: 'no_answer',
      phone: '+39 333 999 0000',
    });
    expect(withContact).toMatchObject({
      entityType: 'contact',
      entityId: paolo.id,
      data: { contactName: 'Paolo Neri', phone: '+39 333 999 0000' },
    });
    // A contact with only a mobile: that number.
    const mobile: Activity = await demo.json('POST', '/api/crm/calls', { contactId: paolo.id, outcome: 'busy' });
    expect(mobile.data.phone).toBe('+39 333 000 1111');
  });

  it('answers bad input with 400 and the fields, and writes nothing', async () => {
    const before = (await timeline(demo, 'company', company.id)).length;
    const cases: [unknown, string[]][] = [
      [{ outcome: 'connected' }, ['contactId']],
      [{ contactId: maria.id, outcome: 'hung_up' }, ['outcome']],
      [{ contactId: maria.id, outcome: 'connected', durationSeconds: -1 }, ['durationSeconds']],
      [{ contactId: maria.id, outcome: 'connected', durationSeconds: 1.5 }, ['durationSeconds']],
      [{ contactId: maria.id, outcome: 'connected', direction: 'sideways' }, ['direction']],
      [{ contactId: maria.id, outcome: 'connected', phone: 'call me' }, ['phone']],
      [{ contactId: maria.id, outcome: 'connected', note: 'x'.repeat(10_001) }, ['note']],
      [{ contactId: 'not-an-id', outcome: 'connected' }, ['contactId']],
      [{ contactId: maria.id, outcome: 'connected', extra: 1 }, ['body']],
    ];
    for (const [payload, fields] of cases) {
      const res = await demo.call('POST', '/api/crm/calls', payload);
      const json = await body(res);
      expect(`${res.status} ${json.error.code}`, JSON.stringify(payload)).toBe('400 validation_failed');
      for (const f of fields) expect(Object.keys(json.error.fields), JSON.stringify(payload)).toContain(f);
    }
    // A contact of another company than the one named.
    const elsewhere = await demo.json('POST', '/api/crm/companies', { name: 'Beta Srl', type: 'client' });
    const res = await demo.call('POST', '/api/crm/calls', {
      companyId: elsewhere.id,
      contactId: maria.id,
      outcome: 'connected',
    });
    expect(res.status).toBe(400);
    expect((await body(res)).error).toMatchObject({
      code: 'contact_not_in_company',
      fields: { contactId: expect.any(String) },
    });
    expect((await timeline(demo, 'company', company.id)).length).toBe(before);
  });

  it('answers 404 for another workspace’s contact or company, and writes nothing there', async () => {
    for (const payload of [
      { contactId: maria.id, outcome: 'connected' },
      { companyId: company.id, outcome: 'connected' },
    ]) {
      const res = await other.call('POST', '/api/crm/calls', payload);
      expect(res.status).toBe(404);
      expect((await body(res)).error.code).toBe('not_found');
    }
    const mine = await timeline(demo, 'contact', maria.id);
    expect(mine.every((a) => a.actor?.name !== 'Else Owner')).toBe(true);
  });
});

describe('the Home page’s record names', () => {
  it('names companies, contacts and deals of the workspace, leaving out unknown and other workspaces’ ids', async () => {
    const deal = await demo.json('POST', '/api/crm/deals', { companyId: company.id, title: 'Fleet brakes' });
    const theirs = await other.json('POST', '/api/crm/companies', { name: 'Their Co', type: 'client' });
    const q = new URLSearchParams();
    q.append('company', company.id);
    q.append('company', theirs.id);
    q.append('contact', maria.id);
    q.append('deal', deal.id);
    q.append('deal', '00000000-0000-4000-8000-000000000000');
    const { items } = await demo.json('GET', `/api/home/record-names?${q}`);
    expect(items).toEqual(
      expect.arrayContaining([
        { type: 'company', id: company.id, name: 'Acme S.p.A.' },
        { type: 'contact', id: maria.id, name: 'Maria Rossi' },
        { type: 'deal', id: deal.id, name: 'Fleet brakes' },
      ]),
    );
    expect(items).toHaveLength(3);
    // The other workspace sees none of ours.
    expect((await other.json('GET', `/api/home/record-names?${q}`)).items).toEqual([
      { type: 'company', id: theirs.id, name: 'Their Co' },
    ]);
    const bad = await demo.call('GET', '/api/home/record-names?company=nope');
    expect(bad.status).toBe(400);
  });
});

describe('sent mail', () => {
  it('names the teammate who wrote a reply in the email.sent payload', async () => {
    const box = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Support', localPart: 'support' });
    const smtp = nodemailer.createTransport({
      host: '127.0.0.1',
      port: filo.smtpPort!,
      secure: false,
      ignoreTLS: true,
    });
    await smtp.sendMail({
      from: '"Maria Rossi" <maria@acme.example>',
      to: box.inboundAddress,
      subject: 'Brakes in stock?',
      text: 'Do you have them?',
    });
    smtp.close();
    let conversationId = '';
    await expect
      .poll(
        async () => {
          const page = await luca.json('GET', '/api/inbox/conversations');
          conversationId = page.items.find((c: { subject: string }) => c.subject === 'Brakes in stock?')?.id ?? '';
          return conversationId;
        },
        { timeout: 20_000, interval: 100 },
      )
      .not.toBe('');
    const reply = await luca.json('POST', `/api/inbox/conversations/${conversationId}/replies`, { body: 'Yes.' }, 202);
    let sent: Activity | undefined;
    await expect
      .poll(
        async () => {
          sent = (await timeline(demo, 'contact', maria.id)).find(
            (a) => a.type === 'email.sent' && a.data.emailMessageId === reply.id,
          );
          return Boolean(sent);
        },
        { timeout: 20_000, interval: 100 },
      )
      .toBe(true);
    expect(sent!.data.sentBy).toEqual({ id: sent!.actor!.id, name: 'Luca Verdi' });
    expect(() => checkPayload('email.sent', sent!.data)).not.toThrow();
  });
});
