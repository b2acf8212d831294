import type { TokenFamily } from '#contracts/auth';

/** English strings of Settings > API tokens: grants, expiry and rate limit. */
export const apiTokensEn = {
  access: 'Access',
  accessModes: { full: 'Full access, every area', read: 'Read only, every area', scoped: 'Chosen areas' },
  grantsLegend: 'What the token may do, area by area',
  noLive:
    'Live updates (and wall screens) need a full or read-only token: a token for chosen areas reads and writes over the API only.',
  families: {
    crm: 'CRM: companies, contacts, deals, notes, search',
    inbox: 'Inbox and email',
    linked: 'Linked records: projects, invoices, production jobs',
    tasks: 'Tasks',
    meetings: 'Meetings',
    marketing: 'Newsletters and sequences',
    webhooks: 'Webhooks',
    workflows: 'Workflows',
    settings: 'Settings: team, tokens, email accounts, audit log',
  } satisfies Record<TokenFamily, string>,
  familyShort: {
    crm: 'CRM',
    inbox: 'Inbox',
    linked: 'Linked records',
    tasks: 'Tasks',
    meetings: 'Meetings',
    marketing: 'Newsletters and sequences',
    webhooks: 'Webhooks',
    workflows: 'Workflows',
    settings: 'Settings',
  } satisfies Record<TokenFamily, string>,
  levels: { none: 'No access', read: 'Read', write: 'Read and write' },
  kinds: 'Kinds of linked record',
  kindsHint: 'Separated by commas, e.g. project, invoice. Empty: every kind.',
  badKinds: 'Kinds are lowercase words: letters, digits and _.',
  noGrants: 'Choose at least one area.',
  expiresAt: 'Expires on (optional)',
  rateLimit: 'Requests per minute',
  expires: 'Expires',
  neverExpires: 'Never',
  expired: 'Expired',
  limitShort: (n: number) => `${n}/min`,
};
