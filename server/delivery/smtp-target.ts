import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { Logger } from '../logger.ts';

/** Addresses no workspace may make Filo connect to: the operator's own networks, loopback, cloud metadata. */
const NON_PUBLIC = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  NON_PUBLIC.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  // Unspecified, loopback and IPv4-compatible forms (IPv4-mapped ones are checked against the IPv4 ranges).
  ['::', 96],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  NON_PUBLIC.addSubnet(net, bits, 'ipv6');

const familyOf = (address: string) => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

/** Whether an IP address is on the public internet (not loopback, private, link-local, metadata, reserved…). */
export function isPublicAddress(address: string): boolean {
  if (!isIP(address)) return false;
  return !NON_PUBLIC.check(address, familyOf(address));
}

export type LookupFn = (host: string) => Promise<{ address: string; family: number }[]>;

const systemLookup: LookupFn = (host) => dnsLookup(host, { all: true, verbatim: true });

/** A host a workspace asked for that Filo will not connect to; `detail` is for the log only. */
export class SmtpTargetRefused extends Error {
  override name = 'SmtpTargetRefused';
  readonly code = 'ETARGETREFUSED';
  readonly detail: string;

  constructor(detail: string) {
    super('This SMTP server cannot be used: give the name of a public mail server');
    this.detail = detail;
  }
}

export interface SmtpTarget {
  /** The checked address to connect to (never the name again: a second resolution could answer otherwise). */
  address: string;
  /** The name to present for TLS (SNI and certificate check); null when the host was an address. */
  servername: string | null;
  /** An allowed address off the public internet (a local relay the operator listed). */
  local: boolean;
}

/** `SMTP_ALLOWED_HOSTS` entries: host names, IP addresses, or CIDR ranges. */
export function parseAllowedHosts(raw: string): { entries: string[]; invalid: string[] } {
  const entries = raw
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter(Boolean);
  const invalid = entries.filter((e) => {
    const [ip, bits, extra] = e.split('/');
    if (extra !== undefined) return true;
    if (bits !== undefined) {
      const max = isIP(ip!) === 4 ? 32 : isIP(ip!) === 6 ? 128 : 0;
      return !max || !/^\d+$/.test(bits) || Number(bits) > max;
    }
    return !isIP(e) && !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(e);
  });
  return { entries, invalid };
}

/**
 * Where a mailbox's own SMTP server may be: a host name is resolved and EVERY address checked; loopback, private,
 * link-local, shared, metadata and reserved ranges are refused unless the operator lists the host, address or
 * range in `SMTP_ALLOWED_HOSTS`. The caller connects to the checked address, so DNS cannot answer differently then.
 */
export class SmtpTargetPolicy {
  readonly #names = new Set<string>();
  readonly #allowed = new BlockList();
  /** Whether AUTH may go without TLS to an allowed local relay (`SMTP_ALLOW_PLAIN_AUTH`). */
  readonly allowPlainAuth: boolean;
  /** How names are resolved (tests may replace it). */
  lookup: LookupFn;
  readonly #log: Logger | undefined;

  constructor(opts: { allowedHosts?: string[]; allowPlainAuth?: boolean; lookup?: LookupFn; log?: Logger } = {}) {
    this.#log = opts.log;
    for (const entry of opts.allowedHosts ?? []) {
      const [ip, bits] = entry.split('/');
      if (bits !== undefined) this.#allowed.addSubnet(ip!, Number(bits), familyOf(ip!));
      else if (isIP(entry)) this.#allowed.addAddress(entry, familyOf(entry));
      else this.#names.add(entry.toLowerCase().replace(/\.$/, ''));
    }
    this.allowPlainAuth = opts.allowPlainAuth ?? false;
    this.lookup = opts.lookup ?? systemLookup;
  }

  /** The address to connect to for `host`, or SmtpTargetRefused (detail for the log, a generic message for users). */
  async resolve(host: string): Promise<SmtpTarget> {
    try {
      return await this.#resolve(host);
    } catch (err) {
      // Users get one generic answer (no port or network probing through it); what happened is for the operator.
      if (err instanceof SmtpTargetRefused) this.#log?.warn({ host, detail: err.detail }, 'SMTP host refused');
      throw err;
    }
  }

  async #resolve(host: string): Promise<SmtpTarget> {
    const name = host
      .trim()
      .toLowerCase()
      .replace(/^\[(.*)\]$/, '$1')
      .replace(/\.$/, '');
    let addresses: string[];
    if (isIP(name)) addresses = [name];
    else {
      try {
        addresses = (await this.lookup(name)).map((a) => a.address);
      } catch (err) {
        throw new SmtpTargetRefused(`${name} does not resolve (${(err as { code?: string }).code ?? String(err)})`);
      }
      if (!addresses.length) throw new SmtpTargetRefused(`${name} has no address`);
    }
    const nameAllowed = this.#names.has(name);
    let local = false;
    for (const address of addresses) {
      if (!isIP(address)) throw new SmtpTargetRefused(`${name} resolved to "${address}", not an address`);
      if (isPublicAddress(address)) continue;
      if (!nameAllowed && !this.#allowed.check(address, familyOf(address)))
        throw new SmtpTargetRefused(`${name} resolves to ${address}, which is not a public address`);
      local = true;
    }
    return { address: addresses[0]!, servername: isIP(name) ? null : name, local };
  }
}
