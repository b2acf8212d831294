import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { simpleParser, type ParsedMail } from 'mailparser';
import { DEFAULT_NOTIFICATION_PREFS } from '../contracts/preferences.ts';
import { readOutbox } from '../server/delivery/mailer.ts';
import { inTenant, systemActor } from '../server/tenancy.ts';
import { apiClient, errorCode, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

let filo: TestFilo;
let db: pg.Client;
let demo: ApiClient;
const users: Record<'sara' | 'mario' | 'luca', { id: string; email: string; api: ApiClient }> = {} as never;

async function sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  return (await db.query(text, params)).rows as T[];
}

/** A note on a new company mentioning `who`; answers the note and each recipient's notice id. */
async function mention(who: string[], company = `Acme ${Math.random().toString(36).slice(2, 8)}`) {
  const c = await demo.json('POST', '/api/crm/companies', { name: company, type: 'client' });
  const note = await demo.json('POST', '/api/crm/notes', {
    entityType: 'company',
    entityId: c.id,
    content: `Please look at the **offer** for ${company}`,
    mentions: who,
  });
  const rows = await sql<{ id: string; user_id: string }>(`select id, user_id from notifications where note_id = $1`, [
    note.id,
  ]);
  const notice = (userId: string) => rows.find((r) => r.user_id === userId)!.id;
  return { company: c as { id: string; name: string }, note: note as { id: string }, notice };
}

const backdate = (ids: string[], minutes: number) =>
  sql(`update notifications set created_at = now() - make_interval(mins => $2) where id = any($1::uuid[])`, [
    ids,
    minutes,
  ]);

/** The mails kept in the outbox for `email`, oldest first. */
async function mailsTo(email: string): Promise<ParsedMail[]> {
  const mails = await Promise.all(readOutbox(filo.services.mailer.outboxDir!).map(({ raw }) => simpleParser(raw)));
  return mails.filter((m) => m.to && !Array.isArray(m.to) && m.to.value.some((a) => a.address === email));
}

const run = (now?: Date) => filo.services.unreadMail.run(now);

beforeAll(async () => {
  filo = await startTestFilo();
  db = new pg.Client({ connectionString: filo.databaseUrl });
  await db.connect();
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  const members = (await demo.json('GET', '/api/team/members')).items as { userId: string; email: string }[];
  for (const name of ['sara', 'mario', 'luca'] as const) {
    const email = `${name}@filo.local`;
    users[name] = {
      id: members.find((m) => m.email === email)!.userId,
      email,
      api: apiClient(filo.baseUrl, await login(filo.baseUrl, { email, password: 'filo-demo' })),
    };
  }
  // The demo data's own notices are not this file's business.
  await sql(`update notifications set emailed_at = now() where emailed_at is null`);
});
afterAll(async () => {
  await db?.end();
  await filo?.close();
});

