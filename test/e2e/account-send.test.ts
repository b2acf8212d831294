import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAP_PASSWORD, SMTP_PASSWORD } from '../../server/accounts/connect.ts';
import { Secrets } from '../../server/crypto/secrets.ts';
import { startDovecot, type Dovecot } from '../support/dovecot.ts';
import { useE2e } from '../support/e2e.ts';

/**
 * The composer's From in Chromium: the New message screen and a reply offer the member's own account (its address
 * and alias) beside the shared mailboxes; what is chosen goes out through the account's SMTP server and lands in its
 * Sent folder on a real Dovecot.
 */

const SECRET_KEY = randomBytes(24).toString('hex');
const ACCOUNT = { user: 'rita@studio.test', password: 'imap-p4ss' };
const SMTP_PASS = 'smtp-p4ss';

let dovecot: Dovecot;
const received: { mail: ParsedMail; user: string }[] = [];
const smtp = new SMTPServer({
  disabledCommands: ['STARTTLS'],
  authMethods: ['PLAIN'],
  allowInsecureAuth: true,
  logger: false,
  onAuth(auth, _session, cb) {
    if (auth.username === ACCOUNT.user && auth.password === SMTP_PASS) return cb(null, { user: auth.username });
    return cb(Object.assign(new Error('5.7.8 Username and Password not accepted'), { responseCode: 535 }));
  },
  onData(stream, session, cb) {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      void simpleParser(Buffer.concat(chunks)).then((mail) => {
        received.push({ mail, user: String(session.user) });
        cb();
      }, cb);
    });
  },
});

beforeAll(async () => {
  dovecot = await startDovecot([ACCOUNT]);
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
});

const e2e = useE2e('account-send', {
  env: () => ({ SECRET_KEY, SMTP_ALLOWED_HOSTS: '127.0.0.1', SMTP_ALLOW_PLAIN_AUTH: '1', OUTBOUND_RETRY_DELAY: '1' }),
});

afterAll(async () => {
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
  await dovecot?.stop();
});

/** The demo owner's account, as the accounts screen stores one: a private mailbox and the account row. */
async function connectAccount(): Promise<{ id: string; mailboxId: string }> {
  const secrets = new Secrets(SECRET_KEY);
  const db = new pg.Client({ connectionString: e2e.databaseUrl });
  await db.connect();
  try {
    const { rows } = await db.query<{ tenant_id: string; user_id: string }>(
      `select ms.tenant_id, ms.user_id from memberships ms join users u on u.id = ms.user_id
        where u.email = 'demo@filo.local'`,
    );
    const { tenant_id: tenantId, user_id: ownerId } = rows[0]!;
    const mailboxId = randomUUID();
    const id = randomUUID();
    await db.query(
      `insert into mailboxes (id, tenant_id, name, kind, private, local_part, member_ids)
       values ($1, $2, 'Rita Studio', 'account', true, $3, array[$4::text])`,
      [mailboxId, tenantId, `acct-${randomBytes(4).toString('hex')}`, ownerId],
    );
    await db.query(
      `insert into email_accounts (id, tenant_id, mailbox_id, owner_id, email, display_name, aliases,
          imap_host, imap_port, imap_security, imap_user, imap_password_enc,
          smtp_host, smtp_port, smtp_security, smtp_user, smtp_password_enc)
       values ($1, $2, $3, $4, $5, 'Rita Studio', array['info@studio.test'],
          '127.0.0.1', $6, 'none', $5, $7, '127.0.0.1', $8, 'none', $5, $9)`,
      [
        id,
        tenantId,
        mailboxId,
        ownerId,
        ACCOUNT.user,
        dovecot.port,
        secrets.encrypt(ACCOUNT.password, IMAP_PASSWORD),
        (smtp.server.address() as AddressInfo).port,
        secrets.encrypt(SMTP_PASS, SMTP_PASSWORD),
      ],
    );
    return { id, mailboxId };
  } finally {
    await db.end();
  }
}

/** Message-IDs in the account's Sent folder, as another mail program sees them. */
async function sentIds(): Promise<string[]> {
  const client = await dovecot.client(ACCOUNT);
  try {
    const lock = await client.getMailboxLock('Sent');
    try {
      if ((client.mailbox as { exists: number }).exists === 0) return [];
      const ids: string[] = [];
      for await (const m of client.fetch('1:*', { envelope: true })) ids.push(m.envelope?.messageId ?? '');
      return ids;
    } finally {
      lock.release();
    }
  } finally {
    await client.logout();
  }
}

describe('composer From', () => {
  it('sends a new message from an account’s alias and a reply through the account, both filed in its Sent', async () => {
    const account = await connectAccount();
    const context = await e2e.newContext();
    const page = await context.newPage();
    await e2e.signIn(page, 'demo@filo.local');

    await page.goto(`${e2e.filo.baseUrl}/compose`);
    const from = page.getByLabel('From');
    await expect
      .poll(async () => (await from.locator('option').allTextContents()).map((t) => t.trim()))
      .toEqual(expect.arrayContaining(['Rita Studio <rita@studio.test>', 'Rita Studio <info@studio.test>']));
    await from.selectOption({ label: 'Rita Studio <info@studio.test>' });
    await page.getByLabel('To').fill('marco@cliente.test');
    await page.getByLabel('Subject').fill('Proposta');
    await page.getByLabel('Message', { exact: true }).fill('Buongiorno Marco.');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.waitForURL(/\/inbox\/[0-9a-f-]{36}$/);

    await expect.poll(() => received.filter((r) => r.mail.subject === 'Proposta').length, { timeout: 30_000 }).toBe(1);
    const first = received.find((r) => r.mail.subject === 'Proposta')!;
    expect(first.user).toBe('rita@studio.test');
    expect(first.mail.from?.value).toEqual([{ address: 'info@studio.test', name: 'Rita Studio' }]);

    // The conversation lives in the account's mailbox; its reply goes out through the account by default.
    const composer = page.getByTestId('composer');
    await expect.poll(() => composer.getByLabel('From').inputValue()).toBe(`${account.id}|rita@studio.test`);
    await composer.getByLabel('Message', { exact: true }).fill('Le scrivo di nuovo.');
    await composer.getByRole('button', { name: 'Send' }).click();
    await expect
      .poll(() => received.filter((r) => r.mail.subject === 'Re: Proposta').length, { timeout: 30_000 })
      .toBe(1);
    const reply = received.find((r) => r.mail.subject === 'Re: Proposta')!;
    expect(reply.mail.from?.value).toEqual([{ address: 'rita@studio.test', name: 'Rita Studio' }]);
    expect(reply.mail.inReplyTo).toBe(first.mail.messageId);

    await expect.poll(() => sentIds(), { timeout: 20_000 }).toHaveLength(2);
    expect((await sentIds()).sort()).toEqual([first.mail.messageId, reply.mail.messageId].sort());
  });
});
