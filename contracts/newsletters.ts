import { z } from './zod.ts';

/**
 * The newsletter vocabulary shared by lists, campaigns and their editor: the block document a campaign's content
 * is saved as (compiled to responsive HTML with MJML on the server, drawn by the block editor in the web), the
 * kinds of list and the life of a campaign. Request and answer shapes live beside it: `newsletter-lists.ts`,
 * `campaigns.ts`, `campaign-report.ts`.
 */

export const LIST_KINDS = ['static', 'segment'] as const;
export const listKind = z.enum(LIST_KINDS);
export type ListKind = z.infer<typeof listKind>;

/**
 * `draft` (editable), `scheduled` (starts at `scheduledAt`), `sending` (snapshot taken, rows going out),
 * `paused`, `cancelled` (rows not yet sent are cancelled), `sent` (every row terminal).
 */
export const CAMPAIGN_STATUSES = ['draft', 'scheduled', 'sending', 'paused', 'cancelled', 'sent'] as const;
export const campaignStatus = z.enum(CAMPAIGN_STATUSES);
export type CampaignStatus = z.infer<typeof campaignStatus>;

/** What picks an A/B winner: people's clicks or replies (machine opens never count). */
export const AB_METRICS = ['clicks', 'replies'] as const;
export const abMetric = z.enum(AB_METRICS);

// ---- The block document

const blockId = z.string().min(1).max(40);
/** A link in a block: http(s) or mailto, or a merge token such as `{{unsubscribe_url}}`. */
const href = z
  .string()
  .trim()
  .max(2000)
  .refine((v) => /^(https?:\/\/|mailto:|\{\{)/i.test(v), {
    message: 'must start with https://, http://, mailto: or a {{token}}',
  });
const color = z.string().regex(/^#[0-9a-fA-F]{6}$/, { message: 'must be a colour like #1a2b3c' });
const align = z.enum(['left', 'center', 'right']);

export const SOCIAL_NETWORKS = ['facebook', 'x', 'linkedin', 'instagram', 'youtube', 'github', 'web'] as const;

const heading = z
  .object({
    id: blockId,
    type: z.literal('heading'),
    text: z.string().max(500),
    level: z.union([z.literal(1), z.literal(2), z.literal(3)]).default(1),
    align: align.default('left'),
  })
  .strict();
/** Markdown (bold, italics, links, lists): rendered and sanitized on the server. */
const text = z
  .object({ id: blockId, type: z.literal('text'), markdown: z.string().max(50_000), align: align.default('left') })
  .strict();
const image = z
  .object({
    id: blockId,
    type: z.literal('image'),
    src: z.string().trim().url().max(2000),
    alt: z.string().max(500).default(''),
    href: href.optional(),
    width: z.number().int().min(20).max(600).optional(),
    align: align.default('center'),
  })
  .strict();
const button = z
  .object({
    id: blockId,
    type: z.literal('button'),
    label: z.string().min(1).max(200),
    href,
    color: color.default('#2563eb'),
    align: align.default('center'),
  })
  .strict();
const divider = z.object({ id: blockId, type: z.literal('divider'), color: color.default('#e5e7eb') }).strict();
const spacer = z
  .object({ id: blockId, type: z.literal('spacer'), height: z.number().int().min(4).max(200).default(24) })
  .strict();
const social = z
  .object({
    id: blockId,
    type: z.literal('social'),
    links: z.array(z.object({ network: z.enum(SOCIAL_NETWORKS), url: href }).strict()).max(10),
  })
  .strict();
/** Raw HTML for those who want it: sanitized (no scripts, no handlers), kept otherwise as written. */
const html = z.object({ id: blockId, type: z.literal('html'), html: z.string().max(100_000) }).strict();
/** The footer every campaign must have: the sender's postal address (CAN-SPAM) and the unsubscribe link (added). */
const footer = z
  .object({
    id: blockId,
    type: z.literal('footer'),
    address: z.string().trim().min(1).max(500),
    text: z.string().max(2000).default(''),
  })
  .strict();

const leafBlock = z.discriminatedUnion('type', [heading, text, image, button, divider, spacer, social, html]);
export type LeafBlock = z.infer<typeof leafBlock>;
const columns = z
  .object({ id: blockId, type: z.literal('columns'), columns: z.array(z.array(leafBlock).max(20)).min(2).max(3) })
  .strict();
export const block = z.discriminatedUnion('type', [
  heading,
  text,
  image,
  button,
  divider,
  spacer,
  social,
  html,
  footer,
  columns,
]);
export type Block = z.infer<typeof block>;
export type BlockType = Block['type'];
export const BLOCK_TYPES: readonly BlockType[] = [
  'heading',
  'text',
  'image',
  'button',
  'columns',
  'divider',
  'spacer',
  'social',
  'html',
  'footer',
];

export const blockDocument = z
  .object({
    version: z.literal(1).default(1),
    settings: z
      .object({
        background: color.default('#f3f4f6'),
        contentBackground: color.default('#ffffff'),
        textColor: color.default('#111827'),
        accent: color.default('#2563eb'),
        font: z.enum(['sans', 'serif']).default('sans'),
      })
      .strict()
      .default({
        background: '#f3f4f6',
        contentBackground: '#ffffff',
        textColor: '#111827',
        accent: '#2563eb',
        font: 'sans',
      }),
    blocks: z.array(block).max(200),
  })
  .strict();
export type BlockDocument = z.infer<typeof blockDocument>;
