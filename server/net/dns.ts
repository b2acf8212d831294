import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * The name servers Filo asks the mail-authentication records of (SPF, DKIM, DMARC of every incoming message; the
 * sending domains' checks; the sequences' preflight). Unset: the machine's (/etc/resolv.conf). A mail server is
 * meant to sit behind a caching resolver of its own (unbound, or the one rspamd's documentation asks for): every
 * message from a new domain asks two to four names, and a shared or rate-limited upstream that drops bursts turns
 * each drop into a second's wait (bench/README.md, "inbound processing": the sandbox's resolver answered ~50
 * names a second and made the distinct-senders shape wait on it).
 */
export const dnsEnv = {
  DNS_SERVERS: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const servers = parseDnsServers(raw ?? '');
      if (servers.invalid.length) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a comma-separated list of IP addresses, each optionally with :port ([v6]:port), got ${servers.invalid.map((s) => JSON.stringify(s)).join(', ')}`,
        });
        return z.NEVER;
      }
      return servers.servers;
    }),
};

/** `1.2.3.4`, `1.2.3.4:53`, `::1`, `[::1]:5353`: the forms `Resolver.setServers` takes; names are refused. */
export function parseDnsServers(raw: string): { servers: string[]; invalid: string[] } {
  const servers: string[] = [];
  const invalid: string[] = [];
  for (const entry of raw
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const bracket = /^\[([^\]]+)\]:(\d{1,5})$/.exec(entry);
    const plain = /^([^:]+):(\d{1,5})$/.exec(entry);
    const [host, port] = bracket ? [bracket[1]!, bracket[2]] : plain ? [plain[1]!, plain[2]] : [entry, undefined];
    const ok = isIP(host) !== 0 && (port === undefined || (Number(port) >= 1 && Number(port) <= 65535));
    (ok ? servers : invalid).push(entry);
  }
  return { servers, invalid };
}

/** A resolver of its own (c-ares, not the thread pool's getaddrinfo) on `servers`, or on the machine's when empty. */
export function dnsResolver(servers: readonly string[], opts: { timeout: number; tries: number }): Resolver {
  const resolver = new Resolver(opts);
  if (servers.length) resolver.setServers([...servers]);
  return resolver;
}
