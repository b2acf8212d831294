/**
 * A sending domain's SPF, DKIM and DMARC as receivers will see them, checked with mailauth against a resolver that
 * tests replace: SPF is evaluated for each address of the SMTP host that sends, DKIM by signing a probe with the key
 * Filo signs with and verifying it against the published record, DMARC by the policy discovery receivers run.
 */
import { isIP } from 'node:net';
import { dnsResolver } from '../../net/dns.ts';
import type { DNSResolver } from 'mailauth';
import type { Preflight } from '#contracts/sequences';

/** Like `dns.resolve(name, rrtype)`: TXT answers as string[][], A/AAAA as string[]; misses throw ENOTFOUND/ENODATA. */
export type PreflightResolver = (name: string, rrtype: string) => Promise<unknown>;

type DomainChecks = Omit<Preflight['domains'][number], 'domain'>;
type Check = DomainChecks['spf'];

/** One sender of a domain: the host its mail leaves from, and the DKIM key Filo signs it with (if any). */
export interface DomainSender {
  /** The SMTP host (mailbox's own or the relay); null: the development outbox, nothing leaves. */
  smtpHost: string | null;
  dkim: { selector: string; privateKey: string } | null;
  /** Why Filo does not sign (shown in the DKIM warning). */
  mailboxName: string;
}

export const LOOKUP_BUDGET_MS = 3_000;

/** The configured name servers (the machine's when none) with a short timeout; answers as mailauth expects them. */
export function systemResolver(servers: readonly string[] = []): PreflightResolver {
  const dns = dnsResolver(servers, { timeout: LOOKUP_BUDGET_MS, tries: 1 });
  return (name, rrtype) => dns.resolve(name, rrtype);
}

/** Each look-up gets at most `ms`: a slow name server turns into ETIMEOUT, a temporary error, never a hang. */
export function withBudget(resolve: PreflightResolver, ms = LOOKUP_BUDGET_MS): DNSResolver {
  return (name, rrtype) =>
    new Promise((ok, fail) => {
      const timer = setTimeout(
        () => fail(Object.assign(new Error(`DNS ${rrtype} ${name}: no answer in ${ms} ms`), { code: 'ETIMEOUT' })),
        ms,
      );
      resolve(name, rrtype).then(
        (answer) => {
          clearTimeout(timer);
          ok(answer as string[][] | string[]);
        },
        (err: unknown) => {
          clearTimeout(timer);
          fail(err);
        },
      );
    });
}

const RANK = { pass: 0, warn: 1, fail: 2 } as const;
/** The worst of several checks, their details joined (one domain may have several senders). */
function worst(checks: Check[]): Check {
  const unique = [...new Map(checks.map((c) => [`${c.status} ${c.detail}`, c])).values()];
  const status = unique.reduce<Check['status']>((w, c) => (RANK[c.status] > RANK[w] ? c.status : w), 'pass');
  return { status, detail: unique.map((c) => c.detail).join(' ') };
}

const missing = (err: unknown) => ['ENOTFOUND', 'ENODATA', 'NXDOMAIN'].includes((err as { code?: string })?.code ?? '');

async function hostAddresses(resolve: DNSResolver, host: string): Promise<string[]> {
  if (isIP(host)) return [host];
  const found: string[] = [];
  let lastError: unknown = null;
  for (const rrtype of ['A', 'AAAA']) {
    try {
      found.push(...((await resolve(host, rrtype)) as string[]));
    } catch (err) {
      if (!missing(err)) lastError = err;
    }
  }
  if (!found.length && lastError) throw lastError;
  return found;
}

async function checkSpf(resolve: DNSResolver, domain: string, host: string | null): Promise<Check> {
  if (!host)
    return {
      status: 'warn',
      detail: 'No SMTP relay or mailbox SMTP server is set: mail stays in the development outbox, SPF is not checked.',
    };
  let ips: string[];
  try {
    ips = await hostAddresses(resolve, host);
  } catch {
    return { status: 'warn', detail: `The addresses of ${host} could not be looked up now: try again.` };
  }
  if (!ips.length) return { status: 'fail', detail: `${host} has no address in DNS.` };
  const failed: string[] = [];
  for (const ip of ips) {
    const { spf } = await import('mailauth');
    const result = await spf({
      sender: `postmaster@${domain}`,
      ip,
      helo: host,
      mta: 'filo-preflight',
      resolver: resolve,
      maxElapsedTime: LOOKUP_BUDGET_MS * 3,
    });
    const outcome = result.status.result;
    if (outcome === 'pass') continue;
    if (outcome === 'none') return { status: 'fail', detail: `${domain} publishes no SPF record.` };
    if (outcome === 'temperror')
      return { status: 'warn', detail: `The SPF record of ${domain} could not be read now: try again.` };
    if (outcome === 'permerror')
      return { status: 'fail', detail: `The SPF record of ${domain} is broken: ${result.status.comment ?? outcome}.` };
    failed.push(`${ip} (${outcome})`);
  }
  if (failed.length)
    return {
      status: 'fail',
      detail: `The SPF record of ${domain} does not authorise ${host}: ${failed.join(', ')}. Add it (e.g. include: or ip4:).`,
    };
  return { status: 'pass', detail: `The SPF record of ${domain} authorises ${host}.` };
}

