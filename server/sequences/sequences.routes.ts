import { z } from 'zod';
import { actorOf } from '../auth/auth.middleware.ts';
import { ApiRouter } from '../http/routes.ts';
import { idOf, parseBody, parseQuery } from '../http/validate.ts';
import type { Services } from '../services.ts';
import {
  enrolInput,
  enrolment,
  enrolmentDeal,
  enrolmentListQuery,
  enrolmentPage,
  enrolmentPatch,
  enrolResult,
  mailboxSending,
  mailboxSendingList,
  mailboxSendingPatch,
  sequence,
  sequenceCreate,
  sequenceList,
  sequenceListQuery,
  sequencePatch,
  sequenceReport,
  stepsPut,
} from '#contracts/sequences';

const uuid = z.uuid();

/**
 * Cold-email sequences: authoring, lifecycle, enrolment, each prospect's controls, the report, and the mailboxes'
 * sending rules. Owners and admins see every sequence, members their own; mailbox rules are set by admins.
 */
export function sequencesRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('/sequences');
  const q = s.sequences;
  const e = s.sequenceEnrolments;
  const id = (v: unknown) => idOf(v, 'Sequence');
  const eid = (v: unknown) => idOf(v, 'Enrolment');
  // A segment that is no id (`reputation`, another router's) is not ours: on to the routers mounted after this one.
  r.router.param('id', (_req, _res, next, value: string) => (uuid.safeParse(value).success ? next() : next('router')));

  r.get(
    '/mailboxes',
    { summary: 'Sending rules of the mailboxes you may send from', response: mailboxSendingList },
    async (req, res) => {
      res.json(await s.sequenceMailboxes.list(actorOf(req)));
    },
  );
  r.patch(
    '/mailboxes/:mailboxId',
    { summary: 'Set a mailbox’s sending rules (admins)', body: mailboxSendingPatch, response: mailboxSending },
    async (req, res) => {
      const mailboxId = idOf(req.params.mailboxId, 'Mailbox');
      res.json(await s.sequenceMailboxes.update(actorOf(req), mailboxId, parseBody(mailboxSendingPatch, req)));
    },
  );

  r.get('/', { summary: 'List sequences', query: sequenceListQuery, response: sequenceList }, async (req, res) => {
    res.json(await q.list(actorOf(req), parseQuery(sequenceListQuery, req)));
  });
  r.post(
    '/',
    { summary: 'Create a sequence (draft)', body: sequenceCreate, response: sequence, status: 201 },
    async (req, res) => {
      res.status(201).json(await q.create(actorOf(req), parseBody(sequenceCreate, req)));
    },
  );
  r.get('/:id', { summary: 'A sequence with its steps', response: sequence }, async (req, res) => {
    res.json(await q.get(actorOf(req), id(req.params.id)));
  });
  r.patch(
    '/:id',
    { summary: 'Edit name, owner, mailboxes or settings', body: sequencePatch, response: sequence },
    async (req, res) => {
      const sequenceId = id(req.params.id);
      res.json(await q.update(actorOf(req), sequenceId, parseBody(sequencePatch, req)));
    },
  );
  r.delete(
    '/:id',
    { summary: 'Delete a draft (any other sequence is archived)', response: 'empty' },
    async (req, res) => {
      await q.remove(actorOf(req), id(req.params.id));
      res.status(204).end();
    },
  );
  r.put(
    '/:id/steps',
    { summary: 'Replace the flow of steps (tokens and branches checked)', body: stepsPut, response: sequence },
    async (req, res) => {
      const sequenceId = id(req.params.id);
      res.json(await q.putSteps(actorOf(req), sequenceId, parseBody(stepsPut, req)));
    },
  );
  for (const [action, summary] of [
    ['launch', 'Launch a draft'],
    ['pause', 'Pause sending'],
    ['resume', 'Resume sending'],
    ['archive', 'Archive (stops every prospect still in it)'],
  ] as const)
    r.post(`/:id/${action}`, { summary, response: sequence }, async (req, res) => {
      res.json(await q[action](actorOf(req), id(req.params.id)));
    });
  r.get(
    '/:id/report',
    { summary: 'Numbers per step, per day and per mailbox', response: sequenceReport },
    async (req, res) => {
      res.json(await s.sequenceReports.report(actorOf(req), id(req.params.id)));
    },
  );

  r.get(
    '/:id/enrolments',
    { summary: 'Prospects of a sequence', query: enrolmentListQuery, response: enrolmentPage },
    async (req, res) => {
      const sequenceId = id(req.params.id);
      res.json(await e.list(actorOf(req), sequenceId, parseQuery(enrolmentListQuery, req)));
    },
  );
  r.post(
    '/:id/enrolments',
    { summary: 'Enrol prospects from a list, a selection or a CSV', body: enrolInput, response: enrolResult },
    async (req, res) => {
      const sequenceId = id(req.params.id);
      res.json(await e.enrol(actorOf(req), sequenceId, parseBody(enrolInput, req)));
    },
  );
  for (const [action, summary] of [
    ['stop', 'Stop a prospect’s sequence'],
    ['pause', 'Pause a prospect'],
    ['resume', 'Resume a prospect'],
  ] as const)
    r.post(`/:id/enrolments/:eid/${action}`, { summary, response: enrolment }, async (req, res) => {
      res.json(await e[action](actorOf(req), id(req.params.id), eid(req.params.eid)));
    });
  r.patch(
    '/:id/enrolments/:eid',
    { summary: 'Judge a prospect’s reply (positive or not)', body: enrolmentPatch, response: enrolment },
    async (req, res) => {
      const [sequenceId, enrolmentId] = [id(req.params.id), eid(req.params.eid)];
      const { positive } = parseBody(enrolmentPatch, req);
      res.json(await e.setPositive(actorOf(req), sequenceId, enrolmentId, positive));
    },
  );
  r.post(
    '/:id/enrolments/:eid/deal',
    { summary: 'Make a deal of a positive reply', response: enrolmentDeal, status: 201 },
    async (req, res) => {
      res.status(201).json(await e.createDeal(actorOf(req), id(req.params.id), eid(req.params.eid)));
    },
  );
  return r;
}
