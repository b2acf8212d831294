import { z } from 'zod';
import {
  discordPublicKey,
  discordSignatureValid,
  parseDiscordInteraction,
  parseDiscordWebhookUrl,
  sendDiscordText,
} from './discord-protocol.ts';
import { ProviderError, type MessagingProviderImpl, type NormalizedEvent } from './types.ts';

/** Channel name -> its webhook URL (a secret: whoever holds it can post as the webhook). */
type Credentials = Record<string, string>;
type Settings = { applicationPublicKey: string | null };

const CHANNEL = /^[a-z0-9][a-z0-9_-]{0,99}$/;

const credentials = z
  .record(
    z.string().trim().toLowerCase().regex(CHANNEL, 'a channel name: lower-case letters, digits, - and _'),
    z
      .string()
      .trim()
      .refine(
        (url) => parseDiscordWebhookUrl(url) !== null,
        'must be a webhook URL (https://discord.com/api/webhooks/…)',
      ),
  )
  .refine((r) => Object.keys(r).length >= 1 && Object.keys(r).length <= 20, 'between 1 and 20 channels');

const settings = z
  .object({
    applicationPublicKey: z
      .string()
      .trim()
      .regex(/^[0-9a-fA-F]{64}$/, 'the application’s public key: 64 hex characters')
      .nullable()
      .default(null),
  })
  .strict();

const ERRORS: Record<string, string> = {
  rate_limited: 'Discord asked to slow down: the message is sent again shortly',
  webhook_gone: 'The Discord webhook was deleted or its URL is wrong: paste a new one in Settings',
  no_webhook: 'This account has no webhook for that channel',
  bad_request: 'Discord refused the message',
  unreachable: 'Discord could not be reached',
};

/** Interaction response types: 1 PONG, 4 a message (flag 64: only the person who ran the command sees it). */
const PONG = JSON.stringify({ type: 1 });
const RECEIVED = JSON.stringify({
  type: 4,
  data: { content: 'Thanks: the team got your message and answers here.', flags: 64 },
});

/** When each webhook's bucket frees up again (this process), from Discord's rate-limit headers. */
const bucketFree = new Map<string, number>();

/** Discord: replies through per-channel webhooks (plain HTTP); optionally slash commands in, signed with Ed25519. */
export const discordProvider: MessagingProviderImpl<Credentials, Settings> = {
  id: 'discord',
  credentials: credentials as unknown as z.ZodType<Credentials>,
  settings: settings as unknown as z.ZodType<Settings>,
  hooks: ['interactions'],

  channelsOf() {
    return ['discord'];
  },

  receive(hook, account) {
    const key = account.settings.applicationPublicKey ? discordPublicKey(account.settings.applicationPublicKey) : null;
    if (
      hook.hook !== 'interactions' ||
      !key ||
      !discordSignatureValid(
        key,
        hook.headers['x-signature-ed25519'],
        hook.headers['x-signature-timestamp'],
        hook.rawBody,
      )
    )
      return { ok: false, status: 401, reason: 'invalid request signature' };
    const json = 'application/json';
    const body = hook.json as { id?: unknown; type?: unknown } | null;
    if (body?.type === 1) return { ok: true, events: [], reply: { contentType: json, body: PONG } };
    if (body?.type !== 2 || typeof body.id !== 'string')
      return { ok: true, events: [], reply: { contentType: json, body: PONG } };
    return {
      ok: true,
      events: [{ eventId: `interaction:${body.id}`, payload: hook.json }],
      reply: { contentType: json, body: RECEIVED },
    };
  },

  normalize(payload, account) {
    const m = parseDiscordInteraction(payload);
    if (!m) return [];
    // The party is `<channel>:<user>`: one conversation per person and channel, replies through that channel's webhook.
    const name = (payload as { channel?: { name?: unknown } }).channel?.name;
    const channel =
      typeof name === 'string' && Object.hasOwn(account.credentials, name.toLowerCase())
        ? name.toLowerCase()
        : m.channelId;
    const event: NormalizedEvent = {
      kind: 'inbound',
      channel: 'discord',
      providerMessageId: m.interactionId,
      from: `${channel}:${m.userId}`,
      fromName: m.name,
      to: null,
      text: m.text,
      media: [],
      at: m.at,
    };
    return [event];
  },

  async send(message, account, ctx) {
    // `support` (the channel) or `support:<user id>` (a person there, mentioned in the reply).
    const [name = '', user] = message.to.toLowerCase().split(':');
    const url = Object.hasOwn(account.credentials, name) ? account.credentials[name] : undefined;
    const hook = url ? parseDiscordWebhookUrl(url) : null;
    if (!hook) throw new ProviderError('permanent', ERRORS.no_webhook!, { code: 'no_webhook' });
    const wait = (bucketFree.get(hook.id) ?? 0) - Date.now();
    if (wait > 0)
      throw new ProviderError('rate_limited', ERRORS.rate_limited!, {
        code: 'rate_limited',
        retryAfterSeconds: Math.ceil(wait / 1000),
      });
    const text = message.template ? fill(message.template.body, message.template.variables) : (message.text ?? '');
    const out = await sendDiscordText(hook, text, {
      ...(ctx.apiBase ? { apiBase: ctx.apiBase } : {}),
      ...(user ? { mention: user } : {}),
    });
    if (out.ok) {
      if (out.bucketEmptyForMs) bucketFree.set(hook.id, Date.now() + out.bucketEmptyForMs);
      return { providerMessageId: out.providerMessageId, status: 'sent', providerStatus: 'sent' };
    }
    if (out.retryAfterMs !== undefined) {
      bucketFree.set(hook.id, Date.now() + out.retryAfterMs);
      throw new ProviderError('rate_limited', out.words, {
        code: out.code,
        retryAfterSeconds: Math.ceil(out.retryAfterMs / 1000),
      });
    }
    throw new ProviderError(out.permanent ? 'permanent' : 'temporary', ERRORS[out.code] ?? out.words, {
      code: out.code,
    });
  },

  errorWords(code) {
    return ERRORS[code] ?? null;
  },
};

/** `{{1}}` / `{{name}}` replaced by their values. */
function fill(body: string, variables: Record<string, string>): string {
  return body.replace(/\{\{\s*([A-Za-z0-9_]{1,40})\s*\}\}/g, (all, name: string) => variables[name] ?? all);
}