describe('email of unread notices', () => {
  it('emails a mention still unread after the delay, once, linking straight to the note', async () => {
    const { sara } = users;
    const { company, note, notice } = await mention([sara.id]);
    await backdate([notice(sara.id)], 10);
    await run();
    expect(await mailsTo(sara.email)).toHaveLength(0);

    await backdate([notice(sara.id)], 16);
    // Two workers at once (two nodes): one mail.
    await Promise.all([run(), run()]);
    const mails = await mailsTo(sara.email);
    expect(mails).toHaveLength(1);
    const mail = mails[0]!;
    expect(mail.subject).toBe(`Demo Owner mentioned you on ${company.name}`);
    const link = `${filo.config.publicUrl}/companies/${company.id}?tab=notes#note-${note.id}`;
    expect(mail.text).toContain(link);
    expect(mail.text).toContain('Please look at the');
    expect(mail.html).toContain(`href="${link}"`);
    expect(mail.headerLines.find((h) => h.key === 'list-unsubscribe')?.line).toBe(
      `List-Unsubscribe: <${filo.config.publicUrl}/settings/notifications>`,
    );
    const [row] = await sql<{ emailed_at: Date | null }>(`select emailed_at from notifications where id = $1`, [
      notice(sara.id),
    ]);
    expect(row!.emailed_at).not.toBeNull();

    await run();
    expect(await mailsTo(sara.email)).toHaveLength(1);
  });

  it('never emails a notice already read', async () => {
    const { sara } = users;
    const before = (await mailsTo(sara.email)).length;
    const { notice } = await mention([sara.id]);
    await backdate([notice(sara.id)], 30);
    await sara.api.json('POST', '/api/notifications/read', { ids: [notice(sara.id)] }, 200);
    await run();
    expect(await mailsTo(sara.email)).toHaveLength(before);
    const [row] = await sql<{ emailed_at: Date | null }>(`select emailed_at from notifications where id = $1`, [
      notice(sara.id),
    ]);
    expect(row!.emailed_at).toBeNull();
  });

  it('skips a notice whose read is under way, and never mails it once read', async () => {
    const { sara } = users;
    const before = (await mailsTo(sara.email)).length;
    const { notice } = await mention([sara.id]);
    await backdate([notice(sara.id)], 30);
    // Another session holds the row (as a read in progress would): the job skips it rather than mail it.
    const reader = new pg.Client({ connectionString: filo.databaseUrl });
    await reader.connect();
    try {
      await reader.query('begin');
      await reader.query(`update notifications set read_at = now() where id = $1`, [notice(sara.id)]);
      await run();
      await reader.query('commit');
    } finally {
      await reader.end();
    }
    await run();
    expect(await mailsTo(sara.email)).toHaveLength(before);
  });

  it('holds no notice while its mail is being sent, and mails it on the next pass after a failed send', async () => {
    const { sara } = users;
    const before = (await mailsTo(sara.email)).length;
    const { notice } = await mention([sara.id]);
    const id = notice(sara.id);
    await backdate([id], 30);
    const mailer = filo.services.mailer;
    const deliver = mailer.deliver;
    let lockedDuringSend: boolean | undefined;
    mailer.deliver = async () => {
      // Marking the notice read while the relay takes its time must not wait for the send.
      const reader = new pg.Client({ connectionString: filo.databaseUrl });
      await reader.connect();
      try {
        await reader.query('begin');
        await reader.query('select 1 from notifications where id = $1 for update nowait', [id]);
        lockedDuringSend = false;
      } catch {
        lockedDuringSend = true;
      } finally {
        await reader.end();
      }
      throw new Error('relay down');
    };
    try {
      await run();
    } finally {
      mailer.deliver = deliver;
    }
    expect(lockedDuringSend).toBe(false);
    expect(await sql(`select emailed_at from notifications where id = $1`, [id])).toEqual([{ emailed_at: null }]);
    await run();
    expect(await mailsTo(sara.email)).toHaveLength(before + 1);
  });

  it('groups what is due for one member in one mail, in their language', async () => {
    const { sara } = users;
    await sara.api.json('PATCH', '/api/auth/me', { locale: 'it' });
    const before = (await mailsTo(sara.email)).length;
    const a = await mention([sara.id], 'Gualtieri Spa');
    const b = await mention([sara.id], 'Brambilla Srl');
    await backdate([a.notice(sara.id), b.notice(sara.id)], 20);
    await run();
    const mails = (await mailsTo(sara.email)).slice(before);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toMatch(/^2 notifiche ti aspettano in /);
    expect(mails[0]!.text).toContain('Demo Owner ti ha menzionato su Gualtieri Spa');
    expect(mails[0]!.text).toContain('Demo Owner ti ha menzionato su Brambilla Srl');
    expect(mails[0]!.text).toContain(`#note-${a.note.id}`);
    expect(mails[0]!.text).toContain(`#note-${b.note.id}`);
    await sara.api.json('PATCH', '/api/auth/me', { locale: 'en' });
  });

  it('links a mention on a deal to its company’s deals, and one on a contact to its note', async () => {
    const { sara } = users;
    const before = (await mailsTo(sara.email)).length;
    const company = await demo.json('POST', '/api/crm/companies', { name: 'Deal Link Spa', type: 'client' });
    const deal = await demo.json('POST', '/api/crm/deals', { companyId: company.id, title: 'Linea nuova' });
    const contact = await demo.json('POST', '/api/crm/contacts', { firstName: 'Anna', lastName: 'Neri' });
    const notes = [];
    for (const [entityType, entityId] of [
      ['deal', deal.id],
      ['contact', contact.id],
    ])
      notes.push(
        await demo.json('POST', '/api/crm/notes', { entityType, entityId, content: 'Look', mentions: [sara.id] }),
      );
    await sql(`update notifications set created_at = now() - interval '1 hour' where note_id = any($1::uuid[])`, [
      notes.map((n) => n.id),
    ]);
    await run();
    const mails = (await mailsTo(sara.email)).slice(before);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.text).toContain(`${filo.config.publicUrl}/companies/${company.id}?tab=deals\n`);
    expect(mails[0]!.text).toContain(`${filo.config.publicUrl}/contacts/${contact.id}#note-${notes[1].id}`);
  });

  it('follows the member’s types and delay: none for a type turned off, never when email is off', async () => {
    const { luca } = users;
    await luca.api.json('PUT', '/api/auth/me/notification-prefs', {
      ...DEFAULT_NOTIFICATION_PREFS,
      emailAfterMinutes: 5,
      emailTypes: ['assignment', 'task_reminder'],
    });
    const off = await mention([luca.id]);
    await backdate([off.notice(luca.id)], 60);
    await run();
    expect(await mailsTo(luca.email)).toHaveLength(0);

    await luca.api.json('PUT', '/api/auth/me/notification-prefs', {
      ...DEFAULT_NOTIFICATION_PREFS,
      emailAfterMinutes: null,
    });
    await run();
    expect(await mailsTo(luca.email)).toHaveLength(0);

    // Five minutes, not the default fifteen.
    await luca.api.json('PUT', '/api/auth/me/notification-prefs', {
      ...DEFAULT_NOTIFICATION_PREFS,
      emailAfterMinutes: 5,
    });
    const on = await mention([luca.id]);
    await sql(`update notifications set emailed_at = now() where id = $1`, [off.notice(luca.id)]);
    await backdate([on.notice(luca.id)], 6);
    await run();
    const mails = await mailsTo(luca.email);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.text).toContain(`#note-${on.note.id}`);
  });

  it('emails the owner of a webhook turned off after failures, linking to Settings > Webhooks', async () => {
    const { sara } = users;
    const before = (await mailsTo(sara.email)).length;
    const { workspace } = await sara.api.json('GET', '/api/auth/me');
    // What the webhook sender does when it turns one off (server/webhooks/webhook-sender.ts).
    const notice = await inTenant(filo.orm, systemActor(workspace.id), (uow) =>
      filo.services.notifications.create(uow, sara.id, {
        type: 'webhook_disabled',
        title: 'Webhook to https://erp.example/hook turned off: 20 failed deliveries in a row',
        data: {
          webhookId: crypto.randomUUID(),
          url: 'https://erp.example/hook',
          reason: '20 failed deliveries in a row',
        },
      }),
    );
    await backdate([notice.id], 16);
    await run();
    const mails = await mailsTo(sara.email);
    expect(mails).toHaveLength(before + 1);
    const mail = mails.at(-1)!;
    expect(mail.subject).toBe('Your webhook to https://erp.example/hook was turned off');
    expect(mail.text).toContain('20 failed deliveries in a row');
    expect(mail.text).toContain(`${filo.config.publicUrl}/settings/webhooks`);
  });

  it('sends nothing to a member removed from the workspace', async () => {
    const { luca } = users;
    const before = (await mailsTo(luca.email)).length;
    const { notice } = await mention([luca.id]);
    await backdate([notice(luca.id)], 60);
    const res = await demo.call('DELETE', `/api/team/members/${luca.id}`);
    expect(res.status).toBe(204);
    await run();
    expect(await mailsTo(luca.email)).toHaveLength(before);
    const [row] = await sql<{ emailed_at: Date | null }>(`select emailed_at from notifications where id = $1`, [
      notice(luca.id),
    ]);
    expect(row!.emailed_at).toBeNull();
  });

  it('with the daily digest, sends one mail at 08:00 of the workspace’s time zone', async () => {
    const { mario } = users;
    await mario.api.json('PUT', '/api/auth/me/notification-prefs', { ...DEFAULT_NOTIFICATION_PREFS, digest: 'daily' });
    await sql(
      `update tenants set time_zone = 'America/New_York' where id = (select tenant_id from notifications limit 1)`,
    );
    // Everything else is settled: the job below runs at a later date, when every delay has passed.
    await sql(`update notifications set emailed_at = now() where emailed_at is null`);
    const a = await mention([mario.id], 'Digest Uno');
    const b = await mention([mario.id], 'Digest Due');
    // 07:30 and 07:40 UTC on 10 January 2030 = 02:30 and 02:40 in New York.
    await sql(`update notifications set created_at = $2 where id = $1`, [a.notice(mario.id), '2030-01-10T07:30:00Z']);
    await sql(`update notifications set created_at = $2 where id = $1`, [b.notice(mario.id), '2030-01-10T07:40:00Z']);
    // 12:30 UTC is 07:30 in New York (past 08:00 in UTC or in Rome): not yet.
    await run(new Date('2030-01-10T12:30:00Z'));
    expect(await mailsTo(mario.email)).toHaveLength(0);
    await run(new Date('2030-01-10T13:00:30Z'));
    const mails = await mailsTo(mario.email);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toMatch(/^Your daily summary of .+: 2 unread notifications$/);
    expect(mails[0]!.text).toContain('Digest Uno');
    expect(mails[0]!.text).toContain('Digest Due');
    await run(new Date('2030-01-11T13:00:30Z'));
    expect(await mailsTo(mario.email)).toHaveLength(1);
  });
});

