import { createHash } from 'node:crypto';

/** The `prev_hash` of a workspace's first entry. */
export const GENESIS = '0'.repeat(64);

/** The fields of an entry that its hash covers (everything but its id and the hashes themselves). */
export interface ChainedFields {
  tenantId: string;
  seq: number;
  at: Date;
  actorId: string | null;
  actorKind: string;
  ip: string | null;
  userAgent: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  summary: string;
  before: unknown;
  after: unknown;
}

/** JSON with object keys sorted at every depth: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** SHA-256 over the previous entry's hash and the canonical JSON of this one. */
export function entryHash(prevHash: string, e: ChainedFields): string {
  const body = canonicalJson({ ...e, at: e.at.toISOString(), seq: Number(e.seq) });
  return createHash('sha256').update(prevHash).update('\n').update(body).digest('hex');
}
