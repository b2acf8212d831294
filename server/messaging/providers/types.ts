import type { z } from 'zod';
import type { Channel } from '#contracts/common';
import type { MessagingChannel, MessagingProvider, MessagingStatus } from '#contracts/messaging';

/**
 * The one interface every messaging provider implements. How a provider plugs in:
 *   1. one file `server/messaging/providers/<provider>.ts` exporting a `MessagingProviderImpl`;
 *   2. one line in the list of `registry.ts`;
 *   3. its name in MESSAGING_PROVIDERS (contracts/messaging.ts) and in the migration's check, if new.
 * Filo does the rest: credentials encrypted at rest, the webhook route
 * (`POST /api/messaging/<provider>/<accountId>/<hook>`) that calls `receive` first and stores the raw events it
 * returns before answering, the job that calls `normalize` once per stored event and writes messages and status
 * moves, and the send job that calls `send` with rate limits and retries.
 */
export interface MessagingProviderImpl<C = Record<string, string>, S = Record<string, unknown>> {
  id: MessagingProvider;
  /** The provider's secrets (stored encrypted, never returned) and its public settings, as the API receives them. */
  credentials: z.ZodType<C>;
  settings: z.ZodType<S>;
  /** The channels an account with these settings serves (e.g. Twilio: sms when it has numbers, whatsapp with a sender). */
  channelsOf(settings: S): MessagingChannel[];
  /** The webhooks to tell the provider about: name (path segment) -> purpose. Shown in Settings with their URLs. */
  hooks: readonly string[];
  /**
   * Verifies an incoming webhook before anything else and returns the raw events to store, or `rejected`. Must not
   * touch the database; runs before the answer. `eventId` is unique per account: a repeat is stored once.
   */
  receive(hook: WebhookRequest, account: ProviderAccount<C, S>): Promise<WebhookResult> | WebhookResult;
  /** A stored event's payload -> what happened (messages in, status moves). Pure; called once per stored event. */
  normalize(payload: unknown, account: ProviderAccount<C, S>): NormalizedEvent[];
  /** Sends one message. Throws `ProviderError` (rate_limited / temporary / permanent) when it did not go out. */
  send(message: OutboundMessage, account: ProviderAccount<C, S>, ctx: SendContext): Promise<SendResult>;
  /** After an account is saved (e.g. Telegram's setWebhook with its secret token); a failure is shown on the account. */
  connect?(account: ProviderAccount<C, S>, ctx: SendContext): Promise<void>;
  /** After the account is removed: undoes `connect` at the provider (Telegram's deleteWebhook); errors are ignored. */
  disconnect?(account: ProviderAccount<C, S>, ctx: SendContext): Promise<void>;
  /** A provider error code in words (English), or null when unknown. */
  errorWords(code: string): string | null;
}

/** An account as a provider sees it: its decrypted credentials, settings and where its webhooks are. */
export interface ProviderAccount<C = Record<string, string>, S = Record<string, unknown>> {
  id: string;
  tenantId: string;
  credentials: C;
  settings: S;
  /** `PUBLIC_URL/api/messaging/<provider>/<id>/<hook>` for each of the provider's hooks. */
  webhookUrl(hook: string): string;
}

export interface WebhookRequest {
  hook: string;
  /** The URL the provider signed: PUBLIC_URL + the original path and query (never the proxy's scheme or host). */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  /** The body's bytes as received (at most 1 MB), and its parsed form (urlencoded -> fields; JSON -> value). */
  rawBody: Buffer;
  form: Record<string, string> | null;
  json: unknown;
}

export type WebhookResult =
  | { ok: false; status: 401 | 403; reason: string }
  | {
      ok: true;
      events: { eventId: string; payload: unknown }[];
      /** What to answer (default 200, empty body); Twilio wants an empty TwiML document. */
      reply?: { status?: number; contentType?: string; body?: string };
    };

/** What a stored webhook event means. */
export type NormalizedEvent = NormalizedInbound | NormalizedStatus;

export interface NormalizedInbound {
  kind: 'inbound';
  channel: MessagingChannel;
  /** The provider's id of the message (Twilio MessageSid, Telegram chat:message_id). */
  providerMessageId: string;
  /** Who wrote: an E.164 number (sms, whatsapp) or the provider's user / chat id. */
  from: string;
  fromName: string | null;
  /** Our side: the number or bot it was sent to. */
  to: string | null;
  text: string | null;
  /** Media links as the provider gives them (kept as links; Filo does not fetch them here). */
  media: { url: string; contentType: string | null }[];
  at: Date;
}

export interface NormalizedStatus {
  kind: 'status';
  providerMessageId: string;
  status: MessagingStatus;
  providerStatus: string;
  errorCode: string | null;
  at: Date | null;
}

export interface OutboundMessage {
  /** Our message id (for idempotency keys and status callback URLs). */
  id: string;
  channel: MessagingChannel;
  to: string;
  text: string | null;
  template: { providerTemplateId: string | null; body: string; variables: Record<string, string> } | null;
}

export interface SendContext {
  /** Where the provider's API is (tests point it at a local stand-in); undefined: the provider's own. */
  apiBase: string | undefined;
  /** Status callback URL for this message. */
  statusUrl: string;
}

export interface SendResult {
  providerMessageId: string;
  status: MessagingStatus;
  providerStatus: string;
}

export type ProviderErrorKind = 'rate_limited' | 'temporary' | 'permanent';

/** A send that did not go out: rate limited (try after `retryAfterSeconds`), temporary, or permanent (in words). */
export class ProviderError extends Error {
  readonly kind: ProviderErrorKind;
  readonly code: string | null;
  readonly retryAfterSeconds: number | null;

  constructor(
    kind: ProviderErrorKind,
    message: string,
    opts: { code?: string | null; retryAfterSeconds?: number } = {},
  ) {
    super(message);
    this.name = 'ProviderError';
    this.kind = kind;
    this.code = opts.code ?? null;
    this.retryAfterSeconds = opts.retryAfterSeconds ?? null;
  }
}

/** A Retry-After header (seconds or an HTTP date) in seconds, bounded to [1, 3600]; null when absent. */
export function retryAfterSeconds(value: string | null | undefined, now = Date.now()): number | null {
  if (!value) return null;
  const n = Number(value);
  const seconds = Number.isFinite(n) ? n : (Date.parse(value) - now) / 1000;
  if (!Number.isFinite(seconds)) return null;
  return Math.min(3600, Math.max(1, Math.ceil(seconds)));
}

export type { Channel };
