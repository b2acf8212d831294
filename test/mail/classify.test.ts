import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { classify, type ClassifiableMail } from '../../mail/classify.ts';
import { parseMail } from '../../mail/parse.ts';
import { recordingStore } from './support.ts';

function mail(opts: {
  headers?: Record<string, string | string[]>;
  subject?: string;
  from?: string;
  text?: string;
  deliveryStatus?: string;
}): ClassifiableMail {
  const headers = new Map<string, string[]>();
  for (const [k, v] of Object.entries(opts.headers ?? {})) headers.set(k.toLowerCase(), [v].flat());
  return {
    headers,
    subject: opts.subject ?? 'Hello',
    from: { address: opts.from ?? 'alice@example.org', name: '' },
    text: opts.text ?? null,
    deliveryStatus: opts.deliveryStatus ?? null,
  };
}

async function parse(lines: string[]) {
  return parseMail(Readable.from([Buffer.from(lines.join('\r\n'))]), recordingStore());
}

const POSTFIX_DSN = [
  'Return-Path: <>',
  'From: MAILER-DAEMON@mx.example.net (Mail Delivery System)',
  'To: sales@acme.filo.test',
  'Subject: Undelivered Mail Returned to Sender',
  'Auto-Submitted: auto-replied',
  'MIME-Version: 1.0',
  'Content-Type: multipart/report; report-type=delivery-status;',
  '\tboundary="8A2F1C0.1700000000/mx.example.net"',
  '',
  '--8A2F1C0.1700000000/mx.example.net',
  'Content-Description: Notification',
  'Content-Type: text/plain; charset=us-ascii',
  '',
  'This is the mail system at host mx.example.net.',
  '',
  "I'm sorry to have to inform you that your message could not",
  'be delivered to one or more recipients.',
  '',
  '--8A2F1C0.1700000000/mx.example.net',
  'Content-Description: Delivery report',
  'Content-Type: message/delivery-status',
  '',
  'Reporting-MTA: dns; mx.example.net',
  'X-Postfix-Queue-ID: 8A2F1C0',
  'Arrival-Date: Mon,  6 Jan 2025 10:00:00 +0100 (CET)',
  '',
  'Final-Recipient: rfc822; Bob@Example.org',
  'Original-Recipient: rfc822;bob@example.org',
  'Action: failed',
  'Status: 5.1.1',
  'Remote-MTA: dns; mail.example.org',
  'Diagnostic-Code: smtp; 550 5.1.1 <bob@example.org>: Recipient address rejected:',
  '    User unknown in virtual mailbox table',
  '',
  'Final-Recipient: rfc822; carol@example.org',
  'Action: delivered',
  'Status: 2.0.0',
  '',
  '--8A2F1C0.1700000000/mx.example.net',
  'Content-Description: Undelivered Message Headers',
  'Content-Type: text/rfc822-headers',
  '',
  'From: Sales <sales@acme.filo.test>',
  'To: bob@example.org',
  'Subject: Your quote',
  'Message-ID: <quote-77@acme.filo.test>',
  '',
  '--8A2F1C0.1700000000/mx.example.net--',
  '',
];

describe('classify: bounces', () => {
  it('reads a Postfix DSN end to end: failed recipient, status, permanence, the original message', async () => {
    const parsed = await parse(POSTFIX_DSN);
    expect(parsed.deliveryStatus).toContain('Action: failed');
    // the report parts are still stored as attachments
    expect(parsed.attachments.map((a) => a.contentType)).toEqual(['message/delivery-status', 'text/rfc822-headers']);
    expect(classify(parsed, { mailFrom: '' })).toEqual({
      kind: 'bounce',
      status: '5.1.1',
      action: 'failed',
      recipients: ['bob@example.org'],
      permanent: true,
      originalMessageId: 'quote-77@acme.filo.test',
      failures: [
        {
          recipient: 'bob@example.org',
          status: '5.1.1',
          permanent: true,
          reason: '550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown in virtual mailbox table',
        },
      ],
    });
  });

  it('takes a returned message/rfc822 part as the original message too', async () => {
    const parsed = await parse([
      'From: postmaster@example.net',
      'Subject: Delivery Status Notification (Failure)',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
      '',
      '--b',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; example.net',
      '',
      'Final-Recipient: rfc822; <dave@example.org>',
      'Action: failed',
      'Status: 5.2.2 (mailbox full)',
      '',
      '--b',
      'Content-Type: message/rfc822',
      '',
      'From: sales@acme.filo.test',
      'Message-ID: <offer-3@acme.filo.test>',
      '',
      'The original body.',
      '--b--',
      '',
    ]);
    expect(classify(parsed)).toMatchObject({
      kind: 'bounce',
      status: '5.2.2',
      recipients: ['dave@example.org'],
      permanent: true,
      originalMessageId: 'offer-3@acme.filo.test',
    });
  });

  it('says a delayed delivery (4.x.x) is not permanent', () => {
    const result = classify(
      mail({
        headers: { 'content-type': 'multipart/report; report-type=delivery-status; boundary=x' },
        deliveryStatus:
          'Reporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; eve@example.org\r\nAction: delayed\r\nStatus: 4.4.1\r\n',
      }),
    );
    expect(result).toMatchObject({ kind: 'bounce', action: 'delayed', status: '4.4.1', permanent: false });
  });

  it('says a failure with a 4.x.x status is not permanent either', () => {
    const result = classify(
      mail({ deliveryStatus: 'Final-Recipient: rfc822; eve@example.org\r\nAction: failed\r\nStatus: 4.2.2\r\n' }),
    );
    expect(result).toMatchObject({
      kind: 'bounce',
      action: 'failed',
      permanent: false,
      recipients: ['eve@example.org'],
    });
  });

  it('lists every failed recipient, unfolding continued fields', () => {
    const result = classify(
      mail({
        deliveryStatus: [
          'Reporting-MTA: dns; mx',
          '',
          'Final-Recipient: rfc822;',
          '  a@example.org',
          'Action: failed',
          'Status: 5.1.1',
          '',
          'Final-Recipient: rfc822; b@example.org',
          'Action: failed',
          'Status: 5.7.1',
          '',
        ].join('\r\n'),
      }),
    );
    expect(result).toMatchObject({ kind: 'bounce', recipients: ['a@example.org', 'b@example.org'], permanent: true });
  });

  it('recognises an old-style bounce: null sender, From MAILER-DAEMON, no DSN', () => {
    const result = classify(
      mail({
        from: 'MAILER-DAEMON@mx.example.net',
        subject: 'failure notice',
        text: [
          "Hi. This is the qmail-send program at mx.example.net. I'm afraid I wasn't able to deliver your message.",
          '',
          '<frank@example.org>:',
          '192.0.2.1 does not like recipient.',
          'Remote host said: 550 5.1.1 User unknown',
        ].join('\n'),
      }),
      { mailFrom: '<>' },
    );
    expect(result).toEqual({
      kind: 'bounce',
      status: '5.1.1',
      action: null,
      recipients: ['frank@example.org'],
      permanent: true,
      originalMessageId: null,
      failures: [
        {
          recipient: 'frank@example.org',
          status: '5.1.1',
          permanent: true,
          reason: 'Remote host said: 550 5.1.1 User unknown',
        },
      ],
    });
  });

  it('uses X-Failed-Recipients (Exim) and the Return-Path header when there is no envelope', () => {
    const result = classify(
      mail({
        from: 'postmaster@example.net',
        headers: { 'return-path': '<>', 'x-failed-recipients': 'Gina@Example.org, hank@example.org' },
        text: 'A message that you sent could not be delivered.',
      }),
    );
    expect(result).toMatchObject({
      kind: 'bounce',
      status: null,
      recipients: ['gina@example.org', 'hank@example.org'],
      permanent: false,
    });
  });

  it('does not call mail from postmaster with a real return path a bounce', () => {
    const result = classify(mail({ from: 'postmaster@example.net', subject: 'Your DNS settings' }), {
      mailFrom: 'postmaster@example.net',
    });
    expect(result).toEqual({ kind: 'message' });
  });
});

