import { createPublicKey, verify, type KeyObject } from 'node:crypto';

/** Discord's API origin; tests point it at a local stand-in. */
export const DISCORD_API_BASE = 'https://discord.com';

export type DiscordSendOutcome =
  | { ok: true; providerMessageId: string; bucketEmptyForMs: number }
  | { ok: false; retryAfterMs: number; code: string; words: string }
  | { ok: false; retryAfterMs?: undefined; permanent: boolean; code: string; words: string };

/** A webhook URL as Discord shows it: `https://discord.com/api/webhooks/<id>/<token>` (v10 path accepted). */
const WEBHOOK_URL = /^https?:\/\/[^/]+\/api(?:\/v\d+)?\/webhooks\/(\d{5,25})\/([A-Za-z0-9_-]{20,100})\/?$/;

/** The id and token of a webhook URL, or null when it is not one. */
export function parseDiscordWebhookUrl(url: string): { id: string; token: string } | null {
  const m = WEBHOOK_URL.exec(url.trim());
  return m ? { id: m[1]!, token: m[2]! } : null;
}

/**
 * Executes a webhook by plain HTTP (`?wait=true` so Discord answers with the message id). Mentions in the text are
 * never parsed (a reply must not ping @everyone); only `mention`, the person answered, is pinged. A 429 comes back as
 * the delay Discord asked for, never retried here.
 */
export async function sendDiscordText(
  hook: { id: string; token: string },
  text: string,
  opts: { apiBase?: string; username?: string; mention?: string } = {},
): Promise<DiscordSendOutcome> {
  const mention = opts.mention && /^\d{5,25}$/.test(opts.mention) ? opts.mention : null;
  const url = `${opts.apiBase ?? DISCORD_API_BASE}/api/v10/webhooks/${hook.id}/${hook.token}?wait=true`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'DiscordBot (https://filo.local, 1)' },
      body: JSON.stringify({
        content: (mention ? `<@${mention}> ${text}` : text).slice(0, 2000),
        allowed_mentions: { parse: [], ...(mention ? { users: [mention] } : {}) },
        ...(opts.username ? { username: opts.username.slice(0, 80) } : {}),
      }),
      signal: AbortSignal.timeout(15_000),
    });
  } catch {
    // The error may quote the URL, whose token is a secret: only words leave this function.
    return { ok: false, permanent: false, code: 'unreachable', words: 'Discord could not be reached' };
  }
  const body = (await res.json().catch(() => null)) as { id?: unknown; retry_after?: unknown; code?: unknown } | null;
  if (res.ok)
    return {
      ok: true,
      providerMessageId: typeof body?.id === 'string' ? body.id : `${hook.id}:${Date.now()}`,
      // Limits are dynamic: when the bucket is spent, the next send waits for its reset instead of earning a 429.
      bucketEmptyForMs:
        res.headers.get('x-ratelimit-remaining') === '0'
          ? Math.ceil((Number(res.headers.get('x-ratelimit-reset-after')) || 1) * 1000)
          : 0,
    };
  if (res.status === 429) {
    // The body's retry_after is exact (fractions of a second); the headers are the fallback.
    const seconds =
      Number(body?.retry_after) ||
      Number(res.headers.get('x-ratelimit-reset-after')) ||
      Number(res.headers.get('retry-after')) ||
      1;
    const bounded = Math.min(3600, Math.max(0.1, seconds));
    return {
      ok: false,
      retryAfterMs: Math.ceil(bounded * 1000),
      code: 'rate_limited',
      words: `Discord asked to wait ${bounded} s`,
    };
  }
  if (res.status === 401 || res.status === 404)
    return {
      ok: false,
      permanent: true,
      code: 'webhook_gone',
      words: 'The Discord webhook was deleted or its URL is wrong',
    };
  if (res.status === 400 || res.status === 413)
    return { ok: false, permanent: true, code: 'bad_request', words: 'Discord refused the message' };
  return { ok: false, permanent: false, code: 'provider_error', words: `Discord answered ${res.status}` };
}

const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');

/** The application's public key (64 hex characters, as the developer portal shows it), or null. */
export function discordPublicKey(hex: string): KeyObject | null {
  if (!/^[0-9a-f]{64}$/i.test(hex)) return null;
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI, Buffer.from(hex, 'hex')]), format: 'der', type: 'spki' });
}

/** Discord's interaction signature: Ed25519 over timestamp + raw body; stale timestamps (5 min) refused as replays. */
export function discordSignatureValid(
  key: KeyObject,
  signature: string | string[] | undefined,
  timestamp: string | string[] | undefined,
  raw: Buffer,
  now = Date.now(),
): boolean {
  if (typeof signature !== 'string' || typeof timestamp !== 'string') return false;
  if (!/^[0-9a-f]{128}$/i.test(signature) || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(now / 1000 - Number(timestamp)) > 300) return false;
  return verify(null, Buffer.concat([Buffer.from(timestamp), raw]), key, Buffer.from(signature, 'hex'));
}

/** A slash command someone ran in a channel, normalized as an inbound message. */
export interface DiscordInbound {
  interactionId: string;
  channelId: string;
  userId: string;
  name: string;
  username: string;
  text: string;
  at: Date;
}

/** The text of an application command interaction (type 2): its string options joined; other types give null. */
export function parseDiscordInteraction(body: unknown): DiscordInbound | null {
  const b = body as {
    id?: unknown;
    type?: unknown;
    channel_id?: unknown;
    member?: { user?: Record<string, unknown> };
    user?: Record<string, unknown>;
    data?: { name?: unknown; options?: { value?: unknown }[] };
  } | null;
  if (!b || b.type !== 2 || typeof b.id !== 'string' || typeof b.channel_id !== 'string') return null;
  const user = b.member?.user ?? b.user;
  if (!user || typeof user.id !== 'string') return null;
  const parts = (Array.isArray(b.data?.options) ? b.data.options : [])
    .map((o) => o?.value)
    .filter((v): v is string => typeof v === 'string');
  const text = (parts.join(' ') || `/${String(b.data?.name ?? '')}`).slice(0, 4000);
  const username = typeof user.username === 'string' ? user.username.slice(0, 64) : user.id;
  return {
    interactionId: b.id,
    channelId: b.channel_id,
    userId: user.id,
    name: (typeof user.global_name === 'string' && user.global_name) || username,
    username,
    text,
    at: new Date(),
  };
}
