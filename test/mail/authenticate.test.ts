import { generateKeyPairSync } from 'node:crypto';
import { Readable } from 'node:stream';
import { dkimSign } from 'mailauth';
import { beforeAll, describe, expect, it } from 'vitest';
import { authenticate } from '../../mail/authenticate.ts';
import { compose } from './support.ts';

const GOOD_IP = '192.0.2.10';
const envelope = { ip: GOOD_IP, helo: 'mx.sender.example', mailFrom: 'alice@sender.example', mta: 'mx.filo.test' };

function dnsError(code: string) {
  return Object.assign(new Error(`queryTxt ${code}`), { code });
}

/** dns.promises.resolve, answered from a map: TXT answers are arrays of chunks, missing names are ENOTFOUND. */
function mapResolver(records: Record<string, string>) {
  const queries: string[] = [];
  const resolver = async (name: string, rrtype: string) => {
    queries.push(`${rrtype} ${name}`);
    const value = rrtype === 'TXT' ? records[name.toLowerCase()] : undefined;
    if (value === undefined) throw dnsError('ENOTFOUND');
    return [value.match(/.{1,255}/g) ?? ['']];
  };
  return { resolver, queries };
}

let signed: Buffer;
let records: Record<string, string>;

beforeAll(async () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const message = await compose({
    from: 'Alice <alice@sender.example>',
    to: 'sales@acme.filo.test',
    subject: 'Quote request',
    text: 'Hello, could you send us a quote for 40 seats?',
    messageId: '<quote-1@sender.example>',
  });
  const key = {
    signingDomain: 'sender.example',
    selector: 's1',
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }),
  };
  // mailauth signs only what signatureData lists (top-level keys are silently ignored), its types want both
  const signature = await dkimSign(message, { ...key, signatureData: [key] });
  expect(signature.errors).toEqual([]);
  expect(signature.signatures).toMatch(/^DKIM-Signature: /);
  signed = Buffer.concat([Buffer.from(signature.signatures), message]);
  const p = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  records = {
    'sender.example': `v=spf1 ip4:${GOOD_IP} -all`,
    's1._domainkey.sender.example': `v=DKIM1; k=rsa; p=${p}`,
    '_dmarc.sender.example': 'v=DMARC1; p=reject',
  };
});

describe('authenticate', () => {
  it('passes SPF, DKIM and DMARC for a signed message from an allowed IP', async () => {
    const { resolver, queries } = mapResolver(records);
    const verdicts = await authenticate(signed, envelope, { resolver });
    expect(verdicts).toMatchObject({ spf: 'pass', dkim: 'pass', dmarc: 'pass', arc: 'none' });
    expect(verdicts.details).toMatchObject({
      'spf.domain': 'sender.example',
      'dkim.domains': 'sender.example',
      'dmarc.policy': 'reject',
    });
    expect(verdicts.details['authentication-results']).toMatch(/^mx\.filo\.test;.*dkim=pass/);
    // the injected resolver is the only one used
    expect(queries).toContain('TXT s1._domainkey.sender.example');
  });

  it('reads the message from a stream as well as from a buffer', async () => {
    const { resolver } = mapResolver(records);
    const verdicts = await authenticate(Readable.from([signed.subarray(0, 100), signed.subarray(100)]), envelope, {
      resolver,
    });
    expect(verdicts).toMatchObject({ spf: 'pass', dkim: 'pass', dmarc: 'pass' });
  });

  it('reads a header bomb through the header limits, quickly, and then verifies no signature (permerror)', async () => {
    const { resolver } = mapResolver(records);
    // 40,000 folded lines took mailauth's header parser over half a minute
    const bomb = Buffer.concat([Buffer.from(`X-Bomb: s${'\r\n x'.repeat(40_000)}\r\n`), signed]);
    const verdicts = await authenticate(bomb, envelope, { resolver });
    expect(verdicts).toMatchObject({ spf: 'pass', dkim: 'permerror', dmarc: 'permerror', arc: 'permerror' });
    expect(verdicts.details.truncated).toMatch(/^header block over the limits.*folded over more than 1000 lines/);
  });

  it('fails DKIM, and so DMARC (SPF aside), when the body was tampered with', async () => {
    const { resolver } = mapResolver(records);
    const tampered = Buffer.from(signed.toString().replace('40 seats', '400 seats'));
    const verdicts = await authenticate(tampered, { ...envelope, ip: '198.51.100.7' }, { resolver });
    expect(verdicts.dkim).toBe('fail');
    expect(verdicts.details['dkim.reason']).toMatch(/body hash/i);
    expect(verdicts.spf).toBe('fail');
    expect(verdicts.dmarc).toBe('fail');
  });

  it('fails SPF for an IP the domain does not list, while DKIM alone still carries DMARC', async () => {
    const { resolver } = mapResolver(records);
    const verdicts = await authenticate(signed, { ...envelope, ip: '198.51.100.7' }, { resolver });
    expect(verdicts.spf).toBe('fail');
    expect(verdicts.dkim).toBe('pass');
    expect(verdicts.dmarc).toBe('pass');
  });

  it('says none when the domain publishes nothing and the message is unsigned', async () => {
    const { resolver } = mapResolver({});
    const unsigned = await compose({ from: 'bob@plain.example', to: 'x@acme.filo.test', subject: 'hi', text: 'hi' });
    const verdicts = await authenticate(unsigned, { ...envelope, mailFrom: 'bob@plain.example' }, { resolver });
    expect(verdicts).toMatchObject({ spf: 'none', dkim: 'none', dmarc: 'none', arc: 'none' });
  });

  it('gives temperror, not an exception, when DNS fails', async () => {
    const resolver = async () => {
      throw dnsError('ESERVFAIL');
    };
    const verdicts = await authenticate(signed, envelope, { resolver });
    expect(verdicts.spf).toBe('temperror');
    expect(verdicts.dkim).toBe('temperror');
    expect(verdicts.dmarc).toBe('temperror');
  });

  it('gives temperror when the resolver throws something that is not an Error, or times out', async () => {
    const odd = async (): Promise<unknown> => {
      throw 'boom';
    };
    const timeout = async (): Promise<unknown> => {
      throw dnsError('ETIMEOUT');
    };
    for (const resolver of [odd, timeout]) {
      const verdicts = await authenticate(signed, envelope, { resolver });
      expect(verdicts.spf).toBe('temperror');
      expect(verdicts.dkim).toBe('temperror');
    }
  });

  it('never throws on garbage input or a failing stream', async () => {
    const { resolver } = mapResolver(records);
    const garbage = Buffer.from([0, 255, 13, 10, 13, 10, 0, 1, 2, 3, 58, 58, 58]);
    const verdicts = await authenticate(garbage, envelope, { resolver });
    expect(verdicts.dkim).toBe('none');
    expect(typeof verdicts.spf).toBe('string');

    const failing = new Readable({
      read() {
        this.destroy(new Error('connection reset'));
      },
    });
    const broken = await authenticate(failing, envelope, { resolver });
    expect(broken).toMatchObject({ spf: 'temperror', dkim: 'temperror', dmarc: 'temperror', arc: 'temperror' });
    expect(broken.details.error).toMatch(/connection reset/);
  });
});
