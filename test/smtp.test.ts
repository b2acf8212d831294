import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InboundStore } from '../mail-gateway/inbound-store.ts';
import { apiClient, login, startTestFilo, type TestFilo } from './support/harness.ts';

const run = promisify(execFile);
let filo: TestFilo;
beforeAll(async () => {
  filo = await startTestFilo();
});
afterAll(() => filo?.close());

describe('SMTP gateway', () => {
  it('greets, advertises SIZE, and refuses an unknown mailbox of a workspace with 550 5.1.1 (swaks)', async () => {
    const result = await run(
      'swaks',
      ['--server', `127.0.0.1:${filo.smtpPort}`, '--to', 'nobody@demo.inbound.localhost', '--from', 'a@example.com'],
      { timeout: 20_000 },
    ).catch((err: { code: number; stdout: string }) => err);
    const output = 'stdout' in result ? result.stdout : '';
    expect(output).toMatch(/<- {2}220 .*Filo mail gateway/);
    expect(output).toMatch(/<- {2}250[- ]SIZE 26214400/);
    expect(output).toMatch(/<\*\* 550 5\.1\.1 No such mailbox here/);
    expect((result as { code?: number }).code).not.toBe(0);
  });

  it('makes a real client fail with the 550 code (nodemailer)', async () => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: filo.smtpPort!, secure: false });
    const error = await transport
      .sendMail({ from: 'a@example.com', to: 'nobody@demo.inbound.localhost', subject: 'hi', text: 'hello' })
      .then(
        () => null,
        (err: { responseCode?: number; code?: string }) => err,
      );
    expect(error).not.toBeNull();
    expect(error!.responseCode).toBe(550);
    transport.close();
  });
});

describe('mailbox routes reused for two seconds', () => {
  it('finds a new mailbox at once, and a stale route of a deleted one never becomes a row', async () => {
    const demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
    const store = new InboundStore(filo.databaseUrl, filo.jobs!.boss, 2);
    try {
      // Unknown addresses are not remembered: the mailbox made next is routed at once.
      expect(await store.route('routecache', 'demo')).toBeNull();
      const box = await demo.json<{ id: string }>('POST', '/api/inbox/mailboxes', {
        name: 'Route cache',
        localPart: 'routecache',
      });
      const route = await store.route('routecache', 'demo');
      expect(route).toMatchObject({ mailboxId: box.id });

      await demo.json('DELETE', `/api/inbox/mailboxes/${box.id}`);
      const stale = await store.route('routecache', 'demo');
      // Within the two seconds the deleted mailbox's route may still be handed out (this one is: it was just
      // found), but its message is refused at the insert: the sender hears 451 and retries, nothing is kept.
      expect(stale).toEqual(route);
      await expect(
        store.accept({
          routes: [stale!],
          mailFrom: 'a@example.com',
          rcptTo: ['routecache@demo.inbound.localhost'],
          remoteAddress: '127.0.0.1',
          heloName: 'test',
          size: 1,
          sha256: 'x'.repeat(64),
          spoolKey: 'route-cache/1.eml',
        }),
      ).rejects.toThrow();
      const client = new pg.Client({ connectionString: filo.databaseUrl });
      await client.connect();
      try {
        const { rows } = await client.query(`select id from inbound_messages where spool_key = 'route-cache/1.eml'`);
        expect(rows).toHaveLength(0);
      } finally {
        await client.end();
      }
      // Then the route expires and the address is unknown.
      await expect.poll(() => store.route('routecache', 'demo'), { timeout: 10_000, interval: 200 }).toBeNull();
    } finally {
      await store.close();
    }
  });
});