describe('notification preferences API', () => {
  it('answers the defaults, saves a valid change and refuses bad input with 400 and nothing written', async () => {
    const { mario } = users;
    await mario.api.json('PUT', '/api/auth/me/notification-prefs', {});
    expect(await mario.api.json('GET', '/api/auth/me/notification-prefs')).toEqual(DEFAULT_NOTIFICATION_PREFS);
    const saved = await mario.api.json('PUT', '/api/auth/me/notification-prefs', {
      browser: false,
      emailAfterMinutes: 30,
      digest: 'off',
      emailTypes: ['mention', 'mention', 'task_reminder'],
    });
    expect(saved).toEqual({
      browser: false,
      emailAfterMinutes: 30,
      digest: 'off',
      emailTypes: ['mention', 'task_reminder'],
    });
    for (const bad of [
      { emailAfterMinutes: 0 },
      { emailAfterMinutes: 'soon' },
      { digest: 'weekly' },
      { emailTypes: ['account_error'] },
      { browser: 'yes' },
      { unknown: true },
    ]) {
      const res = await mario.api.call('PUT', '/api/auth/me/notification-prefs', bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect(await errorCode(res)).toBe('validation_failed');
    }
    expect(await mario.api.json('GET', '/api/auth/me/notification-prefs')).toEqual(saved);
    const anonymous = await fetch(`${filo.baseUrl}/api/auth/me/notification-prefs`);
    expect(anonymous.status).toBe(401);
  });
});
