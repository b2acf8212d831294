/** English strings of the Telegram, Discord and Vonage account forms (Settings > Messaging). */
export const messagingChannelsEn = {
  telegram: {
    title: 'Telegram bot',
    botToken: 'Bot token',
    botTokenHint:
      'From @BotFather (/newbot or /token). Filo points the bot’s webhook at itself with a secret of its own.',
  },
  discord: {
    title: 'Discord webhooks',
    channels: 'Channels',
    channelsHint:
      'In Discord: channel settings › Integrations › Webhooks › New webhook › Copy URL. The URL is a password: it is stored encrypted and never shown again.',
    channel: 'Channel name',
    webhookUrl: 'Webhook URL',
    addChannel: 'Add a channel',
    removeChannel: (name: string) => `Remove ${name || 'this channel'}`,
    publicKey: 'Application public key (optional)',
    publicKeyHint:
      'To receive slash commands: the public key of your Discord application; after saving, set its Interactions endpoint to the URL shown here.',
  },
  vonage: {
    title: 'Vonage SMS',
    apiKey: 'API key',
    apiSecret: 'API secret',
    signatureSecret: 'Signature secret',
    signatureSecretHint:
      'Dashboard › Settings › Signature secret. Every inbound and status webhook must be signed with it (others are refused).',
    numbers: 'SMS numbers',
    numbersHint: 'Your Vonage numbers in international format, separated by commas; the first one sends.',
  },
};
