import type { z } from 'zod';
import type { Services } from '../../server/services.ts';
import type { Actor } from '../../server/tenancy.ts';
import { companyInput, contactInput, dealInput, dealPatch, noteInput } from '../../server/crm/crm.schemas.ts';
import { customFieldInput } from '../../server/crm/custom-fields.service.ts';
import { mailboxInput } from '../../server/inbox/mailboxes.service.ts';
import type { DemoUserEmail as UserEmail } from './demo.seeder.ts';
import type { MikroORM } from '../orm.ts';
import { inTenant } from '../../server/tenancy.ts';
import { spreadDemoHistory } from './demo-history.ts';
import { meetingInput } from '#contracts/meetings';
import { linkedRecordUpsert } from '#contracts/linked-records';
import { DEMO_COMPANIES } from './demo-companies.ts';
import { DEMO_DEALS } from './demo-deals.ts';
import { DEMO_NOTES } from './demo-notes.ts';

/*
 * The CRM a newcomer finds in the demo workspace: fixed lists (no random data), written through the domain
 * services as the demo users, so every record has its timeline activities and every @mention its notification.
 * Addresses and websites use the reserved `.example` domain: no demo contact is a real mailbox.
 */

// The records, one file per kind; re-exported for the tests that check the seeded workspace against them.
export { DEMO_COMPANIES } from './demo-companies.ts';
export { DEMO_DEALS } from './demo-deals.ts';
export { DEMO_NOTES } from './demo-notes.ts';

export const DEMO_CUSTOM_FIELDS: z.input<typeof customFieldInput>[] = [
  {
    entityType: 'company',
    fieldName: 'account_tier',
    fieldLabel: 'Account tier',
    fieldType: 'select',
    fieldOptions: ['Strategic', 'Key', 'Standard'],
    displayOrder: 0,
  },
  {
    entityType: 'contact',
    fieldName: 'preferred_language',
    fieldLabel: 'Preferred language',
    fieldType: 'select',
    fieldOptions: ['Italiano', 'English', 'Deutsch', 'Français', 'Español'],
    displayOrder: 0,
  },
];

export const DEMO_MAILBOXES: z.input<typeof mailboxInput>[] = [
  { name: 'Support', localPart: 'support', createContacts: true },
  { name: 'Sales', localPart: 'sales', createContacts: true },
];

/** Video calls on the demo's companies: days from today (negative: held already), at an hour of the day (UTC). */
export const DEMO_MEETINGS: { company: string; title: string; inDays: number; hour: number; minutes: number }[] = [
  { company: 'Officine Brambilla S.p.A.', title: 'Kick-off fase 2', inDays: -20, hour: 9, minutes: 60 },
  { company: 'Caseificio Gualtieri S.r.l.', title: 'Revisione offerta', inDays: -8, hour: 14, minutes: 45 },
  { company: 'Officine Brambilla S.p.A.', title: 'Sopralluogo tecnico linea 2', inDays: 2, hour: 10, minutes: 90 },
  { company: 'Caseificio Gualtieri S.r.l.', title: 'Firma contratto', inDays: 6, hour: 15, minutes: 30 },
];

