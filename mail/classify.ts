import type { ParsedMail } from './parse.ts';

export type MailClass =
  | { kind: 'message' }
  | { kind: 'auto_reply'; reason: AutoReplyReason }
  | {
      kind: 'bounce';
      /** Enhanced status code `x.y.z` (RFC 3463), null when the report gave none. */
      status: string | null;
      /** DSN Action: 'failed', 'delayed', 'delivered', 'relayed', 'expanded'; null when not a DSN. */
      action: string | null;
      /** The recipients the report is about (the failed ones when some failed), lower-cased. */
      recipients: string[];
      /** Action failed with a 5.x.x status: do not send to these recipients again. */
      permanent: boolean;
      /** Message-ID of the message that bounced, from the returned headers, without angle brackets. */
      originalMessageId: string | null;
      /** Per failed (or delayed) recipient: its status, hard or soft, and the receiving server's words. */
      failures: BounceFailure[];
    }
  | ComplaintReport;

/** A spam complaint in the Abuse Reporting Format (RFC 5965): what the report and the returned original say. */
export interface ComplaintReport {
  kind: 'complaint';
  /** Feedback-Type, lower-cased: `abuse`, `fraud`, `virus`, `other`, `not-spam`; null when not given. */
  feedbackType: string | null;
  /** The reporting software (User-Agent), for the record. */
  userAgent: string | null;
  /** Original-Rcpt-To addresses, when the provider did not redact them. */
  recipients: string[];
  /** Where the original can be traced from: the report's Original-Mail-From, the original's own headers. */
  original: {
    mailFrom: string | null;
    returnPath: string | null;
    listUnsubscribe: string | null;
    messageId: string | null;
  };
}

export interface BounceFailure {
  recipient: string;
  /** `x.y.z`; from the Status field, else the diagnostic's code (`550` -> `5.0.0`), else the wording. */
  status: string | null;
  /** A hard bounce (5.x.x): do not send to this address again. */
  permanent: boolean;
  /** Why, as the report says it (Diagnostic-Code or the text bounce's lines), at most 300 characters. */
  reason: string | null;
}

export type AutoReplyReason =
  'out_of_office' | 'auto_submitted' | 'autoreply_header' | 'precedence' | 'list' | 'null_sender' | 'read_receipt';

export type ClassifiableMail = Pick<ParsedMail, 'headers' | 'subject' | 'from' | 'text' | 'deliveryStatus'> &
  Partial<Pick<ParsedMail, 'returnedHeaders' | 'to' | 'feedbackReport'>>;

export interface ClassifyEnvelope {
  /** SMTP MAIL FROM; '' or '<>' is the null sender. Without it the Return-Path header is used. */
  mailFrom?: string | null;
}

const DAEMON = /^(?:mailer-daemon|postmaster|mail-daemon|mailerdaemon)@/i;
const OOF_SUBJECT =
  /^\s*(?:automatic reply|auto(?:matic)?[- ]?(?:reply|response)|out of (?:the )?office|autosvar|automatisch antwoord|risposta automatica|abwesenheitsnotiz|automatische antwort|réponse automatique|respuesta automática|resposta automática)\b/i;
