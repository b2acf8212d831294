import type { EntityManager } from '@mikro-orm/postgresql';
import type { MikroORM } from '../../db/orm.ts';
import type { z } from 'zod';
import { ContactSchema } from '../../db/entities/contact.entity.ts';
import { HttpError } from '../http/errors.ts';
import { inTenant, requireWrite, type Actor } from '../tenancy.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import type { ActivityDto } from '../timeline/publisher.ts';
import type { RecordsService } from '../crm/records.service.ts';
import type { callInput } from '#contracts/calls';

type CallInput = z.output<typeof callInput>;

const OUTCOME_WORDS: Record<string, string> = {
  connected: 'connected',
  voicemail: 'voicemail',
  no_answer: 'no answer',
  busy: 'busy',
  wrong_number: 'wrong number',
};

/** "4 min" from seconds, for the English title API readers see. */
const minutes = (s: number) => (s < 60 ? `${s} s` : `${Math.round(s / 60)} min`);

/** Calls logged by hand: one `call.logged` activity on the contact (with its company) or on the company. */
export class CallsService {
  readonly #orm: MikroORM;
  readonly #records: RecordsService;
  readonly #activities: ActivitiesService;

  constructor(orm: MikroORM, records: RecordsService, activities: ActivitiesService) {
    this.#orm = orm;
    this.#records = records;
    this.#activities = activities;
  }

  /** A contact or company of another workspace (or none) is a 404; a contact of another company than the one given, a 400. */
  log(actor: Actor, input: CallInput): Promise<ActivityDto> {
    requireWrite(actor);
    return inTenant(this.#orm, actor, async (uow) => {
      const contact = input.contactId ? await this.#records.find(uow, 'contact', input.contactId) : null;
      const company = input.companyId ? await this.#records.find(uow, 'company', input.companyId) : null;
      const contactCompany = (contact?.companyId as string | null | undefined) ?? null;
      if (contact && company && contactCompany !== company.id)
        throw new HttpError(400, 'contact_not_in_company', 'This contact does not belong to that company', {
          contactId: 'is not a contact of this company',
        });
      const companyId = contact ? contactCompany : company!.id;
      const companyName = company
        ? String(company.name)
        : companyId
          ? String((await this.#records.find(uow, 'company', companyId)).name)
          : null;
      const contactName = contact ? `${String(contact.firstName)} ${String(contact.lastName)}`.trim() : null;
      const phone = input.phone ?? (contact ? numberOf(contact) : await this.#primaryNumber(uow.em, companyId));
      const who = contactName ?? companyName ?? 'someone';
      const duration = input.durationSeconds ?? null;
      const title = [`Call with ${who}`, OUTCOME_WORDS[input.outcome], duration !== null ? minutes(duration) : null]
        .filter(Boolean)
        .join(' · ');
      return this.#activities.record(uow, {
        entityType: contact ? 'contact' : 'company',
        entityId: contact ? String(contact.id) : companyId!,
        companyId,
        type: 'call.logged',
        title,
        description: input.note || null,
        data: {
          phone,
          contactName,
          companyName,
          direction: input.direction,
          outcome: input.outcome,
          durationSeconds: duration,
          note: input.note || null,
        },
      });
    });
  }

  /** The company's primary contact's number (else any contact's), as the company page offers it. */
  async #primaryNumber(em: EntityManager, companyId: string | null): Promise<string | null> {
    if (!companyId) return null;
    const contacts = await em.find(
      ContactSchema,
      { companyId, $or: [{ phone: { $ne: null } }, { mobile: { $ne: null } }] },
      { orderBy: { isPrimary: 'desc', createdAt: 'asc' }, limit: 1 },
    );
    return contacts[0] ? numberOf(contacts[0]) : null;
  }
}

const numberOf = (r: object): string | null =>
  ((r as { phone?: string | null }).phone ?? null) || ((r as { mobile?: string | null }).mobile ?? null);
