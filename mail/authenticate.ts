import { Readable } from 'node:stream';
import type { AuthenticateOptions, DNSResolver } from 'mailauth';
import { HeaderLimit } from './header-limit.ts';

/** mailauth's result keywords: 'pass', 'fail', 'none', 'neutral', 'softfail', 'temperror', 'permerror', 'policy'... */
export interface AuthVerdicts {
  spf: string;
  dkim: string;
  dmarc: string;
  arc: string;
  /** Supporting facts for the record, e.g. `spf.domain`, `dkim.domains`, `dmarc.policy`, `authentication-results`. */
  details: Record<string, string>;
}

export interface Envelope {
  ip: string;
  helo: string;
  /** MAIL FROM, '' for the null sender `<>`. */
  mailFrom: string;
  /** Our host name, used as authserv-id in the Authentication-Results details. */
  mta?: string;
}

export interface AuthenticateOpts {
  /** Same contract as dns.promises.resolve; rejections with code ENOTFOUND/ENODATA mean "no record". */
  resolver?: (name: string, rrtype: string) => Promise<unknown>;
}

/** SPF evaluation gives up after this long (temperror), whatever the resolver does. */
const SPF_TIME_LIMIT_MS = 20_000;

/** Header fields mailauth reads at most, as parseMail keeps by default. */
const MAX_HEADERS = 1000;

/**
 * SPF, DKIM, DMARC and ARC verdicts of one message, with mailauth. Never throws: a failure of the checks themselves
 * (DNS down, unreadable input) gives 'temperror' verdicts and the reason in `details.error`. mailauth reads the
 * message through HeaderLimit (its header parser is quadratic in lines); when that cut the header block, what was
 * signed cannot be checked: DKIM, ARC and DMARC say 'permerror', with the reason in `details.truncated`.
 */
export async function authenticate(
  raw: Readable | Buffer,
  envelope: Envelope,
  opts: AuthenticateOpts = {},
): Promise<AuthVerdicts> {
  const options: AuthenticateOptions & { maxElapsedTime: number } = {
    ip: envelope.ip,
    helo: envelope.helo,
    sender: envelope.mailFrom,
    disableBimi: true,
    maxElapsedTime: SPF_TIME_LIMIT_MS,
  };
  if (envelope.mta) options.mta = envelope.mta;
  if (opts.resolver) options.resolver = opts.resolver as DNSResolver;
  const source = Buffer.isBuffer(raw) ? Readable.from([raw]) : raw;
  const cuts: string[] = [];
  const limiter = new HeaderLimit(MAX_HEADERS, (problem) => cuts.push(problem));
  source.on('error', (err) => limiter.destroy(err));
  try {
    // Loaded on first use: a large module that a node receiving no mail (most test starts) never needs.
    const { authenticate: mailauth } = await import('mailauth');
    const result = await mailauth(source.pipe(limiter), options);
    const details: Record<string, string> = {};
    const spf = result.spf ? result.spf.status.result : 'none';
    if (result.spf && result.spf.domain) details['spf.domain'] = result.spf.domain;

    const signatures = result.dkim?.results ?? [];
    const passing = signatures.filter((s) => s.status.result === 'pass');
    const dkim = passing.length ? 'pass' : signatures[0] ? dkimVerdict(signatures[0].status) : 'none';
    if (passing.length) details['dkim.domains'] = [...new Set(passing.map((s) => s.signingDomain ?? ''))].join(',');
    const failing = signatures.find((s) => s.status.result !== 'pass');
    if (!passing.length && failing?.status.comment) details['dkim.reason'] = String(failing.status.comment);

    const dmarc = result.dmarc ? result.dmarc.status.result : 'none';
    if (result.dmarc) {
      details['dmarc.policy'] = result.dmarc.policy ?? '';
      details['dmarc.domain'] = result.dmarc.domain ?? '';
    }
    if (result.dmarcSkipReason) details['dmarc.skip'] = result.dmarcSkipReason;

    const arc = result.arc ? result.arc.status.result : 'none';
    const ar = result.headers.match(/^Authentication-Results:\s*([\s\S]*?)\r\n(?![ \t])/m);
    if (ar?.[1]) details['authentication-results'] = ar[1].replace(/\r\n[ \t]+/g, ' ');
    if (limiter.truncated) {
      details.truncated = `header block over the limits, cut before the checks: ${cuts.join('; ')}`.slice(0, 500);
      return { spf, dkim: 'permerror', dmarc: 'permerror', arc: 'permerror', details };
    }
    return { spf, dkim, dmarc, arc, details };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return {
      spf: 'temperror',
      dkim: 'temperror',
      dmarc: 'temperror',
      arc: 'temperror',
      details: { error: reason.slice(0, 500) },
    };
  }
}

/** mailauth's lenient mode says 'neutral' for a body hash mismatch; RFC 8601 (and its strict mode) say 'fail'. */
function dkimVerdict(status: { result: string; comment?: string }): string {
  return status.result === 'neutral' && /body hash did not verify/.test(status.comment ?? '') ? 'fail' : status.result;
}
