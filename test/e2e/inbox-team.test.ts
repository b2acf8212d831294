import { beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import type { Locator, Page } from 'playwright-core';
import { apiClient, DEMO, login, type ApiClient } from '../support/harness.ts';
import { useE2e } from '../support/e2e.ts';

/**
 * Two agents on the shared inbox in two browsers: each sees the other on the conversation (viewing,
 * replying…), and what one changes (status, assignee, new mail) shows in the other's list without a reload;
 * the keyboard drives the inbox (j/k, r, e, a).
 */

const e2e = useE2e('inbox-team');
const poll = <T>(fn: () => Promise<T> | T, timeout = 15_000) => expect.poll(fn, { timeout });

let owner: ApiClient;
let support: { id: string; inboundAddress: string };

beforeAll(async () => {
  owner = apiClient(e2e.filo.baseUrl, await login(e2e.filo.baseUrl));
  support = await owner.json('POST', '/api/inbox/mailboxes', { name: 'Support', localPart: 'support' });
});

async function deliver(subject: string, text: string, extra: Record<string, unknown> = {}) {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: e2e.filo.smtpPort,
    secure: false,
    ignoreTLS: true,
  });
  try {
    await transport.sendMail({
      from: 'Marta Cliente <marta@cliente-e2e.test>',
      to: support.inboundAddress,
      subject,
      text,
      ...extra,
    });
  } finally {
    transport.close();
  }
}

/** The conversation's id once the gateway has processed it. */
async function conversationId(subject: string): Promise<string> {
  let id = '';
  await poll(async () => {
    const page = await owner.json<{ items: { id: string; subject: string }[] }>('GET', '/api/inbox/conversations');
    id = page.items.find((c) => c.subject === subject)?.id ?? '';
    return id;
  }, 20_000).not.toBe('');
  return id;
}

const item = (page: Page, subject: string): Locator =>
  page.getByTestId('conversation-item').filter({ hasText: subject });
const presence = (page: Page) =>
  page
    .getByTestId('presence-avatar')
    .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-user')}:${e.getAttribute('data-state')}`));
const viewCount = (page: Page, view: string) =>
  page.locator(`[data-testid="inbox-view"][data-view="${view}"] [data-testid="count-total"]`).textContent();

