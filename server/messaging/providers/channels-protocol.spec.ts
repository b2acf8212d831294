import { createHash, createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { discordPublicKey, discordSignatureValid, parseDiscordWebhookUrl } from './discord-protocol.ts';
import { parseTelegramUpdate, telegramSecretMatches } from './telegram-protocol.ts';
import { parseVonageWebhook, vonageWebhookValid } from './vonage-protocol.ts';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** As Vonage signs: HS256 with the signature secret, payload_hash the body's SHA-256. */
function signVonageWebhook(body: string, secret: string, apiKey: string): string {
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const claims = b64({
    iat: Math.floor(Date.now() / 1000),
    iss: 'Vonage',
    api_key: apiKey,
    payload_hash: createHash('sha256').update(body).digest('hex'),
  });
  return `${head}.${claims}.${createHmac('sha256', secret).update(`${head}.${claims}`).digest('base64url')}`;
}

describe('Vonage signed webhooks', () => {
  const secret = 'a-signature-secret-of-some-length';
  const body = Buffer.from('{"message_uuid":"aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee","status":"delivered"}');

  it('accepts the HS256 token whose payload_hash is the body’s SHA-256, nothing else', () => {
    const jwt = signVonageWebhook(body.toString(), secret, 'abcdef12');
    expect(vonageWebhookValid(`Bearer ${jwt}`, body, secret)).toBe(true);
    expect(vonageWebhookValid(`Bearer ${jwt}`, Buffer.concat([body, Buffer.from(' ')]), secret)).toBe(false);
    expect(vonageWebhookValid(`Bearer ${jwt}`, body, 'another-secret-of-some-length')).toBe(false);
    expect(vonageWebhookValid(jwt, body, secret)).toBe(false);
    expect(vonageWebhookValid(undefined, body, secret)).toBe(false);
  });

  it('refuses a replayed (old) token and an unsigned `alg: none` one', () => {
    const hash = createHash('sha256').update(body).digest('hex');
    const head = b64({ alg: 'HS256', typ: 'JWT' });
    const old = b64({ iat: Math.floor(Date.now() / 1000) - 3600, payload_hash: hash });
    const sig = createHmac('sha256', secret).update(`${head}.${old}`).digest('base64url');
    expect(vonageWebhookValid(`Bearer ${head}.${old}.${sig}`, body, secret)).toBe(false);
    const none = b64({ alg: 'none', typ: 'JWT' });
    const fresh = b64({ iat: Math.floor(Date.now() / 1000), payload_hash: hash });
    expect(vonageWebhookValid(`Bearer ${none}.${fresh}.x`, body, secret)).toBe(false);
  });

  it('maps statuses onto Filo’s states and ignores what it does not know', () => {
    const uuid = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
    const states = ['submitted', 'delivered', 'read', 'rejected', 'undeliverable'].map((status) => {
      const parsed = parseVonageWebhook({ message_uuid: uuid, status });
      return parsed && 'status' in parsed ? parsed.status.status : null;
    });
    expect(states).toEqual(['sent', 'delivered', 'read', 'failed', 'undelivered']);
    expect(parseVonageWebhook({ message_uuid: uuid, status: 'mystery' })).toBeNull();
    expect(parseVonageWebhook({ message_uuid: 'nope', channel: 'sms', from: '39333', text: 'x' })).toBeNull();
    expect(
      parseVonageWebhook({ message_uuid: uuid, channel: 'sms', from: '393331234567', to: '39333', text: 'hi' }),
    ).toMatchObject({
      inbound: { from: '+393331234567', text: 'hi' },
    });
  });
});

describe('Discord', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const hex = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');
  const key = discordPublicKey(hex)!;
  const raw = Buffer.from('{"type":1}');

  it('verifies Ed25519 over timestamp + body, refusing another body, key or a stale timestamp', () => {
    const ts = String(Math.floor(Date.now() / 1000));
    const sig = sign(null, Buffer.concat([Buffer.from(ts), raw]), privateKey).toString('hex');
    expect(discordSignatureValid(key, sig, ts, raw)).toBe(true);
    expect(discordSignatureValid(key, sig, ts, Buffer.from('{"type":2}'))).toBe(false);
    expect(discordSignatureValid(key, sig, String(Number(ts) + 1), raw)).toBe(false);
    const other = discordPublicKey(
      generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex'),
    )!;
    expect(discordSignatureValid(other, sig, ts, raw)).toBe(false);
    const old = String(Math.floor(Date.now() / 1000) - 3600);
    const oldSig = sign(null, Buffer.concat([Buffer.from(old), raw]), privateKey).toString('hex');
    expect(discordSignatureValid(key, oldSig, old, raw)).toBe(false);
    expect(discordSignatureValid(key, undefined, ts, raw)).toBe(false);
    expect(discordPublicKey('zz')).toBeNull();
  });

  it('reads webhook URLs as Discord shows them, and nothing else', () => {
    expect(
      parseDiscordWebhookUrl('https://discord.com/api/webhooks/123456789012345678/abcDEF_ghi-jkl0123456789xyz'),
    ).toEqual({
      id: '123456789012345678',
      token: 'abcDEF_ghi-jkl0123456789xyz',
    });
    expect(parseDiscordWebhookUrl('https://discord.com/api/webhooks/123/abc?x=1')).toBeNull();
    expect(parseDiscordWebhookUrl('javascript:alert(1)')).toBeNull();
  });
});

describe('Telegram', () => {
  it('compares the secret token exactly', () => {
    expect(telegramSecretMatches('s3cret-token', 's3cret-token')).toBe(true);
    expect(telegramSecretMatches('s3cret-tokeN', 's3cret-token')).toBe(false);
    expect(telegramSecretMatches(['s3cret-token'], 's3cret-token')).toBe(false);
    expect(telegramSecretMatches(undefined, 's3cret-token')).toBe(false);
  });

  it('reads private text messages (with a /command) and ignores groups and bots', () => {
    const base = { message_id: 7, date: 1_700_000_000, text: '/stop@filo_bot please' };
    const from = { id: 42, is_bot: false, first_name: 'Ada', username: 'ada' };
    expect(
      parseTelegramUpdate({ update_id: 1, message: { ...base, from, chat: { id: 42, type: 'private' } } }),
    ).toMatchObject({
      updateId: 1,
      providerMessageId: '42:7',
      chatId: '42',
      command: '/stop',
      name: 'Ada',
    });
    expect(
      parseTelegramUpdate({ update_id: 2, message: { ...base, from, chat: { id: -5, type: 'group' } } }),
    ).toBeNull();
    expect(
      parseTelegramUpdate({
        update_id: 3,
        message: { ...base, from: { ...from, is_bot: true }, chat: { id: 42, type: 'private' } },
      }),
    ).toBeNull();
    expect(parseTelegramUpdate({ update_id: 'x', message: {} })).toBeNull();
  });
});
