import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useE2e } from '../support/e2e.ts';

/**
 * Settings > Webhooks in Chromium against a local receiver: an owner creates a webhook (the secret shown once),
 * sends a signed test, sees a failed delivery with its response code, resends it once the receiver is back, turns
 * the webhook off, and is told why a private address is refused; a member is told webhooks are for admins.
 */

// Loopback is allowed for the receiver only through this list (any port: it binds after Filo's env is read).
const e2e = useE2e('webhooks', { env: () => ({ OUTBOUND_ALLOWED_HOSTS: '127.0.0.1' }) });

const received: { event: string; signature: string; raw: string }[] = [];
let failing = false;
let receiver: http.Server;
let hookUrl = '';

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        event: String(req.headers['filo-event']),
        signature: String(req.headers['filo-signature']),
        raw: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(failing ? 503 : 200).end(failing ? 'down' : 'ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/filo`;
});

afterAll(() => {
  receiver?.close();
});

const signedWith = (secret: string, r: { signature: string; raw: string }) => {
  const [, t, v1] = /^t=(\d+),v1=([0-9a-f]+)$/.exec(r.signature) ?? [];
  return v1 === createHmac('sha256', secret).update(`${t}.${r.raw}`).digest('hex');
};

describe('the webhooks screen', () => {
  it('creates a webhook with its secret shown once, tests it, shows a failure, resends it and turns it off', async () => {
    const page = await (await e2e.newContext()).newPage();
    await e2e.signIn(page, 'demo@filo.local');
    await page.goto(`${e2e.filo.baseUrl}/settings`);
    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByRole('heading', { name: 'Webhooks' }).waitFor();

    // A private address is refused, in words.
    await page.getByLabel('URL').fill('https://10.0.0.1/hook');
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await page.getByText('This URL points to a private or local address').waitFor();

    await page.getByLabel('URL').fill(hookUrl);
    await page.getByLabel('Description').fill('ERP');
    await page.getByLabel('note.added').check();
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await page.getByText('it is shown only once').waitFor();
    const secret = await page.locator('#webhook-secret').inputValue();
    expect(secret).toMatch(/^whsec_/);
    await page.getByRole('button', { name: 'Done' }).click();
    expect(await page.locator('#webhook-secret').count()).toBe(0);
    const card = page.locator('article', { hasText: hookUrl });
    await expect.poll(() => card.textContent()).toContain('company.created, note.added');

    await card.getByRole('button', { name: 'Send test' }).click();
    const rows = card.locator('tr[data-delivery]');
    await expect.poll(() => rows.first().textContent()).toMatch(/webhook\.pingDelivered200/);
    expect(received.at(-1)!.event).toBe('webhook.ping');
    expect(signedWith(secret, received.at(-1)!)).toBe(true);

    // The receiver goes down: a company's event fails with its status code, and is retried later.
    failing = true;
    const status = await page.evaluate(async () => {
      const res = await fetch('/api/crm/companies', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Hook Srl', type: 'client' }),
      });
      return res.status;
    });
    expect(status).toBe(201);
    await expect.poll(() => received.filter((r) => r.event === 'company.created').length, { timeout: 20_000 }).toBe(1);
    await card.getByRole('button', { name: 'Hide deliveries' }).click();
    await card.getByRole('button', { name: 'Deliveries' }).click();
    const created = rows.filter({ hasText: 'company.created' });
    await expect.poll(() => created.textContent()).toMatch(/Pending503/);

    failing = false;
    await created.getByRole('button', { name: 'Resend' }).click();
    await expect.poll(() => created.textContent()).toMatch(/Delivered200/);
    const delivered = received.filter((r) => r.event === 'company.created');
    expect(delivered).toHaveLength(2);
    expect(delivered.every((r) => signedWith(secret, r))).toBe(true);
    expect(JSON.parse(delivered[1]!.raw)).toMatchObject({ type: 'company.created', record: { name: 'Hook Srl' } });

    await card.getByRole('button', { name: 'Turn off' }).click();
    await expect.poll(() => card.textContent()).toContain('Off');
    expect(await card.getByRole('button', { name: 'Send test' }).isDisabled()).toBe(true);

    const member = await (await e2e.newContext()).newPage();
    await e2e.signIn(member, 'luca@filo.local');
    await member.goto(`${e2e.filo.baseUrl}/settings/webhooks`);
    await member.getByText('Only owners and admins can manage webhooks.').waitFor();
  });
});
