/** English strings of bulk messages and the SMS segment counter (issue 19). */
export const msgbulkEn = {
  title: 'Bulk messages',
  intro:
    'Send one text or template on one channel to the contacts of lists or segments. Opted-out numbers are skipped.',
  newBulk: 'New bulk message',
  name: 'Name',
  account: 'Account',
  channel: 'Channel',
  channels: { sms: 'SMS', whatsapp: 'WhatsApp', telegram: 'Telegram' } as Record<string, string>,
  audience: 'Lists and segments',
  text: 'Message',
  template: 'Template',
  noTemplate: 'No template: free text',
  rate: 'Pace (messages a minute)',
  rateHint: (perSecond: string) => `${perSecond} a second. Providers' long codes take about one a second.`,
  create: 'Save draft',
  start: 'Start sending',
  cancel: 'Cancel sending',
  noAccounts: 'Connect an SMS, WhatsApp or Telegram account in Settings > Messaging first.',
  empty: 'No bulk message yet.',
  states: { draft: 'Draft', sending: 'Sending', done: 'Done', cancelled: 'Cancelled' } as Record<string, string>,
  report: {
    recipients: 'Recipients',
    pending: 'Waiting',
    suppressed: 'Opted out',
    sent: 'Sent',
    delivered: 'Delivered',
    read: 'Read',
    failed: 'Failed',
  } as Record<string, string>,
  progress: (done: number, total: number) => `${done} of ${total}`,
  unreachable: (n: number) =>
    n === 1 ? '1 contact has no address on this channel.' : `${n} contacts have no address on this channel.`,
  errors: 'Provider errors',
  segments: {
    count: (chars: number, segments: number, encoding: string) =>
      `${chars} characters · ${segments} ${segments === 1 ? 'segment' : 'segments'} · ${encoding}`,
    unicode: (chars: string) => `Sent as UCS-2 (70 per message) because of: ${chars}`,
  },
};
