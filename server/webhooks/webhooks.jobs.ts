import type { DomainJobs } from '../jobs/queue.ts';
import type { WebhookSender } from './webhook-sender.ts';

/** Worker nodes send webhook deliveries: at once when this process wrote them, and by polling for retries. */
export function webhooksJobs(deps: { sender: WebhookSender }): DomainJobs {
  return {
    async queues() {},
    async work() {
      deps.sender.run();
    },
    stop: () => deps.sender.stop(),
  };
}
