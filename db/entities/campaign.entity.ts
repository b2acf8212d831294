import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { CAMPAIGN_STATUSES, type BlockDocument } from '#contracts/newsletters';
import { MailboxSchema } from './mailbox.entity.ts';
import { tenantOwned, timestamps, userRef, versioned } from './tenant-owned.ts';

/** One variant of an A/B campaign: its own subject and, optionally, its own content (else the campaign's). */
export interface CampaignVariant {
  key: string;
  subject: string;
  content: BlockDocument | null;
  /** Share of the test group, in percent (the variants' weights add up to 100). */
  weight: number;
}

/** What a variant compiled to when sending started (rendered once; tokens merged per recipient). */
export interface RenderedVariant {
  key: string;
  subject: string;
  html: string;
  text: string;
}

/**
 * A newsletter campaign: who it goes to (`listIds`), through which mailbox's transport (else the relay, else the
 * development outbox), its block document, and optionally an A/B test. Its send rows and counters belong to the
 * shared delivery engine (`bulk_sends`, `delivery_stats`, source `campaign`).
 */
export const CampaignSchema = defineEntity({
  name: 'Campaign',
  tableName: 'campaigns',
  properties: {
    ...tenantOwned,
    name: p.string().length(200),
    status: p.enum(CAMPAIGN_STATUSES).default('draft'),
    listIds: p
      .json<string[]>()
      .onCreate(() => [])
      .defaultRaw(`'[]'`),
    mailboxId: () =>
      p
        .manyToOne(MailboxSchema)
        .mapToPk()
        .fieldName('mailbox_id')
        .nullable()
        .deleteRule('set null')
        .updateRule('cascade'),
    fromName: p.string().length(200).nullable(),
    fromEmail: p.string().length(320).nullable(),
    replyTo: p.string().length(320).nullable(),
    subject: p.string().length(998).default(''),
    preheader: p.string().length(500).nullable(),
    content: p.json<BlockDocument>(),
    /** A/B variants (empty: no test). */
    variants: p
      .json<CampaignVariant[]>()
      .onCreate(() => [])
      .defaultRaw(`'[]'`),
    /** The A/B test: `{ metric: 'clicks' | 'replies', testPercent, waitMinutes }`; null: no test. */
    ab: p.json<{ metric: 'clicks' | 'replies'; testPercent: number; waitMinutes: number }>().nullable(),
    winnerVariant: p.string().length(8).nullable(),
    /** Why the winner won: each variant's sends and human clicks or replies when it was decided. */
    winnerReason: p.json<Record<string, unknown>>().nullable(),
    winnerAt: p.datetime().nullable(),
    /** The variants as compiled when sending started (MJML rendered once). */
    rendered: p.json<RenderedVariant[]>().nullable(),
    scheduledAt: p.datetime().nullable(),
    startedAt: p.datetime().nullable(),
    finishedAt: p.datetime().nullable(),
    createdBy: () => userRef('created_by'),
    ...timestamps,
    version: versioned(),
  },
  indexes: [{ properties: ['tenantId', 'status'] }, { properties: ['tenantId', 'createdAt'] }],
});
export type Campaign = InferEntity<typeof CampaignSchema>;
