import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.ts';
import { isPublicAddress, parseAllowedHosts, SmtpTargetPolicy, SmtpTargetRefused } from './smtp-target.ts';

describe('public addresses', () => {
  it('exclude loopback, private, link-local, shared, metadata and reserved ranges in every spelling', () => {
    for (const address of [
      '127.0.0.1',
      '127.255.0.9',
      '0.0.0.0',
      '10.0.0.1',
      '100.64.0.1',
      '100.127.255.254',
      '169.254.169.254',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.0.1',
      '192.0.0.170',
      '198.18.0.1',
      '224.0.0.1',
      '255.255.255.255',
      '::',
      '::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:10.0.0.1',
      '::ffff:a9fe:a9fe',
      '::127.0.0.1',
      '64:ff9b::a9fe:a9fe',
      'fc00::1',
      'fd00:ec2::254',
      'fe80::1',
      'fe80::1%eth0',
      'ff02::1',
      '2001:db8::1',
      'not an address',
    ])
      expect(isPublicAddress(address), address).toBe(false);
    for (const address of [
      '93.184.215.14',
      '8.8.8.8',
      '172.32.0.1',
      '100.128.0.1',
      '2a00:1450:4001:82b::200e',
      '::ffff:8.8.8.8',
    ])
      expect(isPublicAddress(address), address).toBe(true);
  });
});

describe('the SMTP target policy', () => {
  const lookup = (answers: Record<string, string[]>) => async (host: string) => {
    const found = answers[host];
    if (!found) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

  it('checks every address of a name and answers the one to connect to, with the name for TLS', async () => {
    const policy = new SmtpTargetPolicy({
      lookup: lookup({
        'mx.example': ['93.184.215.14', '2a00:1450:4001:82b::200e'],
        'mixed.example': ['93.184.215.14', '::1'],
      }),
    });
    expect(await policy.resolve('MX.Example.')).toEqual({
      address: '93.184.215.14',
      servername: 'mx.example',
      local: false,
    });
    expect(await policy.resolve('[2a00:1450:4001:82b::200e]')).toEqual({
      address: '2a00:1450:4001:82b::200e',
      servername: null,
      local: false,
    });
    await expect(policy.resolve('mixed.example')).rejects.toBeInstanceOf(SmtpTargetRefused);
    await expect(policy.resolve('unknown.example')).rejects.toMatchObject({ code: 'ETARGETREFUSED' });
  });

  it('lets the operator list hosts, addresses and ranges off the public internet', async () => {
    const policy = new SmtpTargetPolicy({
      allowedHosts: ['relay.internal', '127.0.0.2', '10.20.0.0/16', 'fd12::/16'],
      lookup: lookup({ 'relay.internal': ['10.99.0.1'], 'other.internal': ['10.99.0.2'] }),
    });
    expect(await policy.resolve('relay.internal')).toMatchObject({ address: '10.99.0.1', local: true });
    expect(await policy.resolve('127.0.0.2')).toMatchObject({ local: true });
    expect(await policy.resolve('::ffff:127.0.0.2')).toMatchObject({ local: true });
    expect(await policy.resolve('10.20.3.4')).toMatchObject({ local: true });
    expect(await policy.resolve('fd12::5')).toMatchObject({ local: true });
    for (const host of ['127.0.0.1', '10.21.0.1', 'other.internal', 'fd13::1'])
      await expect(policy.resolve(host), host).rejects.toBeInstanceOf(SmtpTargetRefused);
  });

  it('is configured by SMTP_ALLOWED_HOSTS and SMTP_ALLOW_PLAIN_AUTH, refusing malformed entries', () => {
    expect(parseAllowedHosts(' relay.local , 127.0.0.1,10.0.0.0/8,, fd00::/8')).toEqual({
      entries: ['relay.local', '127.0.0.1', '10.0.0.0/8', 'fd00::/8'],
      invalid: [],
    });
    expect(parseAllowedHosts('10.0.0.0/33,bad host,1.2.3.4/x').invalid).toEqual([
      '10.0.0.0/33',
      'bad host',
      '1.2.3.4/x',
    ]);
    const base = { DATA_DIR: '/tmp/filo-config-spec', SECRET_KEY: 'x'.repeat(32) };
    const config = loadConfig({ ...base, SMTP_ALLOWED_HOSTS: '127.0.0.1', SMTP_ALLOW_PLAIN_AUTH: '1' });
    expect(config.smtpTargets).toEqual({ allowedHosts: ['127.0.0.1'], allowPlainAuth: true });
    expect(loadConfig(base).smtpTargets).toEqual({ allowedHosts: [], allowPlainAuth: false });
    expect(() => loadConfig({ ...base, SMTP_ALLOWED_HOSTS: '10.0.0.0/99' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, SMTP_ALLOW_PLAIN_AUTH: 'yes' })).toThrow(/SMTP_ALLOW_PLAIN_AUTH/);
  });
});
