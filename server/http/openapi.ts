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
import { mailboxInput, mailboxPatch } from '../inbox/mailboxes.service.ts';
import { conversationListQuery } from '../inbox/conversations.service.ts';
import {
  joinBody,
  meetingInput,
  meetingListQuery,
  meetingPatch,
  presenceBody,
  recordingInput,
  transcriptInput,
} from '../meetings/meetings.schemas.ts';

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
  'post /api/inbox/mailboxes': { summary: 'Create a mailbox (admins)', body: mailboxInput },
  'patch /api/inbox/mailboxes/:id': { summary: 'Rename or configure a mailbox (admins)', body: mailboxPatch },
  'get /api/inbox/conversations': { summary: 'Conversations, latest first', query: conversationListQuery },
  'get /api/inbox/messages/:id/raw': { summary: 'A received message as it arrived (message/rfc822)' },
  'post /api/inbox/inbound/:id/retry': { summary: 'Process a failed message again (admins)' },
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
