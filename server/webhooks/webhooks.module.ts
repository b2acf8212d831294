import type { MikroORM } from '../../db/orm.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Secrets } from '../crypto/secrets.ts';
import type { RecordsService } from '../crm/records.service.ts';
import type { NotificationsService } from '../timeline/notifications.service.ts';
import type { EventFeed } from '../timeline/feed.ts';
import { HttpTargetPolicy } from '../net/http-target.ts';
import { WebhookSender } from './webhook-sender.ts';
import { webhookEvents } from './webhook-events.ts';
import { WebhooksService } from './webhooks.service.ts';

/** Outbound webhooks wired: the service, its sender, and its consumer of the event feed. */
export function webhookServices(deps: {
  orm: MikroORM;
  config: Config;
  log: Logger;
  secrets: Secrets;
  feed: EventFeed;
  records: RecordsService;
  notifications: NotificationsService;
}): { webhooks: WebhooksService; webhookSender: WebhookSender } {
  const config = deps.config.webhooks;
  const policy = new HttpTargetPolicy({ allowedHosts: config.allowedHosts });
  const sender = new WebhookSender({
    orm: deps.orm,
    policy,
    secrets: deps.secrets,
    notifications: deps.notifications,
    config,
    log: deps.log.child({ component: 'webhooks' }),
  });
  deps.feed.register(
    webhookEvents({
      records: deps.records,
      windowSeconds: () => config.retryWindowSeconds,
      wake: (tenantId) => sender.wake(tenantId),
    }),
  );
  const webhooks = new WebhooksService({
    orm: deps.orm,
    secrets: deps.secrets,
    policy,
    feed: deps.feed,
    sender,
    config,
  });
  return { webhooks, webhookSender: sender };
}
