import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseMail, type StoreAttachment } from '../../mail/parse.ts';
import { compose, recordingStore } from './support.ts';

function source(raw: Buffer | string, chunkSize = 1 << 14): Readable {
  const bytes = Buffer.from(raw);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
  return Readable.from(chunks);
}

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

describe('parseMail: an ordinary message', () => {
  it('reads addresses, ids, subject, date, text and html', async () => {
    const raw = await compose({
      from: '"Alice Rossi" <Alice.Rossi@Example.ORG>',
      to: ['sales@acme.filo.test', 'Bob <BOB@example.org>'],
      cc: 'Undisclosed: carol@example.org, dave@example.org;',
      replyTo: 'replies@example.org',
      subject: 'Preventivo per 40 postazioni ✓',
      messageId: '<quote-1@example.org>',
      inReplyTo: '<offer-9@acme.filo.test>',
      references: ['<root-1@acme.filo.test>', '<offer-9@acme.filo.test>'],
      date: new Date('2025-01-06T10:00:00Z'),
      text: 'Buongiorno, vorremmo un preventivo.',
      html: '<p>Buongiorno, vorremmo un <b>preventivo</b>.</p>',
    });
    const { storeAttachment, parts } = recordingStore();
    const mail = await parseMail(source(raw), { storeAttachment });
    expect(mail).toMatchObject({
      messageId: 'quote-1@example.org',
      inReplyTo: 'offer-9@acme.filo.test',
      references: ['root-1@acme.filo.test', 'offer-9@acme.filo.test'],
      subject: 'Preventivo per 40 postazioni ✓',
      from: { address: 'alice.rossi@example.org', name: 'Alice Rossi' },
      to: [
        { address: 'sales@acme.filo.test', name: '' },
        { address: 'bob@example.org', name: 'Bob' },
      ],
      cc: [
        { address: 'carol@example.org', name: '' },
        { address: 'dave@example.org', name: '' },
      ],
      replyTo: [{ address: 'replies@example.org', name: '' }],
      date: new Date('2025-01-06T10:00:00Z'),
      text: 'Buongiorno, vorremmo un preventivo.',
      html: '<p>Buongiorno, vorremmo un <b>preventivo</b>.</p>',
      attachments: [],
      deliveryStatus: null,
      returnedHeaders: null,
      problems: [],
    });
    expect(parts).toEqual([]);
    expect(mail.headers.get('message-id')).toEqual(['<quote-1@example.org>']);
    expect(mail.headers.get('subject')?.[0]).toMatch(/^=\?UTF-8\?/i); // raw, as written
  });

  it('keeps repeated headers in order in the raw header map', async () => {
    const mail = await parseMail(
      source('Received: from a\r\nReceived: from b\r\n\tby c\r\nSubject: x\r\n\r\nbody'),
      recordingStore(),
    );
    expect(mail.headers.get('received')).toEqual(['from a', 'from b\tby c']);
  });
});

