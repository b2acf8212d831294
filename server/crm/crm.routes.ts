import { raw, type FilterQuery } from '@mikro-orm/core';
import { z } from 'zod';
import { ApiRouter, sendJsonText } from '../http/routes.ts';
import { parseBody, parseQuery, presentQuery } from '../http/validate.ts';
import { validationError } from '../http/errors.ts';
import { actorOf } from '../auth/auth.middleware.ts';
import type { Services } from '../services.ts';
import type { RecordRow, RecordType } from './records.service.ts';
import {
  companyInput,
  companyListQuery,
  companyPatch,
  contactInput,
  contactListQuery,
  contactPatch,
  dealInput,
  dealListQuery,
  dealPatch,
  notePatch,
  noteInput,
  timelineQuery,
  uuid,
} from './crm.schemas.ts';
import { customFieldInput, customFieldPatch } from './custom-fields.service.ts';
import { savedViewInput } from './saved-views.service.ts';
import { documentRoutes } from './documents.routes.ts';
import { exportCsv, importRoutes } from './imports.routes.ts';
import { pipelineStageRoutes } from './pipeline-stages.routes.ts';
import type { Request } from 'express';
import { recordType } from '#contracts/common';
import { timelinePage } from '#contracts/timeline';
import {
  company,
  companyPage,
  contact,
  contactPage,
  customFieldDef,
  customFieldList,
  deal,
  dealPage,
  fullContext,
  type ImportType,
  note,
  noteList,
  pipeline,
  savedView,
  savedViewList,
} from '#contracts/crm';

const idParam = z.object({ id: uuid });
const parseId = (params: unknown) => {
  const r = idParam.safeParse(params);
  // A malformed id cannot exist: answer as for any unknown id.
  if (!r.success) throw Object.assign(validationError(r.error, 'params'), { status: 404, code: 'not_found' });
  return r.data.id;
};

const orderFrom = (sort: string, fieldMap: Record<string, string>) => {
  const desc = sort.startsWith('-');
  const key = fieldMap[desc ? sort.slice(1) : sort]!;
  return { [key]: desc ? 'desc' : 'asc' } as Record<string, 'asc' | 'desc'>;
};

/** `cf.<name>=<value>` query parameters filter on custom field values. */
function customFieldFilters(query: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(query)) {
    if (!key.startsWith('cf.') || typeof value !== 'string') continue;
    const name = key.slice(3);
    if (!/^[a-z][a-z0-9_]{0,99}$/.test(name)) continue;
    out[name] =
      value === 'true' ? true : value === 'false' ? false : /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
  }
  return out;
}

/**
 * The custom field filters as JSON containment: a value of another type than the field's simply matches nothing
 * (a typed comparison would cast every row's value, and fail on the first of another type).
 */
const customFieldsContain = (cf: Record<string, unknown>): Record<string, unknown> =>
  Object.keys(cf).length ? { [raw((alias) => `${alias}.custom_fields @> ?::jsonb`, [JSON.stringify(cf)])]: [] } : {};

