import { z } from 'zod';
import { parseVonageWebhook, sendVonageSms, vonageWebhookValid, VONAGE_API_HOST } from './vonage-protocol.ts';
import { ProviderError, type MessagingProviderImpl, type NormalizedEvent } from './types.ts';

type Credentials = { apiKey: string; apiSecret: string; signatureSecret: string };
type Settings = { smsNumbers: string[] };

const credentials = z
  .object({
    apiKey: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9]{6,32}$/, 'must be the API key from the Vonage dashboard'),
    apiSecret: z.string().trim().min(8).max(128),
    signatureSecret: z.string().trim().min(16).max(256),
  })
  .strict();

const settings = z
  .object({
    smsNumbers: z
      .array(
        z
          .string()
          .trim()
          .regex(/^\+[1-9]\d{6,14}$/, 'must be a number in international format, e.g. +393331234567'),
      )
      .min(1)
      .max(20),
  })
  .strict();

const ERRORS: Record<string, string> = {
  rate_limited: 'Vonage asked to slow down: the message is sent again shortly',
  unauthorized: 'Vonage refused the API key or secret',
  low_balance: 'The Vonage account is out of credit',
  rejected: 'Vonage refused the message',
  unreachable: 'Vonage could not be reached',
  no_sender: 'This account has no SMS number',
};

/** SMS through Vonage's Messages API (the official SDK), webhooks signed with the account's signature secret. */
export const vonageProvider: MessagingProviderImpl<Credentials, Settings> = {
  id: 'vonage',
  credentials,
  settings: settings as unknown as z.ZodType<Settings>,
  hooks: ['inbound', 'status'],

  channelsOf() {
    return ['sms'];
  },

  receive(hook, account) {
    if (
      (hook.hook !== 'inbound' && hook.hook !== 'status') ||
      !vonageWebhookValid(header(hook.headers.authorization), hook.rawBody, account.credentials.signatureSecret)
    )
      return { ok: false, status: 401, reason: 'invalid signature' };
    const parsed = parseVonageWebhook(hook.json);
    if (!parsed) return { ok: true, events: [] };
    const eventId =
      'inbound' in parsed
        ? `in:${parsed.inbound.providerMessageId}`
        : `${parsed.status.providerMessageId}:${parsed.status.status}`;
    return { ok: true, events: [{ eventId, payload: hook.json }] };
  },

  normalize(payload) {
    const parsed = parseVonageWebhook(payload);
    if (!parsed) return [];
    let event: NormalizedEvent;
    if ('inbound' in parsed) {
      const m = parsed.inbound;
      event = {
        kind: 'inbound',
        channel: 'sms',
        providerMessageId: m.providerMessageId,
        from: m.from,
        fromName: null,
        to: m.to,
        text: m.text,
        media: [],
        at: m.at,
      };
    } else {
      const s = parsed.status;
      event = {
        kind: 'status',
        providerMessageId: s.providerMessageId,
        status: s.status,
        providerStatus: (payload as { status: string }).status,
        errorCode: s.errorCode,
        at: s.at,
      };
    }
    return [event];
  },

  async send(message, account, ctx) {
    const from = account.settings.smsNumbers[0];
    if (!from) throw new ProviderError('permanent', ERRORS.no_sender!, { code: 'no_sender' });
    const text = message.template ? fill(message.template.body, message.template.variables) : (message.text ?? '');
    const out = await sendVonageSms(
      account.credentials,
      { from, to: message.to, text },
      ctx.apiBase ?? VONAGE_API_HOST,
    );
    // No callback comes for "accepted": the message is queued at Vonage until `submitted` arrives.
    if (out.ok) return { providerMessageId: out.providerMessageId, status: 'queued', providerStatus: 'accepted' };
    if (out.retryAfterMs !== undefined)
      throw new ProviderError('rate_limited', out.words, {
        code: out.code,
        retryAfterSeconds: Math.ceil(out.retryAfterMs / 1000),
      });
    throw new ProviderError(out.permanent ? 'permanent' : 'temporary', out.words, { code: out.code });
  },

  errorWords(code) {
    return ERRORS[code] ?? null;
  },
};

const header = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** `{{1}}` / `{{name}}` replaced by their values. */
function fill(body: string, variables: Record<string, string>): string {
  return body.replace(/\{\{\s*([A-Za-z0-9_]{1,40})\s*\}\}/g, (all, name: string) => variables[name] ?? all);
}
