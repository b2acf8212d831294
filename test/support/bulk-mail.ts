// Real-shaped reports about bulk mail, as providers write them: a Postfix DSN and ARF complaints (RFC 5965).

/** The headers a bulk message went out with (what reports return to us). */
export interface SentHeaders {
  /** The VERP return path `b+<token>@...`, or null when the report's copy lost it. */
  returnPath: string | null;
  /** `List-Unsubscribe` value, or null. */
  listUnsubscribe: string | null;
  messageId: string;
  to: string;
}

const crlf = (lines: string[]) => lines.join('\r\n') + '\r\n';

function originalHeaders(sent: SentHeaders): string[] {
  return [
    ...(sent.returnPath ? [`Return-Path: <${sent.returnPath}>`] : []),
    'Received: from filo.example (filo.example [198.51.100.7])',
    '\tby mx.customer.example (Postfix) with ESMTPS id 4Q1x2y3z4',
    `\tfor <${sent.to}>; Sat,  5 Dec 2026 13:58:01 +0000 (UTC)`,
    'From: "Acme News" <news@acme.example>',
    `To: ${sent.to}`,
    'Subject: December news',
    'Date: Sat, 5 Dec 2026 13:58:00 +0000',
    `Message-ID: <${sent.messageId}>`,
    ...(sent.listUnsubscribe ? [`List-Unsubscribe: ${sent.listUnsubscribe}`] : []),
    'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
    'Precedence: bulk',
    'MIME-Version: 1.0',
    'Content-Type: text/html; charset=utf-8',
  ];
}