const like = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export function crmRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('/crm');

  /** What differs between companies, contacts and deals on the shared record routes. */
  interface RecordApi {
    /** Singular and plural, for the summaries. */
    names: [string, string];
    input: z.ZodType<Record<string, unknown>>;
    patch: z.ZodType<Record<string, unknown>>;
    query: z.ZodType;
    item: z.ZodType;
    page: z.ZodType;
  }

  const recordRoutes = (
    type: RecordType,
    path: string,
    api: RecordApi,
    list: (query: Record<string, unknown>) => {
      where: FilterQuery<RecordRow>;
      orderBy: Record<string, 'asc' | 'desc'>;
      limit: number;
      cursor: string | undefined;
    },
  ) => {
    const [one, many] = api.names;
    const filters = `; \`cf.<name>=<value>\` filters on a custom field`;
    r.get(
      path,
      { summary: `List ${many} (keyset pages${filters})`, query: api.query, response: api.page },
      async (req, res) => {
        const { where, orderBy, limit, cursor } = list(presentQuery(req));
        const text = await s.records.listJson(actorOf(req), type, where, orderBy, limit, cursor);
        if (text !== null) sendJsonText(res, text);
        else res.json(await s.records.list(actorOf(req), type, where, orderBy, limit, cursor));
      },
    );
    r.post(path, { summary: `Create a ${one}`, body: api.input, response: api.item, status: 201 }, async (req, res) => {
      res.status(201).json(await s.records.create(actorOf(req), type, parseBody(api.input, req)));
    });
    r.get(`${path}/:id`, { summary: `Get a ${one}`, response: api.item }, async (req, res) => {
      res.json(await s.records.get(actorOf(req), type, parseId(req.params)));
    });
    r.patch(`${path}/:id`, { summary: `Update a ${one}`, body: api.patch, response: api.item }, async (req, res) => {
      res.json(await s.records.update(actorOf(req), type, parseId(req.params), parseBody(api.patch, req)));
    });
    r.delete(`${path}/:id`, { summary: `Delete a ${one}`, response: 'empty' }, async (req, res) => {
      await s.records.remove(actorOf(req), type, parseId(req.params));
      res.status(204).end();
    });
  };

  const companyList = (query: Record<string, unknown>) => {
    const q = companyListQuery.safeParse(query);
    if (!q.success) throw validationError(q.error, 'query');
    const where: Record<string, unknown> = {};
    if (q.data.q) where.name = { $ilike: like(q.data.q) };
    if (q.data.type) where.type = q.data.type;
    if (q.data.status) where.status = q.data.status;
    if (q.data.tag) where.tags = { $contains: [q.data.tag] };
    if (q.data.assignedTo) where.assignedTo = q.data.assignedTo;
    const cf = customFieldFilters(query);
    Object.assign(where, customFieldsContain(cf));
    const orderBy = orderFrom(q.data.sort, { name: 'name', createdAt: 'createdAt', updatedAt: 'updatedAt' });
    return { where: where as FilterQuery<RecordRow>, orderBy, limit: q.data.limit, cursor: q.data.cursor };
  };

  const contactList = (query: Record<string, unknown>) => {
    const q = contactListQuery.safeParse(query);
    if (!q.success) throw validationError(q.error, 'query');
    const where: Record<string, unknown> = {};
    if (q.data.q) {
      const pattern = like(q.data.q);
      where.$or = [
        { firstName: { $ilike: pattern } },
        { lastName: { $ilike: pattern } },
        { email: { $ilike: pattern } },
      ];
    }
    if (q.data.companyId) where.companyId = q.data.companyId;
    const cf = customFieldFilters(query);
    Object.assign(where, customFieldsContain(cf));
    const orderBy = q.data.sort.endsWith('name')
      ? {
          lastName: q.data.sort.startsWith('-') ? 'desc' : 'asc',
          firstName: q.data.sort.startsWith('-') ? 'desc' : 'asc',
        }
      : orderFrom(q.data.sort, { createdAt: 'createdAt' });
    return {
      where: where as FilterQuery<RecordRow>,
      orderBy: orderBy as Record<string, 'asc' | 'desc'>,
      limit: q.data.limit,
      cursor: q.data.cursor,
    };
  };

  // Before the `/:id` routes, which would otherwise take "export.csv" for an id.
  const exportPages = (type: ImportType, list: typeof companyList) => async (req: Request, cursor?: string) => {
    const { where, orderBy } = list({ ...presentQuery(req), limit: '200' });
    if (!cursor)
      await s.audit.log(actorOf(req), {
        action: 'export.crm_csv',
        targetType: type,
        summary: `Exported the ${type} list as CSV`,
        after: { filters: presentQuery(req) },
      });
    return s.records.list(actorOf(req), type, where, orderBy, 200, cursor);
  };
  const csv = { file: 'text/csv' } as const;
  r.get(
    '/companies/export.csv',
    { summary: 'Export the filtered company list as CSV', query: companyListQuery, response: csv },
    exportCsv('company', 'companies.csv', exportPages('company', companyList)),
  );
  r.get(
    '/contacts/export.csv',
    { summary: 'Export the filtered contact list as CSV', query: contactListQuery, response: csv },
    exportCsv('contact', 'contacts.csv', exportPages('contact', contactList)),
  );
  recordRoutes(
    'company',
    '/companies',
    {
      names: ['company', 'companies'],
      input: companyInput,
      patch: companyPatch,
      query: companyListQuery,
      item: company,
      page: companyPage,
    },
    companyList,
  );
  recordRoutes(
    'contact',
    '/contacts',
    {
      names: ['contact', 'contacts'],
      input: contactInput,
      patch: contactPatch,
      query: contactListQuery,
      item: contact,
      page: contactPage,
    },
    contactList,
  );

  const dealApi: RecordApi = {
    names: ['deal', 'deals'],
    input: dealInput,
    patch: dealPatch,
    query: dealListQuery,
    item: deal,
    page: dealPage,
  };
  recordRoutes('deal', '/deals', dealApi, (query) => {
    const q = dealListQuery.safeParse(query);
    if (!q.success) throw validationError(q.error, 'query');
    const where: Record<string, unknown> = {};
    if (q.data.q) where.title = { $ilike: like(q.data.q) };
    if (q.data.companyId) where.companyId = q.data.companyId;
    if (q.data.stage) where.stage = q.data.stage;
    const cf = customFieldFilters(query);
    Object.assign(where, customFieldsContain(cf));
    const orderBy = orderFrom(q.data.sort, { createdAt: 'createdAt', title: 'title' });
    return { where: where as FilterQuery<RecordRow>, orderBy, limit: q.data.limit, cursor: q.data.cursor };
  });

  const viewsQuery = z.object({ entityType: recordType });
  r.get(
    '/views',
    { summary: "A list's saved views: one's own and the shared ones", query: viewsQuery, response: savedViewList },
    async (req, res) => {
      const q = parseQuery(viewsQuery, req);
      res.json({ items: await s.savedViews.list(actorOf(req), q.entityType) });
    },
  );
  r.post(
    '/views',
    { summary: 'Save a view (list filters)', body: savedViewInput, response: savedView, status: 201 },
    async (req, res) => {
      res.status(201).json(await s.savedViews.create(actorOf(req), parseBody(savedViewInput, req)));
    },
  );
  r.delete('/views/:id', { summary: 'Delete a saved view', response: 'empty' }, async (req, res) => {
    await s.savedViews.remove(actorOf(req), parseId(req.params));
    res.status(204).end();
  });

  const pipelineQuery = z.object({ companyId: uuid.optional() });
  r.get(
    '/pipeline',
    { summary: 'Deals per stage, with their value per currency', query: pipelineQuery, response: pipeline },
    async (req, res) => {
      const q = parseQuery(pipelineQuery, req);
      res.json({ stages: await s.records.pipeline(actorOf(req), q.companyId) });
    },
  );

  r.get(
    '/companies/:id/full-context',
    {
      summary: 'A company with its contacts, deals, recent notes and activities, and documents (one read)',
      response: fullContext,
    },
    async (req, res) => {
      res.json(await s.fullContext.get(actorOf(req), parseId(req.params)));
    },
  );

  const notesQuery = z.object({ entityType: recordType, entityId: uuid });
  r.get(
    '/notes',
    { summary: "A record's notes, pinned first", query: notesQuery, response: noteList },
    async (req, res) => {
      const q = parseQuery(notesQuery, req);
      res.json({ items: await s.notes.list(actorOf(req), q.entityType, q.entityId) });
    },
  );
  r.post(
    '/notes',
    { summary: 'Write a note (mentions notify)', body: noteInput, response: note, status: 201 },
    async (req, res) => {
      res.status(201).json(await s.notes.create(actorOf(req), parseBody(noteInput, req)));
    },
  );
  r.patch('/notes/:id', { summary: 'Edit a note', body: notePatch, response: note }, async (req, res) => {
    res.json(await s.notes.update(actorOf(req), parseId(req.params), parseBody(notePatch, req)));
  });
  r.delete('/notes/:id', { summary: 'Delete a note', response: 'empty' }, async (req, res) => {
    await s.notes.remove(actorOf(req), parseId(req.params));
    res.status(204).end();
  });

  r.get(
    '/timeline',
    {
      summary: 'Timeline, newest first: the workspace, or one record (a company includes its contacts and deals)',
      query: timelineQuery,
      response: timelinePage,
    },
    async (req, res) => {
      const q = parseQuery(timelineQuery, req);
      const text = await s.activities.timelineJson(actorOf(req), q);
      if (text !== null) sendJsonText(res, text);
      else res.json({ items: await s.activities.timeline(actorOf(req), q) });
    },
  );

  const customFieldsQuery = z.object({ entityType: recordType.optional() });
  r.get(
    '/custom-fields',
    { summary: 'Custom field definitions, in display order', query: customFieldsQuery, response: customFieldList },
    async (req, res) => {
      const q = parseQuery(customFieldsQuery, req);
      res.json({ items: await s.customFields.list(actorOf(req), q.entityType) });
    },
  );
  r.post(
    '/custom-fields',
    { summary: 'Define a custom field (admins)', body: customFieldInput, response: customFieldDef, status: 201 },
    async (req, res) => {
      res.status(201).json(await s.customFields.create(actorOf(req), parseBody(customFieldInput, req)));
    },
  );
  r.patch(
    '/custom-fields/:id',
    { summary: 'Change a custom field definition (admins)', body: customFieldPatch, response: customFieldDef },
    async (req, res) => {
      const patch = parseBody(customFieldPatch, req);
      res.json(await s.customFields.update(actorOf(req), parseId(req.params), patch));
    },
  );
  r.delete(
    '/custom-fields/:id',
    { summary: 'Delete a custom field definition (admins)', response: 'empty' },
    async (req, res) => {
      await s.customFields.remove(actorOf(req), parseId(req.params));
      res.status(204).end();
    },
  );

  documentRoutes(r, s);
  importRoutes(r, s);
  pipelineStageRoutes(r, s);

  return r;
}
