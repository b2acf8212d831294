import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { classify } from '../../mail/classify.ts';
import { parseMail } from '../../mail/parse.ts';
import { sanitizeEmailHtml } from '../../mail/sanitize.ts';
import { readTnef } from '../../mail/tnef.ts';
import { recordingStore, unsafeParts } from './support.ts';
import { tnef } from './tnef-fixture.ts';

/** Issue 12: messages of the shapes real-world mail comes in, each generated here. */

const parse = (raw: Buffer | string, keep = false) =>
  parseMail(Readable.from([Buffer.from(raw)]), recordingStore({ keep }));
/** Lines joined with CRLF (no line ending after the last). */
const crlf = (lines: (string | Buffer)[]) =>
  Buffer.concat(
    lines.flatMap((l, i) => [...(i ? [Buffer.from('\r\n')] : []), Buffer.isBuffer(l) ? l : Buffer.from(l, 'utf8')]),
  );
const ITALIAN = 'Buongiorno, il caffè è pronto: perché non venite già alle nove? Più tardi è difficile, però.';

describe('a leading UTF-8 byte order mark', () => {
  it('does not turn the header block into body text', async () => {
    const raw = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      crlf(['From: Anna <anna@example.org>', 'To: support@acme.filo.test', 'Subject: Ordine 42', '', 'Corpo.']),
    ]);
    const mail = await parse(raw);
    expect(mail.from).toEqual({ address: 'anna@example.org', name: 'Anna' });
    expect(mail.subject).toBe('Ordine 42');
    expect(mail.text).toBe('Corpo.');
  });

  it('is read past even when it arrives one byte at a time', async () => {
    const raw = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), crlf(['Subject: split', '', 'x'])]);
    const mail = await parseMail(Readable.from([...raw].map((b) => Buffer.from([b]))), recordingStore());
    expect(mail.subject).toBe('split');
  });
});

describe('display names, subjects and file names keep their characters', () => {
  it('keeps bidi overrides (the web isolates them) rather than dropping or reordering them', async () => {
    const raw = crlf([
      'From: =?UTF-8?B?' + Buffer.from('Mario \u202eossiR').toString('base64') + '?= <mario@example.org>',
      'Subject: =?UTF-8?B?' + Buffer.from('Fattura \u202egpj.exe').toString('base64') + '?=',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain',
      '',
      'see attached',
      '--b',
      'Content-Type: application/octet-stream',
      "Content-Disposition: attachment; filename*=UTF-8''invoice%E2%80%AEfdp.exe",
      '',
      'MZ',
      '--b--',
    ]);
    const mail = await parse(raw);
    expect(mail.from?.name).toBe('Mario \u202eossiR');
    expect(mail.subject).toBe('Fattura \u202egpj.exe');
    expect(mail.attachments[0]?.fileName).toBe('invoice\u202efdp.exe');
  });
});

describe('charsets', () => {
  it('reads Windows-1252 bytes labelled UTF-8 as Windows-1252, and says so', async () => {
    const raw = crlf([
      'From: a@example.org',
      'Subject: x',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      Buffer.from(ITALIAN, 'latin1'),
    ]);
    const mail = await parse(raw);
    expect(mail.text).toBe(ITALIAN);
    expect(mail.problems).toContain('text: not UTF-8, read as windows-1252');
  });

  it('decodes raw 8-bit mail without MIME headers with a detector (Cyrillic, Windows-1251)', async () => {
    const russian =
      'Здравствуйте! Мы хотели бы получить коммерческое предложение на сорок рабочих мест. Спасибо за ответ.';
    const raw = crlf(['From: ivan@example.ru', 'Subject: zapros', '', encode1251(russian)]);
    const mail = await parse(raw);
    expect(mail.text).toBe(russian);
  });

  it('takes the charset of HTML from its <meta> when the MIME headers give none', async () => {
    const html = `<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251"></head><body><p>Привет, мир</p></body></html>`;
    const raw = crlf([
      'From: a@example.org',
      'Subject: x',
      'MIME-Version: 1.0',
      'Content-Type: text/html',
      'Content-Transfer-Encoding: 8bit',
      '',
      encode1251(html),
    ]);
    const mail = await parse(raw);
    expect(mail.html).toContain('<p>Привет, мир</p>');
    expect(mail.problems).toContain('html: no charset declared, read as windows-1251');
  });

  it('reads encoded words labelled UTF-8 that hold Windows-1252 bytes, even split across words', async () => {
    const mail = await parse(
      crlf(['From: a@example.org', 'Subject: =?UTF-8?Q?Il_caff=E8?= =?utf-8?B?IOggcHJvbnRv?= ok', '', 'x']),
    );
    expect(mail.subject).toBe('Il caffè è pronto ok');
    expect(mail.problems).toContain('subject: encoded words labelled UTF-8 that are not, read by their bytes');
  });

  it('leaves valid UTF-8 and properly declared charsets as they were', async () => {
    const raw = crlf([
      'From: a@example.org',
      'Subject: x',
      'MIME-Version: 1.0',
      'Content-Type: multipart/alternative; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain; charset=iso-8859-1',
      'Content-Transfer-Encoding: 8bit',
      '',
      Buffer.from('Caffè', 'latin1'),
      '--b',
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      '<p>Caffè ✓</p>',
      '--b--',
    ]);
    const mail = await parse(raw);
    expect(mail.text).toBe('Caffè');
    expect(mail.html).toBe('<p>Caffè ✓</p>');
    expect(mail.problems).toEqual([]);
  });
});