describe('parseMail: attachments', () => {
  it('streams every attachment to storeAttachment, with its metadata, and returns what the store said', async () => {
    const pdf = Buffer.alloc(300_000, 'pdf-bytes ');
    const raw = await compose({
      from: 'alice@example.org',
      to: 'sales@acme.filo.test',
      subject: 'files',
      html: '<p>logo: <img src="cid:logo@example.org"></p>',
      attachments: [
        { filename: 'logo.png', content: PNG, cid: 'logo@example.org' },
        { filename: '../../etc/Offerta\r\n.pdf', content: pdf, contentType: 'application/pdf' },
        { content: 'no name', contentType: 'text/csv' },
      ],
    });
    const { storeAttachment, parts } = recordingStore({ keep: true });
    const mail = await parseMail(source(raw), { storeAttachment });
    expect(mail.attachments).toEqual([
      { fileName: 'logo.png', contentType: 'image/png', size: PNG.length, cid: 'logo@example.org', inline: true, stored: 'blob-1' },
      { fileName: '.._.._etc_Offerta  .pdf', contentType: 'application/pdf', size: pdf.length, cid: null, inline: false, stored: 'blob-2' },
      { fileName: 'attachment-3.csv', contentType: 'text/csv', size: 7, cid: null, inline: false, stored: 'blob-3' },
    ]); // prettier-ignore
    expect(parts[0]?.bytes?.equals(PNG)).toBe(true);
    expect(parts[1]?.bytes?.equals(pdf)).toBe(true);
    expect(parts[1]?.chunks).toBeGreaterThan(1);
    expect(mail.html).toContain('cid:logo@example.org');
  });

  it('names a part that has no file name by its part number, never with a path', async () => {
    const raw = [
      'Content-Type: multipart/mixed; boundary=b',
      '',
      '--b',
      'Content-Type: application/octet-stream',
      '',
      'data',
      '--b',
      'Content-Type: application/x-thing; name="/tmp/../../x\u0000y"',
      '',
      'data',
      '--b--',
      '',
    ].join('\r\n');
    const mail = await parseMail(source(raw), recordingStore());
    expect(mail.attachments.map((a) => a.fileName)).toEqual(['part-1', '_tmp_.._.._x y']);
  });

  it('goes on when the store returns without reading the content', async () => {
    const raw = await compose({
      from: 'a@example.org',
      subject: 'lazy store',
      text: 'after the attachments',
      attachments: [
        { filename: 'a.bin', content: Buffer.alloc(200_000, 1) },
        { filename: 'b.bin', content: Buffer.alloc(200_000, 2) },
      ],
    });
    const seen: string[] = [];
    const lazy: StoreAttachment = async (meta) => {
      seen.push(meta.fileName);
      return { size: -1, stored: null };
    };
    const mail = await parseMail(source(raw), { storeAttachment: lazy });
    expect(seen).toEqual(['a.bin', 'b.bin']);
    expect(mail.text).toBe('after the attachments');
  });

  it('rejects when the store fails: the message is not lost, it is to be retried', async () => {
    const raw = await compose({ from: 'a@example.org', text: 'x', attachments: [{ filename: 'a.txt', content: 'a' }] });
    const failing: StoreAttachment = async (_meta, content) => {
      content.resume();
      throw new Error('disk full');
    };
    await expect(parseMail(source(raw), { storeAttachment: failing })).rejects.toThrow('disk full');
  });

  it('rejects when the source fails', async () => {
    const broken = new Readable({
      read() {
        this.push('Subject: half\r\n');
        this.destroy(new Error('connection reset'));
      },
    });
    await expect(parseMail(broken, recordingStore())).rejects.toThrow('connection reset');
  });

  it('rejects when the source closes before its end', async () => {
    const cut = new Readable({
      read() {
        this.push('Subject: half\r\n');
        this.destroy();
      },
    });
    await expect(parseMail(cut, recordingStore())).rejects.toThrow(/premature close/i);
  });

  it('stops storing once the store has failed', async () => {
    const raw = await compose({
      from: 'a@example.org',
      attachments: [
        { filename: 'a.txt', content: 'a' },
        { filename: 'b.txt', content: 'b' },
      ],
    });
    const calls: string[] = [];
    const failing: StoreAttachment = async (meta, content) => {
      calls.push(meta.fileName);
      content.resume();
      throw new Error('disk full');
    };
    await expect(parseMail(source(raw), { storeAttachment: failing })).rejects.toThrow('disk full');
    expect(calls).toEqual(['a.txt']);
  });

  it('keeps the text of a delivery report and of the returned headers for classify', async () => {
    const raw = [
      'From: MAILER-DAEMON@mx.example.net',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="r"',
      '',
      '--r',
      'Content-Type: text/plain',
      '',
      'failed',
      '--r',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.example.net',
      '',
      'Final-Recipient: rfc822; bob@example.org',
      'Action: failed',
      'Status: 5.1.1',
      '',
      '--r',
      'Content-Type: text/rfc822-headers',
      '',
      'Message-ID: <orig@acme.filo.test>',
      'Subject: offer',
      '',
      '--r--',
      '',
    ].join('\r\n');
    const { storeAttachment, parts } = recordingStore({ keep: true });
    const mail = await parseMail(source(raw, 7), { storeAttachment });
    expect(mail.deliveryStatus).toContain(
      'Final-Recipient: rfc822; bob@example.org\r\nAction: failed\r\nStatus: 5.1.1',
    );
    expect(mail.returnedHeaders).toBe('Message-ID: <orig@acme.filo.test>\r\nSubject: offer');
    expect(mail.text).toBe('failed');
    // the report parts still reach the store, whole
    expect(parts.map((p) => p.bytes?.toString())).toEqual([
      expect.stringContaining('Status: 5.1.1'),
      expect.stringContaining('Subject: offer'),
    ]);
  });
});