/** What the demo's other modules (project management, accounting, production) keep on its companies. */
export const DEMO_LINKED: { company: string; source: string; kind: string; id: string; record: object }[] = [
  {
    company: 'Officine Brambilla S.p.A.',
    source: 'pm',
    kind: 'project',
    id: 'PRJ-2026-014',
    record: {
      title: 'Revamping linea 2',
      status: 'In corso',
      state: 'active',
      amount: 185000,
      currency: 'EUR',
      startInDays: -40,
      dueInDays: 75,
    },
  },
  {
    company: 'Officine Brambilla S.p.A.',
    source: 'mes',
    kind: 'production_job',
    id: 'ODP-5531',
    record: { title: 'Telaio saldato T-40 (20 pz)', status: 'In lavorazione', state: 'active', dueInDays: 9 },
  },
  {
    company: 'Officine Brambilla S.p.A.',
    source: 'mes',
    kind: 'production_job',
    id: 'ODP-5540',
    record: { title: 'Carter in lamiera (200 pz)', status: 'In coda', state: 'pending', dueInDays: 21 },
  },
  {
    company: 'Officine Brambilla S.p.A.',
    source: 'accounting',
    kind: 'invoice',
    id: 'FT-2026-0412',
    record: {
      title: 'Acconto 30% revamping',
      status: 'Emessa',
      state: 'pending',
      amount: 55500,
      currency: 'EUR',
      issuedInDays: -12,
      dueInDays: 18,
    },
  },
  {
    company: 'Caseificio Gualtieri S.r.l.',
    source: 'pm',
    kind: 'project',
    id: 'PRJ-2026-019',
    record: {
      title: 'Nuova linea confezionamento',
      status: 'Pianificato',
      state: 'pending',
      amount: 92000,
      currency: 'EUR',
      startInDays: 14,
      dueInDays: 120,
    },
  },
  {
    company: 'Caseificio Gualtieri S.r.l.',
    source: 'accounting',
    kind: 'invoice',
    id: 'FT-2026-0398',
    record: {
      title: 'Manutenzione ordinaria Q3',
      status: 'Pagata',
      state: 'done',
      amount: 4800,
      currency: 'EUR',
      issuedInDays: -45,
      dueInDays: -15,
    },
  },
];

const isoDate = (from: Date, days: number) => new Date(from.getTime() + days * 86_400_000).toISOString().slice(0, 10);

/** What {@link seedDemoCrm} wrote, for the log line. */
export interface DemoCrmCounts {
  companies: number;
  contacts: number;
  deals: number;
  notes: number;
  mailboxes: number;
}

/**
 * Writes the demo CRM through the services, `owner` creating the records and the team writing the notes.
 * Each call is its own transaction: a crash midway leaves a partial demo, and it is not resumed on the next
 * start (the demo marker is already set), which is acceptable for demo data.
 */
