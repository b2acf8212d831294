import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type Dovecot } from '../support/dovecot.ts';
import { useE2e } from '../support/e2e.ts';

/**
 * Settings, Email accounts in Chromium: a member connects a real Dovecot account through the form (IMAP and SMTP
 * side by side), "Test connection" shows each side's result in the server's own words, the account is saved with its
 * live health, and its INBOX mail shows up in the inbox, live, when another mail program delivers more.
 */
const ACCOUNT = { user: 'giulia@bottega.test', password: 'imap-pass-7' };
const SMTP_PASS = 'smtp-pass-7';

let dovecot: Dovecot;
const smtp = new SMTPServer({
  disabledCommands: ['STARTTLS'],
  authMethods: ['PLAIN', 'LOGIN'],
  allowInsecureAuth: true,
  logger: false,
  onAuth(auth, _session, cb) {
    if (auth.username === ACCOUNT.user && auth.password === SMTP_PASS) return cb(null, { user: auth.username });
    return cb(Object.assign(new Error('5.7.8 Username and Password not accepted'), { responseCode: 535 }));
  },
});

const message = (subject: string, id: string) =>
  [
    'From: Carla Bianchi <carla@cliente.test>',
    `To: ${ACCOUNT.user}`,
    `Subject: ${subject}`,
    `Message-ID: <${id}@cliente.test>`,
    `Date: ${new Date().toUTCString()}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `${subject}: the details are below.`,
    '',
  ].join('\r\n');

async function append(subject: string, id: string) {
  const client = await dovecot.client(ACCOUNT);
  try {
    await client.append('INBOX', message(subject, id));
  } finally {
    await client.logout();
  }
}

beforeAll(async () => {
  dovecot = await startDovecot([ACCOUNT]);
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  await append('Preventivo cucina', 'first');
});

const e2e = useE2e('email-accounts', {
  env: () => ({ SMTP_ALLOWED_HOSTS: '127.0.0.1', SMTP_ALLOW_PLAIN_AUTH: '1', ACCOUNT_SYNC_POLL_MS: '300' }),
});

afterAll(async () => {
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
  await dovecot?.stop();
});

describe('Settings, Email accounts', () => {
  it('connects a Dovecot account through the form, tests it, and its mail reaches the inbox live', async () => {
    const context = await e2e.newContext();
    const page = await context.newPage();
    await e2e.signIn(page, 'demo@filo.local');
    await page.goto(`${e2e.filo.baseUrl}/settings`);
    await page.getByRole('link', { name: 'Email accounts' }).click();
    await page.waitForURL(/\/settings\/email-accounts$/);
    await expect.poll(() => page.getByText('No email account is connected yet.').isVisible()).toBe(true);

    // A preset fills both servers; "Other" is where a Dovecot goes.
    await page.getByRole('radio', { name: 'Gmail' }).check();
    await expect.poll(() => page.locator('#account-smtp-host').inputValue()).toBe('smtp.gmail.com');
    await page.getByRole('radio', { name: 'Other (IMAP)' }).check();

    await page.getByLabel('Email address').fill(ACCOUNT.user);
    const imap = page.getByTestId('account-imap');
    await imap.getByLabel('Server').fill('127.0.0.1');
    await imap.getByLabel('Port').fill(String(dovecot.port));
    await imap.getByLabel('Security').selectOption('none');
    await imap.getByLabel('Password').fill('not-her-password');
    const smtpSide = page.getByTestId('account-smtp');
    await smtpSide.getByLabel('Server').fill('127.0.0.1');
    await smtpSide.getByLabel('Port').fill(String((smtp.server.address() as AddressInfo).port));
    await smtpSide.getByLabel('Security').selectOption('none');
    await smtpSide.getByLabel('Password').fill(SMTP_PASS);

    await page.getByRole('button', { name: 'Test connection' }).click();
    const imapResult = page.getByTestId('account-imap-result');
    await expect.poll(() => imapResult.textContent()).toContain('IMAP: failed');
    // Dovecot's own words.
    expect(await imapResult.textContent()).toContain('Authentication failed.');
    expect(await page.getByTestId('account-smtp-result').textContent()).toContain('SMTP: connected');

    await imap.getByLabel('Password').fill(ACCOUNT.password);
    await page.getByRole('button', { name: 'Test connection' }).click();
    await expect.poll(() => imapResult.textContent()).toContain('IMAP: connected');

    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    const card = page.getByTestId('email-account');
    await expect.poll(() => card.count()).toBe(1);
    expect(await card.getByRole('heading').textContent()).toContain(ACCOUNT.user);
    // The sync engine connects it; the badge follows live.
    await expect
      .poll(() => card.getByTestId('account-status').getAttribute('data-status'), { timeout: 30_000 })
      .toBe('connected');

    // The INBOX mail is in the inbox, and what another mail program delivers now arrives live.
    await page.goto(`${e2e.filo.baseUrl}/inbox`);
    await expect.poll(() => page.getByText('Preventivo cucina').first().isVisible(), { timeout: 30_000 }).toBe(true);
    await append('Conferma ordine', 'second');
    await expect.poll(() => page.getByText('Conferma ordine').first().isVisible(), { timeout: 30_000 }).toBe(true);
  }, 120_000);

  it('shares, pauses, resumes and deletes the account', async () => {
    const context = await e2e.newContext();
    const page = await context.newPage();
    await e2e.signIn(page, 'demo@filo.local');
    await page.goto(`${e2e.filo.baseUrl}/settings/email-accounts`);
    const card = page.getByTestId('email-account');
    await expect.poll(() => card.count()).toBe(1);
    expect((await card.getByTestId('account-visible-to').textContent())?.trim()).toBe('Only me');
    // Shared with the whole team: the account's mailbox is no longer private.
    await card.getByTestId('account-sharing').getByRole('radio', { name: 'The whole team' }).check();
    await card.getByRole('button', { name: `Save sharing ${ACCOUNT.user}` }).click();
    await expect
      .poll(async () => (await card.getByTestId('account-visible-to').textContent())?.trim())
      .toBe('The whole team');
    await page.reload();
    await expect
      .poll(async () => (await card.getByTestId('account-visible-to').textContent())?.trim())
      .toBe('The whole team');
    await card.getByRole('button', { name: `Pause ${ACCOUNT.user}` }).click();
    await expect.poll(() => card.getByTestId('account-status').getAttribute('data-status')).toBe('paused');
    await card.getByRole('button', { name: `Resume ${ACCOUNT.user}` }).click();
    await expect.poll(() => card.getByTestId('account-status').getAttribute('data-status')).not.toBe('paused');
    page.once('dialog', (dialog) => void dialog.accept());
    await card.getByRole('button', { name: `Delete ${ACCOUNT.user}` }).click();
    await expect.poll(() => card.count()).toBe(0);
    await expect.poll(() => page.getByText('No email account is connected yet.').isVisible()).toBe(true);
  }, 60_000);
});
