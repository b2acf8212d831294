import type { messagingChannelsEn } from './messaging-channels.en.ts';

/** Stringhe italiane dei moduli degli account Telegram, Discord e Vonage (Impostazioni › Messaggistica). */
export const messagingChannelsIt: typeof messagingChannelsEn = {
  telegram: {
    title: 'Bot Telegram',
    botToken: 'Token del bot',
    botTokenHint: 'Da @BotFather (/newbot o /token). Filo imposta da sé il webhook del bot, con un segreto tutto suo.',
  },
  discord: {
    title: 'Webhook Discord',
    channels: 'Canali',
    channelsHint:
      'In Discord: impostazioni del canale › Integrazioni › Webhook › Nuovo webhook › Copia URL. L’URL è una password: viene salvato cifrato e non è più mostrato.',
    channel: 'Nome del canale',
    webhookUrl: 'URL del webhook',
    addChannel: 'Aggiungi un canale',
    removeChannel: (name: string) => `Rimuovi ${name || 'questo canale'}`,
    publicKey: 'Chiave pubblica dell’applicazione (facoltativa)',
    publicKeyHint:
      'Per ricevere gli slash command: la chiave pubblica della tua applicazione Discord; dopo il salvataggio imposta come Interactions endpoint l’URL mostrato qui.',
  },
  vonage: {
    title: 'SMS Vonage',
    apiKey: 'API key',
    apiSecret: 'API secret',
    signatureSecret: 'Segreto di firma',
    signatureSecretHint:
      'Dashboard › Settings › Signature secret. Ogni webhook in arrivo e di stato deve essere firmato con questo (gli altri sono rifiutati).',
    numbers: 'Numeri SMS',
    numbersHint: 'I tuoi numeri Vonage in formato internazionale, separati da virgole; il primo invia.',
  },
};
