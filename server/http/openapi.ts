import { z } from 'zod';
import type { RouteInfo } from './routes.ts';
import { acceptBody, loginBody, signupBody } from '../auth/auth.routes.ts';
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
  noteInput,
  notePatch,
  timelineQuery,
} from '../crm/crm.schemas.ts';
import { customFieldInput, customFieldPatch } from '../crm/custom-fields.service.ts';

interface Described {
  summary: string;
  body?: z.ZodType;
  query?: z.ZodType;
}

/** Request schemas of the routes, the same zod objects the routes parse with. */
const DESCRIBED: Record<string, Described> = {
  'post /api/auth/signup': { summary: 'Create a workspace and its owner', body: signupBody },
  'post /api/auth/login': { summary: 'Sign in', body: loginBody },
  'post /api/auth/accept-invite': { summary: 'Accept an invitation', body: acceptBody },
  'get /api/crm/companies': { summary: 'List companies (keyset pages)', query: companyListQuery },
  'post /api/crm/companies': { summary: 'Create a company', body: companyInput },
  'patch /api/crm/companies/:id': { summary: 'Update a company', body: companyPatch },
  'get /api/crm/contacts': { summary: 'List contacts', query: contactListQuery },
  'post /api/crm/contacts': { summary: 'Create a contact', body: contactInput },
  'patch /api/crm/contacts/:id': { summary: 'Update a contact', body: contactPatch },
  'get /api/crm/deals': { summary: 'List deals', query: dealListQuery },
  'post /api/crm/deals': { summary: 'Create a deal', body: dealInput },
  'patch /api/crm/deals/:id': { summary: 'Update a deal (a stage change is recorded)', body: dealPatch },
  'post /api/crm/notes': { summary: 'Add a note (mentions notify)', body: noteInput },
  'patch /api/crm/notes/:id': { summary: 'Edit a note', body: notePatch },
  'get /api/crm/timeline': { summary: 'Activities, newest first', query: timelineQuery },
  'post /api/crm/custom-fields': { summary: 'Define a custom field', body: customFieldInput },
  'patch /api/crm/custom-fields/:id': { summary: 'Change a custom field', body: customFieldPatch },
};

const jsonSchema = (schema: z.ZodType) => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
};

const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        fields: { type: 'object', additionalProperties: { type: 'string' } },
      },
      required: ['code', 'message'],
    },
  },
};

/** OpenAPI 3.1 for every registered route. */
export function openApiDocument(routes: RouteInfo[], serverUrl: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const d = DESCRIBED[`${route.method} ${route.path}`];
    const path = route.path.replace(/:(\w+)/g, '{$1}');
    const params = [...route.path.matchAll(/:(\w+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string', format: 'uuid' },
    }));
    const query = d?.query
      ? Object.entries((jsonSchema(d.query).properties ?? {}) as Record<string, unknown>).map(([name, schema]) => ({
          name,
          in: 'query',
          required: false,
          schema,
        }))
      : [];
    (paths[path] ??= {})[route.method] = {
      summary: d?.summary ?? `${route.method.toUpperCase()} ${route.path}`,
      ...(params.length || query.length ? { parameters: [...params, ...query] } : {}),
      ...(d?.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(d.body) } } } }
        : {}),
      responses: {
        '2XX': { description: 'Success' },
        default: { description: 'Error', content: { 'application/json': { schema: errorSchema } } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Filo API',
      version: '0.1.0',
      description: 'Session cookie or `Authorization: Bearer <API token>`.',
    },
    servers: [{ url: serverUrl }],
    components: {
      securitySchemes: {
        cookie: { type: 'apiKey', in: 'cookie', name: 'filo_session' },
        bearer: { type: 'http', scheme: 'bearer' },
      },
    },
    security: [{ cookie: [] }, { bearer: [] }],
    paths,
  };
}
