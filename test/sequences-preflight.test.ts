import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Preflight, StepConfig } from '#contracts/sequences';
import { CompanySchema } from '../db/entities/company.entity.ts';
import { ContactSchema } from '../db/entities/contact.entity.ts';
import { MailboxSchema } from '../db/entities/mailbox.entity.ts';
import { SequenceEnrolmentSchema, SequenceSchema, SequenceStepSchema } from '../db/entities/sequence.entity.ts';
import { ConfigError, loadConfig } from '../server/config.ts';
import { Secrets } from '../server/crypto/secrets.ts';
import { DKIM_KEY, dkimDnsRecord } from '../server/delivery/transport-settings.ts';
import { SpamdClient, spamCheckerFrom } from '../server/sequences/preflight/spam.ts';
import { inTenant, systemActor } from '../server/tenancy.ts';
import { apiClient, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

// Deliverability preflight: SPF/DKIM/DMARC through mailauth against a local resolver, and spam scores from a real
// spamd started here once for the file.

let filo: TestFilo;
let demo: ApiClient;
let spamd: ChildProcess | undefined;
let spamdUrl = '';
let sequenceId = '';
const stepIds: Record<'plain' | 'spammy' | 'tokens', string> = { plain: '', spammy: '', tokens: '' };

const pem = () =>
  generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const signing = pem();
const other = pem();
const stranger = pem();

/** What the sending domains publish; a name not here does not exist. */
const records: Record<string, string[]> = {
  'A smtp.good.test': ['198.51.100.25'],
  'TXT good.test': ['v=spf1 ip4:198.51.100.25 -all'],
  'TXT s1._domainkey.good.test': [dkimDnsRecord(signing)],
  'TXT _dmarc.good.test': ['v=DMARC1; p=reject; rua=mailto:dmarc@good.test'],
  // DKIM and SPF right, no DMARC anywhere
  'TXT nodmarc.test': ['v=spf1 include:good.test -all'],
  'TXT s1._domainkey.nodmarc.test': [dkimDnsRecord(other)],
  // the selector publishes a key, not the one Filo signs with
  'TXT badkey.test': ['v=spf1 include:good.test -all'],
  'TXT s1._domainkey.badkey.test': [dkimDnsRecord(signing)],
  'TXT _dmarc.badkey.test': ['v=DMARC1; p=quarantine'],
  // the mailbox signs with selector "filo", the domain publishes only "s1"; DMARC only monitors
  'TXT wrongsel.test': ['v=spf1 include:good.test -all'],
  'TXT s1._domainkey.wrongsel.test': [dkimDnsRecord(signing)],
  'TXT _dmarc.wrongsel.test': ['v=DMARC1; p=none'],
  // SPF that authorises someone else's servers only
  'TXT nospf.test': ['v=spf1 ip4:203.0.113.0/24 -all'],
  'TXT s1._domainkey.nospf.test': [dkimDnsRecord(signing)],
  'TXT _dmarc.nospf.test': ['v=DMARC1; p=reject'],
  // Filo does not sign this one's mail
  'TXT plain.test': ['v=spf1 include:good.test -all'],
  'TXT _dmarc.plain.test': ['v=DMARC1; p=reject'],
};
const lookups: string[] = [];
async function resolver(name: string, rrtype: string): Promise<unknown> {
  lookups.push(`${rrtype} ${name}`);
  const found = records[`${rrtype} ${name.toLowerCase()}`];
  if (!found) throw Object.assign(new Error(`query${rrtype} ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
  return rrtype === 'TXT' ? found.map((r) => [r]) : found;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  await new Promise((ok) => server.close(ok));
  return port;
}

/** spamd on a free loopback port, local tests only (no DNS blocklists), answering PING before the tests go on. */
async function startSpamd(): Promise<void> {
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  spamd = spawn(
    existsSync('/usr/sbin/spamd') ? '/usr/sbin/spamd' : 'spamd',
    ['--syslog=stderr', '-L', '-i', '127.0.0.1', '-p', String(port), '-A', '127.0.0.1', '-m', '1', '--min-spare=1']
      .concat(['--max-spare=1', '--nouser-config'])
      .concat(asRoot ? ['-u', 'nobody'] : []),
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  spamd.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  spamdUrl = `spamd://127.0.0.1:${port}`;
  const client = new SpamdClient(spamdUrl, 2_000);
  await vi.waitFor(
    async () => {
      if (!(await client.ping())) throw new Error(`spamd did not answer PING: ${log}`);
    },
    { timeout: 50_000, interval: 250 },
  );
}

function email(subject: string, body: string, newThread = false): StepConfig {
  return { kind: 'email', subject, body, newThread };
}

beforeAll(async () => {
  const started = startSpamd();
  filo = await startTestFilo();
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  filo.services.sequencePreflight.resolver = resolver;
  const secrets = new Secrets(filo.config.secretKey);
  const db = new pg.Client({ connectionString: filo.databaseUrl });
  await db.connect();
  const tenantId = (await db.query(`select id from tenants where slug = 'demo'`)).rows[0].id as string;
  await db.end();
  sequenceId = await inTenant(filo.orm, systemActor(tenantId), async ({ em }) => {
    const mailbox = (name: string, address: string, dkim: { selector: string; key: string } | null) =>
      em.create(MailboxSchema, {
        tenantId,
        name,
        localPart: name.toLowerCase(),
        address,
        smtpHost: 'smtp.good.test',
        smtpPort: 587,
        dkimSelector: dkim?.selector ?? null,
        dkimPrivateKeyEnc: dkim ? secrets.encrypt(dkim.key, DKIM_KEY) : null,
      }).id;
    const pool = [
      mailbox('Good', 'anna@good.test', { selector: 's1', key: signing }),
      mailbox('NoDmarc', 'bea@nodmarc.test', { selector: 's1', key: other }),
      mailbox('BadKey', 'carlo@badkey.test', { selector: 's1', key: stranger }),
      mailbox('WrongSel', 'dario@wrongsel.test', { selector: 'filo', key: signing }),
      mailbox('NoSpf', 'elena@nospf.test', { selector: 's1', key: signing }),
      mailbox('Plain', 'fabio@plain.test', null),
    ];
    const sequence = em.create(SequenceSchema, {
      tenantId,
      name: 'Preflight outreach',
      mailboxIds: pool,
      settings: {
        window: { start: '09:00', end: '17:00', days: [1, 2, 3, 4, 5], lunch: null },
        stopOnReply: true,
        excludeOpenDeals: true,
        trackOpens: true,
        trackClicks: false,
      },
    });
    const configs: StepConfig[] = [
      email(
        'Quick question about {{company.name | "your team"}}',
        'Hi {{contact.first_name | "there"}},\n\nI saw your team is hiring engineers in Milan. Would a short call next week make sense?\n\nAnna',
      ),
      { kind: 'wait', days: 2, hours: 0, businessDays: true },
      email(
        'FREE MONEY!!! Claim your prize NOW $$$',
        'Congratulations! You have WON $1,000,000 USD!!! Click here to claim your FREE prize. 100% guaranteed, no risk, act now! Viagra cialis cheap meds. Wire transfer of your inheritance. Lose weight fast. Earn extra cash from home!!!',
        true,
      ),
      email('Following up', 'Hi {{contact.first_name}}, any thoughts from {{company.name}}?'),
    ];
    const steps = configs.map((config, position) =>
      em.create(SequenceStepSchema, { tenantId, sequenceId: sequence.id, position, kind: config.kind, config }),
    );
    [stepIds.plain, stepIds.spammy, stepIds.tokens] = [steps[0]!.id, steps[2]!.id, steps[3]!.id];
    const company = em.create(CompanySchema, { tenantId, name: 'Rossi Srl', type: 'client' });
    // three prospects: two with no first name, one of them also with no company
    const people = [
      { firstName: 'Maria', lastName: 'Rossi', companyId: company.id },
      { firstName: '', lastName: 'Bianchi', companyId: company.id },
      { firstName: '  ', lastName: 'Verdi', companyId: null },
    ];
    for (const [i, person] of people.entries()) {
      const contact = em.create(ContactSchema, { tenantId, ...person, email: `p${i}@prospect.test` } as never);
      em.create(SequenceEnrolmentSchema, {
        tenantId,
        sequenceId: sequence.id,
        contactId: contact.id,
        address: `p${i}@prospect.test`,
        timeZone: 'Europe/Rome',
        timeZoneSource: 'mailbox',
        mailboxId: pool[0],
        createdAt: new Date(Date.UTC(2026, 11, 1, 9, i)),
      } as never);
    }
    await em.flush();
    return sequence.id;
  });
  await started;
}, 90_000);

afterAll(async () => {
  spamd?.kill('SIGTERM');
  await filo?.close();
});

const domainOf = (result: Preflight, domain: string) => result.domains.find((d) => d.domain === domain)!;
const stepOf = (result: Preflight, id: string) => result.steps.find((s) => s.stepId === id)!;

describe('sequence preflight', () => {
  it('passes a correct domain and catches a missing DMARC, a wrong DKIM selector or key, an SPF without the host', async () => {
    const result = (await demo.json('GET', `/api/sequences/${sequenceId}/preflight`)) as Preflight;
    expect(result.domains.map((d) => d.domain).sort()).toEqual(
      ['badkey.test', 'good.test', 'nodmarc.test', 'nospf.test', 'plain.test', 'wrongsel.test'].sort(),
    );

    const good = domainOf(result, 'good.test');
    expect([good.spf.status, good.dkim.status, good.dmarc.status, good.dmarc.policy]).toEqual([
      'pass',
      'pass',
      'pass',
      'reject',
    ]);
    expect(good.spf.detail).toContain('authorises smtp.good.test');
    // mailauth evaluated the SPF record for the SMTP host's address, and looked the selector up
    expect(lookups).toEqual(
      expect.arrayContaining(['A smtp.good.test', 'TXT good.test', 'TXT s1._domainkey.good.test']),
    );

    const noDmarc = domainOf(result, 'nodmarc.test');
    expect([noDmarc.spf.status, noDmarc.dkim.status, noDmarc.dmarc.status, noDmarc.dmarc.policy]).toEqual([
      'pass',
      'pass',
      'fail',
      null,
    ]);
    expect(noDmarc.dmarc.detail).toContain('No DMARC record at _dmarc.nodmarc.test');

    const badKey = domainOf(result, 'badkey.test');
    expect(badKey.dkim.status).toBe('fail');
    expect(badKey.dkim.detail).toContain('does not match the key Filo signs');
    expect(badKey.dmarc).toMatchObject({ status: 'pass', policy: 'quarantine' });

    const wrongSelector = domainOf(result, 'wrongsel.test');
    expect(wrongSelector.dkim.status).toBe('fail');
    expect(wrongSelector.dkim.detail).toContain('No DKIM record at filo._domainkey.wrongsel.test');
    expect(wrongSelector.dmarc).toMatchObject({ status: 'warn', policy: 'none' });

    const noSpf = domainOf(result, 'nospf.test');
    expect(noSpf.spf.status).toBe('fail');
    expect(noSpf.spf.detail).toContain('does not authorise smtp.good.test');
    expect(noSpf.spf.detail).toContain('198.51.100.25');
    expect([noSpf.dkim.status, noSpf.dmarc.status]).toEqual(['pass', 'pass']);

    const plain = domainOf(result, 'plain.test');
    expect(plain.dkim.status).toBe('warn');
    expect(plain.dkim.detail).toContain('does not sign mail of Plain');

    // no SPAMD_URL nor RSPAMD_URL: no score rather than a wrong one; only email steps are listed
    expect(result.steps.map((s) => s.stepId)).toEqual([stepIds.plain, stepIds.spammy, stepIds.tokens]);
    expect(result.steps.every((s) => s.spam === null)).toBe(true);

    // tokens without a fallback that enrolled prospects lack, counted; fallbacks are fine
    expect(stepOf(result, stepIds.plain).tokenProblems).toEqual([]);
    const gaps = stepOf(result, stepIds.tokens).tokenProblems;
    expect(gaps).toHaveLength(2);
    expect(gaps.find((g) => g.startsWith('{{contact.first_name}}'))).toContain('2 enrolled prospects have no value');
    expect(gaps.find((g) => g.startsWith('{{company.name}}'))).toContain('1 enrolled prospect has no value');
  });

  it('scores each step with a real spamd: the spammy step higher than the plain one, with rule names', async () => {
    filo.services.sequencePreflight.spam = spamCheckerFrom({ spamdUrl });
    const result = (await demo.json('GET', `/api/sequences/${sequenceId}/preflight`)) as Preflight;
    const plain = stepOf(result, stepIds.plain).spam!;
    const spammy = stepOf(result, stepIds.spammy).spam!;
    expect(plain).toMatchObject({ engine: 'spamd', threshold: 5 });
    expect(spammy.engine).toBe('spamd');
    expect(spammy.score).toBeGreaterThan(plain.score + 3);
    const fired = spammy.rules.filter((r) => r.score > 0);
    expect(fired.length).toBeGreaterThanOrEqual(3);
    expect(fired.every((r) => /^[A-Z0-9_]+$/.test(r.name) && r.description)).toBe(true);
    expect(spammy.rules.map((r) => r.name)).toEqual(expect.arrayContaining(['GUARANTEED_100_PERCENT']));
  });

  it('gives no score when the checker does not answer in time, and reads SPAMD_URL / RSPAMD_URL', async () => {
    // a server that accepts and never answers
    const silent = createServer(() => {});
    await new Promise<void>((ok) => silent.listen(0, '127.0.0.1', ok));
    const { port } = silent.address() as AddressInfo;
    try {
      expect(await new SpamdClient(`spamd://127.0.0.1:${port}`, 300).check('Subject: x\r\n\r\nhello\r\n')).toBeNull();
    } finally {
      silent.close();
    }
    expect(loadConfig({ SPAMD_URL: 'spamd://127.0.0.1:783' }).spam).toEqual({
      spamdUrl: 'spamd://127.0.0.1:783',
      rspamdUrl: undefined,
    });
    expect(spamCheckerFrom(loadConfig({ RSPAMD_URL: 'http://127.0.0.1:11333' }).spam)?.engine).toBe('rspamd');
    expect(spamCheckerFrom(loadConfig({}).spam)).toBeNull();
    expect(() => loadConfig({ SPAMD_URL: 'ftp://x' })).toThrow(ConfigError);
  });

  it('answers 404 for an unknown or malformed sequence, and limits each member', async () => {
    const unknown = await demo.call('GET', `/api/sequences/${randomUUID()}/preflight`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('not_found');
    expect((await demo.call('GET', '/api/sequences/not-an-id/preflight')).status).toBe(404);
    let status = 200;
    for (let i = 0; i < 25 && status !== 429; i++)
      status = (await demo.call('GET', `/api/sequences/${sequenceId}/preflight`)).status;
    expect(status).toBe(429);
  });
});
