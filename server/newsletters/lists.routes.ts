import busboy from 'busboy';
import type { Request } from 'express';
import {
  addMembersInput,
  addMembersResult,
  listInput,
  listMemberPage,
  listPatch,
  mailingList,
  mailingListList,
  memberQuery,
  previewInput,
  segmentPreview,
  subscriberImport,
} from '#contracts/newsletter-lists';
import { actorOf } from '../auth/auth.middleware.ts';
import { HttpError } from '../http/errors.ts';
import { ApiRouter } from '../http/routes.ts';
import { idOf, parseBody, parseQuery } from '../http/validate.ts';
import type { Services } from '../services.ts';
import type { SubscriberImport } from '../../db/entities/subscriber-import.entity.ts';
import { importMapping, subscriberImportDto } from './subscriber-import.ts';

/** multipart/form-data: `mapping` (JSON: CSV header -> subscriber column), then `file` (CSV with a header row). */
function receiveImport(req: Request, s: Services, listId: string): Promise<SubscriberImport> {
  const actor = actorOf(req);
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { files: 1, fields: 2, fieldSize: 20_000 } });
    } catch {
      return reject(new HttpError(415, 'unsupported_media_type', 'Send the CSV as multipart/form-data'));
    }
    const fields: Record<string, string> = {};
    let started: Promise<SubscriberImport> | undefined;
    parser.on('field', (name, value) => (fields[name] = value));
    parser.on('file', (_name, stream, info) => {
      // A body cut short errors this stream too: the parser's error answers the request.
      stream.on('error', () => {});
      let mapping: unknown;
      try {
        mapping = JSON.parse(fields.mapping ?? 'null');
      } catch {
        mapping = null;
      }
      const parsed = importMapping.safeParse(mapping);
      if (!parsed.success) {
        stream.resume();
        const message = parsed.error.issues[0]?.message ?? 'is required';
        started = Promise.reject(
          new HttpError(400, 'validation_failed', 'The column mapping is not valid', {
            mapping: mapping === null ? 'is required (JSON, before the file)' : message,
          }),
        );
        return;
      }
      started = s.subscriberImports.create(actor, listId, parsed.data, {
        name: info.filename || 'subscribers.csv',
        stream,
      });
    });
    parser.on('error', (err) => reject(new HttpError(400, 'invalid_multipart', (err as Error).message)));
    parser.on('close', () => {
      if (!started)
        return reject(new HttpError(400, 'validation_failed', 'No file in the upload', { file: 'is required' }));
      started.then(resolve, reject);
    });
    req.pipe(parser);
  });
}

/** The evidence of a change made by the team: from where (the member's own request), kept with the consent. */
const evidenceOf = (req: Request) => ({ ip: req.ip ?? null, userAgent: req.get('user-agent')?.slice(0, 500) ?? null });

export function listsRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('/newsletters');

  r.get(
    '/lists',
    { summary: 'Newsletter lists and segments, with their counts', response: mailingListList },
    async (req, res) => {
      res.json({ items: await s.lists.list(actorOf(req)) });
    },
  );
  r.post(
    '/lists',
    { summary: 'Create a static list or a live segment', body: listInput, response: mailingList, status: 201 },
    async (req, res) => {
      res.status(201).json(await s.lists.create(actorOf(req), parseBody(listInput, req)));
    },
  );
  r.post(
    '/lists/preview',
    {
      summary: "A segment filter's live count and first contacts (for the builder)",
      body: previewInput,
      response: segmentPreview,
    },
    async (req, res) => {
      res.json(await s.lists.preview(actorOf(req), parseBody(previewInput, req).filter));
    },
  );
  r.get('/lists/:id', { summary: 'A list with its counts', response: mailingList }, async (req, res) => {
    res.json(await s.lists.get(actorOf(req), idOf(req.params.id, 'List')));
  });
  r.patch(
    '/lists/:id',
    { summary: "Edit a list's settings (or archive it) at a version", body: listPatch, response: mailingList },
    async (req, res) => {
      const id = idOf(req.params.id, 'List');
      res.json(await s.lists.update(actorOf(req), id, parseBody(listPatch, req)));
    },
  );
  r.delete(
    '/lists/:id',
    { summary: 'Delete a list (409 while a campaign is sending to it)', response: 'empty' },
    async (req, res) => {
      await s.lists.remove(actorOf(req), idOf(req.params.id, 'List'));
      res.status(204).end();
    },
  );
  r.get(
    '/lists/:id/preview',
    { summary: "A list's live count and first members", response: segmentPreview },
    async (req, res) => {
      res.json(await s.lists.previewList(actorOf(req), idOf(req.params.id, 'List')));
    },
  );
  r.get(
    '/lists/:id/members',
    { summary: "A list's members (keyset pages by address)", query: memberQuery, response: listMemberPage },
    async (req, res) => {
      const id = idOf(req.params.id, 'List');
      res.json(await s.listMembers.members(actorOf(req), id, parseQuery(memberQuery, req)));
    },
  );
  r.post(
    '/lists/:id/members',
    {
      summary: 'Subscribe CRM contacts (by id, company or saved view) to a static list',
      body: addMembersInput,
      response: addMembersResult,
    },
    async (req, res) => {
      const id = idOf(req.params.id, 'List');
      res.json(await s.listMembers.add(actorOf(req), id, parseBody(addMembersInput, req), evidenceOf(req)));
    },
  );
  r.delete(
    '/lists/:id/members/:contactId',
    { summary: 'Take a contact off a static list (kept as unsubscribed)', response: 'empty' },
    async (req, res) => {
      const id = idOf(req.params.id, 'List');
      await s.listMembers.remove(actorOf(req), id, idOf(req.params.contactId, 'Member'));
      res.status(204).end();
    },
  );
  r.post(
    '/lists/:id/import',
    {
      summary: 'Import subscribers from a CSV (multipart/form-data: mapping, then file); poll it for progress',
      response: subscriberImport,
      status: 202,
    },
    async (req, res) => {
      const id = idOf(req.params.id, 'List');
      // Another workspace's list is a 404 before the upload is read.
      await s.lists.get(actorOf(req), id);
      res.status(202).json(subscriberImportDto(await receiveImport(req, s, id)));
    },
  );
  r.get(
    '/lists/:id/imports/:importId',
    { summary: "A subscriber import's progress, row errors and skipped addresses", response: subscriberImport },
    async (req, res) => {
      const id = idOf(req.params.id, 'List');
      res.json(
        subscriberImportDto(await s.subscriberImports.get(actorOf(req), id, idOf(req.params.importId, 'Import'))),
      );
    },
  );
  return r;
}
