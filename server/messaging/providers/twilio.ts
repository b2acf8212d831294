// The signature check alone, light; the SDK (~0.2 s of CPU to load) is imported by the first send.
import { validateRequest } from 'twilio/lib/webhooks/webhooks.js';
import type Twilio from 'twilio';
import type { RequestClient } from 'twilio';
import { twilioCredentials, twilioSettings, type MessagingChannel, type MessagingStatus } from '#contracts/messaging';
import { ProviderError, retryAfterSeconds, type MessagingProviderImpl, type NormalizedEvent } from './types.ts';

type Credentials = { accountSid: string; authToken: string };
type Settings = { smsNumbers: string[]; messagingServiceSid: string | null; whatsappSender: string | null };
type RequestOptions = Parameters<RequestClient['request']>[0];

let sdk: Promise<{ twilio: typeof Twilio; client(base: string | undefined): RequestClient }> | undefined;

/**
 * The SDK, and its HTTP client with two changes: requests go to `apiBase` when one is configured (a local stand-in
 * in tests), and a 429 becomes a rate-limited ProviderError carrying its Retry-After (the SDK's error drops headers).
 */
function loadSdk() {
  sdk ??= import('twilio').then(({ default: twilio }) => {
    class FiloRequestClient extends twilio.RequestClient {
      readonly #base: string | undefined;

      constructor(base: string | undefined) {
        super({ timeout: 15_000 });
        this.#base = base?.replace(/\/+$/, '');
      }

      override async request<T>(opts: RequestOptions) {
        const uri = this.#base ? opts.uri.replace(/^https:\/\/[^/]+/, this.#base) : opts.uri;
        const response = await super.request<T>({ ...opts, uri } as RequestOptions & { data?: T });
        if (response.statusCode === 429) {
          const headers = (response.headers ?? {}) as Record<string, string | undefined>;
          throw new ProviderError('rate_limited', 'Twilio asked to slow down (429)', {
            code: '20429',
            retryAfterSeconds: retryAfterSeconds(headers['retry-after']) ?? 30,
          });
        }
        return response;
      }
    }
    return { twilio, client: (base: string | undefined) => new FiloRequestClient(base) };
  });
  return sdk;
}

/** Twilio's message statuses -> ours (`receiving`/`received` are inbound and move nothing). */
const STATUS: Record<string, MessagingStatus> = {
  accepted: 'queued',
  scheduled: 'queued',
  queued: 'queued',
  sending: 'queued',
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  undelivered: 'undelivered',
  failed: 'failed',
  canceled: 'failed',
};

/** The error codes a team meets most, in words (https://www.twilio.com/docs/api/errors). */
const ERRORS: Record<string, string> = {
  '20003': 'Twilio refused the credentials: check the account SID and auth token',
  '20429': 'Too many requests to Twilio: the message is sent again shortly',
  '21211': 'The recipient’s number is not a valid phone number',
  '21408': 'Sending to this country is not enabled on the Twilio account',
  '21610': 'The recipient has opted out (replied STOP): no message can be sent to them',
  '21612': 'Twilio cannot send from this number to that recipient',
  '21614': 'The recipient’s number is not a mobile number',
  '21617': 'The message is too long (over 1,600 characters)',
  '30003': 'The recipient’s phone is unreachable (switched off or out of coverage)',
  '30004': 'The message was blocked (the recipient blocks messages or is on a blocklist)',
  '30005': 'The recipient’s number is unknown or no longer in service',
  '30006': 'The number is a landline or its carrier cannot receive messages',
  '30007': 'The carrier filtered the message as spam',
  '30008': 'The message could not be delivered for an unknown reason',
  '63003': 'WhatsApp could not find this number: the recipient may not use WhatsApp',
  '63016': 'Outside the 24-hour window WhatsApp only allows approved templates',
  '63018': 'The WhatsApp sender’s rate limit was reached',
  '63024': 'The recipient is not a valid WhatsApp user',
  '63032': 'WhatsApp did not deliver the message to this user (Meta’s limits on marketing messages)',
};

const bare = (address: string) => address.replace(/^whatsapp:/, '');
const channelOf = (from: string): MessagingChannel => (from.startsWith('whatsapp:') ? 'whatsapp' : 'sms');