describe('classify: automatic replies', () => {
  it.each([
    [{ 'auto-submitted': 'auto-replied' }, 'auto_submitted'],
    [{ 'auto-submitted': 'auto-generated (vacation)' }, 'auto_submitted'],
    [{ 'x-autoreply': 'yes' }, 'autoreply_header'],
    [{ 'x-autorespond': 'Away' }, 'autoreply_header'],
    [{ precedence: 'bulk' }, 'precedence'],
    [{ precedence: 'junk' }, 'precedence'],
    [{ precedence: 'auto_reply' }, 'precedence'],
    [{ precedence: 'list' }, 'list'],
    [{ 'list-id': 'Sales talk <sales.lists.example.org>' }, 'list'],
    [{ 'list-unsubscribe': '<mailto:leave@lists.example.org>' }, 'list'],
    [{ 'content-type': 'multipart/report; report-type=disposition-notification; boundary=x' }, 'read_receipt'],
  ])('%j -> %s', (headers, reason) => {
    expect(classify(mail({ headers }))).toEqual({ kind: 'auto_reply', reason });
  });

  it('treats Auto-Submitted: no as a person writing', () => {
    expect(classify(mail({ headers: { 'auto-submitted': 'no' } }))).toEqual({ kind: 'message' });
  });

  it('recognises Outlook out-of-office replies by X-Auto-Response-Suppress plus the subject', () => {
    for (const subject of ['Automatic reply: Your quote', 'Out of Office: Quote', 'Risposta automatica: Preventivo']) {
      const result = classify(mail({ subject, headers: { 'x-auto-response-suppress': 'All' } }));
      expect(result, subject).toEqual({ kind: 'auto_reply', reason: 'out_of_office' });
    }
    expect(classify(mail({ subject: 'Automatische Antwort: x', headers: { 'x-auto-response-suppress': 'OOF, AutoReply' } })))
      .toEqual({ kind: 'auto_reply', reason: 'out_of_office' }); // prettier-ignore
  });

  it('does not take X-Auto-Response-Suppress alone (Outlook sets it on ordinary mail) as an auto-reply', () => {
    expect(classify(mail({ subject: 'Quote', headers: { 'x-auto-response-suppress': 'All' } }))).toEqual({
      kind: 'message',
    });
    expect(classify(mail({ subject: 'Out of office next week, can we meet before?' }))).toEqual({ kind: 'message' });
  });

  it('calls a vacation reply with Auto-Submitted and an out-of-office subject out_of_office', () => {
    const result = classify(mail({ subject: 'Out of office', headers: { 'auto-submitted': 'auto-replied' } }));
    expect(result).toEqual({ kind: 'auto_reply', reason: 'out_of_office' });
  });

  it('takes the null sender alone (RFC 3834) as automatic', () => {
    expect(classify(mail({}), { mailFrom: '' })).toEqual({ kind: 'auto_reply', reason: 'null_sender' });
  });

  it('leaves ordinary mail alone', async () => {
    const parsed = await parse([
      'From: Alice <alice@example.org>',
      'To: sales@acme.filo.test',
      'Subject: Quote for 40 seats',
      'Content-Type: text/plain',
      '',
      'Hello, could we have a quote?',
      '',
    ]);
    expect(classify(parsed, { mailFrom: 'alice@example.org' })).toEqual({ kind: 'message' });
  });
});
