import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../server/config.ts';
import { apiClient, login, startTestFilo, tempDir, type TestFilo } from './support/harness.ts';

/**
 * The SMTP gateway behind a TCP balancer (docs/scaling.md): with the balancer's address in SMTP_PROXY_FROM, its
 * connections open with a PROXY v1 header and the session is the real client's; swaks plays the balancer.
 */
const run = promisify(execFile);
let filo: TestFilo;
let db: pg.Client;
let to: string;

beforeAll(async () => {
  filo = await startTestFilo({ SMTP_PROXY_FROM: '127.0.0.1' });
  db = new pg.Client({ connectionString: filo.databaseUrl });
  await db.connect();
  const demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  const box = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Behind the balancer', localPart: 'balanced' });
  to = box.inboundAddress;
});
afterAll(async () => {
  await db?.end();
  await filo?.close();
});

const swaks = async (from: string, proxy: string[]) => {
  const result = await run(
    'swaks',
    [...['--server', `127.0.0.1:${filo.smtpPort}`, '--to', to], ...['--from', from, ...proxy]],
    { timeout: 20_000 },
  ).catch((err: { stdout: string; code: number }) => err);
  return { out: result.stdout, failed: 'code' in result && result.code !== 0 };
};
const remoteOf = async (from: string) =>
  (
    await db.query<{ remote_address: string | null }>(
      `select remote_address from inbound_messages where mail_from = $1`,
      [from],
    )
  ).rows.map((r) => r.remote_address);

describe('SMTP behind a TCP balancer (PROXY protocol)', () => {
  it('takes the client address from the PROXY header of a listed balancer', async () => {
    const proxy = ['--proxy-version', '1', '--proxy-family', 'TCP4', '--proxy-source', '203.0.113.9'];
    const dest = ['--proxy-source-port', '40123', '--proxy-dest', '127.0.0.1', '--proxy-dest-port', '25'];
    const { out, failed } = await swaks('balanced@example.com', [...proxy, ...dest]);
    expect(failed, out).toBe(false);
    expect(await remoteOf('balanced@example.com')).toEqual(['203.0.113.9']);
  });

  it('keeps nothing from a listed balancer that connects without the header', async () => {
    const { failed } = await swaks('direct@example.com', []);
    expect(failed).toBe(true);
    expect(await remoteOf('direct@example.com')).toEqual([]);
  });

  it('refuses a balancer list that is not IP addresses', () => {
    const dir = tempDir('filo-config-');
    try {
      expect(() => loadConfig({ DATA_DIR: dir.dir, SMTP_PROXY_FROM: '10.0.0.5, balancer.local' })).toThrow(ConfigError);
      expect(loadConfig({ DATA_DIR: dir.dir, SMTP_PROXY_FROM: '10.0.0.5, ::1' }).smtp.proxyFrom).toEqual([
        '10.0.0.5',
        '::1',
      ]);
    } finally {
      dir.remove();
    }
  });
});
