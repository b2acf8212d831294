import { z } from 'zod';
import {
  linkedExternalId,
  linkedKind,
  linkedKindCreate,
  linkedKindKey,
  linkedKindList,
  linkedKindPatch,
  linkedRecord,
  linkedRecordEvent,
  linkedRecordPage,
  linkedRecordQuery,
  linkedRecordUpsert,
  linkedSource,
  linkedUpsertResult,
} from '#contracts/linked-records';
import { activity } from '#contracts/timeline';
import { actorOf } from '../auth/auth.middleware.ts';
import { validationError } from '../http/errors.ts';
import { ApiRouter } from '../http/routes.ts';
import { idOf, parseBody, parseQuery } from '../http/validate.ts';
import type { Services } from '../services.ts';

const keyParams = z.object({ source: linkedSource, kind: linkedKindKey, externalId: linkedExternalId });

function keyOf(params: Record<string, unknown>) {
  const result = keyParams.safeParse(params);
  if (!result.success) throw validationError(result.error, 'params');
  return result.data;
}

/** Linked records of other modules (projects, invoices, production jobs…) and the workspace's kinds of them. */
export function linkedRecordsRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('/linked-records');

  // The kinds first: `/kinds` is not a record's id.
  r.get(
    '/kinds',
    { summary: 'Kinds of linked records: built-in and the workspace’s own', response: linkedKindList },
    async (req, res) => {
      res.json({ items: await s.linkedKinds.list(actorOf(req)) });
    },
  );
  const kindCreate = {
    summary: 'Define a kind of linked record and the company card tab that lists it (owners and admins)',
    body: linkedKindCreate,
    response: linkedKind,
    status: 201,
  };
  r.post('/kinds', kindCreate, async (req, res) => {
    res.status(201).json(await s.linkedKinds.create(actorOf(req), parseBody(linkedKindCreate, req)));
  });
  const kindPatch = { summary: 'Rename a kind or move it to another tab', body: linkedKindPatch, response: linkedKind };
  r.patch('/kinds/:id', kindPatch, async (req, res) => {
    const id = idOf(req.params.id, 'Kind');
    res.json(await s.linkedKinds.update(actorOf(req), id, parseBody(linkedKindPatch, req)));
  });
  r.delete('/kinds/:id', { summary: 'Remove a kind no record uses', response: 'empty' }, async (req, res) => {
    await s.linkedKinds.remove(actorOf(req), idOf(req.params.id, 'Kind'));
    res.status(204).end();
  });

  const listSpec = {
    summary: 'Linked records of a company (with its contacts’ and deals’), a contact or a deal, newest change first',
    query: linkedRecordQuery,
    response: linkedRecordPage,
  };
  r.get('/', listSpec, async (req, res) => {
    res.json(await s.linkedRecords.list(actorOf(req), parseQuery(linkedRecordQuery, req)));
  });
  r.get('/:id', { summary: 'A linked record', response: linkedRecord }, async (req, res) => {
    res.json(await s.linkedRecords.get(actorOf(req), idOf(req.params.id, 'Linked record')));
  });
  const byKey = { summary: 'A linked record by its source, kind and external id', response: linkedRecord };
  r.get('/:source/:kind/:externalId', byKey, async (req, res) => {
    res.json(await s.linkedRecords.getByKey(actorOf(req), keyOf(req.params)));
  });
  const upsertSpec = {
    summary:
      'Create or replace a linked record by source, kind and external id (idempotent; an upsert older than the ' +
      'stored one by its `updatedAt` is answered `stale` and changes nothing); 201 when created',
    body: linkedRecordUpsert,
    response: linkedUpsertResult,
  };
  r.put('/:source/:kind/:externalId', upsertSpec, async (req, res) => {
    const key = keyOf(req.params);
    const result = await s.linkedRecords.upsert(actorOf(req), key, parseBody(linkedRecordUpsert, req));
    res.status(result.outcome === 'created' ? 201 : 200).json(result);
  });
  r.delete('/:id', { summary: 'Remove a linked record', response: 'empty' }, async (req, res) => {
    await s.linkedRecords.remove(actorOf(req), idOf(req.params.id, 'Linked record'));
    res.status(204).end();
  });
  const eventSpec = {
    summary: 'Post a milestone of a linked record (a production phase done, an invoice paid) to its timeline',
    body: linkedRecordEvent,
    response: activity,
    status: 201,
  };
  r.post('/:id/events', eventSpec, async (req, res) => {
    const id = idOf(req.params.id, 'Linked record');
    res.status(201).json(await s.linkedRecords.postEvent(actorOf(req), id, parseBody(linkedRecordEvent, req)));
  });
  return r;
}
