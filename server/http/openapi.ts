import { z } from 'zod';
import { apiError } from '#contracts/common';
import { ApiRouter, type ResponseSpec, type RouteInfo, type RouteSpec } from './routes.ts';

type Io = 'input' | 'output';

/** A zod schema as JSON Schema: requests as the client writes them (`input`), answers as they travel (`output`). */
function jsonSchema(schema: z.ZodType, io: Io): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return rest;
}

const isSchema = (response: ResponseSpec): response is z.ZodType =>
  typeof response === 'object' && !('file' in response);

const ERROR = { $ref: '#/components/schemas/ApiError' };
const errorAnswer = (description: string) => ({ description, content: { 'application/json': { schema: ERROR } } });

/** The success answer of a route as OpenAPI responses, with the shared error answer beside it. */
function responses(spec: RouteSpec) {
  const failures = {
    '4XX': errorAnswer('Refused: `error.code` says why (validation_failed with `fields`, not_found, forbidden, ...)'),
    default: errorAnswer('Failed on the server'),
  };
  const { response } = spec;
  let success: [string, Record<string, unknown>];
  if (response === 'empty')
    success = [String(spec.status ?? 204), { description: spec.status ? spec.summary : 'Done, no content' }];
  else if (isSchema(response))
    success = [
      String(spec.status ?? 200),
      { description: spec.summary, content: { 'application/json': { schema: jsonSchema(response, 'output') } } },
    ];
  else
    success = [
      String(spec.status ?? 200),
      { description: spec.summary, content: { [response.file]: { schema: { type: 'string', format: 'binary' } } } },
    ];
  return { [success[0]]: success[1], ...failures };
}

// `id` and `<thing>Id` path parameters are row ids; the others are tokens, file names or content ids.
const paramSchema = (name: string) =>
  name === 'id' || name.endsWith('Id') ? { type: 'string', format: 'uuid' } : { type: 'string' };

function operation(route: RouteInfo) {
  const { spec } = route;
  const params = [...route.path.matchAll(/:(\w+)/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: paramSchema(m[1]!),
  }));
  const querySchema = spec.query ? jsonSchema(spec.query, 'input') : undefined;
  const required = new Set((querySchema?.required ?? []) as string[]);
  const query = Object.entries((querySchema?.properties ?? {}) as Record<string, unknown>).map(([name, schema]) => ({
    name,
    in: 'query',
    required: required.has(name),
    schema,
  }));
  return {
    summary: spec.summary,
    ...(spec.public ? { security: [] } : {}),
    ...(params.length || query.length ? { parameters: [...params, ...query] } : {}),
    ...(spec.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(spec.body, 'input') } } } }
      : {}),
    responses: responses(spec),
  };
}

/** OpenAPI 3.1 for every registered route, made from the contracts the routes declare where they are registered. */
export function openApiDocument(routes: RouteInfo[], serverUrl: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) (paths[route.path.replace(/:(\w+)/g, '{$1}')] ??= {})[route.method] = operation(route);
  return {
    openapi: '3.1.0' as const,
    info: {
      title: 'Filo API',
      version: '0.1.0',
      description: 'Session cookie or `Authorization: Bearer <API token>`.',
    },
    servers: [{ url: serverUrl }],
    components: {
      schemas: { ApiError: jsonSchema(apiError, 'output') },
      securitySchemes: {
        cookie: { type: 'apiKey', in: 'cookie', name: 'filo_session' },
        bearer: { type: 'http', scheme: 'bearer' },
      },
    },
    security: [{ cookie: [] }, { bearer: [] }],
    paths,
  };
}

/** What `GET /api/openapi.json` answers: checked loosely, the document is generated from the schemas themselves. */
export const openApiAnswer = z.looseObject({
  openapi: z.literal('3.1.0'),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(
    z.string(),
    z.record(z.string(), z.looseObject({ summary: z.string(), responses: z.looseObject({}) })),
  ),
});

/**
 * `GET /api/openapi.json`, public like the code it describes. `routes` is read at the first request, so that the
 * document includes every router registered by then, this one too.
 */
export function openApiRoutes(routes: () => RouteInfo[], serverUrl: string): ApiRouter {
  const r = new ApiRouter('');
  let document: ReturnType<typeof openApiDocument> | undefined;
  const spec = { summary: 'This document: OpenAPI 3.1 of every route', response: openApiAnswer, public: true } as const;
  r.get('/openapi.json', spec, (_req, res) => {
    res.json((document ??= openApiDocument(routes(), serverUrl)));
  });
  return r;
}
