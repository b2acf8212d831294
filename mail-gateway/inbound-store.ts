import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { PgBoss } from 'pg-boss';

export const INBOUND_QUEUE = 'inbound.process';

export interface MailboxRoute {
  tenantId: string;
  mailboxId: string;
}

export interface AcceptedMessage {
  routes: MailboxRoute[];
  mailFrom: string | null;
  rcptTo: string[];
  remoteAddress: string | null;
  heloName: string | null;
  size: number;
  sha256: string;
  spoolKey: string;
}

export interface InboundJob {
  inboundId: string;
  tenantId: string;
  /** Failed tries so far (absent on the first). */
  attempt?: number;
}

/** Most messages one group commit writes. */
const MAX_BATCH = 128;

/**
 * Most group transactions open at once. A transaction waits for its messages' spool files to be durable before
 * it commits; meanwhile the next group may already write its statements (see #pump), so that a message arriving
 * during one group's wait is not held back until that group has committed.
 */
const MAX_IN_FLIGHT = 4;

/**
 * How long a found mailbox route is reused. Each message is a new session whose RCPT asked PostgreSQL again
 * (a pool checkout, a round trip, a backend's work: most of the gateway's queries under load). A route is
 * already used at DATA time, long after its RCPT, so two seconds more of staleness change nothing: a message for
 * a mailbox deleted meanwhile fails its insert (the row's mailbox must exist) and the sender hears 451, then
 * 550 once the cached route has expired. Unknown addresses are not cached: a new mailbox works at once.
 */
const ROUTE_TTL_MS = 2_000;
const MAX_ROUTES = 10_000;

interface Waiting {
  message: AcceptedMessage;
  /** The message's spool file is durable (Spool.stage): its rows are committed only after. */
  durable: Promise<void>;
  resolve(ids: string[]): void;
  reject(err: unknown): void;
}

/**
 * The gateway's database side: mailbox routing and the durable record of accepted messages. One small pool of
 * its own with named (prepared) statements.
 *
 * Accepted messages are written by group commit: the messages that arrive while a group is writing its
 * statements wait, and the next transaction writes all of them (their `inbound_messages` rows and their
 * processing jobs, each as one multi-row insert) with one commit. Nobody waits for a timer: a message that finds
 * no group forming is written at once. A transaction commits only once every spool file of its group is durable
 * (the files are synced while the statements run), and every caller hears only after the commit that holds its
 * rows, so a 250 is never early and a committed row always has its whole file. If a group fails, its messages
 * are written again one by one, so that one bad message (or one failed file) cannot fail the others.
 */
export class InboundStore {
  readonly #pool: pg.Pool;
  readonly #boss: PgBoss;
  readonly #waiting: Waiting[] = [];
  /** A group is writing its statements: the next one forms once they are written. */
  #forming = false;
  #inFlight = 0;
  /** (local part, slug) -> a route found within ROUTE_TTL_MS, and when it expires. */
  readonly #routes = new Map<string, { route: MailboxRoute; until: number }>();

  constructor(databaseUrl: string, boss: PgBoss, max = 16) {
    this.#pool = new pg.Pool({ connectionString: databaseUrl, max, application_name: 'filo-smtp' });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.#pool.on('error', () => {});
    this.#boss = boss;
  }

