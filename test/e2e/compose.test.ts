import { generateKeyPairSync } from 'node:crypto';
import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { pageApi, useE2e } from '../support/e2e.ts';

/**
 * The composer in Chromium: a reply written from a template in the conversation view goes out (here: into the
 * development outbox, as no relay is configured), shows in the conversation, and is listed at /dev/outbox marked
 * as not sent. Templates and signatures are set up through their settings screens.
 */

const e2e = useE2e('compose');

const api = pageApi;

describe('composer', () => {
  it('replies with a template and a signature; the reply is in the conversation and in /dev/outbox', async () => {
    const context = await e2e.newContext();
    const page = await context.newPage();
    await e2e.signIn(page, 'demo@filo.local');

    const mailbox = await api<{ id: string; inboundAddress: string }>(page, 'POST', '/api/inbox/mailboxes', {
      name: 'Assistenza',
      localPart: 'assistenza',
    });
    const company = await api<{ id: string }>(page, 'POST', '/api/crm/companies', {
      name: 'Officine Rossi',
      type: 'client',
    });
    await api(page, 'POST', '/api/crm/contacts', {
      firstName: 'Marta',
      lastName: 'Rossi',
      email: 'marta@officine-rossi.test',
      companyId: company.id,
    });

    // Settings > Templates: a template with tokens, made on its screen; an unknown token is refused there.
    await page.goto(`${e2e.filo.baseUrl}/settings/templates`);
    await page.locator('#template-new-name').fill('Ringraziamento');
    await page.locator('#template-new-body').fill('Ciao {{contact.nickname}}');
    await page.getByRole('button', { name: 'Add template' }).click();
    await expect
      .poll(() => page.getByRole('alert').filter({ hasText: 'Unknown token' }).textContent())
      .toMatch(/Unknown token.*line 1, column 6/);
    await page.locator('#template-new-body').fill('Ciao ');
    await page.getByRole('button', { name: 'Insert contact.first_name' }).click();
    await page.locator('#template-new-body').press('End');
    await page.locator('#template-new-body').pressSequentially(', grazie per averci scritto.');
    await page.getByRole('button', { name: 'Add template' }).click();
    await expect.poll(() => page.getByTestId('templates').textContent()).toContain('Ringraziamento');

    // Settings > Signatures: my default signature.
    await page.getByRole('link', { name: 'Signatures' }).click();
    await page.locator('#signature-default').fill('{{user.name}} · Assistenza clienti');
    await page.getByRole('button', { name: 'Save Your default' }).click();
    await expect.poll(() => page.getByText('Signature saved.').count()).toBeGreaterThan(0);

    // Settings > Mailboxes: a DKIM key for the mailbox; the DNS record to publish is shown, the key never again.
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    await page.getByRole('link', { name: 'Mailboxes' }).click();
    await page.getByRole('button', { name: 'Edit Assistenza' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit mailbox' });
    await dialog.getByLabel('DKIM signing').check();
    await dialog.getByLabel('Selector').fill('filo');
    await dialog.getByLabel('Private key (PEM)').fill(privateKey);
    await dialog.getByRole('button', { name: 'Update sending' }).click();
    const record = dialog.getByLabel(`Publish this TXT record at filo._domainkey.demo.inbound.localhost:`);
    await expect.poll(() => record.inputValue(), { timeout: 10_000 }).toMatch(/^v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]+$/);
    expect(await dialog.getByLabel('Private key (PEM)').inputValue()).toBe('');
    await dialog.getByRole('button', { name: 'Close' }).click();

    // The customer writes in.
    const smtp = nodemailer.createTransport({
      host: '127.0.0.1',
      port: e2e.filo.smtpPort,
      secure: false,
      ignoreTLS: true,
    });
    await smtp.sendMail({
      from: '"Marta Rossi" <marta@officine-rossi.test>',
      to: mailbox.inboundAddress,
      subject: 'Ricambi freni',
      text: 'Buongiorno, avete i dischi?',
      messageId: '<ricambi-1@officine-rossi.test>',
    });
    smtp.close();
    let conversationId = '';
    await expect
      .poll(
        async () => {
          const list = await api<{ items: { id: string; subject: string }[] }>(page, 'GET', '/api/inbox/conversations');
          conversationId = list.items.find((c) => c.subject === 'Ricambi freni')?.id ?? '';
          return conversationId;
        },
        { timeout: 20_000 },
      )
      .not.toBe('');

    // The conversation view's composer: the template fills the body for Marta, the signature is there to edit.
    await page.goto(`${e2e.filo.baseUrl}/inbox/${conversationId}`);
    const composer = page.getByTestId('composer');
    await expect
      .poll(() => composer.getByLabel('Signature').inputValue(), { timeout: 10_000 })
      .toBe('{{user.name}} · Assistenza clienti');
    await composer.getByLabel('Template').selectOption({ label: 'Ringraziamento' });
    await expect
      .poll(() => composer.getByLabel('Message', { exact: true }).inputValue(), { timeout: 10_000 })
      .toBe('Ciao Marta, grazie per averci scritto.');
    await composer.getByLabel('Message', { exact: true }).press('End');
    await composer.getByLabel('Message', { exact: true }).pressSequentially('\n\nI dischi sono **disponibili**.');
    await composer.getByRole('button', { name: 'Preview' }).click();
    await expect.poll(() => page.getByTestId('composer-preview').innerHTML()).toContain('<strong>disponibili</strong>');
    await composer.getByRole('button', { name: 'Send' }).click();
    await expect
      .poll(() => page.getByText('Reply queued: it goes out in a moment.').count(), { timeout: 10_000 })
      .toBeGreaterThan(0);

    // The composer follows the delivery of what it queued.
    await expect
      .poll(() => composer.getByTestId('delivery-status').getAttribute('data-status'), { timeout: 15_000 })
      .toBe('sent');

    // In the conversation: the outgoing message (its HTML in the sandboxed frame), once the job has sent it.
    const cards = page.getByTestId('email-message');
    await expect.poll(() => cards.count(), { timeout: 20_000 }).toBe(2);
    await expect
      .poll(() => cards.nth(1).frameLocator('iframe').locator('body').textContent(), { timeout: 10_000 })
      .toContain('I dischi sono disponibili.');
    expect(await cards.nth(1).frameLocator('iframe').locator('strong').textContent()).toBe('disponibili');
    await expect
      .poll(
        async () => {
          const c = await api<{ messages: { direction: string; status: string | null }[] }>(
            page,
            'GET',
            `/api/inbox/conversations/${conversationId}`,
          );
          return c.messages.map((m) => `${m.direction}:${m.status ?? ''}`);
        },
        { timeout: 20_000 },
      )
      .toEqual(['inbound:', 'outbound:sent']);

    // /dev/outbox: kept, clearly not sent, with its threading headers and the signature.
    await page.goto(`${e2e.filo.baseUrl}/dev/outbox`);
    const kept = page.getByTestId('outbox-item').filter({ hasText: 'Re: Ricambi freni' });
    await expect.poll(() => kept.count(), { timeout: 10_000 }).toBe(1);
    const text = (await kept.textContent()) ?? '';
    expect(text).toContain('Not sent');
    expect(text).toContain('DKIM-signed');
    expect(text).toContain('marta@officine-rossi.test');
    expect(text).toContain('<ricambi-1@officine-rossi.test>');
    expect(text).toContain('Ciao Marta, grazie per averci scritto.');
    expect(text).toMatch(/-- \n?.*· Assistenza clienti/);
  });

  it('starts a new conversation from the New message screen', async () => {
    const context = await e2e.newContext();
    const page = await context.newPage();
    await e2e.signIn(page, 'demo@filo.local');
    await page.goto(`${e2e.filo.baseUrl}/compose`);
    await page.getByLabel('To').fill('nuovo@cliente.test');
    await page.getByLabel('Subject').fill('Presentazione');
    await page.getByLabel('Message', { exact: true }).fill('Buongiorno, vi presentiamo Filo.');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.waitForURL(/\/inbox\/[0-9a-f-]{36}$/);
    // Sent by a background job: the outbox page lists what was kept when it loads.
    const conversationId = page.url().split('/').at(-1)!;
    await expect
      .poll(
        async () =>
          (
            await pageApi<{ messages: { status: string | null }[] }>(
              page,
              'GET',
              `/api/inbox/conversations/${conversationId}`,
            )
          ).messages.map((m) => m.status),
        { timeout: 30_000 },
      )
      .toEqual(['sent']);
    await page.goto(`${e2e.filo.baseUrl}/dev/outbox`);
    await expect
      .poll(() => page.getByTestId('outbox-item').filter({ hasText: 'Presentazione' }).count(), { timeout: 10_000 })
      .toBe(1);
  });
});
