import { RETENTION_DEFAULTS, type RetentionSettings } from '#contracts/audit';
import type { MikroORM } from '../../db/orm.ts';
import type { Logger } from '../logger.ts';
import { inTenant, requireRole, requireWrite, systemActor, type Actor } from '../tenancy.ts';
import { audit } from './record.ts';

interface Executor {
  execute(sql: string, params?: unknown[]): Promise<unknown>;
}

interface SettingsRow {
  spool_days: number;
  tracking_days: number;
  audit_days: number;
}

/** What one workspace's enforcement removed. */
export interface Purged {
  tenantId: string;
  spoolFiles: number;
  trackingEvents: number;
  bulkTracking: number;
  auditEntries: number;
}

async function read(em: Executor, tenantId: string): Promise<RetentionSettings> {
  const [row] = (await em.execute(
    `select spool_days, tracking_days, audit_days from retention_settings where tenant_id = ?`,
    [tenantId],
  )) as SettingsRow[];
  return row
    ? { spoolDays: row.spool_days, trackingDays: row.tracking_days, auditDays: row.audit_days }
    : { ...RETENTION_DEFAULTS };
}

/**
 * How long a workspace keeps raw inbound files, tracking events and audit entries (issue 21, item 5), and the
 * nightly enforcement: each workspace in its own transaction, what went logged and audited as Filo's own work.
 */
export class RetentionService {
  readonly #orm: MikroORM;
  readonly #removeSpool: (key: string) => Promise<void>;
  readonly #log: Logger;

  constructor(deps: { orm: MikroORM; removeSpool: (key: string) => Promise<void>; log: Logger }) {
    this.#orm = deps.orm;
    this.#removeSpool = deps.removeSpool;
    this.#log = deps.log;
  }

  get(actor: Actor): Promise<RetentionSettings> {
    return inTenant(this.#orm, actor, ({ em }) => read(em, actor.tenantId));
  }

  update(actor: Actor, patch: Partial<RetentionSettings>): Promise<RetentionSettings> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    return inTenant(this.#orm, actor, async (uow) => {
      const before = await read(uow.em, actor.tenantId);
      const next = { ...before, ...patch };
      await uow.em.execute(
        `insert into retention_settings (tenant_id, spool_days, tracking_days, audit_days) values (?, ?, ?, ?)
         on conflict (tenant_id) do update set spool_days = excluded.spool_days, tracking_days = excluded.tracking_days,
           audit_days = excluded.audit_days, updated_at = now()`,
        [actor.tenantId, next.spoolDays, next.trackingDays, next.auditDays],
      );
      await audit(uow, {
        action: 'retention.updated',
        targetType: 'workspace',
        targetId: actor.tenantId,
        summary: 'Retention settings changed',
        before,
        after: next,
      });
      return next;
    });
  }

  /** Enforces every workspace's retention; a workspace that fails is logged and the others still run. */
  async enforceAll(): Promise<Purged[]> {
    const tenants = await this.#orm.em.getConnection().execute<{ id: string }[]>(`select id from tenants order by id`);
    const done: Purged[] = [];
    for (const { id } of tenants) {
      try {
        done.push(await this.enforce(id));
      } catch (err) {
        this.#log.error({ err, tenantId: id }, 'retention not enforced for a workspace');
      }
    }
    return done;
  }

  async enforce(tenantId: string): Promise<Purged> {
    let spoolKeys: string[] = [];
    const purged = await inTenant(this.#orm, systemActor(tenantId), async (uow) => {
      const { em } = uow;
      const keep = await read(em, tenantId);
      // The raw file goes; the parsed message, its conversation and attachments stay readable.
      const spooled = (await em.execute(
        `update inbound_messages i set spool_key = null from (
           select id, spool_key from inbound_messages where tenant_id = ? and status = 'processed'
              and spool_key is not null and created_at < now() - make_interval(days => ?) for update) old
          where i.id = old.id returning old.spool_key`,
        [tenantId, keep.spoolDays],
      )) as { spool_key: string }[];
      spoolKeys = spooled.map((r) => r.spool_key);
      const events = (await em.execute(
        `delete from tracking_events where tenant_id = ? and created_at < now() - make_interval(days => ?) returning id`,
        [tenantId, keep.trackingDays],
      )) as unknown[];
      // Per-recipient open and click times of bulk mail; the campaign's counters (delivery_stats) are kept.
      const bulk = (await em.execute(
        `update bulk_sends set opened_at = null, clicked_at = null where tenant_id = ?
            and (opened_at is not null or clicked_at is not null) and sent_at < now() - make_interval(days => ?)
          returning id`,
        [tenantId, keep.trackingDays],
      )) as unknown[];
      const [{ n }] = (await em.execute(`select filo_audit_purge(?) as n`, [tenantId])) as [{ n: number }];
      const result = {
        tenantId,
        spoolFiles: spoolKeys.length,
        trackingEvents: events.length,
        bulkTracking: bulk.length,
        auditEntries: n,
      };
      if (result.spoolFiles + result.trackingEvents + result.bulkTracking + result.auditEntries > 0) {
        const [chain] = (await em.execute(`select anchor_seq, anchor_hash from audit_chains where tenant_id = ?`, [
          tenantId,
        ])) as { anchor_seq: string; anchor_hash: string }[];
        await audit(uow, {
          action: 'retention.purged',
          targetType: 'workspace',
          targetId: tenantId,
          summary: `Retention: ${result.spoolFiles} raw messages, ${result.trackingEvents + result.bulkTracking} tracking records, ${n} audit entries removed`,
          after: {
            ...keep,
            spoolFiles: result.spoolFiles,
            trackingEvents: result.trackingEvents,
            bulkTracking: result.bulkTracking,
            auditEntries: n,
            anchorSeq: Number(chain?.anchor_seq ?? 0),
            anchorHash: chain?.anchor_hash ?? null,
          },
        });
      }
      return result;
    });
    // Files go once the rows no longer name them: a crash in between leaves an orphan file, never a dangling row.
    for (const key of spoolKeys) await this.#removeSpool(key).catch(() => undefined);
    if (purged.auditEntries + purged.spoolFiles + purged.trackingEvents + purged.bulkTracking > 0)
      this.#log.info(purged, 'retention enforced');
    return purged;
  }
}
