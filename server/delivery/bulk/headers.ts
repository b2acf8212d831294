import type Mail from 'nodemailer/lib/mailer';
import type { BulkTokens } from './tokens.ts';
import type { BulkRecipientRow, ComposedMail } from './types.ts';

/** What every message of one source in one workspace shares. */
export interface BulkMessageContext {
  publicUrl: string;
  /** `<workspace slug>.<INBOUND_DOMAIN>`: where unsubscribe mail and bounces come back to. */
  returnDomain: string;
  tokens: BulkTokens;
  dkim?: Mail.Options['dkim'] | undefined;
  /** `Feedback-ID` (optional): campaign:source:workspace, for mailbox providers' complaint loops. */
  feedbackId?: string | undefined;
}

/** Headers a source may not set: the engine's own (one of each, always the engine's value). */
const RESERVED = new Set([
  'message-id',
  'list-unsubscribe',
  'list-unsubscribe-post',
  'precedence',
  'return-path',
  'feedback-id',
  'from',
  'to',
  'subject',
]);

/** The VERP envelope sender of a row: `b+<token>@<slug>.<INBOUND_DOMAIN>`, which the gateway maps back to it. */
export function bounceAddress(row: { id: string }, ctx: BulkMessageContext): string {
  return `b+${ctx.tokens.sign({ sendId: row.id, kind: 'bounce', index: 0 })}@${ctx.returnDomain}`;
}

/**
 * The message of one row: its fixed Message-ID, exactly one `List-Unsubscribe` (the one-click URL and a mailto, set
 * as a raw header: nodemailer's `list` option given an array writes two fields) with `List-Unsubscribe-Post`, both
 * signed by the mailbox's DKIM key (nodemailer's default signed fields include them), `Precedence: bulk`, and the
 * VERP envelope sender.
 */
export function bulkMessage(row: BulkRecipientRow, mail: ComposedMail, ctx: BulkMessageContext): Mail.Options {
  const unsubscribe = ctx.tokens.sign({ sendId: row.id, kind: 'unsubscribe', index: 0 });
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(mail.headers ?? {}))
    if (!RESERVED.has(name.toLowerCase())) headers[name] = value.replace(/[\r\n]+/g, ' ');
  headers['List-Unsubscribe'] = `<${ctx.publicUrl}/u/${unsubscribe}>, <mailto:u+${unsubscribe}@${ctx.returnDomain}>`;
  headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
  headers.Precedence = 'bulk';
  if (ctx.feedbackId) headers['Feedback-ID'] = ctx.feedbackId;
  return {
    from: { name: mail.from.name ?? '', address: mail.from.address },
    ...(mail.replyTo ? { replyTo: mail.replyTo } : {}),
    to: row.address,
    subject: mail.subject,
    html: mail.html,
    text: mail.text,
    messageId: `<${row.messageId}>`,
    date: new Date(),
    headers,
    envelope: { from: bounceAddress(row, ctx), to: [row.address] },
    ...(ctx.dkim ? { dkim: ctx.dkim } : {}),
  };
}

/**
 * How an SMTP answer ends a row: 2xx sent; 4xx (454 too) deferred and tried again; 5xx bounced, and the address
 * suppressed for the channel when the enhanced code says the recipient itself is refused (5.1.x, 5.7.x).
 */
export function classify(err: unknown): {
  outcome: 'deferred' | 'bounced' | 'failed';
  suppress: boolean;
  response: string;
} {
  const e = err as { responseCode?: number; response?: string; code?: string; message?: string };
  const response = (e.response || [e.code, e.message].filter(Boolean).join(' ') || String(err)).slice(0, 1000);
  // The sender's own login was refused (a member's account): the recipient did not bounce; tried again later.
  if (e.code === 'EAUTH') return { outcome: 'deferred', suppress: false, response };
  if (typeof e.responseCode === 'number' && e.responseCode >= 500) {
    const enhanced = /\b5\.(\d{1,3})\.\d{1,3}\b/.exec(response);
    const recipient = enhanced ? enhanced[1] === '1' || enhanced[1] === '7' : [550, 551, 553].includes(e.responseCode);
    return { outcome: 'bounced', suppress: recipient, response };
  }
  // A host Filo may not connect to will not become one by waiting.
  if (e.code === 'ETARGETREFUSED') return { outcome: 'failed', suppress: false, response };
  return { outcome: 'deferred', suppress: false, response };
}
