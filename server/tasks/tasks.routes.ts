import { task, taskCreate, taskPage, taskPatch, taskQuery, taskSummary } from '#contracts/tasks';
import { actorOf } from '../auth/auth.middleware.ts';
import { ApiRouter } from '../http/routes.ts';
import { idOf, parseBody, parseQuery } from '../http/validate.ts';
import type { Services } from '../services.ts';

export function tasksRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('/tasks');

  const listSpec = {
    summary: 'Tasks of the workspace: open ones by due date (undated last), buckets in the workspace’s time zone',
    query: taskQuery,
    response: taskPage,
  };
  r.get('/', listSpec, async (req, res) => {
    res.json(await s.tasks.list(actorOf(req), parseQuery(taskQuery, req)));
  });
  const summarySpec = {
    summary: 'Your open tasks per bucket: overdue, today, upcoming, no date',
    response: taskSummary,
  };
  r.get('/summary', summarySpec, async (req, res) => {
    res.json(await s.tasks.summary(actorOf(req)));
  });
  const createSpec = {
    summary: 'Create a task (assigned to you unless said otherwise), about a record or a conversation',
    body: taskCreate,
    response: task,
    status: 201,
  };
  r.post('/', createSpec, async (req, res) => {
    res.status(201).json(await s.tasks.create(actorOf(req), parseBody(taskCreate, req)));
  });
  r.get('/:id', { summary: 'A task', response: task }, async (req, res) => {
    res.json(await s.tasks.get(actorOf(req), idOf(req.params.id, 'Task')));
  });
  const patchSpec = {
    summary: 'Change a task made on `version` (409 if stale); `done: true` completes it, `done: false` reopens it',
    body: taskPatch,
    response: task,
  };
  r.patch('/:id', patchSpec, async (req, res) => {
    res.json(await s.tasks.update(actorOf(req), idOf(req.params.id, 'Task'), parseBody(taskPatch, req)));
  });
  r.delete('/:id', { summary: 'Delete a task', response: 'empty' }, async (req, res) => {
    await s.tasks.remove(actorOf(req), idOf(req.params.id, 'Task'));
    res.status(204).end();
  });
  return r;
}