describe('parseMail: limits and cleaning', () => {
  it('cuts text and html at maxTextBytes on a character boundary', async () => {
    const raw = await compose({ from: 'a@example.org', text: 'è'.repeat(1000), html: `<p>${'x'.repeat(5000)}</p>` });
    const mail = await parseMail(source(raw), { ...recordingStore(), maxTextBytes: 1001 });
    expect(mail.text).toBe('è'.repeat(500));
    expect(mail.html).toHaveLength(1001);
    expect(mail.problems).toEqual(expect.arrayContaining([expect.stringMatching(/^text: longer than 1001 bytes/)]));
    expect(mail.problems).toEqual(expect.arrayContaining([expect.stringMatching(/^html: longer than 1001 bytes/)]));
  });

  it('drops headers beyond maxHeaders and says so', async () => {
    const extra = Array.from({ length: 20 }, (_, i) => `X-Extra-${i}: ${i}`).join('\r\n');
    const mail = await parseMail(source(`Subject: s\r\nFrom: a@example.org\r\n${extra}\r\n\r\nbody`), {
      ...recordingStore(),
      maxHeaders: 5,
    });
    expect([...mail.headers.keys()]).toEqual(['subject', 'from', 'x-extra-0', 'x-extra-1', 'x-extra-2']);
    expect(mail.problems).toContain('too many headers: kept first 5, dropped 17');
    expect(mail.text).toBe('body');
  });

  it('keeps the subject on one line and within 998 characters', async () => {
    const long = `=?utf-8?B?${Buffer.from(`a\r\nBcc: x@example.org ${'é'.repeat(1200)}`).toString('base64')}?=`;
    const mail = await parseMail(source(`Subject: ${long}\r\n\r\nbody`), recordingStore());
    expect(mail.subject).toMatch(/^a Bcc: x@example.org é+$/);
    expect(mail.subject).toHaveLength(998);
  });

  it('drops addresses longer than 320 characters and never leaves CR/LF in names', async () => {
    const mail = await parseMail(
      source(
        `To: ${'x'.repeat(400)}@example.org, =?utf-8?Q?Evil=0D=0ABcc=3A?= <ok@example.org>\r\nFrom: a@example.org\r\n\r\nb`,
      ),
      recordingStore(),
    );
    expect(mail.to).toEqual([{ address: 'ok@example.org', name: 'Evil Bcc:' }]);
    expect(mail.problems).toContain('to: invalid address dropped');
  });

  it('gives a null date, not "now", for an unreadable Date header', async () => {
    const mail = await parseMail(source('Date: yesterday-ish\r\nSubject: x\r\n\r\nb'), recordingStore());
    expect(mail.date).toBeNull();
    expect(mail.problems).toContain('date: unreadable');
  });

  it('reads a Date with a trailing comment', async () => {
    const mail = await parseMail(source('Date: Mon, 6 Jan 2025 11:00:00 +0100 (CET)\r\n\r\nb'), recordingStore());
    expect(mail.date).toEqual(new Date('2025-01-06T10:00:00Z'));
  });

  it('strips NUL from text, html and headers', async () => {
    const raw = await compose({ from: 'a@example.org', subject: 'a\u0000b', text: 'x\u0000y', html: '<p>\u0000</p>' });
    const mail = await parseMail(source(raw), recordingStore());
    expect(mail.text).toBe('xy');
    expect(mail.html).toBe('<p></p>');
    expect(mail.subject).not.toContain('\u0000');
  });

  it('records charsets it cannot decode, and still returns the text', async () => {
    const raw = 'Subject: =?x-mystery?Q?abc?=\r\nContent-Type: text/plain; charset=x-mystery\r\n\r\nplain ascii';
    const mail = await parseMail(source(raw), recordingStore());
    expect(mail.text).toBe('plain ascii');
    expect(mail.problems).toEqual(['unknown charset x-mystery in header', 'unknown charset x-mystery']);
  });

  it('does not complain about charsets it knows by another name', async () => {
    const raw = [
      'Subject: =?ISO-8859-1?Q?caf=E9?= =?windows-1252?Q?=80?= =?ks_c_5601-1987?B?x?=',
      'Content-Type: multipart/alternative; boundary=b',
      '',
      '--b',
      'Content-Type: text/plain; charset=latin1',
      '',
      'caf\xe9',
      '--b',
      'Content-Type: text/html; charset="Shift_JIS"',
      '',
      '<p>x</p>',
      '--b--',
      '',
    ].join('\r\n');
    const mail = await parseMail(source(Buffer.from(raw, 'latin1')), recordingStore());
    expect(mail.problems).toEqual([]);
    // white space between encoded words is not part of the text (RFC 2047)
    expect(mail.subject.startsWith('café€')).toBe(true);
    expect(mail.text).toBe('café');
  });
});
