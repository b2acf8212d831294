import type { messagingEn } from './messaging.en.ts';

/** Stringhe italiane della messaggistica: account SMS / WhatsApp / Telegram / Discord, compositore e cronologia. */
export const messagingIt: typeof messagingEn = {
  channels: { sms: 'SMS', whatsapp: 'WhatsApp', telegram: 'Telegram', discord: 'Discord', email: 'Email' },
  received: (channel, who) => `${channel} da ${who}`,
  sent: (channel, who) => `${channel} a ${who}`,
  delivered: (channel, who) => `${channel} consegnato a ${who}`,
  read: (channel, who) => `${channel} letto da ${who}`,
  failed: (channel, who) => `${channel} a ${who} non consegnato`,
  someone: 'qualcuno',
};