/** A Postfix bounce (or, with `delayed`, its "still being retried" warning) about one recipient. */
export function postfixDsn(opts: { to: string; recipient: string; sent: SentHeaders; delayed?: boolean }): string {
  const b = '4Q1x2y3z4.1733407100/mx.example.net';
  const { recipient } = opts;
  const report = opts.delayed
    ? [
        'Action: delayed',
        'Status: 4.4.1',
        `Diagnostic-Code: X-Postfix; connect to mx.${recipient.split('@')[1]}[203.0.113.5]:25: Connection timed out`,
        'Will-Retry-Until: Thu, 10 Dec 2026 13:58:01 +0000 (UTC)',
      ]
    : [
        'Action: failed',
        'Status: 5.1.1',
        'Remote-MTA: dns; mx.customer.example',
        `Diagnostic-Code: smtp; 550 5.1.1 <${recipient}>: Recipient address rejected:`,
        '    User unknown in virtual mailbox table',
      ];
  return crlf([
    `From: MAILER-DAEMON@mx.example.net (Mail Delivery System)`,
    opts.delayed ? 'Subject: Delayed Mail (still being retried)' : 'Subject: Undelivered Mail Returned to Sender',
    `To: ${opts.to}`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status;`,
    `\tboundary="${b}"`,
    'Content-Transfer-Encoding: 7bit',
    'Message-Id: <20261205140001.4Q1x2y3z4@mx.example.net>',
    'Date: Sat,  5 Dec 2026 14:00:01 +0000 (UTC)',
    '',
    'This is a MIME-encapsulated message.',
    '',
    `--${b}`,
    'Content-Description: Notification',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'This is the mail system at host mx.example.net.',
    '',
    ...(opts.delayed
      ? [
          '####################################################################',
          '# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #',
          '####################################################################',
          '',
          'Your message could not be delivered for more than 3 hour(s).',
          'It will be retried until it is 5 day(s) old.',
        ]
      : ["I'm sorry to have to inform you that your message could not", 'be delivered to one or more recipients.']),
    '',
    `<${recipient}>: host mx.customer.example[203.0.113.5] said: 550 5.1.1`,
    `    <${recipient}>: Recipient address rejected: User unknown (in reply to RCPT TO command)`,
    '',
    `--${b}`,
    'Content-Description: Delivery report',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.example.net',
    'X-Postfix-Queue-ID: 4Q1x2y3z4',
    `X-Postfix-Sender: rfc822; ${opts.sent.returnPath ?? 'news@acme.example'}`,
    'Arrival-Date: Sat,  5 Dec 2026 13:58:01 +0000 (UTC)',
    '',
    `Final-Recipient: rfc822; ${recipient}`,
    `Original-Recipient: rfc822;${recipient}`,
    ...report,
    '',
    `--${b}`,
    'Content-Description: Undelivered Message Headers',
    'Content-Type: text/rfc822-headers',
    '',
    ...originalHeaders(opts.sent),
    '',
    `--${b}--`,
  ]);
}

export type ArfShape = 'gmail' | 'yahoo' | 'microsoft';

/**
 * An ARF spam complaint as each provider shapes it; the complainant is redacted in all three. Yahoo returns the
 * whole original (message/rfc822) with its Return-Path and names it in Original-Mail-From; Gmail only the headers
 * (text/rfc822-headers) with the return path rewritten, so List-Unsubscribe names the send; Microsoft's JMRP the
 * original stripped of Return-Path, To and List-Unsubscribe, so only its Message-ID does.
 */
export function arfReport(shape: ArfShape, opts: { to: string; sent: SentHeaders }): string {
  const b = `----=_arf_${shape}_boundary`;
  const sent =
    shape === 'microsoft'
      ? { ...opts.sent, returnPath: null, listUnsubscribe: null, to: 'xxxxxxxx@outlook.com' }
      : shape === 'gmail'
        ? { ...opts.sent, returnPath: null, to: '<redacted>' }
        : { ...opts.sent, to: 'redacted@yahoo.com' };
  const agent = {
    gmail: 'Gmail Feedback Loop/1.0',
    yahoo: 'Yahoo!-Mail-Feedback/2.0',
    microsoft: 'Microsoft JMRP/1.0',
  }[shape];
  const from = {
    gmail: 'Gmail Feedback <fbl-noreply@google.com>',
    yahoo: 'Yahoo! Mail AntiSpam Feedback <feedback@arf.mail.yahoo.com>',
    microsoft: 'staff@hotmail.com',
  }[shape];
  const returned =
    shape === 'gmail'
      ? ['Content-Type: text/rfc822-headers', '', ...originalHeaders(sent)]
      : [
          'Content-Type: message/rfc822',
          'Content-Disposition: inline',
          '',
          ...originalHeaders(sent),
          ...(shape === 'microsoft' ? ['X-HmXmrOriginalRecipient: <xxxxxxxx@outlook.com>'] : []),
          '',
          '<p>December news</p>',
        ];
  return crlf([
    `From: ${from}`,
    `To: ${opts.to}`,
    `Subject: ${shape === 'microsoft' ? 'complaint about message from 198.51.100.7' : 'FW: December news'}`,
    `Message-ID: <arf-${shape}-${opts.sent.messageId}>`,
    'Date: Sat, 5 Dec 2026 15:00:00 +0000',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=feedback-report; boundary="${b}"`,
    '',
    `--${b}`,
    'Content-Type: text/plain; charset="US-ASCII"',
    'Content-Transfer-Encoding: 7bit',
    '',
    'This is an email abuse report for an email message received from IP 198.51.100.7 on Sat, 5 Dec 2026.',
    'For more information about this format please see http://tools.ietf.org/html/rfc5965',
    '',
    `--${b}`,
    'Content-Type: message/feedback-report',
    '',
    'Feedback-Type: abuse',
    `User-Agent: ${agent}`,
    'Version: 1',
    ...(sent.returnPath ? [`Original-Mail-From: <${sent.returnPath}>`] : []),
    'Arrival-Date: Sat, 5 Dec 2026 13:58:01 +0000',
    'Source-IP: 198.51.100.7',
    'Reported-Domain: acme.example',
    ...(shape === 'gmail' ? ['Original-Rcpt-To: <redacted>'] : []),
    '',
    `--${b}`,
    ...returned,
    '',
    `--${b}--`,
  ]);
}