/** Windows-1251 for the Cyrillic letters used in these tests (TextEncoder only writes UTF-8). */
function encode1251(s: string): Buffer {
  const decoder = new TextDecoder('windows-1251');
  const table = new Map<string, number>();
  for (let b = 0x80; b <= 0xff; b++) table.set(decoder.decode(Buffer.from([b])), b);
  return Buffer.from([...s].map((c) => (c.charCodeAt(0) < 0x80 ? c.charCodeAt(0) : (table.get(c) ?? 0x3f))));
}

describe('TNEF (winmail.dat)', () => {
  const report = Buffer.from('%PDF-1.4 quarterly report');
  const sheet = Buffer.from('PK\u0003\u0004 sheet bytes');
  const container = tnef([
    { short: 'QUARTE~1.PDF', long: 'Quarterly report – Q3.pdf', data: report },
    { short: 'PRICES.XLS', data: sheet },
  ]);

  it('reads the files a TNEF stream carries, with their long names', () => {
    expect(readTnef(container)).toEqual([
      { fileName: 'Quarterly report – Q3.pdf', data: report },
      { fileName: 'PRICES.XLS', data: sheet },
    ]);
  });

  it('yields what it read so far from a truncated stream, and nothing from garbage', () => {
    expect(readTnef(container.subarray(0, container.length - 40)).map((f) => f.fileName)).toEqual([
      'Quarterly report – Q3.pdf',
    ]);
    expect(readTnef(Buffer.from('not tnef at all'))).toEqual([]);
  });

  it('stores a winmail.dat attachment as the files inside it', async () => {
    const raw = crlf([
      'From: outlook@example.org',
      'Subject: report',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain',
      '',
      'see attached',
      '--b',
      'Content-Type: application/ms-tnef; name="winmail.dat"',
      'Content-Disposition: attachment; filename="winmail.dat"',
      'Content-Transfer-Encoding: base64',
      '',
      container.toString('base64'),
      '--b--',
    ]);
    const { parts, storeAttachment } = recordingStore({ keep: true });
    const mail = await parseMail(Readable.from([raw]), { storeAttachment });
    expect(mail.attachments.map((a) => [a.fileName, a.size])).toEqual([
      ['Quarterly report – Q3.pdf', report.length],
      ['PRICES.XLS', sheet.length],
    ]);
    expect(parts.map((p) => p.bytes)).toEqual([report, sheet]);
    expect(mail.notices).toContain('tnef');
  });
});

describe('yEnc and message/partial are shown as what they are', () => {
  it('labels a yEnc block in the text instead of showing 8-bit noise', async () => {
    const noise = Buffer.from(
      [...Array(200).keys()].map((i) => (i * 37 + 42) % 256).filter((b) => b !== 10 && b !== 13 && b !== 0x3d),
    );
    const raw = crlf([
      'From: poster@example.org',
      'Subject: file',
      '',
      'Here it is:',
      '=ybegin line=128 size=200 name=photo.jpg',
      noise,
      '=yend size=200 crc32=abcdef12',
      'bye',
    ]);
    const mail = await parse(raw);
    expect(mail.text).toBe('Here it is:\n[yEnc-encoded file: photo.jpg, 200 bytes]\nbye');
    expect(mail.notices).toEqual(['yenc']);
    expect(mail.problems).toContain('yEnc-encoded file photo.jpg: not decoded');
  });

  it('names a message/partial fragment and says it is one', async () => {
    const raw = crlf([
      'From: big@example.org',
      'Subject: big file (part 2/3)',
      'MIME-Version: 1.0',
      'Content-Type: message/partial; id="big-1@example.org"; number=2; total=3',
      '',
      'AAAABBBBCCCC',
    ]);
    const mail = await parse(raw);
    expect(mail.notices).toEqual(['partial']);
    expect(mail.attachments.map((a) => a.fileName)).toEqual(['message-part-2-of-3.eml']);
    expect(mail.problems).toContain('message/partial: fragment 2/3 of a message sent in parts, not reassembled');
  });
});

