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

/**
 * The gateway's database side: mailbox routing and the durable record of accepted messages. One small pool of
 * its own with named (prepared) statements; each accepted message is one transaction holding its
 * `inbound_messages` rows and their processing jobs, committed before the 250.
 */
export class InboundStore {
  readonly #pool: pg.Pool;
  readonly #boss: PgBoss;

  constructor(databaseUrl: string, boss: PgBoss, max = 16) {
    this.#pool = new pg.Pool({ connectionString: databaseUrl, max, application_name: 'filo-smtp' });
    // An idle client losing its connection must not crash the process; the next query reconnects.
    this.#pool.on('error', () => {});
    this.#boss = boss;
  }

  async route(localPart: string, slug: string): Promise<MailboxRoute | null> {
    const { rows } = await this.#pool.query<{ tenant_id: string; mailbox_id: string }>({
      name: 'filo_mailbox_route',
      text: 'select tenant_id, mailbox_id from filo_mailbox_route($1, $2)',
      values: [localPart, slug],
    });
    return rows[0] ? { tenantId: rows[0].tenant_id, mailboxId: rows[0].mailbox_id } : null;
  }

  /** Writes one row per mailbox and its job, atomically; returns the rows' ids. */
  async accept(message: AcceptedMessage): Promise<string[]> {
    const client = await this.#pool.connect();
    const ids: string[] = [];
    try {
      await client.query('begin');
      for (const route of message.routes) {
        const id = randomUUID();
        await client.query({
          name: 'filo_set_tenant',
          text: `select set_config('app.tenant_id', $1, true)`,
          values: [route.tenantId],
        });
        await client.query({
          name: 'filo_inbound_insert',
          text: `insert into inbound_messages (id, tenant_id, mailbox_id, mail_from, rcpt_to, remote_address, helo_name,
                   size, sha256, spool_key) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
          values: [
            id,
            route.tenantId,
            route.mailboxId,
            message.mailFrom,
            message.rcptTo,
            message.remoteAddress,
            message.heloName,
            message.size,
            message.sha256,
            message.spoolKey,
          ],
        });
        const job: InboundJob = { inboundId: id, tenantId: route.tenantId };
        await this.#boss.send(INBOUND_QUEUE, job, {
          id,
          db: { executeSql: (text, values) => client.query(text, values) },
        });
        ids.push(id);
      }
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
