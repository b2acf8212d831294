import { z } from 'zod';
import {
  BOT_TOKEN,
  connectTelegramBot,
  disconnectTelegramBot,
  newWebhookSecret,
  parseTelegramUpdate,
  sendTelegramText,
  telegramSecretMatches,
  telegramUpdateId,
  TELEGRAM_API_ROOT,
} from './telegram-protocol.ts';
import { ProviderError, type MessagingProviderImpl, type NormalizedEvent } from './types.ts';

type Credentials = { botToken: string; webhookSecret: string };
type Settings = { botUsername: string | null };

/** The bot token as pasted from BotFather; the webhook's secret_token is drawn here, kept with it encrypted. */
const credentials = z
  .object({ botToken: z.string().trim().regex(BOT_TOKEN, 'must be a bot token from BotFather (123456:ABC…)') })
  .strict()
  .transform((c) => ({ botToken: c.botToken, webhookSecret: newWebhookSecret() }));

const settings = z.object({ botUsername: z.string().trim().max(64).nullable().default(null) }).strict();

const ERRORS: Record<string, string> = {
  rate_limited: 'Telegram asked to slow down: the message is sent again shortly',
  unauthorized: 'Telegram refused the bot token: check it with BotFather',
  blocked: 'The person blocked the bot (or never started it): Telegram delivers nothing to them',
  chat_not_found: 'Telegram does not know this chat',
  bad_request: 'Telegram refused the message',
  unreachable: 'Telegram could not be reached',
};

/** A Telegram bot (grammy's Bot API client): updates by webhook with a secret token, replies by sendMessage. */
export const telegramProvider: MessagingProviderImpl<Credentials, Settings> = {
  id: 'telegram',
  credentials: credentials as unknown as z.ZodType<Credentials>,
  settings: settings as unknown as z.ZodType<Settings>,
  hooks: ['updates'],

  channelsOf() {
    return ['telegram'];
  },

  receive(hook, account) {
    // The header Telegram echoes from setWebhook's secret_token: nothing else proves the update came from Telegram.
    if (
      hook.hook !== 'updates' ||
      !telegramSecretMatches(hook.headers['x-telegram-bot-api-secret-token'], account.credentials.webhookSecret)
    )
      return { ok: false, status: 401, reason: 'bad secret token' };
    const updateId = telegramUpdateId(hook.json);
    // Telegram retries anything but a 2xx: an update Filo does not read is still acknowledged.
    if (updateId === null) return { ok: true, events: [] };
    return { ok: true, events: [{ eventId: `update:${updateId}`, payload: hook.json }] };
  },

  normalize(payload) {
    const m = parseTelegramUpdate(payload);
    if (!m) return [];
    const event: NormalizedEvent = {
      kind: 'inbound',
      channel: 'telegram',
      providerMessageId: m.providerMessageId,
      // In a private chat the chat id is the user's id: replies go to it.
      from: m.chatId,
      fromName: m.name,
      to: null,
      text: m.text,
      media: [],
      at: m.at,
    };
    return [event];
  },

  async send(message, account, ctx) {
    const text = message.template ? fill(message.template.body, message.template.variables) : (message.text ?? '');
    if (!/^-?\d{1,20}$/.test(message.to))
      throw new ProviderError('permanent', ERRORS.chat_not_found!, { code: 'chat_not_found' });
    // Telegram allows about one message a second per chat: a faster second one waits its turn in the send job.
    const key = `${account.id}:${message.to}`;
    const wait = (lastSent.get(key) ?? 0) + PER_CHAT_MS - Date.now();
    if (wait > 0)
      throw new ProviderError('rate_limited', ERRORS.rate_limited!, { code: 'per_chat', retryAfterSeconds: 1 });
    // The slot is taken before the call: two jobs sending to one chat at once must not both go.
    remember(key);
    const out = await sendTelegramText(
      account.credentials.botToken,
      message.to,
      text,
      ctx.apiBase ?? TELEGRAM_API_ROOT,
    );
    if (out.ok) return { providerMessageId: out.providerMessageId, status: 'sent', providerStatus: 'sent' };
    if (out.retryAfterMs !== undefined)
      throw new ProviderError('rate_limited', out.words, {
        code: out.code,
        retryAfterSeconds: Math.ceil(out.retryAfterMs / 1000),
      });
    throw new ProviderError(out.permanent ? 'permanent' : 'temporary', ERRORS[out.code] ?? out.words, {
      code: out.code,
    });
  },

  async disconnect(account, ctx) {
    await disconnectTelegramBot(account.credentials.botToken, ctx.apiBase ?? TELEGRAM_API_ROOT);
  },

  async connect(account, ctx) {
    await connectTelegramBot(
      account.credentials.botToken,
      account.webhookUrl('updates'),
      account.credentials.webhookSecret,
      ctx.apiBase ?? TELEGRAM_API_ROOT,
    ).catch((err: unknown) => {
      // grammy's own message may quote the API path, which holds the token: only words leave.
      const code = (err as { error_code?: number }).error_code;
      throw new Error(
        code === 401 || code === 404
          ? ERRORS.unauthorized
          : `Telegram did not accept the webhook (${code ?? 'unreachable'})`,
      );
    });
  },

  errorWords(code) {
    return ERRORS[code] ?? null;
  },
};

const PER_CHAT_MS = 1000;
const lastSent = new Map<string, number>();

/** When each chat was last written to (this process), pruned so it stays small. */
function remember(key: string): void {
  const now = Date.now();
  if (lastSent.size > 10_000) for (const [k, at] of lastSent) if (now - at > PER_CHAT_MS) lastSent.delete(k);
  lastSent.set(key, now);
}

/** `{{1}}` / `{{name}}` replaced by their values. */
function fill(body: string, variables: Record<string, string>): string {
  return body.replace(/\{\{\s*([A-Za-z0-9_]{1,40})\s*\}\}/g, (all, name: string) => variables[name] ?? all);
}