  async route(localPart: string, slug: string): Promise<MailboxRoute | null> {
    // Length-prefixed: no two (local part, slug) pairs share a key. As given: PostgreSQL does the lowercasing.
    const key = `${localPart.length}:${localPart}${slug}`;
    const now = performance.now();
    const cached = this.#routes.get(key);
    if (cached && cached.until > now) return cached.route;
    const { rows } = await this.#pool.query<{ tenant_id: string; mailbox_id: string }>({
      name: 'filo_mailbox_route',
      text: 'select tenant_id, mailbox_id from filo_mailbox_route($1, $2)',
      values: [localPart, slug],
    });
    if (!rows[0]) {
      this.#routes.delete(key);
      return null;
    }
    const route = { tenantId: rows[0].tenant_id, mailboxId: rows[0].mailbox_id };
    // Bounded: past the limit the whole map goes (entries live two seconds anyway).
    if (this.#routes.size >= MAX_ROUTES) this.#routes.clear();
    this.#routes.set(key, { route, until: performance.now() + ROUTE_TTL_MS });
    return route;
  }

  /** The route of a bulk send's VERP or unsubscribe address: the send must be of the workspace `slug` names. */
  async bulkRoute(sendId: string, slug: string): Promise<MailboxRoute | null> {
    const { rows } = await this.#pool.query<{ tenant_id: string; mailbox_id: string }>({
      name: 'filo_bulk_route',
      text: 'select tenant_id, mailbox_id from filo_bulk_route($1, $2)',
      values: [sendId, slug],
    });
    return rows[0] ? { tenantId: rows[0].tenant_id, mailboxId: rows[0].mailbox_id } : null;
  }

  /**
   * Records one accepted message: a row per mailbox and its job; resolves with the rows' ids once committed,
   * which is never before `durable` (its spool file) has resolved. If `durable` rejects, nothing is committed.
   */
  accept(message: AcceptedMessage, durable: Promise<void> = Promise.resolve()): Promise<string[]> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ message, durable, resolve, reject });
      this.#pump();
    });
  }

  /** Starts the next group if none is forming and a transaction slot is free. */
  #pump() {
    if (this.#forming || this.#inFlight >= MAX_IN_FLIGHT || this.#waiting.length === 0) return;
    const group = this.#waiting.splice(0, MAX_BATCH);
    this.#forming = true;
    this.#inFlight++;
    const formed = () => {
      if (!this.#forming) return;
      this.#forming = false;
      this.#pump();
    };
    void this.#commitGroup(group, formed).finally(() => {
      formed();
      this.#inFlight--;
      this.#pump();
    });
  }

  async #commitGroup(group: Waiting[], formed: () => void) {
    try {
      const ids = await this.#write(group, formed);
      group.forEach((w, i) => w.resolve(ids[i]!));
    } catch (err) {
      formed();
      if (group.length === 1) group[0]!.reject(err);
      else
        for (const w of group) {
          await this.#write([w], () => {}).then(([ids]) => w.resolve(ids!), w.reject);
        }
    }
  }

  /**
   * One transaction for these messages, committed once all their files are durable (else rolled back); the
   * ids of each message's rows, in order. `formed` is called once its statements are written.
   */
  async #write(group: Waiting[], formed: () => void): Promise<string[][]> {
    const messages = group.map((w) => w.message);
    const byTenant = new Map<string, object[]>();
    const jobs: { id: string; data: InboundJob }[] = [];
    const ids = messages.map((message) =>
      message.routes.map((route) => {
        const id = randomUUID();
        const rows = byTenant.get(route.tenantId) ?? [];
        byTenant.set(route.tenantId, rows);
        rows.push({
          id,
          tenant_id: route.tenantId,
          mailbox_id: route.mailboxId,
          mail_from: message.mailFrom,
          rcpt_to: message.rcptTo,
          remote_address: message.remoteAddress,
          helo_name: message.heloName,
          size: message.size,
          sha256: message.sha256,
          spool_key: message.spoolKey,
        });
        jobs.push({ id, data: { inboundId: id, tenantId: route.tenantId } });
        return id;
      }),
    );
    const client = await this.#pool.connect();
    try {
      await client.query('begin');
      // Row-level security is forced on the table: each workspace's rows go in under its own setting.
      for (const [tenantId, rows] of byTenant) {
        await client.query({
          name: 'filo_set_tenant',
          text: `select set_config('app.tenant_id', $1, true)`,
          values: [tenantId],
        });
        await client.query({
          name: 'filo_inbound_insert',
          text: `insert into inbound_messages (id, tenant_id, mailbox_id, mail_from, rcpt_to, remote_address, helo_name,
                   size, sha256, spool_key)
                 select * from json_to_recordset($1::json) as x(id uuid, tenant_id uuid, mailbox_id uuid,
                   mail_from varchar, rcpt_to text[], remote_address varchar, helo_name varchar, size int,
                   sha256 varchar, spool_key text)`,
          values: [JSON.stringify(rows)],
        });
      }
      await this.#boss.insert(INBOUND_QUEUE, jobs, {
        db: { executeSql: (text, values) => client.query(text, values) },
      });
      // The statements are written: the next group may start while this one waits for its files.
      formed();
      await Promise.all(group.map((w) => w.durable));
      await client.query('commit');
      return ids;
    } catch (err) {
      await client.query('rollback').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  close(): Promise<void> {
    return this.#pool.end();
  }
}
