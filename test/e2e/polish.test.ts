import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import type { BrowserContext, Page } from 'playwright-core';
import {
  ACTIVITY_TYPES,
  NOTIFICATION_TYPES,
  checkNotification,
  checkPayload,
  type ActivityType,
  type NotificationType,
} from '#contracts/timeline';
import { DEMO } from '../support/harness.ts';
import { withAdmin } from '../support/postgres.ts';
import { pageApi, useE2e } from '../support/e2e.ts';

/**
 * The first hour's rough edges, in Chromium: the inbox's reading pane (compact controls, the reply fixed at the
 * bottom, HTML mail that reads like mail), a toast for a new conversation elsewhere in the app, the empty inbox
 * saying where to write, the search palette's recent records and formatted hits, Markdown lists on timelines,
 * and every activity and notification type said in Italian.
 */

const e2e = useE2e('polish');
const poll = <T>(fn: () => Promise<T> | T, timeout = 15_000) => expect.poll(fn, { timeout });

async function send(to: string, subject: string, body: { text?: string; html?: string }) {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: e2e.filo.smtpPort,
    secure: false,
    ignoreTLS: true,
  });
  try {
    await transport.sendMail({ from: 'Giulia Verdi <giulia@caseificio.example>', to, subject, ...body });
  } finally {
    transport.close();
  }
}

/** Browser globals of the page functions below (the tests compile without the DOM library). */
interface Scroller {
  scrollTop: number;
  scrollHeight: number;
  clientHeight: number;
}

