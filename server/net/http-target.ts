import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';
import { isPublicAddress, type LookupFn } from '../delivery/smtp-target.ts';

const familyOf = (address: string) => (isIP(address) === 6 ? 'ipv6' : 'ipv4');
const HOST_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

interface AllowEntry {
  host: string;
  port: number | null;
}

/** Splits `host[:port]`, `[v6]:port`, a bare IPv6 address or a CIDR range. */
function splitHostPort(entry: string): AllowEntry | null {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracket) return { host: bracket[1]!, port: bracket[2] ? Number(bracket[2]) : null };
  if (isIP(entry) === 6 || (entry.includes('/') && isIP(entry.split('/')[0]!) === 6))
    return { host: entry, port: null };
  const [host, port, extra] = entry.split(':');
  if (extra !== undefined || (port !== undefined && !/^\d{1,5}$/.test(port))) return null;
  return { host: host!, port: port ? Number(port) : null };
}

/** `OUTBOUND_ALLOWED_HOSTS` entries: host names, IP addresses or CIDR ranges, each optionally with `:port`. */
export function parseOutboundHosts(raw: string): { entries: string[]; invalid: string[] } {
  const entries = raw
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter(Boolean);
  const invalid = entries.filter((e) => {
    const split = splitHostPort(e);
    if (!split || (split.port !== null && (split.port < 1 || split.port > 65535))) return true;
    const [ip, bits, extra] = split.host.split('/');
    if (extra !== undefined) return true;
    if (bits !== undefined) {
      const max = isIP(ip!) === 4 ? 32 : isIP(ip!) === 6 ? 128 : 0;
      return !max || !/^\d+$/.test(bits) || Number(bits) > max;
    }
    return !isIP(split.host) && !HOST_NAME.test(split.host);
  });
  return { entries, invalid };
}

/** A URL Filo will not call; `code` is the API's error code, `detail` for the log only (never the whole URL). */
export class HttpTargetRefused extends Error {
  override name = 'HttpTargetRefused';
  readonly code: 'url_invalid' | 'url_not_public';
  readonly detail: string;

  constructor(code: 'url_invalid' | 'url_not_public', detail: string) {
    super(
      code === 'url_invalid'
        ? 'Give an https:// URL without a user name or password'
        : 'This URL cannot be called: give a public https:// address',
    );
    this.code = code;
    this.detail = detail;
  }
}

export interface HttpTarget {
  url: URL;
  /** The checked address to connect to (never the name again: a second resolution could answer otherwise). */
  address: string;
  port: number;
  /** An allowed host off the public internet (listed by the operator). */
  local: boolean;
}

export interface HttpResult {
  status: number;
  /** The first bytes of the answer's body (at most `maxBody`), as text. */
  body: string;
  durationMs: number;
}

