/* eslint-disable no-restricted-imports -- DESCRIBED: the fallback for routes that declare no spec yet, going away */
import { z } from 'zod';
import { apiError } from '#contracts/common';
import { ApiRouter, type ResponseSpec, type RouteInfo, type RouteSpec } from './routes.ts';
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
import { mailboxInput, mailboxPatch } from '../inbox/mailboxes.service.ts';
import {
  conversationCountsQuery,
  conversationListQuery,
  conversationPatch,
  noteOnConversationInput,
} from '../inbox/conversations.service.ts';
import {
  joinBody,
  meetingInput,
  meetingListQuery,
  meetingPatch,
  presenceBody,
  recordingInput,
  transcriptInput,
} from '../meetings/meetings.schemas.ts';
import { newMessageInput, replyInput } from '../outbound/outbound.service.ts';
import { renderInput, templateInput, templatePatch } from '../outbound/templates.service.ts';
import { resolveQuery, signatureInput, signaturePatch } from '../outbound/signatures.service.ts';
import { ruleInput, rulePatch } from '../inbox/rules.service.ts';

interface Described {
  summary: string;
  body?: z.ZodType;
  query?: z.ZodType;
  /** No session: the signed token in the path is the key. */
  public?: true;
}

/** Request schemas of routes that declare no spec yet: a fallback while the domains move to RouteSpec. */
const DESCRIBED: Record<string, Described> = {
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
  'post /api/inbox/mailboxes': { summary: 'Create a mailbox (admins)', body: mailboxInput },
  'patch /api/inbox/mailboxes/:id': { summary: 'Rename or configure a mailbox (admins)', body: mailboxPatch },
  'get /api/inbox/conversations': { summary: 'Conversations, latest first', query: conversationListQuery },
  'patch /api/inbox/conversations/:id': {
    summary: 'Status, assignee, tags or snooze of a conversation (optional version: 409 when stale)',
    body: conversationPatch,
  },
  'post /api/inbox/conversations/:id/read': { summary: 'Mark a conversation read for you, up to its newest message' },
  'get /api/inbox/conversations/:id/notes': { summary: 'Internal notes on a conversation' },
  'post /api/inbox/conversations/:id/notes': {
    summary: 'Add an internal note on a conversation (mentions notify)',
    body: noteOnConversationInput,
  },
  'get /api/inbox/counts': {
    summary: 'Counts for the inbox sidebar: Mine / Unassigned / All, per mailbox and per status, with unread',
    query: conversationCountsQuery,
  },
  'get /api/inbox/messages/:id/raw': { summary: 'A received message as it arrived (message/rfc822)' },
  'post /api/inbox/inbound/:id/retry': { summary: 'Process a failed message again (admins)' },
  'post /api/inbox/conversations/:id/replies': {
    summary: 'Reply (Markdown or HTML; template, signature, attachments): stored as queued, sent by a job',
    body: replyInput,
  },
  'post /api/inbox/messages': {
    summary: 'Start a conversation with a new message from a mailbox',
    body: newMessageInput,
  },
  'get /api/inbox/messages/:id/delivery': { summary: 'An outgoing message with its delivery state (Bcc, attempts)' },
  'post /api/inbox/messages/:id/retry': { summary: 'Send a failed outgoing message again' },
  'post /api/inbox/uploads': { summary: 'Upload a file to attach to a message being written (multipart, field file)' },
  'get /api/inbox/templates': { summary: 'Reply templates of the workspace' },
  'post /api/inbox/templates': {
    summary: 'Create a template (an unknown token or unbalanced braces: 422 unknown_token with its position)',
    body: templateInput,
  },
  'get /api/inbox/templates/:id': { summary: 'A template' },
  'patch /api/inbox/templates/:id': { summary: 'Change a template (tokens checked)', body: templatePatch },
  'delete /api/inbox/templates/:id': { summary: 'Delete a template' },
  'post /api/inbox/templates/:id/render': {
    summary: 'A template filled in for a conversation or a contact (composer preview)',
    body: renderInput,
  },
  'get /api/inbox/signatures': { summary: 'Your signatures and those of the mailboxes you see' },
  'get /api/inbox/signatures/default': {
    summary: 'The signature used for a mailbox: yours for it, else your default, else the mailbox’s',
    query: resolveQuery,
  },
  'post /api/inbox/signatures': { summary: 'Add a signature (yours, or a mailbox’s for admins)', body: signatureInput },
  'patch /api/inbox/signatures/:id': { summary: 'Change a signature', body: signaturePatch },
  'delete /api/inbox/signatures/:id': { summary: 'Delete a signature' },
  'get /api/inbox/mailboxes/:id/rules': { summary: 'Auto-reply rules of a mailbox, in the order they run' },
  'post /api/inbox/mailboxes/:id/rules': {
    summary: 'Add a rule (admins): conditions (from, subject, outside business hours) -> actions',
    body: ruleInput,
  },
  'patch /api/inbox/mailboxes/:id/rules/:ruleId': {
    summary: 'Change or enable/disable a rule (admins)',
    body: rulePatch,
  },
  'delete /api/inbox/mailboxes/:id/rules/:ruleId': { summary: 'Delete a rule (admins)' },
  'get /api/dev/outbox': { summary: 'Development outbox: mail kept instead of sent (admins; 404 with a relay)' },
  'get /api/meetings': { summary: 'Video meetings (per company, contact or member, by time)', query: meetingListQuery },
  'post /api/meetings': {
    summary: 'Schedule a video meeting (invitations with .ics), or start one now without scheduledAt',
    body: meetingInput,
  },
  'patch /api/meetings/:id': { summary: 'Change a meeting (host or admin; updated invitations)', body: meetingPatch },
  'post /api/meetings/:id/cancel': { summary: 'Cancel a scheduled meeting (cancellations with a higher SEQUENCE)' },
  'post /api/meetings/:id/end': { summary: 'End the call for everyone: the note and meeting.completed are posted' },
  'get /api/meetings/:id/calendar.ics': { summary: 'The meeting as an RFC 5545 invitation' },
  'get /api/meetings/:id/lobby': { summary: 'The meeting as the call page shows it (guests: ?guest=<link token>)' },
  'post /api/meetings/:id/join': { summary: 'Join the call: Jitsi domain, room, display name and JWT', body: joinBody },
  'post /api/meetings/:id/heartbeat': { summary: 'The call page is still in the call', body: presenceBody },
  'post /api/meetings/:id/leave': { summary: 'Leave the call (the last one out ends it)', body: presenceBody },
  'post /api/meetings/:id/recordings': {
    summary: 'Attach a recording: JSON with fileUrl, or a multipart upload (durationSeconds, file)',
    body: recordingInput,
  },
  'get /api/meetings/:id/recordings/:recordingId/file': { summary: 'An uploaded recording' },
  'post /api/meetings/:id/transcript': {
    summary: 'Attach the transcript (JSON text, or a multipart text file): kept as a searchable note',
    body: transcriptInput,
  },
  'get /api/meetings/feed': { summary: 'Whether you have a calendar feed' },
  'post /api/meetings/feed': { summary: 'A new secret calendar feed URL (the previous one stops working)' },
  'delete /api/meetings/feed': { summary: 'Turn your calendar feed off' },
  'get /api/meetings/feed/:file': { summary: 'A calendar feed (<token>.ics, no session: the token is the key)' },
  'get /t/o/:token.gif': {
    summary: 'Open pixel of tracked mail (public): always a 1x1 GIF, no-store; a valid token records the open',
    public: true,
  },
  'get /t/c/:token': {
    summary: 'Tracked link (public): 302 to the address that was in the message; 404 page for an invalid token',
    public: true,
  },
};

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
function responses(spec: RouteSpec | undefined) {
  const failures = {
    '4XX': errorAnswer('Refused: `error.code` says why (validation_failed with `fields`, not_found, forbidden, ...)'),
    default: errorAnswer('Failed on the server'),
  };
  if (!spec) return { '2XX': { description: 'Success' }, ...failures };
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
  const fallback = route.spec ? undefined : DESCRIBED[`${route.method} ${route.path}`];
  const spec = route.spec ?? fallback;
  const params = [...route.path.matchAll(/:(\w+)/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: paramSchema(m[1]!),
  }));
  const querySchema = spec?.query ? jsonSchema(spec.query, 'input') : undefined;
  const required = new Set((querySchema?.required ?? []) as string[]);
  const query = Object.entries((querySchema?.properties ?? {}) as Record<string, unknown>).map(([name, schema]) => ({
    name,
    in: 'query',
    required: required.has(name),
    schema,
  }));
  return {
    summary: spec?.summary ?? `${route.method.toUpperCase()} ${route.path}`,
    ...(spec?.public ? { security: [] } : {}),
    ...(params.length || query.length ? { parameters: [...params, ...query] } : {}),
    ...(spec?.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(spec.body, 'input') } } } }
      : {}),
    responses: responses(route.spec),
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
