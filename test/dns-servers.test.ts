import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../server/config.ts';
import { parseDnsServers } from '../server/net/dns.ts';
import { startDnsServer, type DnsServer } from './support/dns-server.ts';
import { apiClient, login, startTestFilo, tempDir, type ApiClient, type TestFilo } from './support/harness.ts';

describe('DNS_SERVERS', () => {
  it('takes IP addresses with or without a port, and refuses names and bad ports in one line', () => {
    expect(parseDnsServers(' 127.0.0.1:5353, ::1 ,[::1]:53,10.0.0.2')).toEqual({
      servers: ['127.0.0.1:5353', '::1', '[::1]:53', '10.0.0.2'],
      invalid: [],
    });
    expect(parseDnsServers('resolver.lan,127.0.0.1:99999,1.2.3.4:')).toEqual({
      servers: [],
      invalid: ['resolver.lan', '127.0.0.1:99999', '1.2.3.4:'],
    });
    // (a bad value stopping Filo with one line: test/config.test.ts)
    const dir = tempDir();
    try {
      expect(loadConfig({ DATA_DIR: dir.dir }).dnsServers).toEqual([]);
      expect(loadConfig({ DATA_DIR: dir.dir, DNS_SERVERS: '127.0.0.1:53' }).dnsServers).toEqual(['127.0.0.1:53']);
    } finally {
      dir.remove();
    }
  });
});

describe('the configured name server answers mail authentication', () => {
  let dns: DnsServer;
  let filo: TestFilo;
  let demo: ApiClient;
  let inboundAddress: string;

  beforeAll(async () => {
    dns = await startDnsServer();
    dns.txt('spf-local.test', ['v=spf1 ip4:127.0.0.1 -all']);
    dns.txt('_dmarc.spf-local.test', ['v=DMARC1; p=reject']);
    dns.txt('forged-local.test', ['v=spf1 ip4:192.0.2.1 -all']);
    filo = await startTestFilo({ DNS_SERVERS: dns.address });
    demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
    ({ inboundAddress } = await demo.json<{ inboundAddress: string }>('POST', '/api/inbox/mailboxes', {
      name: 'Sales',
      localPart: 'sales',
    }));
  });
  afterAll(async () => {
    await filo?.close();
    await dns?.close();
  });

  const send = async (from: string, subject: string) => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: filo.smtpPort!, ignoreTLS: true });
    try {
      await transport.sendMail({ from, to: inboundAddress, subject, text: 'Hello' });
    } finally {
      transport.close();
    }
  };
  const authOf = async (subject: string) => {
    let auth: { spf: string; dmarc: string } | undefined;
    await expect
      .poll(
        async () => {
          const page = await demo.json<{ items: { id: string; subject: string }[] }>(
            'GET',
            '/api/inbox/conversations?limit=100',
          );
          const found = page.items.find((c) => c.subject === subject);
          if (!found) return false;
          const { messages } = await demo.json<{ messages: { auth: { spf: string; dmarc: string } }[] }>(
            'GET',
            `/api/inbox/conversations/${found.id}`,
          );
          auth = messages[0]?.auth;
          return Boolean(auth);
        },
        { timeout: 20_000, interval: 100 },
      )
      .toBe(true);
    return auth!;
  };

  it('passes SPF and DMARC with the records only that server holds, and fails a forged sender on them', async () => {
    await send('ada@spf-local.test', 'Published on the local server');
    await send('eve@forged-local.test', 'Not from the published host');
    expect(await authOf('Published on the local server')).toMatchObject({ spf: 'pass', dmarc: 'pass' });
    expect(await authOf('Not from the published host')).toMatchObject({ spf: 'fail' });
    expect(dns.asked).toEqual(expect.arrayContaining(['TXT spf-local.test', 'TXT _dmarc.spf-local.test']));
  });

  it('is the server the sending-domain and preflight checks ask too', async () => {
    dns.txt('_filo.brand.test', ['filo-verify=abc']);
    expect(await filo.services.sendingDomains.resolveTxt('_filo.brand.test')).toEqual([['filo-verify=abc']]);
    const preflight = filo.services.sequencePreflight.resolver;
    expect(await preflight('_filo.brand.test', 'TXT')).toEqual([['filo-verify=abc']]);
    await expect(preflight('missing.brand.test', 'TXT')).rejects.toMatchObject({
      code: 'ENOTFOUND',
    });
  });
});
