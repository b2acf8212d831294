import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';

/** A request the fake received: the Messages API's form fields, with the Basic auth it came with. */
export interface TwilioRequest {
  method: string;
  path: string;
  accountSid: string | null;
  params: Record<string, string>;
  /** When it arrived (Date.now()). */
  at: number;
}

/** An answer queued for the next send: 429 (with Retry-After) or an error code as Twilio words it. */
export type TwilioAnswer = { status: 429; retryAfter?: number } | { status: number; code: number; message: string };

export interface FakeTwilio {
  url: string;
  accountSid: string;
  authToken: string;
  requests: TwilioRequest[];
  /** The messages the fake accepted (what a phone would receive). */
  sent(): TwilioRequest[];
  /** The next sends get these answers, in order; after them the fake accepts again. */
  answerNext(...answers: TwilioAnswer[]): void;
  /** The SID the next accepted message gets (a fresh one when null): a repeated SID makes Filo's write of it fail. */
  nextSid: string | null;
  /** Status callbacks each accepted message gets (signed as Twilio does), in order; none by default. */
  autoStatus: string[];
  /** Where callbacks really go: the StatusCallback's path on this base (Filo behind its PUBLIC_URL). */
  deliverTo: string | null;
  close(): Promise<void>;
}

/**
 * A local stand-in for Twilio's REST API speaking its protocol: `POST /2010-04-01/Accounts/{Sid}/Messages.json` as a
 * form with Basic auth, answered with the JSON message resource (sid, status queued) or Twilio's error JSON.
 */
export async function startFakeTwilio(opts: { accountSid?: string; authToken?: string } = {}): Promise<FakeTwilio> {
  const accountSid = opts.accountSid ?? `AC${randomBytes(16).toString('hex')}`;
  const authToken = opts.authToken ?? randomBytes(16).toString('hex');
  const requests: TwilioRequest[] = [];
  const accepted: TwilioRequest[] = [];
  const queue: TwilioAnswer[] = [];
  const fake: FakeTwilio = {
    url: '',
    accountSid,
    authToken,
    requests,
    sent: () => [...accepted],
    answerNext: (...answers) => queue.push(...answers),
    nextSid: null,
    autoStatus: [],
    deliverTo: null,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer(async (req, res) => {
    const at = Date.now();
    const body = await read(req);
    const params = Object.fromEntries(new URLSearchParams(body));
    const auth = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const [user, pass] = auth ? Buffer.from(auth, 'base64').toString().split(':') : [];
    const path = (req.url ?? '').split('?')[0]!;
    const request = { method: req.method ?? '', path, accountSid: user ?? null, params, at };
    requests.push(request);
    const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(value));
    };
    if (user !== accountSid || pass !== authToken)
      return json(401, { code: 20003, message: 'Authenticate', status: 401, more_info: '' });
    if (req.method !== 'POST' || path !== `/2010-04-01/Accounts/${accountSid}/Messages.json`)
      return json(404, { code: 20404, message: 'The requested resource was not found', status: 404 });
    const next = queue.shift();
    if (next && !('code' in next))
      return json(
        429,
        { code: 20429, message: 'Too Many Requests', status: 429 },
        { 'retry-after': String(next.retryAfter ?? 1) },
      );
    if (next && 'code' in next)
      return json(next.status, { code: next.code, message: next.message, status: next.status });
    accepted.push(request);
    const sid = fake.nextSid ?? `SM${randomBytes(16).toString('hex')}`;
    fake.nextSid = null;
    json(201, {
      sid,
      account_sid: accountSid,
      to: params.To,
      from: params.From ?? null,
      messaging_service_sid: params.MessagingServiceSid ?? null,
      body: params.Body ?? '',
      status: 'queued',
      num_segments: '1',
      direction: 'outbound-api',
      date_created: new Date().toUTCString(),
      error_code: null,
      error_message: null,
    });
    if (params.StatusCallback && fake.autoStatus.length) {
      const callbacks = [...fake.autoStatus];
      void (async () => {
        for (const status of callbacks)
          await postSigned(params.StatusCallback!, fake.deliverTo, authToken, {
            AccountSid: accountSid,
            MessageSid: sid,
            SmsSid: sid,
            MessageStatus: status,
            SmsStatus: status,
            To: params.To ?? '',
            From: params.From ?? '',
            ApiVersion: '2010-04-01',
          }).catch(() => {});
      })();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

/**
 * POSTs a webhook as Twilio does: form fields signed over the URL Twilio knows (`signedUrl`, PUBLIC_URL-based), sent
 * to `deliverTo` (the same path on Filo's real address) when given. `tamper` changes a field after signing.
 */
export async function postSigned(
  signedUrl: string,
  deliverTo: string | null,
  authToken: string,
  params: Record<string, string>,
  opts: { signature?: string | null; tamper?: Record<string, string> } = {},
): Promise<Response> {
  const signature =
    opts.signature === undefined ? twilio.getExpectedTwilioSignature(authToken, signedUrl, params) : opts.signature;
  const url = deliverTo ? new URL(new URL(signedUrl).pathname + new URL(signedUrl).search, deliverTo).href : signedUrl;
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(signature ? { 'x-twilio-signature': signature } : {}),
    },
    body: new URLSearchParams({ ...params, ...opts.tamper }).toString(),
  });
}

/** An inbound SMS or WhatsApp message's webhook fields, as Twilio posts them. */
export function inboundParams(
  accountSid: string,
  m: { from: string; to: string; body: string; sid?: string; profileName?: string },
): Record<string, string> {
  const sid = m.sid ?? `SM${randomBytes(16).toString('hex')}`;
  return {
    ToCountry: 'IT',
    SmsMessageSid: sid,
    NumMedia: '0',
    SmsSid: sid,
    SmsStatus: 'received',
    Body: m.body,
    To: m.to,
    NumSegments: '1',
    MessageSid: sid,
    AccountSid: accountSid,
    From: m.from,
    ApiVersion: '2010-04-01',
    ...(m.profileName ? { ProfileName: m.profileName } : {}),
  };
}

function read(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
