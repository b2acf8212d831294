import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { HttpError } from '../http/errors.ts';
import type { RecordsService } from '../crm/records.service.ts';
import { pgArray } from '../newsletters/segments.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import { authorOf, type UnitOfWork } from '../tenancy.ts';

/** At most this many prospects in one enrolment (one insert and one timeline entry each, in one transaction). */
export const MAX_ENROL = 5_000;

/** Header names understood, English and Italian, compared lower-cased without spaces, dashes or underscores. */
const HEADERS = {
  email: ['email', 'emailaddress', 'mail', 'indirizzoemail', 'posta'],
  firstName: ['firstname', 'first', 'givenname', 'nome'],
  lastName: ['lastname', 'last', 'surname', 'familyname', 'cognome'],
  name: ['name', 'fullname', 'nomecompleto', 'contatto', 'contact'],
  company: ['company', 'companyname', 'organization', 'organisation', 'azienda', 'societa', 'società'],
} as const;
type Column = keyof typeof HEADERS;

const email = z.email().max(255);
const clip = (s: string | undefined, n: number) => (s ?? '').trim().slice(0, n);

export interface CsvProspects {
  /** Contact ids of the CSV's valid addresses (existing contacts, or made now), once each. */
  contactIds: string[];
  /** Rows without a usable address. */
  noEmail: number;
}

function columnsOf(header: string[]): Partial<Record<Column, number>> {
  const out: Partial<Record<Column, number>> = {};
  for (const [i, raw] of header.entries()) {
    const key = raw.toLowerCase().replace(/[\s_-]+/g, '');
    for (const [column, names] of Object.entries(HEADERS) as [Column, readonly string[]][])
      if (out[column] === undefined && names.includes(key)) out[column] = i;
  }
  return out;
}

/**
 * A CSV of prospects: an email column is required; an address that is not yet a contact becomes one, with its
 * name (first/last, or a full name split at the first space, else the address's local part) and its company (found
 * by name, or made) when those columns are there. 400 `invalid_csv` when the text does not parse.
 */
export async function csvProspects(
  uow: UnitOfWork,
  deps: { records: RecordsService; activities: ActivitiesService },
  csv: string,
): Promise<CsvProspects> {
  let rows: string[][];
  try {
    rows = parse(csv, {
      bom: true,
      skip_empty_lines: true,
      relax_column_count: true,
      max_record_size: 65_536,
      to: MAX_ENROL + 2,
    }) as string[][];
  } catch (err) {
    throw new HttpError(400, 'invalid_csv', 'The CSV could not be read', { csv: (err as Error).message.slice(0, 200) });
  }
  const [header, ...body] = rows;
  const col = columnsOf(header ?? []);
  if (col.email === undefined)
    throw new HttpError(400, 'validation_failed', 'The CSV needs an email column', { csv: 'add an "email" column' });
  if (body.length > MAX_ENROL)
    throw new HttpError(400, 'too_many_prospects', `At most ${MAX_ENROL} prospects at once`, {
      csv: `at most ${MAX_ENROL} rows`,
    });
  const at = (row: string[], c: Column) => (col[c] === undefined ? '' : (row[col[c]] ?? '').trim());
  let noEmail = 0;
  const byAddress = new Map<string, string[]>();
  for (const row of body) {
    const address = at(row, 'email').toLowerCase();
    if (!email.safeParse(address).success) noEmail++;
    else if (!byAddress.has(address)) byAddress.set(address, row);
  }
  const addresses = [...byAddress.keys()];
  const found = addresses.length
    ? ((await uow.em.execute(
        `select distinct on (lower(email)) id, lower(email) as address from contacts
          where tenant_id = filo_current_tenant() and lower(email) = any(?::text[])
          order by lower(email), created_at`,
        [pgArray(addresses)],
      )) as { id: string; address: string }[])
    : [];
  const known = new Map(found.map((r) => [r.address, r.id]));
  const missing = addresses.filter((a) => !known.has(a));
  const companies = await companiesFor(
    uow,
    deps.records,
    missing.map((a) => clip(at(byAddress.get(a)!, 'company'), 255)),
  );
  const made = missing.map((address) => {
    const row = byAddress.get(address)!;
    let first = at(row, 'firstName');
    let last = at(row, 'lastName');
    const full = at(row, 'name');
    if (!first && !last && full) [first, last] = [full.split(/\s+/)[0]!, full.split(/\s+/).slice(1).join(' ')];
    const company = clip(at(row, 'company'), 255);
    return {
      address,
      firstName: clip(first || address.slice(0, address.indexOf('@')), 100),
      lastName: clip(last || '-', 100),
      companyId: company ? (companies.get(company.toLowerCase()) ?? null) : null,
    };
  });
  if (made.length) {
    const inserted = (await uow.em.execute(
      `insert into contacts (id, tenant_id, first_name, last_name, email, company_id, created_by)
       select gen_random_uuid(), filo_current_tenant(), u.first_name, u.last_name, u.email, u.company_id, ?
         from unnest(?::text[], ?::text[], ?::text[], ?::uuid[]) as u(first_name, last_name, email, company_id)
       returning id, email, company_id, first_name, last_name`,
      [
        authorOf(uow.actor),
        pgArray(made.map((m) => m.firstName)),
        pgArray(made.map((m) => m.lastName)),
        pgArray(made.map((m) => m.address)),
        `{${made.map((m) => m.companyId ?? 'NULL').join(',')}}`,
      ],
    )) as { id: string; email: string; company_id: string | null; first_name: string; last_name: string }[];
    for (const r of inserted) known.set(r.email, r.id);
    await deps.activities.recordMany(
      uow,
      inserted.map((r) => ({
        entityType: 'contact',
        entityId: r.id,
        companyId: r.company_id,
        type: 'contact.created',
        title: `Contact created: ${r.first_name} ${r.last_name}`,
        data: { name: `${r.first_name} ${r.last_name}` },
      })),
    );
  }
  return { contactIds: addresses.map((a) => known.get(a)!), noEmail };
}

/** Companies by lower-cased name: found (the oldest of a name), or made as the CRM makes them. */
async function companiesFor(uow: UnitOfWork, records: RecordsService, names: string[]): Promise<Map<string, string>> {
  const wanted = [...new Map(names.filter(Boolean).map((n) => [n.toLowerCase(), n])).entries()];
  if (!wanted.length) return new Map();
  const rows = (await uow.em.execute(
    `select distinct on (lower(name)) id, lower(name) as key from companies
      where tenant_id = filo_current_tenant() and lower(name) = any(?::text[]) order by lower(name), created_at`,
    [pgArray(wanted.map(([k]) => k))],
  )) as { id: string; key: string }[];
  const out = new Map(rows.map((r) => [r.key, r.id]));
  for (const [key, name] of wanted)
    if (!out.has(key)) out.set(key, (await records.createIn(uow, 'company', { name, type: 'client' })).id);
  return out;
}