export async function seedDemoCrm(
  services: Services,
  owner: Actor,
  today = new Date(),
  orm?: MikroORM,
): Promise<DemoCrmCounts> {
  const members = await services.team.members(owner);
  const userId = (email: UserEmail) => {
    const member = members.find((m) => m.email === email);
    if (!member) throw new Error(`demo user ${email} is not in the workspace`);
    return member.userId;
  };
  const actors = new Map<string, Actor>([[owner.userId, owner]]);
  const actorOf = async (email: UserEmail): Promise<Actor> => {
    const id = userId(email);
    let actor = actors.get(id);
    if (!actor) {
      actor = (await services.team.actorFor(owner.tenantId, id)) ?? undefined;
      if (!actor) throw new Error(`demo user ${email} is not in the workspace`);
      actors.set(id, actor);
    }
    return actor;
  };

  for (const field of DEMO_CUSTOM_FIELDS) await services.customFields.create(owner, customFieldInput.parse(field));
  for (const mailbox of DEMO_MAILBOXES) await services.mailboxes.create(owner, mailboxInput.parse(mailbox));

  const companies = new Map<string, string>();
  const contacts = new Map<string, string>();
  for (const { company, assignee, contacts: people } of DEMO_COMPANIES) {
    const row = await services.records.create(
      owner,
      'company',
      companyInput.parse({ ...company, assignedTo: userId(assignee) }),
    );
    companies.set(company.name, row.id);
    for (const person of people) {
      const created = await services.records.create(
        owner,
        'contact',
        contactInput.parse({ ...person, companyId: row.id }),
      );
      if (person.email) contacts.set(person.email, created.id);
    }
  }

  const deals = new Map<string, string>();
  for (const { company, deal, assignee, movedFrom, closeInDays } of DEMO_DEALS) {
    const companyId = companies.get(company);
    if (!companyId) throw new Error(`demo deal on unknown company ${company}`);
    const closeDate = isoDate(today, closeInDays);
    const closed = deal.stage === 'won' || deal.stage === 'lost' ? { actualCloseDate: closeDate } : {};
    const input = dealInput.parse({
      ...deal,
      companyId,
      assignedTo: userId(assignee),
      expectedCloseDate: closeDate,
      ...(movedFrom ? { stage: movedFrom, probability: null } : closed),
    });
    const row = await services.records.create(owner, 'deal', input);
    if (movedFrom) {
      const move = { stage: deal.stage, probability: deal.probability, ...closed };
      await services.records.update(owner, 'deal', row.id, dealPatch.parse(move));
    }
    deals.set(deal.title, row.id);
  }

  for (const note of DEMO_NOTES) {
    const [entityType, entityId] = note.deal
      ? (['deal', deals.get(note.deal)] as const)
      : note.contact
        ? (['contact', contacts.get(note.contact)] as const)
        : (['company', companies.get(note.company)] as const);
    if (!entityId) throw new Error(`demo note on an unknown record of ${note.company}`);
    await services.notes.create(
      await actorOf(note.author),
      noteInput.parse({
        entityType,
        entityId,
        content: note.content,
        noteType: note.noteType,
        isPinned: note.isPinned ?? false,
        mentions: (note.mentions ?? []).map(userId),
      }),
    );
  }

  const held: { id: string; at: Date; minutes: number }[] = [];
  for (const meeting of DEMO_MEETINGS) {
    const companyId = companies.get(meeting.company);
    if (!companyId) throw new Error(`demo meeting on unknown company ${meeting.company}`);
    const at = new Date(today.getTime() + meeting.inDays * 86_400_000);
    at.setUTCHours(meeting.hour, 0, 0, 0);
    // Scheduled ahead (the service refuses the past), then moved back to when it was held.
    const ahead = new Date(today.getTime() + (30 + Math.abs(meeting.inDays)) * 86_400_000);
    const created = await services.meetings.scheduling.create(
      owner,
      meetingInput.parse({
        title: meeting.title,
        companyId,
        scheduledAt: (meeting.inDays < 0 ? ahead : at).toISOString(),
        durationMinutes: meeting.minutes,
      }),
    );
    if (meeting.inDays < 0) held.push({ id: created.id, at, minutes: meeting.minutes });
  }

  for (const { company, source, kind, id, record } of DEMO_LINKED) {
    const companyId = companies.get(company);
    if (!companyId) throw new Error(`demo linked record on unknown company ${company}`);
    const { startInDays, dueInDays, issuedInDays, ...rest } = record as Record<string, number | undefined>;
    const day = (n: number | undefined) => (n === undefined ? undefined : isoDate(today, n));
    const input = linkedRecordUpsert.parse({
      ...rest,
      companyId,
      startDate: day(startInDays),
      dueDate: day(dueInDays),
      issuedDate: day(issuedInDays),
      url: `https://${source}.example/${kind}/${encodeURIComponent(id)}`,
    });
    await services.linkedRecords.upsert(owner, { source, kind, externalId: id }, input);
  }

  if (orm) {
    await inTenant(orm, owner, async ({ em }) => {
      for (const m of held) {
        await em.execute(
          `update video_meetings set scheduled_at = ?, status = 'completed', started_at = ?, ended_at = ?,
             actual_duration_seconds = ? where id = ?`,
          [m.at, m.at, new Date(m.at.getTime() + m.minutes * 60_000), m.minutes * 60, m.id],
        );
      }
    });
    await spreadDemoHistory(orm, owner, today);
  }

  return {
    companies: companies.size,
    contacts: contacts.size,
    deals: deals.size,
    notes: DEMO_NOTES.length,
    mailboxes: DEMO_MAILBOXES.length,
  };
}