/** The background-notification offer (a fixed panel at the bottom right) already declined: it covers toasts. */
const declineOffer = (context: BrowserContext) =>
  context.addInitScript(() =>
    (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem(
      'filo.notify.banner-dismissed',
      '1',
    ),
  );

async function signedIn(): Promise<Page> {
  const context = await e2e.newContext();
  await declineOffer(context);
  const page = await context.newPage();
  await e2e.signIn(page, DEMO.email);
  return page;
}

describe('the inbox', () => {
  it('shows the address to write to when empty, toasts a new conversation elsewhere, and keeps the reply at the bottom', async () => {
    const page = await signedIn();
    const mailbox = await pageApi<{ inboundAddress: string }>(page, 'POST', '/api/inbox/mailboxes', {
      name: 'Support',
      localPart: 'support',
    });

    // Empty: the address mail lands here from, copyable.
    await page.goto(`${e2e.filo.baseUrl}/inbox`);
    const writeTo = page.getByTestId('inbox-write-to');
    await poll(() => writeTo.isVisible()).toBe(true);
    expect(await writeTo.getByRole('textbox').inputValue()).toBe(mailbox.inboundAddress);
    expect(await writeTo.getByRole('button', { name: /copy/i }).count()).toBe(1);

    // Elsewhere in the app, a new conversation comes with a toast that opens it.
    await page.goto(`${e2e.filo.baseUrl}/companies`);
    const lines = Array.from({ length: 120 }, (_, i) => `Riga ${i + 1} del messaggio sulla consegna.`).join('\n');
    await send(mailbox.inboundAddress, 'Consegna di lunedì', {
      text: lines,
      html: `<p>${lines.replaceAll('\n', '<br>')}</p>`,
    });
    const toast = page.getByTestId('toast').filter({ hasText: 'New conversation in Support' });
    await poll(() => toast.count(), 25_000).toBe(1);
    expect(await toast.textContent()).toContain('Consegna di lunedì');
    await toast.getByRole('button', { name: 'Open' }).click();
    await page.waitForURL(/\/inbox\/[0-9a-f-]{36}$/);
    await poll(() => page.getByTestId('conversation-title').textContent()).toContain('Consegna di lunedì');

    // The reading pane: controls in a compact header, messages scrolling, the reply fixed at the bottom.
    const header = page.getByTestId('conversation-header');
    // Subject, facts and one wrapping toolbar row (the old header, three rows of controls and links, took 300 px).
    expect((await header.boundingBox())!.height).toBeLessThan(240);
    const composer = page.getByTestId('composer');
    const messages = page.getByTestId('conversation-messages');
    await poll(() => page.getByTestId('email-frame').count()).toBe(1);
    const before = (await composer.boundingBox())!;
    expect(before.y).toBeLessThan(900);
    const scrolled = await messages.evaluate((el) => {
      const pane = el as unknown as Scroller;
      pane.scrollTop = pane.scrollHeight;
      return { top: pane.scrollTop, overflows: pane.scrollHeight > pane.clientHeight };
    });
    expect(scrolled.overflows).toBe(true);
    expect(scrolled.top).toBeGreaterThan(0);
    const after = (await composer.boundingBox())!;
    expect(after.y).toBe(before.y);
    expect(await page.evaluate(() => (globalThis as unknown as { scrollY: number }).scrollY)).toBe(0);

    // The HTML body reads like mail: no field border, a white page.
    const frame = await page.getByTestId('email-frame').evaluate((el) => {
      const style = (
        globalThis as unknown as { getComputedStyle(e: unknown): Record<string, string> }
      ).getComputedStyle(el);
      return { border: style.borderTopWidth, background: style.backgroundColor, resize: style.resize };
    });
    expect(frame).toEqual({ border: '0px', background: 'rgb(255, 255, 255)', resize: 'none' });
  }, 90_000);
});

describe('search and timelines', () => {
  it('offers recent records and quick actions, formats amounts, and renders Markdown lists on the timeline', async () => {
    const page = await signedIn();
    const company = await pageApi<{ id: string }>(page, 'POST', '/api/crm/companies', {
      name: 'Caseificio Gualtieri S.r.l.',
      type: 'client',
    });
    await pageApi(page, 'POST', '/api/crm/deals', {
      companyId: company.id,
      title: 'Linea di confezionamento',
      value: 185000,
      currency: 'EUR',
    });
    await pageApi(page, 'POST', '/api/crm/notes', {
      entityType: 'company',
      entityId: company.id,
      content: 'Visita di **martedì**:\n\n- prezzo\n- tempi\n- garanzia',
    });

    // The timeline shows the note's list as a list.
    await page.goto(`${e2e.filo.baseUrl}/companies/${company.id}?tab=timeline`);
    const excerpt = page.getByTestId('timeline-excerpt').first();
    await poll(() => excerpt.locator('li').count()).toBe(3);
    expect(await excerpt.locator('li').allTextContents()).toEqual(['prezzo', 'tempi', 'garanzia']);
    expect(await excerpt.textContent()).not.toContain('**');

    // The company was opened: the empty palette offers it, then the quick actions.
    await page.goto(`${e2e.filo.baseUrl}/contacts`);
    // Ctrl+K works once the app has started (its handler is on the window): press until the palette opens.
    const palette = page.getByRole('dialog');
    const openPalette = () =>
      poll(async () => {
        if (!(await palette.isVisible())) await page.keyboard.press('Control+k');
        return palette.isVisible();
      }).toBe(true);
    await openPalette();
    const options = page.getByRole('dialog').getByRole('option');
    await poll(async () => (await options.allTextContents())[0] ?? '').toContain('Caseificio Gualtieri S.r.l.');
    const texts = await options.allTextContents();
    expect(texts.some((x) => x.includes('Write an email'))).toBe(true);
    expect(await page.getByRole('dialog').textContent()).toContain('Recent');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${e2e.filo.baseUrl}/companies/${company.id}`);

    // A misspelt company name finds it; a deal's amount is formatted, never raw.
    await openPalette();
    await page.getByRole('combobox').fill('Gualteiri');
    await poll(async () => (await options.allTextContents())[0] ?? '').toContain('Caseificio Gualtieri S.r.l.');
    await page.getByRole('combobox').fill('confezionamento');
    const deal = options.filter({ hasText: 'Linea di confezionamento' });
    await poll(() => deal.count()).toBe(1);
    expect(await deal.textContent()).toContain('€185,000');
    expect(await deal.textContent()).not.toContain('185000');
    // The quick actions go somewhere.
    await page.getByRole('combobox').fill('');
    await options.filter({ hasText: 'Open the deals board' }).click();
    await page.waitForURL(`${e2e.filo.baseUrl}/deals`);
  }, 90_000);
});

/** A payload for every activity type, with Italian values (names, subjects) so that only UI words can leak. */
function samples(userId: string): Record<ActivityType, Record<string, unknown>> {
  const id = () => randomUUID();
  const conversation = { conversationId: id(), mailboxId: id(), subject: 'Ordine di formaggi' };
  const to = [{ address: 'giulia@caseificio.example', name: 'Giulia Verdi' }];
  const meeting = {
    meetingId: id(),
    title: 'Riunione mensile',
    kind: 'scheduled',
    status: 'scheduled',
    scheduledAt: new Date(Date.now() + 86_400_000).toISOString(),
    durationMinutes: 30,
  };
  const campaign = { campaignId: id(), campaignName: 'Novità', subject: 'Novità di dicembre' };
  const consent = {
    channel: 'email',
    address: 'giulia@caseificio.example',
    listName: 'Clienti',
    status: 'subscribed',
    source: 'form',
  };
  const task = {
    taskId: id(),
    title: 'Richiamare Giulia',
    dueAt: new Date(Date.now() + 3_600_000).toISOString(),
    assignee: { id: userId, name: 'Sara Bianchi' },
  };
  const note = { noteId: id(), noteType: 'general', recordName: 'Caseificio Rossi' };
  const document = { documentId: id(), fileName: 'listino.pdf', fileSize: 2048 };
  const sequence = { sequenceId: id(), sequenceName: 'Caseifici del nord', enrolmentId: id() };
  const messaging = { conversationId: id(), messageId: id(), channel: 'sms', party: '+393331234567' };
  const linked = {
    linkedRecordId: id(),
    kind: 'invoice',
    tab: 'invoices',
    source: 'gestionale',
    externalId: 'FT-2026-118',
    title: 'Fattura forniture dicembre',
    status: 'Emessa',
    state: 'pending',
    amount: '1250.00',
    currency: 'EUR',
    dueDate: '2026-12-31',
    url: 'https://gestionale.example/fatture/118',
  };
  return {
    'company.created': { name: 'Caseificio Rossi' },
    'company.updated': { name: 'Caseificio Rossi', changes: { industry: { from: 'Latte', to: 'Formaggi' } } },
    'company.deleted': { name: 'Caseificio Rossi' },
    'contact.created': { name: 'Giulia Verdi' },
    'contact.updated': { name: 'Giulia Verdi', changes: { role: { from: 'Acquisti', to: 'Direzione' } } },
    'contact.deleted': { name: 'Giulia Verdi' },
    'deal.created': { name: 'Fornitura mozzarelle' },
    'deal.updated': { name: 'Fornitura mozzarelle', changes: { probability: { from: 20, to: 40 } } },
    'deal.deleted': { name: 'Fornitura mozzarelle' },
    'deal.stage_changed': { name: 'Fornitura mozzarelle', from: 'lead', to: 'won', value: '1000.00', probability: 100 },
    'note.added': note,
    'note.updated': note,
    'note.deleted': note,
    'document.uploaded': document,
    'document.deleted': document,
    'email.received': { ...conversation, from: to[0], attachments: 1 },
    'email.auto_reply': { ...conversation, from: to[0] },
    'email.sent': { ...conversation, to, attachments: 0 },
    'email.opened': { ...conversation, to },
    'email.clicked': { ...conversation, to, url: 'https://caseificio.example/listino' },
    'email.bounced': { to: 'giulia@caseificio.example', status: '5.1.1', reason: 'casella inesistente' },
    'email.complained': { to: 'giulia@caseificio.example', feedbackType: 'abuse' },
    'campaign.sent': campaign,
    'campaign.opened': campaign,
    'campaign.clicked': { ...campaign, url: 'https://caseificio.example/offerta' },
    'consent.given': consent,
    'consent.withdrawn': { ...consent, status: 'unsubscribed' },
    'conversation.status_changed': { ...conversation, from: 'open', to: 'closed' },
    'conversation.assigned': { ...conversation, from: null, to: userId, assigneeName: 'Sara Bianchi' },
    'meeting.scheduled': meeting,
    'meeting.updated': { ...meeting, changed: ['scheduledAt'] },
    'meeting.cancelled': { ...meeting, status: 'cancelled' },
    'meeting.started': { ...meeting, status: 'in_progress' },
    'meeting.completed': { ...meeting, status: 'completed', durationSeconds: 600, participants: ['Giulia Verdi'] },
    'meeting.transcript_added': { ...meeting, noteId: id() },
    'meeting.recording_added': { ...meeting, recordingId: id(), recordingUrl: null, durationSeconds: 60 },
    'task.created': task,
    'task.updated': { ...task, changes: { title: { from: 'Richiamare', to: 'Richiamare Giulia' } } },
    'task.completed': task,
    'task.reopened': task,
    'task.deleted': task,
    'call.logged': {
      phone: '+39 02 1234567',
      contactName: 'Giulia Verdi',
      direction: 'outbound',
      outcome: 'no_answer',
      durationSeconds: 0,
      note: 'richiamare domani',
    },
    'sequence.enrolled': sequence,
    'sequence.step_sent': { ...sequence, stepId: id(), position: 2, subject: 'Re: Mozzarelle', from: 'sara@filo.test' },
    'sequence.stopped': { ...sequence, reason: 'replied' },
    'sequence.completed': sequence,
    'message.received': { ...messaging, partyName: 'Giulia Verdi' },
    'message.sent': messaging,
    'message.delivered': messaging,
    'message.read': messaging,
    'message.failed': { ...messaging, errorCode: '30003', error: 'telefono spento' },
    'linked_record.created': linked,
    'linked_record.updated': { ...linked, changes: ['amount', 'dueDate'] },
    'linked_record.status_changed': { ...linked, from: { status: 'Bozza', state: 'pending' } },
    'linked_record.deleted': linked,
    'linked_record.event': { ...linked, event: { title: 'Stagionatura completata', occurredAt: null } },
  };
}

function notificationSamples(): Record<NotificationType, Record<string, unknown>> {
  const soon = new Date(Date.now() + 3_600_000).toISOString();
  return {
    mention: { recordName: 'Caseificio Rossi' },
    assignment: { subject: 'Ordine di formaggi' },
    account_error: { email: 'sara@caseificio.example', error: 'credenziali rifiutate' },
    task_reminder: { taskId: randomUUID(), title: 'Richiamare Giulia', dueAt: soon },
    task_assigned: { taskId: randomUUID(), title: 'Preparare il preventivo', dueAt: soon },
    meeting_invitation: { meetingId: randomUUID(), title: 'Riunione mensile', startsAt: soon },
    sequence_reply: {
      sequenceId: randomUUID(),
      sequenceName: 'Caseifici del nord',
      contactName: 'Giulia Verdi',
      enrolmentId: randomUUID(),
    },
    sending_paused: { target: 'sara@caseificio.example', reason: 'troppi rimbalzi' },
    workflow_notice: { workflowId: randomUUID(), workflowName: 'Trattativa', message: 'Chiamare il cliente' },
    webhook_disabled: {
      webhookId: randomUUID(),
      url: 'https://erp.caseificio.example/hooks',
      reason: 'errori ripetuti',
    },
  };
}

/** Words of a text, lower case, 4 letters or more. */
const words = (s: string) => new Set(s.toLowerCase().match(/\p{L}{4,}/gu) ?? []);
/** Words English and Italian share, and the names of the people in the payloads. */
const SHARED = new Set([
  'email',
  'demo',
  'owner',
  'sara',
  'bianchi',
  'link',
  'spam',
  'lead',
  'file',
  'report',
  'newsletter',
  'webhook',
]);

describe('the Italian interface', () => {
  it('says every activity and notification type in Italian', async () => {
    const page = await signedIn();
    const company = await pageApi<{ id: string }>(page, 'POST', '/api/crm/companies', {
      name: 'Caseificio Rossi',
      type: 'client',
    });
    const me = await pageApi<{ user: { id: string } }>(page, 'GET', '/api/auth/me');
    const payloads = samples(me.user.id);
    expect(Object.keys(payloads).sort()).toEqual([...ACTIVITY_TYPES].sort());
    const notices = notificationSamples();
    expect(Object.keys(notices).sort()).toEqual([...NOTIFICATION_TYPES].sort());
    for (const [type, data] of Object.entries(payloads)) checkPayload(type, data);
    for (const [type, data] of Object.entries(notices)) checkNotification(type, data);

    // Written as the schema owner: rows exactly as the services would write them, English titles included.
    await withAdmin(e2e.databaseUrl, async (db) => {
      const { rows } = await db.query<{ tenant_id: string }>(`select tenant_id from companies where id = $1`, [
        company.id,
      ]);
      const tenant = rows[0]!.tenant_id;
      for (const type of ACTIVITY_TYPES) {
        const seq = await db.query<{ activity_seq: string }>(
          `update tenants set activity_seq = activity_seq + 1 where id = $1 returning activity_seq`,
          [tenant],
        );
        await db.query(
          `insert into activities (id, tenant_id, seq, entity_type, entity_id, company_id, activity_type, title,
             description, metadata, created_by)
           values ($1, $2, $3, 'company', $4, $4, $5, $6, $7, $8, $9)`,
          [
            randomUUID(),
            tenant,
            seq.rows[0]!.activity_seq,
            company.id,
            type,
            `Someone did ${type} (English title)`,
            type.startsWith('note.') && type !== 'note.deleted' ? 'Testo della nota' : null,
            JSON.stringify(payloads[type]),
            me.user.id,
          ],
        );
      }
      for (const type of NOTIFICATION_TYPES)
        await db.query(
          `insert into notifications (id, tenant_id, user_id, type, title, body, entity_type, entity_id, actor_id, data)
           values ($1, $2, $3, $4, $5, null, 'company', $6, $3, $7)`,
          [
            randomUUID(),
            tenant,
            me.user.id,
            type,
            `English title of ${type}`,
            company.id,
            JSON.stringify(notices[type]),
          ],
        );
    });

    const read = async () => {
      await page.goto(`${e2e.filo.baseUrl}/companies/${company.id}?tab=timeline`);
      const items = page.getByTestId('timeline-item');
      await poll(() => items.count()).toBeGreaterThan(0);
      // The timeline pages by 30: load the older entries until every type is there.
      const more = page.getByRole('button', { name: /^(Show older|Mostra le precedenti)$/ });
      await poll(async () => {
        if (await more.isVisible()) await more.click();
        return items.count();
      }).toBeGreaterThan(ACTIVITY_TYPES.length);
      const timeline = await items.evaluateAll((els) =>
        els.map((el) => ({
          type: (el as unknown as { dataset: { type: string } }).dataset.type,
          text: (el as unknown as { textContent: string }).textContent,
        })),
      );
      await page.goto(`${e2e.filo.baseUrl}/notifications`);
      const rows = page.getByTestId('notification');
      await poll(() => rows.count()).toBeGreaterThanOrEqual(NOTIFICATION_TYPES.length);
      return { timeline, notices: await rows.allTextContents() };
    };
    const english = await read();
    await pageApi(page, 'PATCH', '/api/auth/me', { locale: 'it' });
    const italian = await read();
    expect(italian.timeline.map((x) => x.type)).toEqual(english.timeline.map((x) => x.type));

    const values = words(JSON.stringify([payloads, notices, 'Caseificio Rossi', 'Testo della nota']));
    const leaks: string[] = [];
    const compare = (label: string, en: string, it: string) => {
      const itWords = words(it);
      const same = [...words(en)].filter((w) => itWords.has(w) && !SHARED.has(w) && !values.has(w));
      if (same.length) leaks.push(`${label}: ${same.join(', ')} in “${it.trim().replace(/\s+/g, ' ')}”`);
      if (/English title/.test(it)) leaks.push(`${label}: the server's English title`);
    };
    english.timeline.forEach((x, i) => compare(x.type, x.text, italian.timeline[i]!.text));
    english.notices.forEach((x, i) => compare(`notice ${i}`, x, italian.notices[i]!));
    expect(leaks).toEqual([]);
  }, 90_000);
});
