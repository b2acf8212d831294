import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One Bot API call the fake answered (or refused). */
export interface TelegramCall {
  token: string;
  method: string;
  body: Record<string, unknown>;
  status: number;
}

/** A message the bot sent through `sendMessage`. */
export interface TelegramSent {
  token: string;
  chatId: number | string;
  text: string;
  messageId: number;
  body: Record<string, unknown>;
}

export interface FakeTelegram {
  /** `http://127.0.0.1:<port>`, for grammy's `client.apiRoot`. */
  apiRoot: string;
  calls: TelegramCall[];
  sent: TelegramSent[];
  /** The webhook each bot token set (url and secret_token), as Telegram stores it. */
  webhooks: Map<string, { url: string; secretToken: string | undefined }>;
  /** Adds a bot the fake knows; other tokens answer 401 Unauthorized. */
  addBot(token: string, username?: string): { id: number; username: string };
  /** The next `times` sendMessage calls (to `chatId` if given) answer 429 with `parameters.retry_after`. */
  limit(opts: { times: number; retryAfter: number; chatId?: number | string }): void;
  /**
   * Posts an update to the bot's webhook as Telegram does (with its secret token); returns the HTTP status. `via`
   * is the origin that actually serves the webhook's path (the reverse proxy behind PUBLIC_URL).
   */
  deliver(
    token: string,
    update: Record<string, unknown>,
    opts?: { secretToken?: string | null; via?: string },
  ): Promise<number>;
  /** A private-chat text message update from a user, with a fresh update_id unless given. */
  textUpdate(
    from: { id: number; first_name: string; last_name?: string; username?: string },
    text: string,
    updateId?: number,
  ): Record<string, unknown>;
  close(): Promise<void>;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  if ((req.headers['content-type'] ?? '').includes('application/json')) return JSON.parse(text);
  return Object.fromEntries(new URLSearchParams(text));
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * A local Telegram Bot API on a random loopback port speaking the real protocol (`POST /bot<token>/<method>`,
 * `{ ok, result }` or `{ ok: false, error_code, description, parameters }`), so the real `grammy` client runs
 * against it. It stores setWebhook's url + secret_token and can deliver updates to that webhook.
 */
export async function startFakeTelegram(): Promise<FakeTelegram> {
  const calls: TelegramCall[] = [];
  const sent: TelegramSent[] = [];
  const webhooks = new Map<string, { url: string; secretToken: string | undefined }>();
  const bots = new Map<string, { id: number; username: string }>();
  const limits: { times: number; retryAfter: number; chatId?: number | string }[] = [];
  let nextMessageId = 1000;
  let nextUpdateId = 500_000;

  const methods: Record<string, (token: string, body: Record<string, unknown>) => [number, unknown]> = {
    getMe(token) {
      const bot = bots.get(token)!;
      return [
        200,
        { ok: true, result: { id: bot.id, is_bot: true, first_name: bot.username, username: bot.username } },
      ];
    },
    setWebhook(token, body) {
      if (typeof body.url !== 'string' || !/^https?:\/\//.test(body.url))
        return [400, { ok: false, error_code: 400, description: 'Bad Request: bad webhook: invalid URL' }];
      const secret = body.secret_token === undefined ? undefined : String(body.secret_token);
      if (secret !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secret))
        return [
          400,
          { ok: false, error_code: 400, description: 'Bad Request: secret token contains unallowed characters' },
        ];
      webhooks.set(token, { url: body.url, secretToken: secret });
      return [200, { ok: true, result: true, description: 'Webhook was set' }];
    },
    deleteWebhook(token) {
      webhooks.delete(token);
      return [200, { ok: true, result: true, description: 'Webhook was deleted' }];
    },
    getWebhookInfo(token) {
      const hook = webhooks.get(token);
      return [
        200,
        { ok: true, result: { url: hook?.url ?? '', has_custom_certificate: false, pending_update_count: 0 } },
      ];
    },
    sendMessage(token, body) {
      const chatId = body.chat_id as number | string;
      if (chatId === undefined || typeof body.text !== 'string' || !body.text)
        return [400, { ok: false, error_code: 400, description: 'Bad Request: message text is empty' }];
      const rule = limits.find((l) => l.times > 0 && (l.chatId === undefined || String(l.chatId) === String(chatId)));
      if (rule) {
        rule.times--;
        return [
          429,
          {
            ok: false,
            error_code: 429,
            description: `Too Many Requests: retry after ${rule.retryAfter}`,
            parameters: { retry_after: rule.retryAfter },
          },
        ];
      }
      const bot = bots.get(token)!;
      const messageId = nextMessageId++;
      sent.push({ token, chatId, text: body.text, messageId, body });
      return [
        200,
        {
          ok: true,
          result: {
            message_id: messageId,
            from: { id: bot.id, is_bot: true, first_name: bot.username, username: bot.username },
            chat: { id: Number(chatId), type: 'private' },
            date: Math.floor(Date.now() / 1000),
            text: body.text,
          },
        },
      ];
    },
  };

  const server = createServer((req, res) => {
    void (async () => {
      const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
      if (!m || req.method !== 'POST')
        return answer(res, 404, { ok: false, error_code: 404, description: 'Not Found' });
      const [, token, method] = m as unknown as [string, string, string];
      const body = await readJson(req);
      let status: number;
      let payload: unknown;
      if (!bots.has(token)) [status, payload] = [401, { ok: false, error_code: 401, description: 'Unauthorized' }];
      else if (!methods[method])
        [status, payload] = [404, { ok: false, error_code: 404, description: 'Not Found: method not found' }];
      else [status, payload] = methods[method](token, body);
      calls.push({ token, method, body, status });
      answer(res, status, payload);
    })().catch((err: unknown) => answer(res, 500, { ok: false, error_code: 500, description: String(err) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    apiRoot: `http://127.0.0.1:${port}`,
    calls,
    sent,
    webhooks,
    addBot(token, username = 'filo_test_bot') {
      const bot = { id: Number(token.split(':')[0]) || 7_000_000 + bots.size, username };
      bots.set(token, bot);
      return bot;
    },
    limit(opts) {
      limits.push({ ...opts });
    },
    async deliver(token, update, opts = {}) {
      const hook = webhooks.get(token);
      if (!hook) throw new Error('no webhook set for this bot');
      const secret = opts.secretToken === undefined ? hook.secretToken : opts.secretToken;
      const target = opts.via ? new URL(new URL(hook.url).pathname, opts.via).href : hook.url;
      const res = await fetch(target, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(secret ? { 'x-telegram-bot-api-secret-token': secret } : {}),
        },
        body: JSON.stringify(update),
      });
      await res.arrayBuffer();
      return res.status;
    },
    textUpdate(from, text, updateId) {
      return {
        update_id: updateId ?? nextUpdateId++,
        message: {
          message_id: nextMessageId++,
          from: { ...from, is_bot: false, language_code: 'it' },
          chat: { id: from.id, type: 'private', first_name: from.first_name, username: from.username },
          date: Math.floor(Date.now() / 1000),
          text,
          ...(text.startsWith('/')
            ? { entities: [{ offset: 0, length: text.split(' ')[0]!.length, type: 'bot_command' }] }
            : {}),
        },
      };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
