import { CampaignSchema } from '../../db/entities/campaign.entity.ts';
import { ContactSchema } from '../../db/entities/contact.entity.ts';
import type { BulkTrackingHooks, TrackedSend } from '../delivery/bulk/tracking.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import type { UnitOfWork } from '../tenancy.ts';

/**
 * A campaign's opens and clicks on its recipient's timeline, summarised: the first human open of a send writes
 * `campaign.opened`, its first human click `campaign.clicked` (with the link); later ones only count.
 */
export function campaignTrackingTimeline(activities: ActivitiesService): BulkTrackingHooks {
  async function write(
    uow: UnitOfWork,
    send: TrackedSend,
    type: 'campaign.opened' | 'campaign.clicked',
    link?: { index: number; url: string },
  ) {
    if (!send.contactId) return;
    const campaign = await uow.em.findOne(CampaignSchema, { id: send.sourceId });
    const contact = await uow.em.findOne(ContactSchema, { id: send.contactId }, { fields: ['companyId'] });
    if (!campaign || !contact) return;
    const subject =
      campaign.rendered?.find((v) => v.key === send.variant)?.subject ??
      campaign.variants.find((v) => v.key === send.variant)?.subject ??
      campaign.subject;
    const who = send.address ?? 'A recipient';
    await activities.record(uow, {
      entityType: 'contact',
      entityId: send.contactId,
      companyId: contact.companyId ?? null,
      type,
      title: type === 'campaign.opened' ? `${who} opened “${subject}”` : `${who} clicked a link in “${subject}”`,
      mailboxId: null,
      data: {
        campaignId: campaign.id,
        campaignName: campaign.name,
        subject,
        sendId: send.id,
        variant: send.variant,
        ...(link ? { url: link.url, linkIndex: link.index } : {}),
      },
    });
  }
  return {
    source: 'campaign',
    opened: (uow, send) => write(uow, send, 'campaign.opened'),
    clicked: (uow, send, link) => write(uow, send, 'campaign.clicked', link),
  };
}
