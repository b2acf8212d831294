/**
 * A small in-process cache in front of the resolver the authentication checks use. A burst of mail from one
 * domain (a customer's mailing, replies to a newsletter) asks the same SPF, DMARC and DKIM records again and
 * again; an MTA normally sits behind a caching resolver, and this keeps Filo quick when it does not.
 * Answers are kept `ttlMs`; "no such record" (ENOTFOUND / ENODATA) `negativeTtlMs`; other failures (timeouts,
 * refused) only `errorTtlMs`, so that a DNS outage is retried soon without every message waiting it out.
 * Concurrent look-ups of one name share one query. At most `maxEntries` names (oldest dropped first).
 */
export type Resolve = (name: string, rrtype: string) => Promise<unknown>;

const NEGATIVE = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN']);

export interface DnsCacheOptions {
  ttlMs?: number;
  negativeTtlMs?: number;
  errorTtlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

export function cachingResolver(resolve: Resolve, opts: DnsCacheOptions = {}): Resolve {
  const ttl = opts.ttlMs ?? 5 * 60_000;
  const negativeTtl = opts.negativeTtlMs ?? 60_000;
  const errorTtl = opts.errorTtlMs ?? 5_000;
  const max = opts.maxEntries ?? 10_000;
  const now = opts.now ?? Date.now;
  const entries = new Map<string, { expires: number; answer: Promise<unknown> }>();

  return (name, rrtype) => {
    const key = `${rrtype} ${name.toLowerCase()}`;
    const hit = entries.get(key);
    if (hit && hit.expires > now()) return hit.answer;
    if (hit) entries.delete(key);
    const answer = resolve(name, rrtype);
    // Until it settles, concurrent callers share the query.
    const entry = { expires: Number.POSITIVE_INFINITY, answer };
    entries.set(key, entry);
    if (entries.size > max) entries.delete(entries.keys().next().value!);
    answer.then(
      () => (entry.expires = now() + ttl),
      (err: { code?: string }) => (entry.expires = now() + (NEGATIVE.has(err?.code ?? '') ? negativeTtl : errorTtl)),
    );
    return answer;
  };
}