/** For the log: scheme, host and path only (a query or user info may carry tokens). */
export const safeUrl = (raw: string): string => {
  try {
    const u = new URL(raw);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
};

/**
 * Where Filo may send HTTP requests a workspace configured (webhooks, workflow calls): https to a host whose every
 * address is public, or http/https to a host listed in `OUTBOUND_ALLOWED_HOSTS` (name, address or range, optionally
 * with a port). The request connects to the checked address (no DNS rebinding) and never follows redirects.
 */
export class HttpTargetPolicy {
  readonly #names: AllowEntry[] = [];
  readonly #ranges: { list: BlockList; port: number | null }[] = [];
  lookup: LookupFn;

  constructor(opts: { allowedHosts?: string[]; lookup?: LookupFn } = {}) {
    for (const entry of opts.allowedHosts ?? []) {
      const split = splitHostPort(entry);
      if (!split) continue;
      const [ip, bits] = split.host.split('/');
      if (bits !== undefined || isIP(split.host)) {
        const list = new BlockList();
        if (bits !== undefined) list.addSubnet(ip!, Number(bits), familyOf(ip!));
        else list.addAddress(split.host, familyOf(split.host));
        this.#ranges.push({ list, port: split.port });
      } else this.#names.push({ host: split.host.replace(/\.$/, ''), port: split.port });
    }
    this.lookup = opts.lookup ?? ((host) => dnsLookup(host, { all: true, verbatim: true }));
  }

  /** The URL's shape alone (no DNS): https, or http to an allowed host; no user info; a sane length. */
  parse(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new HttpTargetRefused('url_invalid', 'not a URL');
    }
    if (raw.length > 2000) throw new HttpTargetRefused('url_invalid', 'URL too long');
    if (url.username || url.password) throw new HttpTargetRefused('url_invalid', 'URL with user info');
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new HttpTargetRefused('url_invalid', `scheme ${url.protocol}`);
    return url;
  }

  #portOf(url: URL): number {
    return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  }

  #nameAllowed(name: string, port: number): boolean {
    return this.#names.some((n) => n.host === name && (n.port === null || n.port === port));
  }

  #addressAllowed(address: string, port: number): boolean {
    return this.#ranges.some((r) => (r.port === null || r.port === port) && r.list.check(address, familyOf(address)));
  }

  /** Resolves and checks the URL's host; every address must be public, or allowed. */
  async resolve(raw: string): Promise<HttpTarget> {
    const url = this.parse(raw);
    const port = this.#portOf(url);
    const name = url.hostname
      .toLowerCase()
      .replace(/^\[(.*)\]$/, '$1')
      .replace(/\.$/, '');
    let addresses: string[];
    if (isIP(name)) addresses = [name];
    else {
      try {
        addresses = (await this.lookup(name)).map((a) => a.address);
      } catch (err) {
        throw new HttpTargetRefused('url_not_public', `${name} does not resolve (${(err as { code?: string }).code})`);
      }
      if (!addresses.length) throw new HttpTargetRefused('url_not_public', `${name} has no address`);
    }
    const nameAllowed = this.#nameAllowed(name, port);
    let local = false;
    for (const address of addresses) {
      if (!isIP(address)) throw new HttpTargetRefused('url_not_public', `${name} resolved to a non-address`);
      if (isPublicAddress(address)) continue;
      if (!nameAllowed && !this.#addressAllowed(address, port))
        throw new HttpTargetRefused('url_not_public', `${name} resolves to ${address}, not a public address`);
      local = true;
    }
    // Plain http only inside the operator's own network: on the internet the body and signature travel encrypted.
    if (url.protocol === 'http:' && !local && !nameAllowed)
      throw new HttpTargetRefused('url_invalid', 'http:// to a public host');
    return { url, address: addresses[0]!, port, local };
  }

  /**
   * POSTs `body` to the URL after `resolve()`: connects to the checked address (the name for TLS and Host), does not
   * follow redirects (a 3xx is the answer), gives up after `timeoutMs`, reads at most `maxBody` bytes of the answer.
   */
  async post(
    raw: string,
    body: string,
    headers: Record<string, string>,
    opts: { timeoutMs: number; maxBody?: number },
  ): Promise<HttpResult> {
    const target = await this.resolve(raw);
    const maxBody = opts.maxBody ?? 1024;
    const started = performance.now();
    const client = target.url.protocol === 'https:' ? https : http;
    return new Promise<HttpResult>((resolve, reject) => {
      const req = client.request(
        {
          host: target.address,
          port: target.port,
          path: `${target.url.pathname}${target.url.search}`,
          method: 'POST',
          servername: isIP(target.url.hostname) ? undefined : target.url.hostname,
          headers: {
            ...headers,
            host: target.url.host,
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
            'user-agent': 'Filo-Webhooks/1',
          },
          timeout: opts.timeoutMs,
          // The address is pinned: no second lookup, no proxy agent.
          agent: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            if (size < maxBody) chunks.push(chunk.subarray(0, maxBody - size));
            size += chunk.length;
            // Enough read: the rest of a large answer is not ours to download.
            if (size >= maxBody) res.destroy();
          });
          const done = () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString('utf8'),
              durationMs: Math.round(performance.now() - started),
            });
          res.on('end', done);
          res.on('close', done);
          res.on('error', done);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)));
      req.on('error', (err) => reject(err));
      req.end(body);
    });
  }
}
