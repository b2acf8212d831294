/**
 * Messages built to break a mail parser, generated in code. Each `raw` is a whole message as it would arrive after
 * DATA (CRLF line endings), so the same items can go through parseMail directly or through the SMTP gateway.
 */
export interface HostileMail {
  name: string;
  raw: Buffer;
}

/** Decoded size of the attachment of `huge-base64` (its base64 text is about 4/3 of this, ~20 MB). */
export const HUGE_PART_BYTES = 15 * 1024 * 1024;
export const NESTING_DEPTH = 100;
export const HEADER_COUNT = 10_000;
export const INNERMOST_TEXT = 'the innermost text survived';
export const MANY_PARTS = 1500;

const CRLF = '\r\n';

function message(lines: string[]): Buffer {
  return Buffer.from(lines.join(CRLF), 'latin1');
}

const BASE = [
  'From: Mallory <mallory@evil.example>',
  'To: sales@acme.filo.test',
  'Date: Mon, 6 Jan 2025 10:00:00 +0000',
];

/** The content of the huge part: a byte pattern that is cheap to make and to check. */
export function hugePartContent(): Buffer {
  const content = Buffer.allocUnsafe(HUGE_PART_BYTES);
  for (let i = 0; i < content.length; i++) content[i] = (i * 7 + (i >>> 11)) & 0xff;
  return content;
}

/** Base64 in 76-column lines, written straight into one buffer. */
function base64Lines(content: Buffer): Buffer {
  const perLine = 57; // 57 bytes -> 76 base64 characters
  const lines = Math.ceil(content.length / perLine);
  const out = Buffer.allocUnsafe(lines * 78);
  let at = 0;
  for (let i = 0; i < content.length; i += perLine) {
    at += out.write(content.toString('base64', i, Math.min(i + perLine, content.length)), at, 'latin1');
    at += out.write(CRLF, at, 'latin1');
  }
  return out.subarray(0, at);
}

function nested(depth: number): Buffer {
  const lines = [...BASE, `Subject: nested ${depth} deep`, 'MIME-Version: 1.0'];
  for (let i = 0; i < depth; i++)
    lines.push(`Content-Type: multipart/mixed; boundary="level-${i}"`, '', `--level-${i}`);
  lines.push('Content-Type: text/plain; charset=utf-8', '', INNERMOST_TEXT);
  for (let i = depth - 1; i >= 0; i--) lines.push(`--level-${i}--`);
  lines.push('');
  return message(lines);
}

function manyHeaders(count: number): Buffer {
  const lines = [...BASE, 'Subject: ten thousand headers'];
  for (let i = 0; i < count; i++) lines.push(`X-Filler-${i}: value ${i}`);
  lines.push('', 'body after many headers', '');
  return message(lines);
}

function manyParts(count: number): Buffer {
  const lines = [
    ...BASE,
    'Subject: too many parts',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="p"',
    '',
  ];
  for (let i = 0; i < count; i++) lines.push('--p', 'Content-Type: text/plain', '', `part ${i}`);
  lines.push('--p--', '');
  return message(lines);
}

function huge(): Buffer {
  const head = message([
    ...BASE,
    'Subject: a huge attachment',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="huge"',
    '',
    '--huge',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'See the attached file.',
    '--huge',
    'Content-Type: application/octet-stream; name="big.bin"',
    'Content-Disposition: attachment; filename="big.bin"',
    'Content-Transfer-Encoding: base64',
    '',
    '',
  ]);
  return Buffer.concat([head, base64Lines(hugePartContent()), Buffer.from('--huge--\r\n')]);
}

export const XSS_HTML = [
  '<p>Hello <b>there</b></p>',
  '<img src=x onerror=alert(1)>',
  '<svg onload=alert(2)><script>alert(3)</script></svg>',
  '<a href="jav&#x09;ascript:alert(4)">click</a>',
  '<iframe srcdoc="&lt;script&gt;alert(5)&lt;/script&gt;"></iframe>',
  '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
  '<div style="background:url(https://evil.example/track.gif)">styled</div>',
  '<img src="https://evil.example/pixel.gif">',
].join(CRLF);

