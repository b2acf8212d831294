import { createServer, type AddressInfo, type Server } from 'node:net';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient, login, startTestFilo, type ApiClient, type TestFilo } from './support/harness.ts';

/**
 * Addresses survive replies: a sender whose quoted local part holds `<` and `>` is never answered at another
 * address. nodemailer turns those characters into spaces (and its SMTP client refuses them in an envelope), so
 * such a reply fails with its reason; the SMTP server here would accept it (it keeps RCPT TO verbatim).
 */

interface Received {
  /** The RCPT TO arguments exactly as the client sent them. */
  rcpt: string[];
  raw: string;
}

/**
 * A minimal SMTP server on a socket: it keeps the RCPT TO lines verbatim (smtp-server's own parser refuses
 * `<` and `>` inside an address, which RFC 5321 allows in a quoted local part).
 */
function rawSink(received: Received[]): Server {
  return createServer((socket) => {
    let buffer = '';
    let data: string[] | null = null;
    let rcpt: string[] = [];
    const say = (line: string) => socket.write(`${line}\r\n`);
    say('220 sink.test ESMTP');
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      for (let at = buffer.indexOf('\r\n'); at >= 0; at = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        if (data) {
          if (line !== '.') data.push(line.startsWith('..') ? line.slice(1) : line);
          else {
            received.push({ rcpt, raw: data.join('\r\n') });
            data = null;
            rcpt = [];
            say('250 2.0.0 queued');
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') say('250 sink.test');
        else if (verb === 'MAIL') say('250 2.1.0 ok');
        else if (verb === 'RCPT') {
          rcpt.push(/^RCPT TO:\s*<(.*)>\s*$/i.exec(line)?.[1] ?? line);
          say('250 2.1.5 ok');
        } else if (verb === 'DATA') {
          data = [];
          say('354 go ahead');
        } else if (verb === 'QUIT') {
          say('221 bye');
          socket.end();
        } else if (verb === 'RSET' || verb === 'NOOP') say('250 ok');
        else say('500 5.5.2 command unrecognized'); // RFC 5321's answer to a verb this sink does not speak
      }
    });
    socket.on('error', () => socket.destroy());
  });
}

let filo: TestFilo;
let demo: ApiClient;
let sink: Server;
const received: Received[] = [];
let support: { inboundAddress: string };

beforeAll(async () => {
  sink = rawSink(received);
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const port = (sink.address() as AddressInfo).port;
  filo = await startTestFilo({ SMTP_RELAY_URL: `smtp://127.0.0.1:${port}` });
  demo = apiClient(filo.baseUrl, await login(filo.baseUrl));
  support = await demo.json('POST', '/api/inbox/mailboxes', { name: 'Support', localPart: 'support' });
});
afterAll(async () => {
  await filo?.close();
  await new Promise<void>((resolve) => (sink ? sink.close(() => resolve()) : resolve()));
});

/** Mail to Filo's gateway with exactly this header block (no client reformatting the From). */
async function deliverRaw(mailFrom: string, header: string) {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: filo.smtpPort!,
    secure: false,
    ignoreTLS: true,
  });
  try {
    await transport.sendMail({
      envelope: { from: mailFrom, to: [support.inboundAddress] },
      raw: `${header}\r\nTo: ${support.inboundAddress}\r\n\r\nHello.\r\n`,
    });
  } finally {
    transport.close();
  }
}

async function conversationId(subject: string): Promise<string> {
  let id = '';
  await expect
    .poll(
      async () => {
        const page = await demo.json<{ items: { id: string; subject: string }[] }>('GET', '/api/inbox/conversations');
        return (id = page.items.find((c) => c.subject === subject)?.id ?? '');
      },
      { timeout: 20_000 },
    )
    .not.toBe('');
  return id;
}

describe('replies to an address nodemailer cannot carry', () => {
  it('fails with the reason rather than reach "a b c"@example.com, a different mailbox', async () => {
    const subject = 'Quoted local part';
    await deliverRaw(
      'sender@example.com',
      `From: Anna Bi <"a<b>c"@example.com>\r\nSubject: ${subject}\r\nMessage-ID: <quoted-1@example.com>`,
    );
    const id = await conversationId(subject);
    const reply = await demo.json<{ id: string; to: { address: string }[] }>(
      'POST',
      `/api/inbox/conversations/${id}/replies`,
      { body: 'Ciao.' },
      202,
    );
    // The reply is addressed to the sender exactly as they wrote it.
    expect(reply.to.map((a) => a.address)).toEqual(['"a<b>c"@example.com']);
    let message: { status: string | null; error: string | null } | undefined;
    await expect
      .poll(
        async () => {
          const c = await demo.json<{ messages: { id: string; status: string | null; error: string | null }[] }>(
            'GET',
            `/api/inbox/conversations/${id}`,
          );
          message = c.messages.find((m) => m.id === reply.id);
          return message?.status;
        },
        { timeout: 20_000 },
      )
      .toBe('failed');
    expect(message!.error).toContain('"a<b>c"@example.com');
    // Nothing reached any mailbox, least of all a rewritten one.
    expect(received).toEqual([]);
  }, 60_000);
});
