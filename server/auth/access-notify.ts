import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { z } from 'zod';
import type { Logger } from '../logger.ts';
import type { AccessChange, AccessPort } from './access.ts';

const CHANNEL = 'filo_access';
const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 5_000;

// Any role of the database may NOTIFY: what arrives is checked like any input.
const Notice = z.object({
  from: z.string(),
  change: z.object({
    reason: z.enum([
      'logout',
      'session_expired',
      'member_removed',
      'role_changed',
      'mailboxes_changed',
      'password_changed',
      'token_revoked',
      'token_changed',
      'profile_changed',
      'workspace_changed',
    ]),
    tenantId: z.string().max(64).optional(),
    userId: z.string().max(64).optional(),
  }),
}) satisfies z.ZodType<{ from: string; change: AccessChange }>;

export interface AccessNotifier extends AccessPort {
  /** Whether this node hears other nodes' changes now (its LISTEN connection is up). */
  up(): boolean;
  close(): Promise<void>;
}

/**
 * Access changes between nodes without Redis (several nodes on one PostgreSQL, which nothing forbids): each
 * change is a `NOTIFY filo_access`, and a node that `listen`s hears every other node's. A lost LISTEN connection
 * is reported through `onState` (the caches fed by it must not be trusted meanwhile) and made again.
 */
export async function notifyAccess(opts: {
  databaseUrl: string;
  log: Logger;
  /** Sends the NOTIFY (through the application's pool: a change is announced even while the listener is down). */
  notify: (payload: string) => Promise<unknown>;
  /** Given: this node listens, and each change of another node is handed to it. */
  heard?: (change: AccessChange) => void;
  onState?: () => void;
}): Promise<AccessNotifier> {
  const log = opts.log.child({ component: 'access-notify' });
  const node = randomUUID();
  let client: pg.Client | undefined;
  let listening = false;
  let closed = false;
  let retryMs = RETRY_MIN_MS;
  let retry: NodeJS.Timeout | undefined;

  const setListening = (value: boolean) => {
    if (listening === value) return;
    listening = value;
    opts.onState?.();
  };

  async function connect(): Promise<void> {
    const c = new pg.Client({ connectionString: opts.databaseUrl });
    c.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      let notice: z.infer<typeof Notice>;
      try {
        notice = Notice.parse(JSON.parse(message.payload));
      } catch (err) {
        return log.warn({ err }, 'unreadable access change ignored');
      }
      if (notice.from !== node) opts.heard?.(notice.change);
    });
    const lost = (err?: Error) => {
      if (client !== c) return;
      client = undefined;
      setListening(false);
      c.end().catch(() => undefined);
      if (closed) return;
      log.warn({ err }, 'access-change listener lost: reconnecting');
      schedule();
    };
    c.on('error', lost);
    c.on('end', () => lost());
    try {
      await c.connect();
      await c.query(`listen ${CHANNEL}`);
    } catch (err) {
      await c.end().catch(() => undefined);
      throw err;
    }
    if (closed) return void c.end().catch(() => undefined);
    client = c;
    retryMs = RETRY_MIN_MS;
    setListening(true);
  }

  const attempt = () =>
    connect().catch((err: unknown) => {
      log.warn({ err }, 'access-change listener: connection failed');
      retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
      if (!closed) schedule();
    });

  function schedule(): void {
    retry = setTimeout(() => void attempt(), retryMs);
    retry.unref();
  }

  if (opts.heard) await attempt();

  return {
    changed(change) {
      opts
        .notify(JSON.stringify({ from: node, change }))
        .catch((err: unknown) => log.warn({ err, reason: change.reason }, 'access change not sent to other nodes'));
    },
    up: () => listening,
    async close() {
      closed = true;
      clearTimeout(retry);
      const c = client;
      client = undefined;
      listening = false;
      await c?.end().catch(() => undefined);
    },
  };
}
