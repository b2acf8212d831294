import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Api, GrammyError, HttpError } from 'grammy';

/** The Bot API's root; tests point grammy at a local stand-in. */
export const TELEGRAM_API_ROOT = 'https://api.telegram.org';

export type TelegramSendOutcome =
  | { ok: true; providerMessageId: string }
  | { ok: false; retryAfterMs: number; code: string; words: string }
  | { ok: false; retryAfterMs?: undefined; permanent: boolean; code: string; words: string };

/** One private-chat text message of a Telegram update, normalized. */
export interface TelegramInbound {
  updateId: number;
  providerMessageId: string;
  chatId: string;
  userId: string;
  name: string;
  username: string | null;
  text: string;
  /** A leading bot command without its `@bot` suffix, e.g. `/stop`. */
  command: string | null;
  at: Date;
}

/** A bot token as BotFather hands it out: `<bot id>:<35 characters>`. */
export const BOT_TOKEN = /^\d{5,15}:[A-Za-z0-9_-]{30,50}$/;

const api = (token: string, apiRoot: string) => new Api(token, { apiRoot, timeoutSeconds: 15 });

/** A secret_token for setWebhook: 1-256 characters of A-Z a-z 0-9 _ -. */
export function newWebhookSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Connects a bot: getMe proves the token, then setWebhook points Telegram at Filo's URL with the secret that every
 * update must carry back in `X-Telegram-Bot-Api-Secret-Token`.
 */
export async function connectTelegramBot(
  token: string,
  webhookUrl: string,
  secretToken: string,
  apiRoot = TELEGRAM_API_ROOT,
): Promise<{ botId: string; username: string }> {
  const bot = api(token, apiRoot);
  const me = await bot.getMe();
  await bot.setWebhook(webhookUrl, {
    secret_token: secretToken,
    allowed_updates: ['message', 'edited_message'],
    drop_pending_updates: false,
  });
  return { botId: String(me.id), username: me.username };
}

/** Stops Telegram calling Filo (the account was removed); failures are the bot owner's business. */
export async function disconnectTelegramBot(token: string, apiRoot = TELEGRAM_API_ROOT): Promise<void> {
  await api(token, apiRoot)
    .deleteWebhook()
    .catch(() => undefined);
}

/** True when the header carries exactly the account's secret (constant-time). */
export function telegramSecretMatches(header: string | string[] | undefined, secret: string): boolean {
  if (typeof header !== 'string' || !header) return false;
  const a = Buffer.from(header);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The update_id of a webhook body, or null when the body is no Telegram update. */
export function telegramUpdateId(body: unknown): number | null {
  const id = (body as { update_id?: unknown } | null)?.update_id;
  return Number.isSafeInteger(id) ? (id as number) : null;
}

/** The text message of a private chat an update carries; other updates (edits, groups, stickers) give null. */
export function parseTelegramUpdate(body: unknown): TelegramInbound | null {
  const updateId = telegramUpdateId(body);
  const m = (body as { message?: Record<string, unknown> }).message;
  if (updateId === null || !m || typeof m !== 'object') return null;
  const chat = m.chat as { id?: unknown; type?: unknown } | undefined;
  const from = m.from as
    { id?: unknown; is_bot?: unknown; first_name?: unknown; last_name?: unknown; username?: unknown } | undefined;
  if (!chat || chat.type !== 'private' || !from || from.is_bot === true || typeof m.text !== 'string') return null;
  if (!Number.isSafeInteger(chat.id) || !Number.isSafeInteger(from.id)) return null;
  const text = m.text.slice(0, 4096);
  const command = /^\/([a-z0-9_]{1,32})(?:@\w+)?(?:\s|$)/i.exec(text);
  const name = [from.first_name, from.last_name].filter((p): p is string => typeof p === 'string' && !!p).join(' ');
  return {
    updateId,
    providerMessageId: `${String(chat.id)}:${String(m.message_id)}`,
    chatId: String(chat.id),
    userId: String(from.id),
    name: name.slice(0, 200) || (typeof from.username === 'string' ? from.username : `Telegram ${String(from.id)}`),
    username: typeof from.username === 'string' ? from.username.slice(0, 64) : null,
    text,
    command: command ? `/${command[1]!.toLowerCase()}` : null,
    at: new Date(Number.isSafeInteger(m.date) ? (m.date as number) * 1000 : Date.now()),
  };
}

/** Sends a text with the real Bot API client; a 429 comes back as the delay Telegram asked for, never retried here. */
export async function sendTelegramText(
  token: string,
  chatId: string,
  text: string,
  apiRoot = TELEGRAM_API_ROOT,
): Promise<TelegramSendOutcome> {
  try {
    const sent = await api(token, apiRoot).sendMessage(chatId, text.slice(0, 4096), {
      link_preview_options: { is_disabled: true },
    });
    return { ok: true, providerMessageId: `${String(sent.chat.id)}:${String(sent.message_id)}` };
  } catch (err) {
    return telegramError(err);
  }
}

/** A Bot API failure in words; 429 carries `parameters.retry_after` (seconds). */
export function telegramError(err: unknown): TelegramSendOutcome {
  if (err instanceof GrammyError) {
    if (err.error_code === 429) {
      const seconds = Math.max(1, Number(err.parameters.retry_after) || 1);
      return {
        ok: false,
        retryAfterMs: seconds * 1000,
        code: 'rate_limited',
        words: `Telegram asked to wait ${seconds} s`,
      };
    }
    if (err.error_code === 401 || err.error_code === 404)
      return { ok: false, permanent: true, code: 'unauthorized', words: 'Telegram refused the bot token' };
    if (err.error_code === 403)
      return { ok: false, permanent: true, code: 'blocked', words: 'The person blocked the bot or never started it' };
    if (err.error_code === 400) {
      const chatGone = /chat not found/i.test(err.description);
      return {
        ok: false,
        permanent: true,
        code: chatGone ? 'chat_not_found' : 'bad_request',
        words: chatGone ? 'Telegram does not know this chat' : 'Telegram refused the message',
      };
    }
    return { ok: false, permanent: false, code: 'provider_error', words: `Telegram answered ${err.error_code}` };
  }
  if (err instanceof HttpError)
    return { ok: false, permanent: false, code: 'unreachable', words: 'Telegram could not be reached' };
  return { ok: false, permanent: false, code: 'provider_error', words: 'Telegram could not send the message' };
}