describe('the shared inbox with two agents', () => {
  it('shows each agent to the other and keeps the other’s list live; the keyboard drives it', async () => {
    await deliver('Freni rumorosi', 'I freni fanno rumore.', { messageId: '<freni-1@cliente-e2e.test>' });
    await deliver('Fattura di marzo', 'Manca la fattura.');
    const freni = await conversationId('Freni rumorosi');
    const fattura = await conversationId('Fattura di marzo');

    const a = await (await e2e.newContext()).newPage();
    const b = await (await e2e.newContext()).newPage();
    await e2e.signIn(a, DEMO.email);
    await e2e.signIn(b, 'luca@filo.local');
    await a.goto(`${e2e.filo.baseUrl}/inbox/${freni}`);
    await b.goto(`${e2e.filo.baseUrl}/inbox/${freni}`);

    // Presence: each sees the other, viewing.
    await poll(() => presence(a)).toEqual(['Luca Verdi:viewing']);
    await poll(() => presence(b)).toEqual(['Demo Owner:viewing']);
    expect(await a.getByTestId('presence-text').textContent()).toContain('Luca is viewing');

    // Unread: the open conversation is read, the other one is bold in the list.
    await poll(() => item(b, 'Fattura di marzo').getAttribute('data-unread')).toBe('true');
    await poll(() => item(b, 'Freni rumorosi').getAttribute('data-unread')).toBe('false');
    await poll(() => viewCount(b, 'mine')).toBe('0');

    // A marks it pending and assigns it to Luca: B's list and conversation follow, without a reload.
    await b.evaluate(() => ((globalThis as unknown as { inboxMark: number }).inboxMark = 7));
    await a.getByTestId('status-pending').click();
    await poll(() => item(b, 'Freni rumorosi').getAttribute('data-status')).toBe('pending');
    await poll(() => b.getByTestId('conversation-status-badge').textContent()).toBe('Pending');
    await a.getByTestId('assignee-select').selectOption({ label: 'Luca Verdi' });
    await poll(() => item(b, 'Freni rumorosi').getByTestId('conversation-assignee').textContent()).toContain(
      'Luca Verdi',
    );
    await poll(() => viewCount(b, 'mine')).toBe('1');
    await poll(() => b.getByTestId('assignee-select').inputValue()).toBe(
      (await owner.json('GET', `/api/inbox/conversations/${freni}`)).assigneeId,
    );

    // B presses r and starts a reply: A sees "Luca is replying…".
    await b.locator('body').click({ position: { x: 5, y: 5 } });
    await b.keyboard.press('r');
    await poll(() =>
      b.evaluate(
        () =>
          (globalThis as unknown as { document: { activeElement: { tagName: string } | null } }).document.activeElement
            ?.tagName,
      ),
    ).toBe('TEXTAREA');
    await b.keyboard.type('Stiamo verificando.');
    await poll(() => presence(a)).toEqual(['Luca Verdi:replying']);
    expect(await a.getByTestId('presence-text').textContent()).toContain('Luca is replying…');

    // New mail from the customer on the conversation: both see it at once; it is read for whoever has it open.
    await deliver('Re: Freni rumorosi', 'Anche in retromarcia.', {
      inReplyTo: '<freni-1@cliente-e2e.test>',
      references: ['<freni-1@cliente-e2e.test>'],
    });
    await poll(() => b.getByTestId('email-message').count(), 20_000).toBe(2);
    await poll(() => a.getByTestId('email-message').count(), 20_000).toBe(2);
    expect(await item(a, 'Freni rumorosi').getAttribute('data-unread')).toBe('false');
    // Customer mail is no collision.
    expect(await b.getByTestId('reply-collision').count()).toBe(0);

    // A replies while Luca drafts: Luca sees the reply at once, with a warning; A does not.
    const sent = await a.evaluate(async (id) => {
      const res = await fetch(`/api/inbox/conversations/${id}/replies`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ body: 'Li controlliamo domani mattina.' }),
      });
      return res.status;
    }, freni);
    expect(sent).toBe(202);
    await poll(() => b.getByTestId('email-message').count()).toBe(3);
    await poll(() => b.getByTestId('reply-collision').textContent()).toContain('Demo Owner just replied');
    await poll(() => a.getByTestId('email-message').count()).toBe(3);
    expect(await a.getByTestId('reply-collision').count()).toBe(0);

    // Luca sends: he is asked first. "Don't send" keeps his draft; "Send anyway" sends it.
    const reply = b.getByTestId('reply-area');
    await reply.getByRole('button', { name: 'Send', exact: true }).click();
    const collision = b.getByTestId('reply-collision');
    await poll(() => collision.textContent()).toContain('Send yours anyway?');
    await collision.getByRole('button', { name: 'Don’t send' }).click();
    await poll(() => collision.getByRole('button', { name: 'Send anyway' }).count()).toBe(0);
    expect(await reply.locator('textarea').first().inputValue()).toBe('Stiamo verificando.');
    expect(await b.getByTestId('email-message').count()).toBe(3);
    await reply.getByRole('button', { name: 'Send', exact: true }).click();
    await collision.getByRole('button', { name: 'Send anyway' }).click();
    await poll(() => b.getByTestId('email-message').count()).toBe(4);
    await poll(() => a.getByTestId('email-message').count()).toBe(4);
    await poll(() => b.getByTestId('reply-collision').count()).toBe(0);
    // A did not have a draft: Luca's reply is news for A, not a collision.
    expect(await a.getByTestId('reply-collision').count()).toBe(0);

    // The keyboard, on A: j goes to the next conversation, a assigns it to A, e closes it.
    await a.locator('body').click({ position: { x: 5, y: 5 } });
    await a.keyboard.press('j');
    await a.waitForURL(`**/inbox/${fattura}`);
    await poll(() => a.getByTestId('conversation-title').textContent()).toContain('Fattura di marzo');
    await poll(() => item(b, 'Fattura di marzo').count()).toBe(1);
    await a.keyboard.press('a');
    await poll(() => item(b, 'Fattura di marzo').getByTestId('conversation-assignee').textContent()).toContain(
      'Demo Owner',
    );
    await a.keyboard.press('e');
    await poll(() => item(b, 'Fattura di marzo').getAttribute('data-status')).toBe('closed');
    await a.keyboard.press('k');
    await a.waitForURL(`**/inbox/${freni}`);
    // Back on Luca's conversation, A sees him there again.
    await poll(() => presence(a)).toEqual([expect.stringMatching(/^Luca Verdi:(viewing|replying)$/)]);

    // A's sidebar counts follow A's own changes: Fattura is A's (closed), Freni is Luca's.
    await poll(() => viewCount(a, 'mine')).toBe('1');
    await poll(() => viewCount(a, 'unassigned')).toBe('0');
    // Nothing on B's page was reloaded.
    expect(await b.evaluate(() => (globalThis as unknown as { inboxMark?: number }).inboxMark)).toBe(7);
    const state = await owner.json('GET', `/api/inbox/conversations/${fattura}`);
    expect(state).toMatchObject({ status: 'closed' });
  }, 120_000);
});
