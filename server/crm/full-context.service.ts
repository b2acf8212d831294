import type { MikroORM } from '../../db/orm.ts';
import { ContactSchema } from '../../db/entities/contact.entity.ts';
import { DealSchema } from '../../db/entities/deal.entity.ts';
import { DocumentSchema } from '../../db/entities/document.entity.ts';
import { NoteSchema } from '../../db/entities/note.entity.ts';
import { inTenant, type Actor, type UnitOfWork } from '../tenancy.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import type { RecordsService } from './records.service.ts';
import { mailboxFilter, visibleMailboxes } from '../timeline/mailbox-visibility.ts';
import { documentDto } from './documents.service.ts';
import type { LinkedRecord, LinkedTab } from '#contracts/linked-records';

/** Linked records of other modules (server/linked-records), as full-context reads them: open ones per card tab. */
export interface LinkedRecordsPort {
  openOfCompany(uow: UnitOfWork, companyId: string): Promise<Partial<Record<LinkedTab, LinkedRecord[]>>>;
}

/**
 * The seed's cross-module API: everything PM, accounting and production need about a customer, in one
 * read-consistent transaction. What came from mailboxes the actor does not see (mail on the timeline, attachments)
 * is not in it.
 */
export class FullContextService {
  readonly #orm: MikroORM;
  readonly #records: RecordsService;
  readonly #activities: ActivitiesService;
  readonly #linked: LinkedRecordsPort | undefined;

  constructor(orm: MikroORM, records: RecordsService, activities: ActivitiesService, linked?: LinkedRecordsPort) {
    this.#orm = orm;
    this.#records = records;
    this.#activities = activities;
    this.#linked = linked;
  }

  get(actor: Actor, companyId: string) {
    return inTenant(this.#orm, actor, async (uow) => {
      const company = await this.#records.find(uow, 'company', companyId);
      const { em } = uow;
      const contacts = await em.find(
        ContactSchema,
        { companyId },
        { orderBy: { isPrimary: 'desc', lastName: 'asc', firstName: 'asc' } },
      );
      const deals = await em.find(DealSchema, { companyId }, { orderBy: { createdAt: 'desc' } });
      const contactIds = contacts.map((c) => c.id);
      const dealIds = deals.map((d) => d.id);
      const about = [
        { entityType: 'company', entityId: companyId },
        ...(contactIds.length ? [{ entityType: 'contact', entityId: { $in: contactIds } }] : []),
        ...(dealIds.length ? [{ entityType: 'deal', entityId: { $in: dealIds } }] : []),
      ];
      const recentNotes = await em.find(NoteSchema, { $or: about } as never, {
        orderBy: { isPinned: 'desc', createdAt: 'desc' },
        limit: 20,
      });
      const documents = await em.find(
        DocumentSchema,
        { $and: [{ $or: about }, mailboxFilter(await visibleMailboxes(uow))] } as never,
        { orderBy: { uploadedAt: 'desc' } },
      );
      const recentActivities = await this.#activities.timelineIn(uow, {
        entityType: 'company',
        entityId: companyId,
        limit: 20,
      });
      // Each list is absent when the actor's token may read no kind of it (scoped tokens: `linked:<kind>`).
      const linked = (await this.#linked?.openOfCompany(uow, companyId)) ?? {};
      return {
        company,
        contacts,
        deals,
        recentNotes,
        recentActivities,
        documents: documents.map(documentDto),
        ...(linked.projects ? { activeProjects: linked.projects } : {}),
        ...(linked.invoices ? { pendingInvoices: linked.invoices } : {}),
        ...(linked.production ? { productionJobs: linked.production } : {}),
      };
    });
  }
}
