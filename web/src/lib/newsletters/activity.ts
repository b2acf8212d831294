/** How newsletter and consent entries read on a timeline: sent, opened, clicked, complaints, subscriptions. */
import { t } from '#lib/i18n/index.svelte.ts';
import type { ActivityOf } from '#contracts/timeline';
import { text, tones, type ActivityView } from '#lib/timeline/activity-view.ts';

export type NewsletterActivity = ActivityOf<
  'campaign.sent' | 'campaign.opened' | 'campaign.clicked' | 'email.complained' | 'consent.given' | 'consent.withdrawn'
>;

export function newsletterView(activity: NewsletterActivity): ActivityView {
  const m = t().newsletters.timeline;
  switch (activity.type) {
    case 'campaign.sent':
    case 'campaign.opened':
    case 'campaign.clicked': {
      const d = activity.data;
      const what =
        activity.type === 'campaign.sent'
          ? m.campaignSent(d.campaignName)
          : activity.type === 'campaign.opened'
            ? m.campaignOpened(d.campaignName)
            : m.campaignClicked(d.campaignName);
      const url = activity.type === 'campaign.clicked' ? text(activity.data.url) : null;
      const variant = text(d.variant);
      return {
        icon: activity.type === 'campaign.clicked' ? 'globe' : 'mail',
        tone: tones.email,
        what,
        detail: [text(d.subject), variant ? m.variant(variant) : null, url].filter(Boolean).join(' · ') || null,
        excerpt: null,
      };
    }
    case 'email.complained':
      return {
        icon: 'alert',
        tone: tones.bounce,
        what: m.complained(text(activity.data.to) ?? t().timeline.someone),
        detail: null,
        excerpt: null,
        warning: true,
      };
    case 'consent.given':
    case 'consent.withdrawn': {
      const d = activity.data;
      const list = text(d.listName) ?? m.allMail;
      return {
        icon: 'shield',
        tone: activity.type === 'consent.given' ? tones.contact : tones.bounce,
        what: activity.type === 'consent.given' ? m.consentGiven(list) : m.consentWithdrawn(list),
        detail: [text(d.address), m.sources[d.source] ?? null].filter(Boolean).join(' · ') || null,
        excerpt: null,
      };
    }
  }
}
