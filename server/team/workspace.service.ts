import type { BusinessHours, WorkspacePatch, WorkspaceSettings } from '#contracts/settings';
import type { MikroORM } from '../../db/orm.ts';
import { imageVersion, type Pictures } from '../storage/images.ts';
import { inTenant, requireRole, requireWrite, type Actor } from '../tenancy.ts';
import { audit, change } from '../audit/record.ts';
import type { AccessPort } from '../auth/access.ts';

interface TenantRow {
  id: string;
  name: string;
  slug: string;
  currency: string;
  time_zone: string;
  business_hours: BusinessHours | null;
  logo_key: string | null;
}

const COLUMNS = { name: 'name', currency: 'currency', timeZone: 'time_zone', businessHours: 'business_hours' } as const;

/**
 * The workspace's own settings: name, logo, default currency, time zone and business hours. Every member reads
 * them; owners and admins change them. A change sets only the fields it names, and the last write wins (the
 * settings are few, rarely edited and by admins: a version check would only add a conflict screen).
 */
export class WorkspaceService {
  readonly #orm: MikroORM;
  readonly #pictures: Pictures;
  readonly #access: AccessPort | undefined;

  constructor(orm: MikroORM, pictures: Pictures, access?: AccessPort) {
    this.#orm = orm;
    this.#pictures = pictures;
    this.#access = access;
  }

  // A resolved session carries the workspace's name and logo: every node drops the workspace's cached ones.
  #changed(tenantId: string): void {
    this.#access?.changed({ reason: 'workspace_changed', tenantId });
  }

  get(actor: Actor): Promise<WorkspaceSettings> {
    return inTenant(this.#orm, actor, async ({ em }) => mapSettings(await readTenant(em, actor.tenantId)));
  }

  update(actor: Actor, patch: WorkspacePatch): Promise<WorkspaceSettings> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    return inTenant(this.#orm, actor, async ({ em, afterCommit }) => {
      const before = mapSettings(await readTenant(em, actor.tenantId, true));
      const sets: string[] = [];
      const params: unknown[] = [];
      for (const [field, column] of Object.entries(COLUMNS) as [keyof WorkspacePatch, string][]) {
        if (patch[field] === undefined) continue;
        sets.push(`${column} = ?`);
        params.push(field === 'businessHours' ? JSON.stringify(patch[field]) : patch[field]);
      }
      if (sets.length)
        await em.execute(`update tenants set ${sets.join(', ')} where id = ?`, [...params, actor.tenantId]);
      if (patch.name !== undefined) afterCommit(() => this.#changed(actor.tenantId));
      const after = mapSettings(await readTenant(em, actor.tenantId));
      await audit(
        { em, actor },
        change('workspace.updated', 'workspace', { id: after.id, name: after.name }, before, after),
      );
      return after;
    });
  }

  /** Puts a stored image in as the logo; the previous one's bytes go once the change is committed. */
  async setLogo(actor: Actor, key: string | null): Promise<WorkspaceSettings> {
    requireWrite(actor);
    requireRole(actor, 'owner', 'admin');
    let old: string | null = null;
    const settings = await inTenant(this.#orm, actor, async ({ em }) => {
      old = (await readTenant(em, actor.tenantId, true)).logo_key;
      await em.execute(`update tenants set logo_key = ? where id = ?`, [key, actor.tenantId]);
      return mapSettings(await readTenant(em, actor.tenantId));
    });
    this.#changed(actor.tenantId);
    if (old && old !== key) await this.#pictures.remove(old);
    return settings;
  }

  /** The logo's blob key, for members of the workspace; null when it has none. */
  logoKey(actor: Actor): Promise<string | null> {
    return inTenant(this.#orm, actor, async ({ em }) => (await readTenant(em, actor.tenantId)).logo_key);
  }
}

async function readTenant(
  em: { execute: (sql: string, params: unknown[]) => Promise<unknown> },
  tenantId: string,
  lock = false,
): Promise<TenantRow> {
  const rows = (await em.execute(
    `select id, name, slug, currency, time_zone, business_hours, logo_key from tenants where id = ?${lock ? ' for update' : ''}`,
    [tenantId],
  )) as TenantRow[];
  return rows[0]!;
}

const mapSettings = (row: TenantRow): WorkspaceSettings => ({
  id: row.id,
  name: row.name,
  slug: row.slug,
  currency: row.currency,
  timeZone: row.time_zone,
  businessHours: row.business_hours,
  logoUrl: row.logo_key ? `/api/team/workspace/logo?v=${imageVersion(row.logo_key)}` : null,
});
