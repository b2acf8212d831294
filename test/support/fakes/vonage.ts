import { createHash, createHmac, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request to `POST /v1/messages`. */
export interface VonageRequest {
  auth: string;
  status: number;
  body: Record<string, unknown>;
  messageUuid?: string;
}

export interface FakeVonage {
  /** `http://127.0.0.1:<port>`, for the SDK's `apiHost`. */
  apiHost: string;
  requests: VonageRequest[];
  /** Messages it accepted (202). */
  accepted: VonageRequest[];
  /** The next `times` sends answer 429 (with `Retry-After` when given, in seconds), as Vonage's throttling does. */
  limit(opts: { times: number; retryAfter?: number }): void;
  /** The next send answers this HTTP status with a problem+json body. */
  fail(status: number, title: string, detail: string): void;
  /** Posts an inbound SMS webhook to `url`, signed with the signature secret as Vonage does. */
  inbound(
    url: string,
    m: { from: string; to: string; text: string; messageUuid?: string },
    opts?: SignOpts,
  ): Promise<number>;
  /** Posts a message-status webhook to `url`, signed likewise. */
  status(
    url: string,
    s: {
      messageUuid: string;
      status: string;
      to: string;
      from: string;
      error?: { type: string; title: string; detail?: string };
    },
    opts?: SignOpts,
  ): Promise<number>;
  close(): Promise<void>;
}

/** How the fake signs a webhook: normally, with another secret, unsigned, or with a body changed after signing. */
export interface SignOpts {
  secret?: string;
  unsigned?: boolean;
  tamper?: boolean;
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

/** An HS256 JWT as Vonage signs webhooks: `payload_hash` is the SHA-256 (hex) of the exact body. */
export function signVonageWebhook(body: string, secret: string, apiKey: string): string {
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const claims = b64({
    iat: Math.floor(Date.now() / 1000),
    jti: randomUUID(),
    iss: 'Vonage',
    payload_hash: createHash('sha256').update(body).digest('hex'),
    api_key: apiKey,
    application_id: randomUUID(),
  });
  const sig = createHmac('sha256', secret).update(`${head}.${claims}`).digest('base64url');
  return `${head}.${claims}.${sig}`;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

function answer(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': status >= 400 ? 'application/problem+json' : 'application/json',
    ...headers,
  });
  res.end(JSON.stringify(body));
}

/**
 * A local Vonage Messages API on a random loopback port speaking the real protocol: `POST /v1/messages` with Basic
 * auth (api key:secret) answers 202 `{ message_uuid }`, 401 for wrong credentials, 429 / other problems on demand;
 * it sends inbound and status webhooks signed with the account's signature secret (HS256 JWT + payload_hash).
 */
export async function startFakeVonage(opts: {
  apiKey: string;
  apiSecret: string;
  signatureSecret: string;
}): Promise<FakeVonage> {
  const requests: VonageRequest[] = [];
  const accepted: VonageRequest[] = [];
  const limits: { times: number; retryAfter?: number }[] = [];
  const failures: { status: number; title: string; detail: string }[] = [];
  const basic = `Basic ${Buffer.from(`${opts.apiKey}:${opts.apiSecret}`).toString('base64')}`;

  const server = createServer((req, res) => {
    void (async () => {
      if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://x').pathname !== '/v1/messages')
        return answer(res, 404, { type: 'about:blank', title: 'Not Found' });
      const body = await readJson(req);
      const record: VonageRequest = { auth: req.headers.authorization ?? '', status: 0, body };
      requests.push(record);
      if (record.auth !== basic) {
        record.status = 401;
        return answer(res, 401, {
          type: 'https://developer.nexmo.com/api-errors#unauthorized',
          title: 'Unauthorized',
          detail: 'You did not provide correct credentials.',
        });
      }
      const rule = limits.find((l) => l.times > 0);
      if (rule) {
        rule.times--;
        record.status = 429;
        return answer(
          res,
          429,
          {
            type: 'https://developer.vonage.com/api-errors#throttled',
            title: 'Rate Limit Hit',
            detail: 'Please wait, then retry your request',
          },
          rule.retryAfter === undefined ? {} : { 'retry-after': String(rule.retryAfter) },
        );
      }
      const failure = failures.shift();
      if (failure) {
        record.status = failure.status;
        return answer(res, failure.status, {
          type: 'https://developer.vonage.com/api-errors/messages',
          title: failure.title,
          detail: failure.detail,
        });
      }
      if (
        body.channel !== 'sms' ||
        body.message_type !== 'text' ||
        typeof body.text !== 'string' ||
        !body.to ||
        !body.from
      ) {
        record.status = 422;
        return answer(res, 422, {
          type: 'https://developer.vonage.com/api-errors/messages#1150',
          title: 'Invalid params',
          detail: 'The value of one or more parameters is invalid.',
        });
      }
      record.status = 202;
      record.messageUuid = randomUUID();
      accepted.push(record);
      answer(res, 202, { message_uuid: record.messageUuid });
    })().catch((err: unknown) => answer(res, 500, { title: String(err) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  async function post(url: string, payload: Record<string, unknown>, sign: SignOpts = {}): Promise<number> {
    const body = JSON.stringify(payload);
    const jwt = signVonageWebhook(body, sign.secret ?? opts.signatureSecret, opts.apiKey);
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(sign.unsigned ? {} : { authorization: `Bearer ${jwt}` }) },
      body: sign.tamper ? body.replace(/"text":"/, '"text":"X') : body,
    });
    await res.arrayBuffer();
    return res.status;
  }

  return {
    apiHost: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    accepted,
    limit(l) {
      limits.push({ ...l });
    },
    fail(status, title, detail) {
      failures.push({ status, title, detail });
    },
    inbound: (url, m, sign) =>
      post(
        url,
        {
          channel: 'sms',
          message_uuid: m.messageUuid ?? randomUUID(),
          to: m.to.replace(/^\+/, ''),
          from: m.from.replace(/^\+/, ''),
          timestamp: new Date().toISOString(),
          text: m.text,
          message_type: 'text',
          sms: { num_messages: '1', keyword: m.text.split(/\s+/)[0]!.toUpperCase() },
        },
        sign,
      ),
    status: (url, s, sign) =>
      post(
        url,
        {
          message_uuid: s.messageUuid,
          to: s.to.replace(/^\+/, ''),
          from: s.from.replace(/^\+/, ''),
          timestamp: new Date().toISOString(),
          status: s.status,
          channel: 'sms',
          ...(s.error ? { error: s.error } : {}),
        },
        sign,
      ),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
