import { describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { apiClient, login } from '../support/harness.ts';
import { useE2e } from '../support/e2e.ts';

/** A permanent bounce shows on the contact's details panel in Chromium: the marker and the server's reason. */

const e2e = useE2e('contact-bounce');

describe('contact details', () => {
  it('shows that mail to the contact bounces, and why', async () => {
    const owner = apiClient(e2e.filo.baseUrl, await login(e2e.filo.baseUrl));
    const support = await owner.json<{ inboundAddress: string }>('POST', '/api/inbox/mailboxes', {
      name: 'Support',
      localPart: 'support',
    });
    const contact = await owner.json<{ id: string }>('POST', '/api/crm/contacts', {
      firstName: 'Gino',
      lastName: 'Partito',
      email: 'gino@bounce-e2e.test',
    });
    const page = await (await e2e.newContext()).newPage();
    await e2e.signIn(page, 'demo@filo.local');
    await page.goto(`${e2e.filo.baseUrl}/contacts/${contact.id}`);
    await expect.poll(() => page.getByRole('heading', { name: 'Gino Partito' }).count()).toBe(1);
    expect(await page.getByTestId('contact-bounce').count()).toBe(0);

    const dsn = [
      'From: MAILER-DAEMON@mx.bounce-e2e.test',
      `To: ${support.inboundAddress}`,
      'Subject: Undelivered Mail Returned to Sender',
      'Message-ID: <dsn-e2e-1@mx.bounce-e2e.test>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="r1"',
      '',
      '--r1',
      'Content-Type: text/plain',
      '',
      'Your message could not be delivered.',
      '--r1',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.bounce-e2e.test',
      '',
      'Final-Recipient: rfc822; gino@bounce-e2e.test',
      'Action: failed',
      'Status: 5.1.1',
      'Diagnostic-Code: smtp; 550 5.1.1 <gino@bounce-e2e.test>: Recipient address rejected',
      '',
      '--r1--',
      '',
    ].join('\r\n');
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: e2e.filo.smtpPort,
      secure: false,
      ignoreTLS: true,
    });
    await transport.sendMail({ envelope: { from: '', to: support.inboundAddress }, raw: dsn });
    transport.close();
    let reason = '';
    await expect
      .poll(
        async () => {
          const c = await owner.json<{ emailBounceReason: string | null }>('GET', `/api/crm/contacts/${contact.id}`);
          return (reason = c.emailBounceReason ?? '');
        },
        { timeout: 20_000 },
      )
      .toContain('Recipient address rejected');

    await page.reload();
    const marker = page.getByTestId('contact-bounce');
    await expect.poll(() => marker.count(), { timeout: 10_000 }).toBe(1);
    expect(await marker.innerText()).toContain('Mail to this address bounces');
    expect(await page.getByTestId('contact-bounce-reason').innerText()).toBe(reason);
    // It sits in the details panel.
    expect(await page.getByRole('region', { name: 'Details' }).getByTestId('contact-bounce').count()).toBe(1);
  }, 90_000);
});