export function hostileCorpus(): HostileMail[] {
  return [
    {
      name: 'bad-boundary',
      raw: message([
        ...BASE,
        'Subject: boundary that never appears',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="declared"',
        '',
        '--actual',
        'Content-Type: text/plain',
        '',
        'lost text',
        '--actual--',
        '',
      ]),
    },
    {
      name: 'missing-boundary',
      raw: message([
        ...BASE,
        'Subject: multipart without a boundary',
        'MIME-Version: 1.0',
        'Content-Type: multipart/alternative',
        '',
        '--x',
        'Content-Type: text/plain',
        '',
        'text',
        '--x--',
        '',
      ]),
    },
    {
      name: 'unterminated-multipart',
      raw: message([
        ...BASE,
        'Subject: cut off in the middle',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="cut"',
        '',
        '--cut',
        'Content-Type: text/plain',
        '',
        'first part',
        '--cut',
        'Content-Type: application/pdf; name="half.pdf"',
        'Content-Transfer-Encoding: base64',
        '',
        'JVBERi0xLjQKJcfs',
        '',
      ]),
    },
    {
      name: 'encoded-word-garbage',
      raw: message([
        'From: =?x-unknown?Q?M=E9llory?= <mallory@evil.example>',
        'To: =?utf-8?B?!!!not-base64?= <sales@acme.filo.test>',
        'Subject: =?x-unknown?Q?caf=E9?= =?utf-8?B?4pyT?= =?utf-8?B?broken*base64?= =?iso-8859-1?Q?=E0_la_carte?= =?utf-8?Q?unterminated',
        'Date: not a date at all',
        'Message-ID: <garbage@@evil.example>',
        '',
        'body',
        '',
      ]),
    },
    {
      name: 'raw-latin1-headers',
      raw: message([
        'From: Andr\xe9 M\xfcller <andre@evil.example>',
        'To: sales@acme.filo.test',
        'Subject: Caf\xe9 cr\xe8me br\xfbl\xe9e',
        '',
        'Body with raw 8-bit: d\xe9j\xe0 vu',
        '',
      ]),
    },
    { name: 'nested-100', raw: nested(NESTING_DEPTH) },
    { name: 'headers-10000', raw: manyHeaders(HEADER_COUNT) },
    { name: 'too-many-parts', raw: manyParts(MANY_PARTS) },
    {
      name: 'long-header-line',
      raw: message([
        ...BASE,
        'Subject: one enormous header',
        `X-Huge: ${'a'.repeat(700 * 1024)}`,
        '',
        'still here',
        '',
      ]),
    },
    {
      name: 'unknown-charsets',
      raw: message([
        ...BASE,
        'Subject: unknown charsets',
        'MIME-Version: 1.0',
        'Content-Type: multipart/alternative; boundary="alt"',
        '',
        '--alt',
        'Content-Type: text/plain; charset="x-klingon"',
        'Content-Transfer-Encoding: 8bit',
        '',
        'qapla\xe9 \xff\xfe',
        '--alt',
        'Content-Type: text/html; charset=utf-7',
        '',
        '<p>+ADw-script+AD4-alert(1)+ADw-/script+AD4-</p>',
        '--alt--',
        '',
      ]),
    },
    { name: 'huge-base64', raw: huge() },
    {
      name: 'nul-bytes',
      raw: message([
        ...BASE,
        'Subject: nul\x00in\x00subject',
        'MIME-Version: 1.0',
        'Content-Type: multipart/alternative; boundary="n"',
        '',
        '--n',
        'Content-Type: text/plain',
        '',
        'text\x00with\x00nuls',
        '--n',
        'Content-Type: text/html',
        '',
        '<p>html\x00with\x00nuls</p>',
        '--n--',
        '',
      ]),
    },
    {
      name: 'header-injection',
      raw: message([
        'From: =?utf-8?Q?Mallory=0D=0ABcc:_victim@example.org?= <mallory@evil.example>',
        'To: sales@acme.filo.test',
        'Subject: =?utf-8?Q?Invoice=0D=0ABcc:_victim@example.org=0D=0A=0D=0Ainjected_body?=',
        'Message-ID: <inj@evil.example>',
        '',
        'body',
        '',
      ]),
    },
    { name: 'only-headers', raw: message([...BASE, 'Subject: headers and nothing else', '']) },
    { name: 'empty', raw: Buffer.alloc(0) },
    {
      name: 'no-blank-line',
      raw: message([...BASE, 'Subject: no separator', 'This line should have been the body.', 'And this one.', '']),
    },
    {
      name: 'xss-html',
      raw: message([
        ...BASE,
        'Subject: pretty newsletter',
        'MIME-Version: 1.0',
        'Content-Type: text/html; charset=utf-8',
        '',
        XSS_HTML,
        '',
      ]),
    },
    {
      name: 'garbage-dsn',
      raw: message([
        'From: MAILER-DAEMON@mx.evil.example',
        'To: sales@acme.filo.test',
        'Subject: Delivery Status Notification (Failure)',
        'MIME-Version: 1.0',
        'Content-Type: multipart/report; report-type=delivery-status; boundary="r"',
        '',
        '--r',
        'Content-Type: text/plain',
        '',
        'Something failed.',
        '--r',
        'Content-Type: message/delivery-status',
        '',
        ': no name',
        'Final-Recipient',
        'Action: ',
        'Status: 9.9.9.9 (nonsense)',
        '\x00\xff garbage',
        '--r--',
        '',
      ]),
    },
  ];
}
