import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** One message the sink accepted. */
export interface SinkMessage {
  /** The envelope's MAIL FROM (what a receiving server writes as Return-Path). */
  from: string;
  to: string[];
  /** The Message-ID header, without its angle brackets (null when absent). */
  messageId: string | null;
  /** The whole message (empty when the sink was made with `keepRaw: false`). */
  raw: string;
  size: number;
}

/** An answer for recipients matching `match`: `code` (e.g. 451, 550) for their first `times` tries (always if unset). */
export interface SinkRule {
  match: RegExp;
  code: number;
  message?: string;
  times?: number;
}

export interface SmtpSink {
  port: number;
  /** `smtp://127.0.0.1:<port>` for SMTP_RELAY_URL. */
  url: string;
  messages: SinkMessage[];
  /** RCPT TO tries per address (lower-cased), refused or not. */
  tries: Map<string, number>;
  rules: SinkRule[];
  /** When set, the answer to a message's data waits until the promise it returns settles (a server slow to say 250). */
  hold: ((m: SinkMessage) => Promise<void> | void) | null;
  /** Messages accepted per Message-ID. */
  byMessageId(): Map<string, number>;
  close(): Promise<void>;
}

const MESSAGE_ID = /^message-id:\s*<([^>\r\n]+)>/im;

/**
 * A real SMTP server on a random loopback port that records every message (envelope, raw bytes, Message-ID) and
 * answers each recipient by pattern: 250, or a 4xx / 5xx for the first K tries of an address. No TLS, auth optional.
 */
export async function startSmtpSink(opts: { rules?: SinkRule[]; keepRaw?: boolean } = {}): Promise<SmtpSink> {
  const messages: SinkMessage[] = [];
  const tries = new Map<string, number>();
  const rules = opts.rules ?? [];
  const keepRaw = opts.keepRaw ?? true;
  const sink = { hold: null } as SmtpSink;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 50 * 1024 * 1024,
    maxClients: 1000,
    onAuth(_auth, _session, callback) {
      callback(null, { user: 'sink' });
    },
    onRcptTo(address, _session, callback) {
      const a = address.address.toLowerCase();
      const n = (tries.get(a) ?? 0) + 1;
      tries.set(a, n);
      const rule = rules.find((r) => r.match.test(a) && (r.times === undefined || n <= r.times));
      if (!rule) return callback();
      const err = Object.assign(
        new Error(rule.message ?? `${rule.code >= 500 ? '5.1.1' : '4.2.0'} refused by the sink`),
        {
          responseCode: rule.code,
        },
      );
      callback(err);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      let size = 0;
      let head = '';
      stream.on('data', (c: Buffer) => {
        size += c.length;
        if (keepRaw) chunks.push(c);
        else if (head.length < 8192) head += c.toString('latin1');
      });
      stream.on('end', () => {
        const raw = keepRaw ? Buffer.concat(chunks).toString('utf8') : '';
        const headers = (keepRaw ? raw : head).split(/\r?\n\r?\n/, 1)[0] ?? '';
        const id = MESSAGE_ID.exec(headers)?.[1];
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          // A copy: a slice would keep the whole header block alive (100k messages in a bench).
          messageId: id === undefined ? null : Buffer.from(id).toString(),
          raw,
          size,
        });
        const held = sink.hold?.(messages.at(-1)!);
        if (held) void Promise.resolve(held).then(() => callback());
        else callback();
      });
    },
  });
  // A client killed mid-session (the crash tests) resets its connection: not the sink's failure.
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  Object.assign(sink, {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    tries,
    rules,
    byMessageId() {
      const out = new Map<string, number>();
      for (const m of messages) if (m.messageId) out.set(m.messageId, (out.get(m.messageId) ?? 0) + 1);
      return out;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
  return sink;
}
