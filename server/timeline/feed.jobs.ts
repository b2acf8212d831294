import type { DomainJobs } from '../jobs/queue.ts';
import type { EventFeed } from './feed.ts';

/**
 * The event feed's consumers run on worker nodes: at once when an activity commits in this process, and every
 * `sweepMs` for what other nodes wrote. The cursors' row locks decide which node reads a workspace.
 */
export function feedJobs(deps: { feed: EventFeed; sweepMs: number }): DomainJobs {
  return {
    async queues() {},
    async work() {
      deps.feed.run(deps.sweepMs);
    },
    stop: () => deps.feed.stop(),
  };
}
