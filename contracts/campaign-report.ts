import { z } from './zod.ts';
import { isoDate, uuid } from './common.ts';
import { deliveryHour, deliveryLink } from './delivery.ts';
import { abMetric, campaignStatus } from './newsletters.ts';

/**
 * A campaign's report (every number from the counters kept on write, never by counting send rows), a list's
 * growth per day, and the overview of recent campaigns.
 */

/** The numbers of a campaign, or of one of its variants. */
export const reportNumbers = z.object({
  recipients: z.number().int(),
  sent: z.number().int(),
  /** Sent and not bounced back. */
  delivered: z.number().int(),
  bounced: z.number().int(),
  failed: z.number().int(),
  suppressed: z.number().int(),
  cancelled: z.number().int(),
  /** Unique people who opened (machine loads never count). */
  opened: z.number().int(),
  /** Unique people who clicked. */
  clicked: z.number().int(),
  replied: z.number().int(),
  unsubscribed: z.number().int(),
  complained: z.number().int(),
  /** Shares of `delivered` (0..1; 0 when nothing was delivered). */
  rates: z.object({
    delivered: z.number(),
    bounced: z.number(),
    opened: z.number(),
    clicked: z.number(),
    replied: z.number(),
    unsubscribed: z.number(),
    complained: z.number(),
    /** Clickers among openers. */
    clickToOpen: z.number(),
  }),
});
export type ReportNumbers = z.infer<typeof reportNumbers>;

/** One variant when the A/B winner was chosen. */
export const abVariantResult = z.object({
  key: z.string(),
  sent: z.number().int(),
  clicks: z.number().int(),
  replies: z.number().int(),
  rate: z.number(),
});
/** What decided: the metric's rate, a tie on it broken by the other metric's rate, or a tie on both by key. */
export const AB_RULES = ['metric', 'other_metric', 'key'] as const;
export type AbRule = (typeof AB_RULES)[number];
/** Why the winner won, as stored with it. */
export const abReason = z.object({
  metric: abMetric,
  rule: z.enum(AB_RULES),
  variants: z.array(abVariantResult),
  decidedAt: isoDate,
});
export type AbReason = z.infer<typeof abReason>;

export const campaignReport = z.object({
  campaign: z.object({
    id: uuid,
    name: z.string(),
    subject: z.string(),
    status: campaignStatus,
    startedAt: isoDate.nullable(),
    finishedAt: isoDate.nullable(),
  }),
  totals: reportNumbers,
  variants: z.array(reportNumbers.extend({ key: z.string(), subject: z.string().nullable(), held: z.boolean() })),
  hourly: z.array(deliveryHour),
  links: z.array(deliveryLink),
  ab: z
    .object({
      metric: abMetric,
      testPercent: z.number(),
      waitMinutes: z.number(),
      /** When the wait is over (null until sending started). */
      decidesAt: isoDate.nullable(),
      winner: z.string().nullable(),
      winnerAt: isoDate.nullable(),
      reason: abReason.nullable(),
    })
    .nullable(),
  /** Rows done (sent, bounced, failed, suppressed or cancelled) out of the recipients. */
  progress: z.object({ terminal: z.number().int(), recipients: z.number().int(), ratio: z.number() }),
});
export type CampaignReport = z.infer<typeof campaignReport>;

export const growthQuery = z.object({ days: z.coerce.number().int().min(1).max(730).default(90) });
export const listGrowth = z.object({
  listId: uuid,
  days: z.array(
    z.object({ day: z.string(), subscribed: z.number().int(), unsubscribed: z.number().int(), net: z.number().int() }),
  ),
  /** Subscribers now. */
  total: z.number().int(),
});
export type ListGrowth = z.infer<typeof listGrowth>;

export const overviewQuery = z.object({ limit: z.coerce.number().int().min(1).max(50).default(12) });
export const campaignsOverview = z.object({
  items: z.array(
    z.object({
      id: uuid,
      name: z.string(),
      status: campaignStatus,
      startedAt: isoDate.nullable(),
      sent: z.number().int(),
      openRate: z.number(),
      clickRate: z.number(),
    }),
  ),
});
export type CampaignsOverview = z.infer<typeof campaignsOverview>;
