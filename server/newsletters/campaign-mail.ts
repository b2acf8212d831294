import type { EntityManager } from '@mikro-orm/postgresql';
import type { BlockDocument } from '#contracts/newsletters';
import type { Campaign, RenderedVariant } from '../../db/entities/campaign.entity.ts';
import { mergePieces, splitHtml, splitText, type MergeValues, type Piece } from './merge.ts';

/** One variant to compile: its key ('' without an A/B test), subject and content. */
export interface VariantSource {
  key: string;
  subject: string;
  content: BlockDocument;
}

/** The campaign's variants, or the campaign itself as the one variant `''`. */
export function variantSources(c: Pick<Campaign, 'variants' | 'subject' | 'content'>): VariantSource[] {
  if (!c.variants.length) return [{ key: '', subject: c.subject, content: c.content }];
  return c.variants.map((v) => ({ key: v.key, subject: v.subject, content: v.content ?? c.content }));
}

/** A rendered variant split once into parts, so that each recipient's copy is a join. */
export interface PreparedVariant {
  key: string;
  subject: Piece[];
  html: Piece[];
  text: Piece[];
}

export const prepareVariant = (r: RenderedVariant): PreparedVariant => ({
  key: r.key,
  subject: splitText(r.subject),
  html: splitHtml(r.html),
  text: splitText(r.text),
});

export interface MergedMail {
  subject: string;
  html: string;
  text: string;
}

/** One recipient's copy; `pixel`: the open-tracking image's URL, put last in the body. */
export function mergeMail(
  p: PreparedVariant,
  values: MergeValues,
  opts: { link?: (index: number) => string; pixel?: string } = {},
): MergedMail {
  // a URL met twice in the body is signed once
  const signed = new Map<number, string>();
  const sign = opts.link;
  const link = sign && ((i: number) => signed.get(i) ?? signed.set(i, sign(i)).get(i)!);
  let html = mergePieces(p.html, values, { html: true, ...(link ? { link } : {}) });
  if (opts.pixel) {
    const img = `<img src="${opts.pixel}" width="1" height="1" alt="" style="display:block;border:0;width:1px;height:1px;" />`;
    const end = html.lastIndexOf('</body>');
    html = end >= 0 ? `${html.slice(0, end)}${img}${html.slice(end)}` : html + img;
  }
  return {
    subject: mergePieces(p.subject, values, { html: false }).replace(/[\r\n]+/g, ' '),
    html,
    text: mergePieces(p.text, values, { html: false, ...(link ? { link } : {}) }),
  };
}

/** Sample values for previews and test copies without a contact. */
export const SAMPLE_VALUES: MergeValues = {
  'contact.first_name': 'Alex',
  'contact.last_name': 'Sample',
  'contact.email': 'alex@example.com',
  'company.name': 'Example Inc.',
};

/** The token values of these contacts (and their company), in one query. */
export async function contactValues(
  em: EntityManager,
  tenantId: string,
  ids: string[],
): Promise<Map<string, MergeValues>> {
  const out = new Map<string, MergeValues>();
  if (!ids.length) return out;
  const rows = (await em.execute(
    `select c.id, c.first_name, c.last_name, c.email, co.name as company_name
       from contacts c left join companies co on co.id = c.company_id and co.tenant_id = c.tenant_id
      where c.tenant_id = ? and c.id = any(?::uuid[])`,
    [tenantId, `{${ids.join(',')}}`],
  )) as { id: string; first_name: string; last_name: string; email: string | null; company_name: string | null }[];
  for (const r of rows)
    out.set(r.id, {
      'contact.first_name': r.first_name,
      'contact.last_name': r.last_name,
      'contact.email': r.email,
      'company.name': r.company_name,
    });
  return out;
}
