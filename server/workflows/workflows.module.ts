import type { MikroORM } from '../../db/orm.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { Logger } from '../logger.ts';
import type { EventFeed } from '../timeline/feed.ts';
import type { TeamService } from '../team/team.service.ts';
import { WorkflowActions, type ActionDeps } from './actions.ts';
import type { CheckDeps } from './checks.ts';
import { WorkflowEngine } from './engine.ts';
import { FEED_CONSUMER, WorkflowsService } from './workflows.service.ts';

export interface WorkflowServices {
  /** Workflows and their versions and runs (members read, owners and admins edit). */
  workflows: WorkflowsService;
  /** Fires workflows (events, schedules, dates) and runs them step by step (the `workflows.run` job). */
  workflowEngine: WorkflowEngine;
}

/** The other domains' public services the workflows act through (named here: services.ts builds this module). */
export interface WorkflowDomains extends Omit<ActionDeps, 'enrolments' | 'webhooks'>, Omit<CheckDeps, 'webhooks'> {
  sequenceEnrolments: ActionDeps['enrolments'];
  webhooks: NonNullable<ActionDeps['webhooks']>;
  team: TeamService;
  feed: EventFeed;
}

/** Built once the other domains exist: every action goes through their public services. */
export function workflowServices(
  s: WorkflowDomains,
  deps: { orm: MikroORM; queue: JobQueue; log: Logger },
): WorkflowServices {
  const actions = new WorkflowActions({
    records: s.records,
    tasks: s.tasks,
    notes: s.notes,
    notifications: s.notifications,
    listMembers: s.listMembers,
    enrolments: s.sequenceEnrolments,
    // The webhooks domain's signed, SSRF-guarded one-off call.
    webhooks: s.webhooks,
    outbound: s.outbound,
    consent: s.consent,
  });
  const engine = new WorkflowEngine({
    orm: deps.orm,
    queue: deps.queue,
    actions,
    log: deps.log.child({ component: 'workflows' }),
  });
  engine.actorFor = (tenantId, userId) => s.team.actorFor(tenantId, userId);
  const workflows = new WorkflowsService(
    deps.orm,
    {
      records: s.records,
      customFields: s.customFields,
      team: s.team,
      lists: s.lists,
      sequences: s.sequences,
      templates: s.templates,
      mailboxes: s.mailboxes,
      webhooks: actions.webhooksAvailable,
    },
    s.feed,
  );
  // Events reach workflows through the durable feed: runs are written with the cursor's advance, once each.
  s.feed.register({ name: FEED_CONSUMER, handle: (uow, activities) => engine.handleActivities(uow, activities) });
  return { workflows, workflowEngine: engine };
}
