import { createHash, timingSafeEqual } from 'node:crypto';
import { verifySignature } from '@vonage/jwt';
import { Messages, SMS } from '@vonage/messages';

/** The Messages API host; tests point the SDK at a local stand-in. */
export const VONAGE_API_HOST = 'https://api.nexmo.com';

export type VonageSendOutcome =
  | { ok: true; providerMessageId: string }
  | { ok: false; retryAfterMs: number; code: string; words: string }
  | { ok: false; retryAfterMs?: undefined; permanent: boolean; code: string; words: string };

export interface VonageCredentials {
  apiKey: string;
  apiSecret: string;
  signatureSecret: string;
}

/** Delivery states of a Vonage status webhook onto Filo's (never-backwards) message states. */
const STATUS: Record<string, 'sent' | 'delivered' | 'read' | 'failed' | 'undelivered'> = {
  submitted: 'sent',
  delivered: 'delivered',
  read: 'read',
  rejected: 'failed',
  undeliverable: 'undelivered',
};

/** Sends an SMS with the real Messages API client (Basic auth); a 429 comes back as a delay, never retried here. */
export async function sendVonageSms(
  creds: Pick<VonageCredentials, 'apiKey' | 'apiSecret'>,
  m: { from: string; to: string; text: string },
  apiHost = VONAGE_API_HOST,
): Promise<VonageSendOutcome> {
  const client = new Messages({ apiKey: creds.apiKey, apiSecret: creds.apiSecret }, { apiHost, timeout: 15_000 });
  try {
    const { messageUUID } = await client.send(
      new SMS({
        channel: 'sms',
        messageType: 'text',
        to: digits(m.to),
        from: /^\+?\d+$/.test(m.from) ? digits(m.from) : m.from,
        text: m.text,
      }),
    );
    return { ok: true, providerMessageId: messageUUID };
  } catch (err) {
    return vonageError(err);
  }
}

/** Vonage wants numbers without the leading `+`. */
const digits = (e164: string): string => e164.replace(/^\+/, '');

async function vonageError(err: unknown): Promise<VonageSendOutcome> {
  const res = (err as { response?: Response }).response;
  if (!res || typeof res.status !== 'number')
    return { ok: false, permanent: false, code: 'unreachable', words: 'Vonage could not be reached' };
  const problem = (await res.json().catch(() => null)) as { title?: unknown; detail?: unknown } | null;
  const title = typeof problem?.title === 'string' ? problem.title.slice(0, 120) : `HTTP ${res.status}`;
  if (res.status === 429) {
    const seconds = Math.max(1, Number(res.headers.get('retry-after')) || 1);
    return {
      ok: false,
      retryAfterMs: seconds * 1000,
      code: 'rate_limited',
      words: `Vonage asked to wait ${seconds} s`,
    };
  }
  if (res.status === 401 || res.status === 403)
    return { ok: false, permanent: true, code: 'unauthorized', words: 'Vonage refused the API key or secret' };
  if (res.status === 402)
    return { ok: false, permanent: true, code: 'low_balance', words: 'The Vonage account is out of credit' };
  if (res.status >= 400 && res.status < 500)
    return { ok: false, permanent: true, code: 'rejected', words: `Vonage refused the message: ${title}` };
  return { ok: false, permanent: false, code: 'provider_error', words: `Vonage answered ${res.status}` };
}

/**
 * Vonage's signed webhook: `Authorization: Bearer <HS256 JWT>` signed with the account's signature secret, whose
 * `payload_hash` is the SHA-256 of the exact body; tokens older than 5 minutes are refused as replays.
 */
export function vonageWebhookValid(
  authorization: string | undefined,
  raw: Buffer,
  signatureSecret: string,
  now = Date.now(),
): boolean {
  const m = /^Bearer\s+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(authorization ?? '');
  if (!m || !signatureSecret) return false;
  const [head, payload] = m[1]!.split('.') as [string, string];
  let claims: { payload_hash?: unknown; iat?: unknown };
  try {
    if (JSON.parse(Buffer.from(head, 'base64url').toString()).alg !== 'HS256') return false;
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  } catch {
    return false;
  }
  if (!verifySignature(m[1]!, signatureSecret)) return false;
  if (typeof claims.iat !== 'number' || Math.abs(now / 1000 - claims.iat) > 300) return false;
  if (typeof claims.payload_hash !== 'string') return false;
  const expected = Buffer.from(createHash('sha256').update(raw).digest('hex'));
  const given = Buffer.from(claims.payload_hash.toLowerCase());
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** An inbound SMS, normalized. */
export interface VonageInbound {
  providerMessageId: string;
  from: string;
  to: string;
  text: string;
  at: Date;
}

/** A delivery update, normalized. */
export interface VonageStatus {
  providerMessageId: string;
  status: 'sent' | 'delivered' | 'read' | 'failed' | 'undelivered';
  errorCode: string | null;
  errorText: string | null;
  at: Date;
}

/** What a verified webhook body is: an inbound SMS, a status update, or something Filo ignores. */
export function parseVonageWebhook(body: unknown): { inbound: VonageInbound } | { status: VonageStatus } | null {
  const b = body as Record<string, unknown> | null;
  if (!b || typeof b.message_uuid !== 'string' || !/^[0-9a-f-]{36}$/i.test(b.message_uuid)) return null;
  const at =
    typeof b.timestamp === 'string' && !Number.isNaN(Date.parse(b.timestamp)) ? new Date(b.timestamp) : new Date();
  if (typeof b.status === 'string') {
    const status = STATUS[b.status];
    if (!status) return null;
    const error = b.error as { type?: unknown; title?: unknown; detail?: unknown } | undefined;
    const code = error ? String(error.title ?? error.type ?? '').slice(0, 60) || null : null;
    const words = error ? String(error.detail ?? error.title ?? '').slice(0, 300) || null : null;
    return { status: { providerMessageId: b.message_uuid, status, errorCode: code, errorText: words, at } };
  }
  if (b.channel !== 'sms' || typeof b.from !== 'string' || typeof b.text !== 'string') return null;
  return {
    inbound: {
      providerMessageId: b.message_uuid,
      from: `+${b.from.replace(/^\+/, '')}`,
      to: `+${String(b.to ?? '').replace(/^\+/, '')}`,
      text: b.text.slice(0, 4000),
      at,
    },
  };
}
