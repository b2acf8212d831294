import { z } from 'zod';
import { workflow, workflowInput, workflowList, workflowPatch, workflowRunList } from '#contracts/workflows';
import { actorOf } from '../auth/auth.middleware.ts';
import { ApiRouter } from '../http/routes.ts';
import { idOf, parseBody, parseQuery } from '../http/validate.ts';
import type { Services } from '../services.ts';

const runsQuery = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }).strict();

export function workflowsRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('/workflows');
  const wf = (req: { params: Record<string, unknown> }) => idOf(req.params.id, 'Workflow');

  r.get(
    '/',
    { summary: 'Workflows of the workspace, with their run count and last run', response: workflowList },
    async (req, res) => {
      res.json(await s.workflows.list(actorOf(req)));
    },
  );
  const createSpec = {
    summary: 'Create a workflow (owners and admins): trigger, conditions and steps, checked against the workspace',
    body: workflowInput,
    response: workflow,
    status: 201,
  };
  r.post('/', createSpec, async (req, res) => {
    res.status(201).json(await s.workflows.create(actorOf(req), parseBody(workflowInput, req)));
  });
  r.get('/:id', { summary: 'A workflow and its current definition', response: workflow }, async (req, res) => {
    res.json(await s.workflows.get(actorOf(req), wf(req)));
  });
  const patchSpec = {
    summary: 'Rename, switch on or off, or save a new definition (a new version; started runs keep theirs)',
    body: workflowPatch,
    response: workflow,
  };
  r.patch('/:id', patchSpec, async (req, res) => {
    res.json(await s.workflows.update(actorOf(req), wf(req), parseBody(workflowPatch, req)));
  });
  r.delete('/:id', { summary: 'Delete a workflow and its runs', response: 'empty' }, async (req, res) => {
    await s.workflows.remove(actorOf(req), wf(req));
    res.status(204).end();
  });
  const runsSpec = {
    summary: 'Runs of a workflow, newest first, each with its step log',
    query: runsQuery,
    response: workflowRunList,
  };
  r.get('/:id/runs', runsSpec, async (req, res) => {
    res.json(await s.workflows.runs(actorOf(req), wf(req), parseQuery(runsQuery, req).limit));
  });
  return r;
}
