import type { EntityManager } from '@mikro-orm/postgresql';
import type { ActivityDto } from './publisher.ts';
import { authorOf, type Actor } from '../tenancy.ts';
import { truncateGraphemes } from '../text.ts';

export interface NewActivity {
  entityType: string;
  entityId: string;
  companyId: string | null;
  type: string;
  title: string;
  description?: string | null;
  data?: Record<string, unknown>;
  /** The mailbox it comes from; by default `data.mailboxId`, else the mailbox of its conversation. */
  mailboxId?: string | null;
}

/** An activity ready to be written: its author, payload as stored, and who may not see it. */
export interface PendingActivity {
  actor: Actor;
  input: NewActivity;
  data: Record<string, unknown>;
  scope: { mailboxId: string; hiddenFrom: string[] } | null;
}

/**
 * Writes activities in the caller's transaction: one `activity_seq + n` on the tenant row (locked to commit, so
 * seq order is commit order) and one multi-row insert per 1,000. The DTOs, in order, for publishing after commit.
 */
export async function insertActivities(
  em: EntityManager,
  tenantId: string,
  items: PendingActivity[],
): Promise<{ dto: ActivityDto; hiddenFrom: string[] | undefined }[]> {
  if (!items.length) return [];
  const [{ activity_seq }] = (await em.execute(
    `update tenants set activity_seq = activity_seq + ? where id = ? returning activity_seq`,
    [items.length, tenantId],
  )) as [{ activity_seq: string }];
  const first = Number(activity_seq) - items.length + 1;
  const dtos: { dto: ActivityDto; hiddenFrom: string[] | undefined }[] = [];
  for (let at = 0; at < items.length; at += 1000) {
    const chunk = items.slice(at, at + 1000);
    const params: unknown[] = [];
    const values = chunk.map(({ actor, input, data, scope }, i) => {
      params.push(
        tenantId,
        first + at + i,
        input.entityType,
        input.entityId,
        input.companyId,
        input.type,
        truncateGraphemes(input.title, 255),
        input.description ?? null,
        JSON.stringify(data),
        authorOf(actor),
        scope?.mailboxId ?? null,
      );
      return '(gen_random_uuid(), ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?)';
    });
    const rows = (await em.execute(
      `insert into activities (id, tenant_id, seq, entity_type, entity_id, company_id, activity_type, title,
                               description, metadata, created_by, mailbox_id)
       values ${values.join(', ')} returning id, seq, created_at`,
      params,
    )) as { id: string; seq: string | number; created_at: Date }[];
    rows.forEach((row, i) => {
      const { actor, input, data, scope } = chunk[i]!;
      dtos.push({
        dto: {
          id: row.id,
          seq: Number(row.seq),
          entityType: input.entityType,
          entityId: input.entityId,
          companyId: input.companyId,
          type: input.type,
          title: truncateGraphemes(input.title, 255),
          description: input.description ?? null,
          data,
          actor: actor.system ? null : { id: actor.userId, name: actor.userName },
          createdAt: new Date(row.created_at).toISOString(),
        } as ActivityDto,
        hiddenFrom: scope?.hiddenFrom,
      });
    });
  }
  return dtos;
}
