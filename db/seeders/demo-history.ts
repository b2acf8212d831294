import type { MikroORM } from '../orm.ts';
import { inTenant, type Actor } from '../../server/tenancy.ts';

/** How far back the demo's history starts: six weeks of a team's work. */
export const DEMO_HISTORY_DAYS = 42;

/**
 * Working moments (Monday to Friday, 9:00 to 18:00 UTC) of the past `days`, `count` of them, evenly spread and
 * strictly increasing, the last one at least an hour before `today`.
 */
export function workingMoments(count: number, today: Date, days = DEMO_HISTORY_DAYS): Date[] {
  const minutes: number[] = [];
  const start = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()) - days * 86_400_000;
  for (let day = 0; day <= days; day++) {
    const midnight = start + day * 86_400_000;
    const weekday = new Date(midnight).getUTCDay();
    if (weekday === 0 || weekday === 6) continue;
    for (let minute = 9 * 60; minute < 18 * 60; minute++) {
      const at = midnight + minute * 60_000;
      if (at < today.getTime() - 3_600_000) minutes.push(at);
    }
  }
  if (!minutes.length || !count) return [];
  const step = minutes.length / count;
  const moments: Date[] = [];
  for (let i = 0; i < count; i++) {
    const at = minutes[Math.min(minutes.length - 1, Math.floor(i * step))]!;
    const previous = moments.at(-1)?.getTime() ?? 0;
    moments.push(new Date(Math.max(at, previous + 1000)));
  }
  return moments;
}

/**
 * The demo was written in a few seconds; this spreads it over the past weeks as if the team had worked it:
 * its activities get working moments in their seq order (the timeline pages by seq, so time and seq stay in
 * the same order), and each record, note and notice takes the moment of the activity that made it. Deals
 * closed as won or lost are closed on the day they moved there.
 */
export async function spreadDemoHistory(orm: MikroORM, owner: Actor, today = new Date()): Promise<number> {
  return inTenant(orm, owner, async ({ em }) => {
    const rows = (await em.execute(`select id from activities order by seq`)) as { id: string }[];
    const moments = workingMoments(rows.length, today);
    if (!moments.length) return 0;
    await em.execute(
      `update activities a set created_at = m.at
         from jsonb_to_recordset(?::jsonb) as m(id uuid, at timestamptz) where a.id = m.id`,
      [JSON.stringify(rows.map((r, i) => ({ id: r.id, at: moments[i]!.toISOString() })))],
    );
    for (const table of ['companies', 'contacts', 'deals'] as const) {
      const type = table === 'companies' ? 'company' : table === 'contacts' ? 'contact' : 'deal';
      await em.execute(
        `update ${table} r set created_at = a.created_at, updated_at = greatest(a.created_at, coalesce(
           (select max(u.created_at) from activities u where u.entity_id = r.id and u.entity_type = ?), a.created_at))
           from activities a where a.entity_id = r.id and a.activity_type = ?`,
        [type, `${type}.created`],
      );
    }
    await em.execute(
      `update notes n set created_at = a.created_at, updated_at = a.created_at
         from activities a where a.activity_type = 'note.added' and a.metadata->>'noteId' = n.id::text`,
    );
    await em.execute(`update notifications x set created_at = n.created_at from notes n where x.note_id = n.id`);
    await em.execute(
      `update deals d set actual_close_date = (a.created_at at time zone 'UTC')::date
         from activities a
        where d.stage in ('won', 'lost') and a.entity_id = d.id
          and a.activity_type = case when exists (select 1 from activities s where s.entity_id = d.id
                                                  and s.activity_type = 'deal.stage_changed')
                                     then 'deal.stage_changed' else 'deal.created' end`,
    );
    await em.execute(
      `update video_meetings v set created_at = a.created_at
         from activities a where a.activity_type = 'meeting.scheduled' and a.metadata->>'meetingId' = v.id::text`,
    );
    return rows.length;
  });
}
