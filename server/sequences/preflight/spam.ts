/**
 * Spam scores of rendered steps from SpamAssassin's spamd (its SPAMC protocol over TCP, `REPORT`) or rspamd
 * (`POST /checkv2`). No configured checker, or one that does not answer in time, gives no score: never a guess.
 */
import { connect } from 'node:net';
import type { Preflight } from '#contracts/sequences';

export type SpamResult = NonNullable<Preflight['steps'][number]['spam']>;

export interface SpamChecker {
  readonly engine: SpamResult['engine'];
  /** The score of a whole RFC 822 message; null when the checker did not answer (in time, or sensibly). */
  check(message: string): Promise<SpamResult | null>;
}

/** Bytes of an answer read at most (a REPORT of a few dozen rules is a few KB). */
const MAX_ANSWER = 256 * 1024;
export const SPAM_TIMEOUT_MS = 10_000;

/** `spamd://host:port` (or tcp://): port 783 unless given. */
export function spamdTarget(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : 783 };
}

/** A minimal SPAMC/1.5 client: one `REPORT` per connection, the answer bounded and timed. */
export class SpamdClient implements SpamChecker {
  readonly engine = 'spamd' as const;
  readonly #host: string;
  readonly #port: number;
  readonly #timeoutMs: number;

  constructor(url: string, timeoutMs = SPAM_TIMEOUT_MS) {
    ({ host: this.#host, port: this.#port } = spamdTarget(url));
    this.#timeoutMs = timeoutMs;
  }

  /** One raw exchange: the request line and headers, the body; the whole answer (or null on error/timeout/size). */
  exchange(command: string, body = ''): Promise<string | null> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const finish = (value: string | null) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.destroy();
        resolve(value);
      };
      const socket = connect({ host: this.#host, port: this.#port });
      const timer = setTimeout(() => finish(null), this.#timeoutMs);
      socket.on('error', () => finish(null));
      socket.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER) return finish(null);
        chunks.push(chunk);
      });
      socket.on('end', () => finish(Buffer.concat(chunks).toString('utf8')));
      socket.on('connect', () => {
        const payload = Buffer.from(body, 'utf8');
        const head = body
          ? `${command} SPAMC/1.5\r\nContent-length: ${payload.length}\r\nUser: filo\r\n\r\n`
          : `${command} SPAMC/1.5\r\n\r\n`;
        socket.end(Buffer.concat([Buffer.from(head, 'latin1'), payload]));
      });
    });
  }

  async ping(): Promise<boolean> {
    return /^SPAMD\/[\d.]+ 0 PONG/.test((await this.exchange('PING')) ?? '');
  }

  async check(message: string): Promise<SpamResult | null> {
    const answer = await this.exchange('REPORT', message.replace(/\r?\n/g, '\r\n'));
    return answer === null ? null : parseSpamdReport(answer);
  }
}

/**
 * spamd's REPORT answer: `SPAMD/1.1 0 EX_OK`, a `Spam: True ; 7.2 / 5.0` header, then the report whose table has
 * ` pts rule name  description` rows (a description may wrap onto indented lines).
 */
export function parseSpamdReport(answer: string): SpamResult | null {
  const split = answer.indexOf('\r\n\r\n');
  const head = split === -1 ? answer : answer.slice(0, split);
  if (!/^SPAMD\/[\d.]+ 0 /.test(head)) return null;
  const verdict = /^Spam:\s*\w+\s*;\s*(-?[\d.]+)\s*\/\s*(-?[\d.]+)/im.exec(head);
  if (!verdict) return null;
  const body = split === -1 ? '' : answer.slice(split + 4);
  const rules: SpamResult['rules'] = [];
  const table = body.split(/^-{3,}[ -]+$/m)[1] ?? '';
  for (const line of table.split(/\r?\n/)) {
    const row = /^\s*(-?\d+(?:\.\d+)?)\s+([A-Z0-9_]+)\s+(.*)$/.exec(line);
    if (row) rules.push({ name: row[2]!, score: Number(row[1]), description: row[3]!.trim() || null });
    else if (rules.length && /^\s{10,}\S/.test(line)) {
      const last = rules[rules.length - 1]!;
      last.description = `${last.description ?? ''} ${line.trim()}`.trim();
    }
  }
  return { engine: 'spamd', score: Number(verdict[1]), threshold: Number(verdict[2]), rules };
}

/** rspamd's HTTP API: `POST /checkv2` with the message, JSON with `score`, `required_score` and `symbols`. */
export class RspamdClient implements SpamChecker {
  readonly engine = 'rspamd' as const;
  readonly #url: string;
  readonly #timeoutMs: number;

  constructor(url: string, timeoutMs = SPAM_TIMEOUT_MS) {
    this.#url = `${url.replace(/\/+$/, '')}/checkv2`;
    this.#timeoutMs = timeoutMs;
  }

  async check(message: string): Promise<SpamResult | null> {
    try {
      const res = await fetch(this.#url, {
        method: 'POST',
        body: message,
        headers: { 'content-type': 'message/rfc822' },
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      if (!res.ok) return null;
      const text = await res.text();
      if (text.length > MAX_ANSWER) return null;
      const json = JSON.parse(text) as {
        score?: unknown;
        required_score?: unknown;
        symbols?: Record<string, { name?: string; score?: unknown; description?: unknown }>;
      };
      if (typeof json.score !== 'number') return null;
      const rules = Object.entries(json.symbols ?? {}).map(([name, s]) => ({
        name: s.name ?? name,
        score: typeof s.score === 'number' ? s.score : 0,
        description: typeof s.description === 'string' ? s.description : null,
      }));
      rules.sort((a, b) => b.score - a.score);
      const threshold = typeof json.required_score === 'number' ? json.required_score : 15;
      return { engine: 'rspamd', score: json.score, threshold, rules };
    } catch {
      return null;
    }
  }
}

/** The configured checker: spamd first, else rspamd, else none. */
export function spamCheckerFrom(spam: { spamdUrl?: string; rspamdUrl?: string }): SpamChecker | null {
  if (spam.spamdUrl) return new SpamdClient(spam.spamdUrl);
  if (spam.rspamdUrl) return new RspamdClient(spam.rspamdUrl);
  return null;
}
