/** English strings of messaging: SMS / WhatsApp / Telegram / Discord accounts, the composer and the timeline. */
export const messagingEn = {
  channels: { sms: 'SMS', whatsapp: 'WhatsApp', telegram: 'Telegram', discord: 'Discord', email: 'Email' } as Record<
    string,
    string
  >,
  // On the timeline.
  received: (channel: string, who: string) => `${channel} from ${who}`,
  sent: (channel: string, who: string) => `${channel} to ${who}`,
  delivered: (channel: string, who: string) => `${channel} delivered to ${who}`,
  read: (channel: string, who: string) => `${channel} read by ${who}`,
  failed: (channel: string, who: string) => `${channel} to ${who} not delivered`,
  someone: 'someone',
};