describe('the sanitizer loses no content', () => {
  const blocks = Array.from({ length: 20 }, (_, i) => `<p>Block ${i + 1} of the newsletter, with its own words.</p>`);
  it.each(['svg', 'noscript', 'textarea', 'math', 'xmp'])('keeps the text after an unclosed <%s>', (tag) => {
    const out = sanitizeEmailHtml(`${blocks[0]}<${tag}>${blocks.slice(1).join('')}`, { cidUrl: () => null });
    expect(out.html.match(/Block \d+/g)).toHaveLength(20);
    expect(out.lostText).toBe(false);
    expect(unsafeParts(out.html)).toEqual([]);
  });

  it('still drops what a closed <svg>, <noscript> or <textarea> holds', () => {
    const out = sanitizeEmailHtml(
      '<p>a</p><svg><text>drawn</text></svg><noscript>n</noscript><textarea>t</textarea><p>b</p>',
      {
        cidUrl: () => null,
      },
    );
    expect(out.html).toBe('<p>a</p><p>b</p>');
  });

  it('says when cleaning lost most of the text (the plain-text alternative is shown then)', () => {
    const words = 'All the words of this message are inside a form control. '.repeat(10);
    const out = sanitizeEmailHtml(`<p>Hi</p><select><option>${words}</option></select>`, { cidUrl: () => null });
    expect(out.lostText).toBe(true);
    expect(sanitizeEmailHtml(`<p>${words}</p>`, { cidUrl: () => null }).lostText).toBe(false);
  });
});

const dsn = (status: string[]) =>
  crlf([
    'From: MAILER-DAEMON@mx.example.net',
    'To: sales@acme.filo.test',
    'Subject: Delivery Status Notification',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain',
    '',
    'Delivery failed.',
    '--b',
    'Content-Type: message/delivery-status',
    '',
    ...status,
    '--b--',
  ]);

