import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One webhook execution the fake received. */
export interface DiscordExecution {
  webhookId: string;
  wait: boolean;
  status: number;
  body: Record<string, unknown>;
}

export interface FakeDiscord {
  /** `http://127.0.0.1:<port>`: the base of the webhook URLs it hands out. */
  url: string;
  executions: DiscordExecution[];
  /** Messages it accepted (answered 200/204). */
  posted: DiscordExecution[];
  /** A webhook the fake accepts: its id, token and the URL Discord shows for it. */
  addWebhook(channelId?: string): { id: string; token: string; url: string };
  /** The next `times` executions answer 429 with `retry_after` (seconds) and the rate-limit headers. */
  limit(opts: { times: number; retryAfter: number; global?: boolean }): void;
  /** The application's Ed25519 public key (hex), as the developer portal shows it. */
  publicKey: string;
  /** Posts an interaction to `url` signed as Discord does (X-Signature-Ed25519 over timestamp + body). */
  interact(
    url: string,
    body: Record<string, unknown>,
    opts?: { tamper?: boolean; unsigned?: boolean },
  ): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

function answer(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (status === 204) {
    res.writeHead(204, headers);
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

let snowflake = 1_200_000_000_000_000_000n;
const nextSnowflake = (): string => String(snowflake++);

/**
 * A local Discord API for webhooks on a random loopback port speaking the real protocol:
 * `POST /api/v10/webhooks/{id}/{token}[?wait=true]` answers 200 with a message object (wait) or 204, 401 for an
 * unknown token, 429 with `retry_after` and `X-RateLimit-*` / `Retry-After` headers on demand. It also signs
 * interactions with an Ed25519 key as Discord does.
 */
export async function startFakeDiscord(): Promise<FakeDiscord> {
  const executions: DiscordExecution[] = [];
  const posted: DiscordExecution[] = [];
  const hooks = new Map<string, { token: string; channelId: string }>();
  const limits: { times: number; retryAfter: number; global?: boolean }[] = [];
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const rawPublic = (publicKey as KeyObject).export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');

  const server = createServer((req, res) => {
    void (async () => {
      const u = new URL(req.url ?? '/', 'http://x');
      const m = /^\/api\/v10\/webhooks\/(\d+)\/([A-Za-z0-9_-]+)$/.exec(u.pathname);
      if (!m || req.method !== 'POST') return answer(res, 404, { message: '404: Not Found', code: 0 });
      const [, id, token] = m as unknown as [string, string, string];
      const wait = u.searchParams.get('wait') === 'true';
      const body = await readJson(req);
      const hook = hooks.get(id);
      const record = { webhookId: id, wait, body, status: 0 };
      executions.push(record);
      if (!hook || hook.token !== token) {
        record.status = 401;
        return answer(res, 401, { message: 'Invalid Webhook Token', code: 50027 });
      }
      const rule = limits.find((l) => l.times > 0);
      const bucket = { 'x-ratelimit-bucket': `hook-${id}`, 'x-ratelimit-limit': '5' };
      if (rule) {
        rule.times--;
        record.status = 429;
        return answer(
          res,
          429,
          { message: 'You are being rate limited.', retry_after: rule.retryAfter, global: rule.global ?? false },
          {
            ...bucket,
            'retry-after': String(Math.ceil(rule.retryAfter)),
            'x-ratelimit-remaining': '0',
            'x-ratelimit-reset': String(Date.now() / 1000 + rule.retryAfter),
            'x-ratelimit-reset-after': String(rule.retryAfter),
            'x-ratelimit-scope': rule.global ? 'global' : 'user',
            ...(rule.global ? { 'x-ratelimit-global': 'true' } : {}),
          },
        );
      }
      const content = typeof body.content === 'string' ? body.content : '';
      if (!content && !Array.isArray(body.embeds)) {
        record.status = 400;
        return answer(res, 400, { message: 'Cannot send an empty message', code: 50006 });
      }
      record.status = wait ? 200 : 204;
      posted.push(record);
      const headers = { ...bucket, 'x-ratelimit-remaining': '4', 'x-ratelimit-reset-after': '1' };
      if (!wait) return answer(res, 204, null, headers);
      answer(
        res,
        200,
        {
          id: nextSnowflake(),
          type: 0,
          channel_id: hook.channelId,
          content,
          author: { id, username: String(body.username ?? 'Filo'), bot: true },
          webhook_id: id,
          timestamp: new Date().toISOString(),
          mentions: [],
        },
        headers,
      );
    })().catch((err: unknown) => answer(res, 500, { message: String(err) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    executions,
    posted,
    publicKey: rawPublic,
    addWebhook(channelId = nextSnowflake()) {
      const id = nextSnowflake();
      const token = Buffer.from(`${id}-secret-${Math.random()}`).toString('base64url');
      hooks.set(id, { token, channelId });
      return { id, token, url: `${url}/api/webhooks/${id}/${token}` };
    },
    limit(opts) {
      limits.push({ ...opts });
    },
    async interact(target, body, opts = {}) {
      const raw = JSON.stringify(body);
      const timestamp = String(Math.floor(Date.now() / 1000));
      const signature = sign(null, Buffer.from(timestamp + raw), privateKey).toString('hex');
      const res = await fetch(target, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(opts.unsigned ? {} : { 'x-signature-ed25519': signature, 'x-signature-timestamp': timestamp }),
        },
        body: opts.tamper ? raw.replace(/}$/, ',"x":1}') : raw,
      });
      const text = await res.text();
      const json = (res.headers.get('content-type') ?? '').includes('application/json');
      return { status: res.status, body: json && text ? JSON.parse(text) : text || null };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
