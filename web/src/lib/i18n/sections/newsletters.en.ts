/** English strings of newsletters (lists, campaigns, reports), consent and the public subscription pages. */
export const newslettersEn = {
  nav: 'Newsletters',
  timeline: {
    campaignSent: (campaign: string) => `Newsletter “${campaign}” sent`,
    campaignOpened: (campaign: string) => `✓ Opened the newsletter “${campaign}”`,
    campaignClicked: (campaign: string) => `✓ Clicked a link in the newsletter “${campaign}”`,
    complained: (to: string) => `${to} marked our mail as spam`,
    consentGiven: (what: string) => `Subscribed to ${what}`,
    consentWithdrawn: (what: string) => `Unsubscribed from ${what}`,
    allMail: 'all mailings',
    variant: (v: string) => `Variant ${v}`,
    sources: {
      form: 'subscription form',
      import: 'import',
      api: 'API',
      crm: 'added from the CRM',
      manual: 'changed by hand',
      one_click: 'one-click unsubscribe',
      preference_center: 'preference center',
      complaint: 'spam complaint',
      bounce: 'bounce',
      stop: 'STOP reply',
      erasure: 'erased',
    } as Record<string, string>,
  },
};
