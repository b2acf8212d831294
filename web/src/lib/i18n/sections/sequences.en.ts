/** English strings of cold-email sequences: timeline entries, notices, the sequences pages. */
export const sequencesEn = {
  enrolled: (actor: string, sequence: string) => `${actor} enrolled them in the sequence “${sequence}”`,
  stepSent: (sequence: string, position: number) => `Sequence “${sequence}”: step ${position} sent`,
  stopped: (sequence: string) => `Sequence “${sequence}” stopped`,
  completed: (sequence: string) => `Sequence “${sequence}” completed`,
  fromMailbox: (address: string) => `from ${address}`,
  reasons: {
    replied: 'they replied',
    bounced: 'the address bounced',
    unsubscribed: 'they unsubscribed',
    complained: 'they marked it as spam',
    manual: 'stopped by hand',
    deal_opened: 'a deal was opened',
    suppressed: 'the address is suppressed',
    sequence_archived: 'the sequence was archived',
    contact_removed: 'the contact was removed',
  } as Record<string, string>,
  notices: {
    reply: (contact: string, sequence: string) => `${contact} replied to your sequence “${sequence}”`,
    paused: (target: string, reason: string) => `Sequence sending from ${target} paused: ${reason}`,
  },
};