/** SMS and WhatsApp through Twilio's Programmable Messaging (the official `twilio` SDK). */
export const twilioProvider: MessagingProviderImpl<Credentials, Settings> = {
  id: 'twilio',
  credentials: twilioCredentials,
  settings: twilioSettings as unknown as MessagingProviderImpl<Credentials, Settings>['settings'],
  hooks: ['inbound', 'status'],

  channelsOf(settings) {
    const channels: MessagingChannel[] = [];
    if (settings.smsNumbers.length || settings.messagingServiceSid) channels.push('sms');
    if (settings.whatsappSender) channels.push('whatsapp');
    return channels;
  },

  receive(hook, account) {
    if (hook.hook !== 'inbound' && hook.hook !== 'status') return { ok: false, status: 403, reason: 'unknown hook' };
    const signature = hook.headers['x-twilio-signature'];
    const params = hook.form ?? {};
    // The official check over PUBLIC_URL + the original path: a proxy's http:// would not be what Twilio signed.
    if (typeof signature !== 'string' || !validateRequest(account.credentials.authToken, signature, hook.url, params))
      return { ok: false, status: 403, reason: 'bad signature' };
    if (params.AccountSid !== account.credentials.accountSid || !params.MessageSid)
      return { ok: false, status: 403, reason: 'not this account' };
    const eventId =
      hook.hook === 'inbound' ? params.MessageSid : `${params.MessageSid}:${params.MessageStatus ?? params.SmsStatus}`;
    return {
      ok: true,
      events: [{ eventId: eventId.slice(0, 255), payload: { hook: hook.hook, params } }],
      reply: { contentType: 'text/xml', body: '<?xml version="1.0" encoding="UTF-8"?><Response></Response>' },
    };
  },

  normalize(payload) {
    const { hook, params } = payload as { hook: string; params: Record<string, string> };
    if (hook === 'status') {
      const raw = (params.MessageStatus ?? params.SmsStatus ?? '').toLowerCase();
      const status = STATUS[raw];
      if (!status) return [];
      return [
        {
          kind: 'status',
          providerMessageId: params.MessageSid!,
          status,
          providerStatus: raw,
          errorCode: params.ErrorCode || null,
          at: null,
        },
      ];
    }
    const media: { url: string; contentType: string | null }[] = [];
    const count = Math.min(10, Number(params.NumMedia ?? 0) || 0);
    for (let i = 0; i < count; i++)
      if (params[`MediaUrl${i}`])
        media.push({ url: params[`MediaUrl${i}`]!, contentType: params[`MediaContentType${i}`] ?? null });
    const from = params.From ?? '';
    const event: NormalizedEvent = {
      kind: 'inbound',
      channel: channelOf(from),
      providerMessageId: params.MessageSid!,
      from: bare(from),
      fromName: params.ProfileName || null,
      to: params.To ? bare(params.To) : null,
      text: params.Body ?? null,
      media,
      at: new Date(),
    };
    return [event];
  },

  async send(message, account, ctx) {
    const { settings, credentials } = account;
    const { twilio, client: httpClient } = await loadSdk();
    const client = twilio(credentials.accountSid, credentials.authToken, { httpClient: httpClient(ctx.apiBase) });
    const whatsapp = message.channel === 'whatsapp';
    if (whatsapp && !settings.whatsappSender)
      throw new ProviderError('permanent', 'This account has no WhatsApp sender', { code: 'no_sender' });
    const sender = whatsapp
      ? { from: `whatsapp:${settings.whatsappSender}` }
      : settings.messagingServiceSid
        ? { messagingServiceSid: settings.messagingServiceSid }
        : settings.smsNumbers[0]
          ? { from: settings.smsNumbers[0] }
          : null;
    if (!sender) throw new ProviderError('permanent', 'This account has no SMS number', { code: 'no_sender' });
    const template = message.template;
    const content =
      template?.providerTemplateId && whatsapp
        ? { contentSid: template.providerTemplateId, contentVariables: JSON.stringify(template.variables) }
        : { body: template ? fill(template.body, template.variables) : (message.text ?? '') };
    try {
      const sent = await client.messages.create({
        to: whatsapp ? `whatsapp:${message.to}` : message.to,
        ...sender,
        ...content,
        statusCallback: ctx.statusUrl,
      });
      const raw = String(sent.status ?? 'queued');
      return { providerMessageId: sent.sid, status: STATUS[raw] ?? 'queued', providerStatus: raw };
    } catch (err) {
      throw asProviderError(err);
    }
  },

  errorWords(code) {
    return ERRORS[code] ?? null;
  },
};

/** `{{1}}` / `{{name}}` replaced by their values (for templates sent as plain text). */
function fill(body: string, variables: Record<string, string>): string {
  return body.replace(/\{\{\s*([A-Za-z0-9_]{1,40})\s*\}\}/g, (all, name: string) => variables[name] ?? all);
}

/** The SDK's RestException (status, Twilio code) -> what the send job does with it. */
function asProviderError(err: unknown): ProviderError {
  if (err instanceof ProviderError) return err;
  const e = err as { status?: number; code?: number | string; message?: string };
  const code = e.code !== undefined ? String(e.code) : null;
  const words = (code && ERRORS[code]) || e.message || 'Twilio did not accept the message';
  if (typeof e.status !== 'number')
    return new ProviderError('temporary', `Twilio could not be reached: ${e.message ?? ''}`);
  if (e.status === 429) return new ProviderError('rate_limited', words, { code, retryAfterSeconds: 30 });
  if (e.status >= 500) return new ProviderError('temporary', words, { code });
  return new ProviderError('permanent', words, { code });
}
