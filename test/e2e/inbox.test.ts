import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer';
import { DEMO } from '../support/harness.ts';
import { pageApi, useE2e } from '../support/e2e.ts';
import { withAdmin as withDatabase } from '../support/postgres.ts';

/**
 * The inbox in Chromium: a mailbox made in the settings, mail sent to its address over SMTP shows up live, and
 * its HTML is shown in a sandboxed frame where nothing runs and remote images wait for the reader.
 */

const e2e = useE2e('inbox');

const api = pageApi;

async function deliver(message: Mail.Options): Promise<string> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: e2e.filo.smtpPort,
    secure: false,
    ignoreTLS: true,
  });
  try {
    return (await transport.sendMail(message)).response;
  } finally {
    transport.close();
  }
}

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

describe('inbox screens', () => {
  it('creates a mailbox, shows mail to it live, in a sandboxed frame, and on the company timeline', async () => {
    const context = await e2e.browser.newContext({ locale: 'en-US', acceptDownloads: true });
    const page = await context.newPage();
    await page.goto(`${e2e.filo.baseUrl}/login`);
    await page.getByLabel('Email').fill(DEMO.email);
    await page.getByLabel('Password').fill(DEMO.password);
    await page.getByRole('button', { name: /sign in/i }).click();
    await page.waitForURL(`${e2e.filo.baseUrl}/`);

    const company = await api<{ id: string }>(page, 'POST', '/api/crm/companies', {
      name: 'Freni E2E Spa',
      type: 'client',
      website: 'https://www.freni-e2e.test/',
    });
    const contact = await api<{ id: string }>(page, 'POST', '/api/crm/contacts', {
      firstName: 'Giulia',
      lastName: 'Verdi',
      email: 'giulia.verdi@freni-e2e.test',
      companyId: company.id,
    });

    // Settings > Mailboxes: the local part previews the address; the server's field errors show by the field.
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('link', { name: 'Mailboxes' }).click();
    await page.waitForURL('**/settings/mailboxes');
    await expect.poll(() => page.getByText('No mailboxes yet.').count()).toBe(1);
    await page.locator('#mailbox-new-name').fill('Support');
    await page.locator('#mailbox-new-local').fill('no spaces');
    await page.getByRole('button', { name: 'Create mailbox' }).click();
    await expect.poll(() => page.locator('#mailbox-new-local-error').count()).toBe(1);
    await page.locator('#mailbox-new-local').fill('Assistenza');
    expect(await page.getByTestId('mailbox-preview').textContent()).toBe('assistenza@demo.…');
    await page.getByRole('button', { name: 'Create mailbox' }).click();
    const card = page.getByTestId('mailbox').filter({ hasText: 'Support' });
    await expect.poll(() => card.count()).toBe(1);
    const address = await card.getByLabel('Inbound address').inputValue();
    expect(address).toBe('assistenza@demo.inbound.localhost');
    expect(await card.getByText('Send or forward mail to this address.').count()).toBe(1);
    // Once a mailbox exists the preview knows the domain; a taken local part is refused on its field.
    await page.locator('#mailbox-new-name').fill('Again');
    await page.locator('#mailbox-new-local').fill('assistenza');
    expect(await page.getByTestId('mailbox-preview').textContent()).toBe('assistenza@demo.inbound.localhost');
    await page.getByRole('button', { name: 'Create mailbox' }).click();
    await expect
      .poll(() => page.locator('#mailbox-new-local-error').textContent())
      .toBe('already in use in this workspace');
    expect(await page.getByTestId('failed-messages').getByText('No failed messages.').count()).toBe(1);
    // Edit: a public address, and only Sara (besides admins) sees it.
    await card.getByRole('button', { name: 'Edit Support' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit mailbox' });
    await dialog.getByLabel('Public address').fill('assistenza@freni-e2e.test');
    await dialog.getByRole('checkbox', { name: /Sara Bianchi/ }).check();
    await dialog.getByRole('button', { name: 'Save' }).click();
    // A sending address outside the inbound domain needs a verified domain: refused by its field, dialog open.
    await expect.poll(() => dialog.getByText(/verif/i).count()).toBeGreaterThan(0);
    expect(await dialog.count()).toBe(1);
    const domain = await api<{ id: string }>(page, 'POST', '/api/inbox/sending-domains', { domain: 'freni-e2e.test' });
    // Its DNS TXT check cannot run here (no DNS for .test names): the fixture marks it verified, as Verify would.
    await withDatabase(e2e.databaseUrl, (c) =>
      c.query(`update sending_domains set verified_at = now() where id = $1`, [domain.id]),
    );
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => dialog.count()).toBe(0);
    expect(await card.textContent()).toContain('assistenza@freni-e2e.test');
    expect(await card.textContent()).toContain('Only Sara Bianchi (and admins)');

    // The inbox is open before the mail arrives: it must appear without a reload.
    expect(
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Inbox' }).getAttribute('href'),
    ).toBe('/inbox');
    await card.getByRole('link', { name: 'Open in Inbox' }).click();
    await page.waitForURL(/\/inbox\/?\?mailbox=[0-9a-f-]{36}$/);
    await expect.poll(() => page.locator('#inbox-mailbox').inputValue()).toBe(page.url().split('mailbox=')[1]);
    expect(await page.locator('#inbox-mailbox option:checked').textContent()).toBe('Support');
    await expect.poll(() => page.getByText('No conversations.').count()).toBe(1);
    const response = await deliver({
      from: '"Giulia Verdi" <giulia.verdi@freni-e2e.test>',
      to: address,
      subject: 'Ordine E2E 42',
      messageId: '<ordine-e2e-42@freni-e2e.test>',
      text: 'Buongiorno, confermo l’ordine.',
      html:
        '<p>Buongiorno, <b>confermo l’ordine</b>.</p><script>document.body.dataset.pwned = "1"</script>' +
        '<img alt="tracker" src="https://tracker.example.test/p.gif"><img alt="logo" src="cid:logo@freni-e2e">',
      attachments: [
        { filename: 'logo.png', content: PNG, cid: 'logo@freni-e2e', contentType: 'image/png' },
        { filename: 'ordine.txt', content: 'dischi: 4', contentType: 'text/plain' },
      ],
    });
    expect(response).toMatch(/^250 /);
    const item = page.getByTestId('conversation-item').filter({ hasText: 'Ordine E2E 42' });
    await expect
      .poll(() => item.count(), { timeout: 20_000, message: `no conversation in the list\n${e2e.filo.output()}` })
      .toBe(1);
    const row = await item.textContent();
    expect(row).toContain('Giulia Verdi');
    expect(row).toContain('confermo l’ordine');
    expect(row).toContain('Freni E2E Spa');

    await item.click();
    await page.waitForURL(/\/inbox\/[0-9a-f-]{36}$/);
    const conversationId = page.url().split('/').at(-1)!;
    await expect.poll(() => page.getByTestId('conversation-title').textContent()).toContain('Ordine E2E 42');

    // The body: a frame without scripts or the app's origin, its CSP inside; the script is gone.
    const iframe = page.locator('iframe[title="Email from Giulia Verdi"]');
    await expect.poll(() => iframe.count()).toBe(1);
    const sandbox = (await iframe.getAttribute('sandbox')) ?? '';
    expect(sandbox.split(/\s+/).sort()).toEqual(['allow-popups', 'allow-popups-to-escape-sandbox']);
    const srcdoc = (await iframe.getAttribute('srcdoc')) ?? '';
    expect(srcdoc).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline';`,
    );
    expect(srcdoc).not.toContain('https:;');
    const frame = page.frameLocator('iframe[title="Email from Giulia Verdi"]');
    await expect.poll(() => frame.locator('body').textContent()).toContain('Buongiorno, confermo l’ordine.');
    expect(await frame.locator('script').count()).toBe(0);
    expect(await frame.locator('body[data-pwned]').count()).toBe(0);
    // The cid: image (an attachment of the message, inlined by the app) shows; the remote one has no source yet.
    expect(await frame.locator('img[alt="logo"]').getAttribute('src')).toMatch(/^data:image\/png;base64,/);
    await expect
      .poll(() =>
        frame.locator('img[alt="logo"]').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth),
      )
      .toBe(1);
    const tracker = frame.locator('img[alt="tracker"]');
    expect(await tracker.getAttribute('src')).toBeNull();
    expect(await tracker.getAttribute('data-remote-src')).toBe('https://tracker.example.test/p.gif');
    await page.getByRole('button', { name: 'Load remote images' }).click();
    await expect
      .poll(() => frame.locator('img[alt="tracker"]').getAttribute('src'))
      .toBe('https://tracker.example.test/p.gif');
    expect(await iframe.getAttribute('srcdoc')).toMatch(/img-src [^;]*https:/);
    expect(await page.getByRole('button', { name: 'Load remote images' }).count()).toBe(0);

    // Verdicts, attachments, links to the contact and company, the original.
    for (const check of ['spf', 'dkim', 'dmarc']) {
      const badge = page.getByTestId(`auth-${check}`);
      expect(await badge.textContent()).toContain(check.toUpperCase());
      expect(await badge.getAttribute('data-verdict')).toBeTruthy();
      expect(await badge.getAttribute('title')).toContain(`${check.toUpperCase()}: `);
    }
    const attachments = page.getByTestId('email-attachment');
    expect(await attachments.count()).toBe(1);
    expect(await attachments.textContent()).toContain('ordine.txt');
    expect(await page.getByTestId('conversation-company').getAttribute('href')).toBe(`/companies/${company.id}`);
    expect(await page.getByTestId('conversation-contact').getAttribute('href')).toBe(`/contacts/${contact.id}`);
    await expect.poll(() => page.getByTestId('conversation-company').textContent()).toContain('Freni E2E Spa');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download original (.eml)' }).click(),
    ]);
    expect(readFileSync((await download.path())!, 'utf8')).toContain('Subject: Ordine E2E 42');

    // A reply while the conversation is open shows up in it, live.
    await deliver({
      from: 'giulia.verdi@freni-e2e.test',
      to: address,
      subject: 'Re: Ordine E2E 42',
      text: 'Dimenticavo: anche le pastiglie.',
      inReplyTo: '<ordine-e2e-42@freni-e2e.test>',
      references: ['<ordine-e2e-42@freni-e2e.test>'],
    });
    await expect.poll(() => page.getByTestId('email-message').count(), { timeout: 20_000 }).toBe(2);
    expect(await page.getByTestId('email-text').textContent()).toContain('anche le pastiglie');
    await page.waitForTimeout(500);
    await page.screenshot({ path: '/tmp/shot-thread2.png', fullPage: true });

    // The company's timeline has the email, linking to the conversation.
    await page.goto(`${e2e.filo.baseUrl}/companies/${company.id}?tab=timeline`);
    const entry = page.getByTestId('timeline-item').filter({ hasText: 'Email from Giulia Verdi' });
    await expect.poll(() => entry.count(), { timeout: 10_000 }).toBe(1);
    expect(await entry.getAttribute('data-type')).toBe('email.received');
    expect(await entry.textContent()).toContain('Ordine E2E 42');
    // Its Emails tab counts and lists the conversation.
    const emailsTab = page.getByRole('tab', { name: /^Emails/ });
    await expect.poll(() => emailsTab.textContent()).toMatch(/Emails\s*1/);
    await emailsTab.click();
    await expect.poll(() => page.getByTestId('company-emails').textContent()).toContain('Ordine E2E 42');
    await page.getByRole('tab', { name: 'Timeline' }).click();
    const link = entry.getByRole('link', { name: 'Open in Inbox' });
    expect(await link.getAttribute('href')).toBe(`/inbox/${conversationId}`);
    await link.click();
    await page.waitForURL(`**/inbox/${conversationId}`);
    await expect.poll(() => page.getByTestId('conversation-title').textContent()).toContain('Ordine E2E 42');
    await context.close();
  }, 120_000);
});