describe('bounces of every shape', () => {
  it('reads a DSN without a Status field from its Diagnostic-Code', async () => {
    const mail = await parse(
      dsn([
        'Reporting-MTA: dns; mx.example.net',
        '',
        'Final-Recipient: rfc822; gone@example.org',
        'Action: failed',
        'Diagnostic-Code: smtp; 550 Requested action not taken: mailbox unavailable',
      ]),
    );
    expect(classify(mail, { mailFrom: '' })).toMatchObject({
      kind: 'bounce',
      status: '5.0.0',
      permanent: true,
      failures: [
        {
          recipient: 'gone@example.org',
          status: '5.0.0',
          permanent: true,
          reason: '550 Requested action not taken: mailbox unavailable',
        },
      ],
    });
  });

  it('reads a Status without an Action (5.x.x is a failure, 4.x.x a delay)', async () => {
    const mail = await parse(
      dsn([
        'Reporting-MTA: dns; mx.example.net',
        '',
        'Final-Recipient: rfc822; hard@example.org',
        'Status: 5.1.1',
        '',
        'Final-Recipient: rfc822; soft@example.org',
        'Status: 4.2.2',
      ]),
    );
    const result = classify(mail, { mailFrom: '' });
    expect(result).toMatchObject({ kind: 'bounce', action: 'failed', status: '5.1.1', permanent: true });
    expect(result.kind === 'bounce' && result.failures).toEqual([
      { recipient: 'hard@example.org', status: '5.1.1', permanent: true, reason: 'Status 5.1.1' },
    ]);
  });

  it('reads a per-recipient block that is base64-encoded', async () => {
    const block = Buffer.from(
      'Final-Recipient: rfc822; encoded@example.org\r\nAction: failed\r\nStatus: 5.2.1\r\nDiagnostic-Code: smtp; 550 5.2.1 Mailbox disabled\r\n',
    )
      .toString('base64')
      .replace(/.{60}/g, '$&\r\n')
      .split('\r\n');
    const mail = await parse(dsn(['Reporting-MTA: dns; mx.example.net', '', ...block]));
    expect(classify(mail, { mailFrom: '' })).toMatchObject({
      kind: 'bounce',
      recipients: ['encoded@example.org'],
      failures: [
        { recipient: 'encoded@example.org', status: '5.2.1', permanent: true, reason: '550 5.2.1 Mailbox disabled' },
      ],
    });
  });

  const text = (from: string, subject: string, body: string[], headers: string[] = []) =>
    parse(crlf([`From: ${from}`, 'To: sales@acme.filo.test', `Subject: ${subject}`, ...headers, '', ...body]));

  it('reads an Exim text bounce: the address under "failed:", its SMTP error, hard', async () => {
    const mail = await text(
      'Mail Delivery System <Mailer-Daemon@mx.example.net>',
      'Mail delivery failed: returning message to sender',
      [
        'This message was created automatically by mail delivery software.',
        '',
        'A message that you sent could not be delivered to one or more of its',
        'recipients. This is a permanent error. The following address(es) failed:',
        '',
        '  nobody@example.org',
        '    host mx.example.org [192.0.2.7]',
        '    SMTP error from remote mail server after RCPT TO:<nobody@example.org>:',
        '    550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown',
        '',
        '------ This is a copy of the message, including all the headers. ------',
        '',
        'From: sales@acme.filo.test',
        'To: someone-else@example.org',
      ],
    );
    expect(classify(mail, { mailFrom: '' })).toMatchObject({
      kind: 'bounce',
      status: '5.1.1',
      recipients: ['nobody@example.org'],
      permanent: true,
      failures: [
        {
          recipient: 'nobody@example.org',
          permanent: true,
          reason: '550 5.1.1 <nobody@example.org>: Recipient address rejected: User unknown',
        },
      ],
    });
  });

  it('reads an Exim delay warning as soft', async () => {
    const mail = await text('Mailer-Daemon@mx.example.net', 'Warning: message 1abc delayed 24 hours', [
      'This message was created automatically by mail delivery software.',
      'A message that you sent has not yet been delivered to one or more of its',
      'recipients after more than 24 hours on the queue on mx.example.net.',
      '',
      '  slow@example.org',
      '    Delay reason: SMTP error from remote mail server after RCPT TO:<slow@example.org>:',
      '    451 4.3.0 Temporary lookup failure',
      '',
      'No action is required on your part. Delivery attempts will continue for some time.',
    ]);
    expect(classify(mail, { mailFrom: '' })).toMatchObject({
      kind: 'bounce',
      permanent: false,
      failures: [{ recipient: 'slow@example.org', status: '4.3.0', permanent: false }],
    });
  });

  it('reads a qmail bounce without an enhanced code: 5xx is hard', async () => {
    const mail = await text('MAILER-DAEMON@mx.example.net', 'failure notice', [
      'Hi. This is the qmail-send program at mx.example.net.',
      "I'm afraid I wasn't able to deliver your message to the following addresses.",
      "This is a permanent error; I've given up. Sorry it didn't work out.",
      '',
      '<q@example.org>:',
      '192.0.2.9 does not like recipient.',
      'Remote host said: 550 sorry, no mailbox here by that name',
      'Giving up on 192.0.2.9.',
    ]);
    expect(classify(mail, { mailFrom: '' })).toMatchObject({
      kind: 'bounce',
      status: '5.0.0',
      failures: [
        {
          recipient: 'q@example.org',
          status: '5.0.0',
          permanent: true,
          reason: 'Remote host said: 550 sorry, no mailbox here by that name',
        },
      ],
    });
  });

  it('reads a Postfix text bounce (no DSN part) and a Sendmail one', async () => {
    const postfix = await text(
      'MAILER-DAEMON@mx.example.net (Mail Delivery System)',
      'Undelivered Mail Returned to Sender',
      [
        'This is the mail system at host mx.example.net.',
        '',
        "I'm sorry to have to inform you that your message could not",
        'be delivered to one or more recipients.',
        '',
        '<p@example.org>: host mx.example.org[192.0.2.3] said: 552 5.2.2 <p@example.org>: Mailbox full (in reply to RCPT TO command)',
      ],
    );
    expect(classify(postfix, { mailFrom: '' })).toMatchObject({
      failures: [{ recipient: 'p@example.org', status: '5.2.2', permanent: true }],
    });
    const sendmail = await text(
      'Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>',
      'Returned mail: see transcript for details',
      [
        'The original message was received at Mon, 6 Jan 2025 10:00:00 +0100',
        '',
        '   ----- The following addresses had permanent fatal errors -----',
        '<s@example.org>',
        '    (reason: 550 5.1.1 <s@example.org>... User unknown)',
        '',
        '   ----- Transcript of session follows -----',
        '... while talking to mx.example.org.:',
        '>>> RCPT To:<s@example.org>',
        '<<< 550 5.1.1 <s@example.org>... User unknown',
      ],
    );
    expect(classify(sendmail, { mailFrom: '' })).toMatchObject({
      recipients: ['s@example.org'],
      failures: [{ recipient: 's@example.org', status: '5.1.1', permanent: true }],
    });
  });

  it('never takes our own address or the returned message for a failed recipient', async () => {
    const mail = await text('MAILER-DAEMON@mx.example.net', 'Undeliverable: Quote', [
      'Delivery has failed to these recipients or groups:',
      '',
      'sales@acme.filo.test',
      '',
      '-------- Original message --------',
      '<victim@example.org>: not a recipient of this bounce',
    ]);
    const result = classify(mail, { mailFrom: '' });
    expect(result.kind).toBe('bounce');
    expect(result.kind === 'bounce' && result.recipients).toEqual([]);
  });
});