const ENHANCED_STATUS = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/;
/** A basic SMTP reply code followed by its text: `550 User unknown`, `said: 452-...`. */
const BASIC_CODE = /(?:^|[\s:(])([245])[0-5]\d[ -](?=\S)/m;
const BOUNCE_SUBJECT =
  /^\s*(?:undeliver(?:ed|able)|delivery status notification|delivery (?:has )?failed|delivery failure|failure notice|mail delivery (?:failed|failure|system)|returned mail|non[- ]?delivery|delayed mail|warning: could not send|mail system error)/i;
const BOUNCE_TEXT =
  /This is the qmail-send program|could not be delivered to one or more|following address(?:\(es\)|es)? (?:had permanent fatal errors|failed|ha(?:s|ve) not yet been delivered)|I'm sorry to have to inform you that your message could not|created automatically by mail delivery software|Delivery to the following recipients? (?:failed|has been delayed)/i;
const PERMANENT_WORDS =
  /permanent (?:fatal )?error|I've given up|given up on|permanently|does not exist|user unknown|no such user/i;
const TEMPORARY_WORDS =
  /temporary (?:error|failure)|not yet been delivered|will (?:continue|keep) trying|still being retried|retry time not reached|delayed|try again later|mailbox (?:is )?full|over quota/i;
/** Where a text bounce starts quoting the returned message: addresses below it are not the failed ones. */
const RETURNED_PART =
  /^[ \t]*(?:-{3,}[^\n]{0,200}?(?:original message|copy of the message|returned message|message headers|below this line|undelivered message)|-{2,} ?Below this line is a copy|Original message follows|Content-Type: (?:message\/rfc822|text\/rfc822-headers))/im;
const MAX_REASON = 300;

const MAX_RECIPIENTS = 100;

/** Whether a message is a person writing, an automatic reply (or list traffic), or a delivery report. */
export function classify(mail: ClassifiableMail, envelope: ClassifyEnvelope = {}): MailClass {
  const contentType = header(mail, 'content-type') ?? '';
  const reportType = /^multipart\/report\b/i.test(contentType)
    ? (/report-type\s*=\s*"?([\w-]+)/i.exec(contentType)?.[1]?.toLowerCase() ?? null)
    : null;
  const nullSender = isNullSender(mail, envelope);
  const fromDaemon = DAEMON.test(mail.from?.address ?? '');

  if (reportType === 'delivery-status' || reportType === 'global-delivery-status' || mail.deliveryStatus) {
    return dsnBounce(mail);
  }
  // a complaint is about mail we sent, never a bounce (some providers send it from a null sender)
  if (reportType === 'feedback-report' || mail.feedbackReport) return complaint(mail);
  const failedHeader = header(mail, 'x-failed-recipients') !== undefined;
  const looksBounced = BOUNCE_SUBJECT.test(mail.subject) || BOUNCE_TEXT.test((mail.text ?? '').slice(0, 4096));
  if ((fromDaemon && (nullSender || failedHeader || looksBounced)) || (nullSender && (failedHeader || looksBounced))) {
    return textBounce(mail);
  }

  if (reportType === 'disposition-notification') return autoReply('read_receipt');

  const autoSubmitted = token(header(mail, 'auto-submitted'));
  const suppress = token(header(mail, 'x-auto-response-suppress'));
  const oofSubject = OOF_SUBJECT.test(mail.subject);
  if (oofSubject && ((autoSubmitted && autoSubmitted !== 'no') || /(?:^|,)\s*(?:all|oof)\b/.test(suppress ?? ''))) {
    return autoReply('out_of_office');
  }
  if (autoSubmitted && autoSubmitted !== 'no') return autoReply('auto_submitted');
  if (['x-autoreply', 'x-autorespond', 'x-autoresponder', 'x-autogenerated'].some((h) => mail.headers.has(h))) {
    return autoReply('autoreply_header');
  }
  const precedence = token(header(mail, 'precedence'));
  if (precedence === 'list') return autoReply('list');
  if (precedence === 'bulk' || precedence === 'junk' || precedence === 'auto_reply') return autoReply('precedence');
  if (mail.headers.has('list-id') || mail.headers.has('list-unsubscribe')) return autoReply('list');
  if (nullSender) return autoReply(fromDaemon ? 'auto_submitted' : 'null_sender');
  return { kind: 'message' };
}

function autoReply(reason: AutoReplyReason): MailClass {
  return { kind: 'auto_reply', reason };
}

function header(mail: ClassifiableMail, name: string): string | undefined {
  return mail.headers.get(name)?.[0];
}

/** The first token of a header value, lower-cased: `auto-replied (vacation)` -> `auto-replied`. */
function token(value: string | undefined): string | null {
  if (value === undefined) return null;
  return (
    value
      .trim()
      .split(/[\s;(]/)[0]
      ?.toLowerCase() ?? null
  );
}

function isNullSender(mail: ClassifiableMail, envelope: ClassifyEnvelope): boolean {
  if (typeof envelope.mailFrom === 'string') return /^<?\s*>?$/.test(envelope.mailFrom.trim());
  const returnPath = mail.headers.get('return-path');
  return returnPath !== undefined && returnPath.some((v) => /^<?\s*>?$/.test(v.trim()));
}

/** RFC 3464 fields: one block for the message, then one per recipient; continuation lines unfolded. */
function fieldBlocks(text: string): Map<string, string>[] {
  const blocks: Map<string, string>[] = [];
  let block = new Map<string, string>();
  let last: string | null = null;
  let encoded: string[] = [];
  const close = () => {
    // a block of base64 lines (some MTAs encode the per-recipient fields on their own) is read decoded
    if (!block.size && encoded.length)
      blocks.push(...fieldBlocks(Buffer.from(encoded.join(''), 'base64').toString('utf8')));
    else if (block.size) blocks.push(block);
    block = new Map();
    encoded = [];
    last = null;
  };
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) {
      close();
      continue;
    }
    if (/^[ \t]/.test(line) && last) {
      block.set(last, `${block.get(last)} ${line.trim()}`);
      continue;
    }
    const m = /^([A-Za-z0-9-]+)[ \t]*:(.*)$/.exec(line);
    if (!m) {
      if (!block.size && /^[A-Za-z0-9+/]{4,}={0,2}$/.test(line.trim()) && encoded.length < 1000)
        encoded.push(line.trim());
      continue;
    }
    last = (m[1] as string).toLowerCase();
    if (!block.has(last)) block.set(last, (m[2] as string).trim());
  }
  close();
  return blocks;
}

/** `rfc822; <Bob@Example.org>` -> `bob@example.org` */
function recipientAddress(value: string | undefined): string | null {
  if (!value) return null;
  const address = value
    .slice(value.indexOf(';') + 1)
    .trim()
    .replace(/^<|>$/g, '')
    .trim()
    .toLowerCase();
  return address.includes('@') && address.length <= 320 && !/\s/.test(address) ? address : null;
}

function enhancedStatus(value: string | undefined): string | null {
  const m = value ? ENHANCED_STATUS.exec(value) : null;
  return m ? `${m[1]}.${m[2]}.${m[3]}` : null;
}

/** The status a piece of text gives: an enhanced code, else a basic reply code's class (`550` -> `5.0.0`). */
function statusIn(value: string | undefined): string | null {
  if (!value) return null;
  const basic = BASIC_CODE.exec(value);
  return enhancedStatus(value) ?? (basic ? `${basic[1]}.0.0` : null);
}

function originalMessageId(mail: ClassifiableMail): string | null {
  const headers = mail.returnedHeaders;
  if (!headers) return null;
  return messageIdOf(fieldBlocks(headers)[0]?.get('message-id'));
}

function messageIdOf(value: string | undefined): string | null {
  const id = value ? /<([^<>\s]+)>/.exec(value)?.[1] : undefined;
  return id && id.length <= 998 ? id : null;
}

const bounded = (value: string | undefined, max = 2000) => (value ? value.slice(0, max) : null);

function complaint(mail: ClassifiableMail): ComplaintReport {
  // the report's fields may come as their own part or (a provider that sends it as text) in the body
  const report =
    fieldBlocks(mail.feedbackReport ?? '').find((b) => b.has('feedback-type')) ??
    fieldBlocks((mail.text ?? '').slice(0, 16_384)).find((b) => b.has('feedback-type')) ??
    new Map<string, string>();
  const original = fieldBlocks(mail.returnedHeaders ?? '')[0] ?? new Map<string, string>();
  return {
    kind: 'complaint',
    feedbackType: token(report.get('feedback-type'))?.slice(0, 64) || null,
    userAgent: bounded(report.get('user-agent'), 200),
    recipients: unique([recipientAddress(report.get('original-rcpt-to'))]),
    original: {
      mailFrom: bounded(report.get('original-mail-from'), 400),
      returnPath: bounded(original.get('return-path'), 400),
      listUnsubscribe: bounded(original.get('list-unsubscribe')),
      messageId: messageIdOf(original.get('message-id')),
    },
  };
}

const reasonOf = (value: string | undefined) =>
  value
    ? value
        .replace(/^\s*(?:smtp|x-[\w-]+)\s*;\s*/i, '')
        .replace(/\s+/g, ' ')
        .trim()
        .slice(0, MAX_REASON) || null
    : null;

function dsnBounce(mail: ClassifiableMail): MailClass {
  // a report whose status part came as plain text is read from the text
  let blocks = fieldBlocks(mail.deliveryStatus ?? '').filter(
    (b) => b.has('final-recipient') || b.has('original-recipient') || b.has('action') || b.has('status'),
  );
  if (!blocks.length && !mail.deliveryStatus) {
    blocks = fieldBlocks(mail.text ?? '').filter((b) => b.has('final-recipient') || b.has('original-recipient'));
    if (!blocks.length) return textBounce(mail);
  }
  const reports = blocks.map((b) => {
    const diagnostic = b.get('diagnostic-code');
    const declared = token(b.get('action'))?.slice(0, 32) || null;
    // Status is required but not always there: the diagnostic's code, else what the action says
    const status =
      enhancedStatus(b.get('status')) ??
      statusIn(diagnostic) ??
      (declared === 'failed' ? '5.0.0' : declared === 'delayed' ? '4.0.0' : null);
    // and Action is sometimes left out: the status class says it
    const action =
      declared ??
      (status?.startsWith('5.') ? 'failed' : status?.startsWith('4.') ? 'delayed' : status ? 'delivered' : null);
    return {
      recipient: recipientAddress(b.get('final-recipient')) ?? recipientAddress(b.get('original-recipient')),
      action,
      status,
      reason: reasonOf(diagnostic) ?? (status ? `Status ${status}` : null),
    };
  });
  const failed = reports.filter((r) => r.action === 'failed' || r.action === 'delayed');
  const relevant = failed.some((r) => r.action === 'failed')
    ? reports.filter((r) => r.action === 'failed')
    : failed.length
      ? failed
      : reports;
  const main = relevant[0];
  const failures = relevant
    .filter(
      (r) => r.recipient !== null && r.action !== 'delivered' && r.action !== 'relayed' && r.action !== 'expanded',
    )
    .map((r) => ({
      recipient: r.recipient as string,
      status: r.status,
      permanent: r.action === 'failed' && (r.status?.startsWith('5.') ?? false),
      reason: r.reason,
    }));
  const recipients = unique(relevant.map((r) => r.recipient)).slice(0, MAX_RECIPIENTS);
  return {
    kind: 'bounce',
    status: main?.status ?? null,
    action: main?.action ?? null,
    recipients: recipients.length ? recipients : failedRecipientsHeader(mail),
    permanent: failures.some((f) => f.permanent),
    originalMessageId: originalMessageId(mail),
    failures: mergeFailures(failures).slice(0, MAX_RECIPIENTS),
  };
}

/**
 * A bounce in words, not a DSN (qmail, Exim, Postfix and Sendmail text, homemade MTAs): the failed recipients are the
 * addresses the report names on their own line or as `<address>:` before the returned message; each one's status is
 * the code in the lines that follow it, else the report's wording (permanent error, will keep trying).
 */
function textBounce(mail: ClassifiableMail): MailClass {
  const full = (mail.text ?? '').slice(0, 16_384);
  const cut = RETURNED_PART.exec(full);
  const text = cut ? full.slice(0, cut.index) : full;
  const ours = new Set([mail.from?.address.toLowerCase(), ...(mail.to ?? []).map((a) => a.address.toLowerCase())]);
  const named: { recipient: string; at: number; end: number }[] = [];
  // `<a@b>` alone, `<a@b>: why` (qmail, Postfix), `<a@b>... why` (Sendmail), or a bare address alone (Exim)
  const addressLine = /^[ \t]*(?:<([^<>\s@]+@[^<>\s@]+)>(?:[ \t]*:.*|\.{3}.*)?|([^<>\s:@]+@[^<>\s:@]+))[ \t]*$/gm;
  for (const m of text.matchAll(addressLine)) {
    const recipient = recipientAddress(m[1] ?? m[2]);
    if (!recipient || ours.has(recipient) || DAEMON.test(recipient)) continue;
    // a recipient's lines run from where it is first named (Sendmail's transcript names it again) to the next one's
    if (named.some((n) => n.recipient === recipient)) continue;
    named.push({ recipient, at: m.index, end: m.index + m[0].length });
    if (named.length >= MAX_RECIPIENTS) break;
  }
  const wording =
    statusIn(text) ?? (PERMANENT_WORDS.test(text) ? '5.0.0' : TEMPORARY_WORDS.test(text) ? '4.0.0' : null);
  const failures: BounceFailure[] = [];
  named.forEach((n, i) => {
    // the lines about a recipient: from its name to the next recipient's (or a blank line after some text)
    const next = named[i + 1]?.at ?? text.length;
    const segment = text.slice(n.at, next);
    const status = statusIn(segment) ?? wording;
    const line =
      segment.split(/\r?\n/).find((l) => statusIn(l)) ??
      segment
        .split(/\r?\n/)
        .slice(1)
        .find((l) => l.trim());
    failures.push({
      recipient: n.recipient,
      status,
      permanent: status?.startsWith('5.') ?? false,
      reason: reasonOf(line ?? segment) ?? (status ? `Status ${status}` : null),
    });
  });
  for (const recipient of failedRecipientsHeader(mail)) {
    if (!failures.some((f) => f.recipient === recipient))
      failures.push({ recipient, status: wording, permanent: wording?.startsWith('5.') ?? false, reason: null });
  }
  const merged = mergeFailures(failures).slice(0, MAX_RECIPIENTS);
  const main = merged.find((f) => f.permanent) ?? merged[0];
  return {
    kind: 'bounce',
    status: main?.status ?? wording,
    action: null,
    recipients: merged.map((f) => f.recipient),
    permanent: merged.some((f) => f.permanent),
    originalMessageId: originalMessageId(mail),
    failures: merged,
  };
}

/** One entry per recipient; a code found for it anywhere wins over none, a hard verdict over a soft one. */
function mergeFailures(failures: BounceFailure[]): BounceFailure[] {
  const byRecipient = new Map<string, BounceFailure>();
  for (const f of failures) {
    const seen = byRecipient.get(f.recipient);
    if (!seen || (!seen.permanent && f.permanent) || (!seen.status && f.status)) byRecipient.set(f.recipient, f);
  }
  return [...byRecipient.values()];
}

function failedRecipientsHeader(mail: ClassifiableMail): string[] {
  const values = mail.headers.get('x-failed-recipients') ?? [];
  return unique(values.flatMap((v) => v.split(',')).map((v) => recipientAddress(v.trim())));
}

function unique(values: (string | null)[]): string[] {
  return [...new Set(values.filter((v): v is string => v !== null))];
}