async function checkDkim(resolve: DNSResolver, domain: string, sender: DomainSender): Promise<Check> {
  if (!sender.dkim)
    return {
      status: 'warn',
      detail: `Filo does not sign mail of ${sender.mailboxName} with DKIM: set a selector and key on the mailbox, unless its SMTP server signs for ${domain}.`,
    };
  const { selector, privateKey } = sender.dkim;
  const name = `${selector}._domainkey.${domain}`;
  try {
    const records = (await resolve(name, 'TXT')) as string[][];
    if (!records.some((chunks) => /(^|;)\s*p=/.test(chunks.join('')))) throw { code: 'ENODATA' };
  } catch (err) {
    if (missing(err)) return { status: 'fail', detail: `No DKIM record at ${name} (selector ${selector}).` };
    return { status: 'warn', detail: `The DKIM record at ${name} could not be read now: try again.` };
  }
  // a probe signed with the stored key, verified against the published record: the exact receiver's check
  const probe = `From: <postmaster@${domain}>\r\nTo: <probe@example.com>\r\nSubject: preflight\r\nMessage-ID: <preflight@${domain}>\r\n\r\nprobe\r\n`;
  const key = { signingDomain: domain, selector, privateKey };
  const { dkimSign, dkimVerify } = await import('mailauth');
  const signed = await dkimSign(probe, { canonicalization: 'relaxed/relaxed', ...key, signatureData: [key] });
  if (signed.errors.length || !signed.signatures)
    return { status: 'fail', detail: `The stored DKIM key of ${sender.mailboxName} cannot sign.` };
  const verified = await dkimVerify(Buffer.from(signed.signatures + probe), { resolver: resolve });
  const outcome = verified.results[0]?.status.result ?? 'none';
  if (outcome === 'pass') return { status: 'pass', detail: `${name} matches the key Filo signs with.` };
  if (outcome === 'temperror')
    return { status: 'warn', detail: `The DKIM record at ${name} could not be read now: try again.` };
  return {
    status: 'fail',
    detail: `The public key at ${name} does not match the key Filo signs ${sender.mailboxName}'s mail with: publish the mailbox's DKIM record.`,
  };
}

async function checkDmarc(resolve: DNSResolver, domain: string): Promise<DomainChecks['dmarc']> {
  const { dmarc } = await import('mailauth');
  const result = await dmarc({
    headerFrom: `postmaster@${domain}`,
    spfDomains: [],
    dkimDomains: [],
    resolver: resolve,
  });
  if (!result) return { status: 'fail', detail: `${domain} is not a valid author domain.`, policy: null };
  if (result.status.result === 'temperror')
    return { status: 'warn', detail: `The DMARC record of ${domain} could not be read now: try again.`, policy: null };
  if (result.status.result === 'none' || !result.policy)
    return {
      status: 'fail',
      detail: `No DMARC record at _dmarc.${domain}: Gmail and Yahoo require one of bulk senders.`,
      policy: null,
    };
  const policy = result.policy;
  const from = result.policyDomain && result.policyDomain !== domain ? ` (inherited from ${result.policyDomain})` : '';
  if (policy === 'none')
    return {
      status: 'warn',
      detail: `DMARC policy is none${from}: receivers only report, spoofed mail of ${domain} is still delivered.`,
      policy,
    };
  return { status: 'pass', detail: `DMARC policy is ${policy}${from}.`, policy };
}

/** SPF, DKIM and DMARC of one sending domain for all its senders (the worst of each, details joined). */
export async function checkDomain(
  resolver: PreflightResolver,
  domain: string,
  senders: DomainSender[],
  budgetMs = LOOKUP_BUDGET_MS,
): Promise<DomainChecks> {
  const resolve = withBudget(resolver, budgetMs);
  const hosts = [...new Set(senders.map((s) => s.smtpHost))];
  const [spfChecks, dkimChecks, dmarcCheck] = await Promise.all([
    Promise.all(hosts.map((h) => checkSpf(resolve, domain, h))),
    Promise.all(senders.map((s) => checkDkim(resolve, domain, s))),
    checkDmarc(resolve, domain),
  ]);
  return { spf: worst(spfChecks), dkim: worst(dkimChecks), dmarc: dmarcCheck };
}
