import { describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { DEMO, login } from '../support/harness.ts';
import { pageApi, useE2e } from '../support/e2e.ts';

/**
 * The Italian interface says the timeline and the notifications in Italian: the sentences come from each
 * activity's and notification's typed payload (names, stages, subjects), never from the server's English title.
 */

const e2e = useE2e('timeline-i18n');

/** Polls a condition with a deadline (a busy machine may take seconds); never a fixed sleep. */
const poll = <T>(fn: () => Promise<T> | T, timeout = 15_000) => expect.poll(fn, { timeout });

/** An API call as Sara (another member), from outside the browser. */
async function asSara<T>(cookie: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${e2e.filo.baseUrl}${path}`, {
    method,
    headers: { cookie, origin: e2e.filo.baseUrl, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

describe('the Italian interface', () => {
  it('shows activity and notification texts in Italian', async () => {
    const page = await (await e2e.newContext()).newPage();
    await e2e.signIn(page, DEMO.email);
    await pageApi(page, 'PATCH', '/api/auth/me', { locale: 'it' });
    const sara = await login(e2e.filo.baseUrl, { email: 'sara@filo.local', password: DEMO.password });
    const members = await pageApi<{ items: { userId: string; email: string }[] }>(page, 'GET', '/api/team/members');
    const demoId = members.items.find((m) => m.email === DEMO.email)!.userId;

    const company = await pageApi<{ id: string }>(page, 'POST', '/api/crm/companies', {
      name: 'Ferramenta Rossi',
      type: 'client',
    });
    const deal = await pageApi<{ id: string }>(page, 'POST', '/api/crm/deals', {
      title: 'Fornitura viti',
      companyId: company.id,
      stage: 'lead',
    });
    await pageApi(page, 'PATCH', `/api/crm/deals/${deal.id}`, { stage: 'won' });

    // The card's timeline, in Italian: who did what to which record, from the payloads.
    await page.goto(`${e2e.filo.baseUrl}/companies/${company.id}`);
    await page.getByRole('tab', { name: /^Cronologia/ }).click();
    const items = page.getByTestId('timeline-item');
    await poll(() => items.count()).toBe(3);
    const timeline = async () => (await items.allTextContents()).join('\n');
    expect(await timeline()).toContain('Demo ha aggiunto l’azienda Ferramenta Rossi');
    expect(await timeline()).toContain('Demo ha spostato la trattativa Fornitura viti');
    expect(await timeline()).toContain('Trattativa spostata in Vinta');
    expect(await timeline()).not.toMatch(/created|moved/i);

    // Sara mentions the owner on the card: the note arrives live, the toast and the bell speak Italian.
    await asSara(sara, 'POST', '/api/crm/notes', {
      entityType: 'company',
      entityId: company.id,
      content: 'Chiamare il cliente domani',
      mentions: [demoId],
    });
    await poll(() => items.first().textContent()).toContain('Sara ha aggiunto una nota');
    await poll(() => page.getByTestId('toast').textContent()).toContain('Sara Bianchi ti ha menzionato');

    // Sara assigns the owner a conversation of the shared inbox: another notification, in Italian too.
    const mailbox = await pageApi<{ inboundAddress: string }>(page, 'POST', '/api/inbox/mailboxes', {
      name: 'Assistenza',
      localPart: 'assistenza',
    });
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: e2e.filo.smtpPort,
      secure: false,
      ignoreTLS: true,
    });
    await transport.sendMail({
      from: 'Mario Rossi <mario@ferramenta-rossi.example>',
      to: mailbox.inboundAddress,
      subject: 'Ordine in ritardo',
      text: 'Il nostro ordine non è ancora arrivato.',
    });
    transport.close();
    let conversationId = '';
    await poll(async () => {
      const list = await asSara<{ items: { id: string; subject: string }[] }>(sara, 'GET', '/api/inbox/conversations');
      conversationId = list.items.find((c) => c.subject === 'Ordine in ritardo')?.id ?? '';
      return conversationId;
    }).not.toBe('');
    await asSara(sara, 'PATCH', `/api/inbox/conversations/${conversationId}`, { assigneeId: demoId });

    await page.goto(`${e2e.filo.baseUrl}/notifications`);
    const notifications = page.getByTestId('notification');
    await poll(() => notifications.count()).toBe(2);
    const texts = (await notifications.allTextContents()).join('\n');
    expect(texts).toContain('Sara Bianchi ti ha assegnato “Ordine in ritardo”');
    expect(texts).toContain('Sara Bianchi ti ha menzionato su Ferramenta Rossi');
    expect(texts).not.toMatch(/mentioned|assigned/);
  }, 120_000);
});
