import type { MikroORM } from '../../db/orm.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Secrets } from '../crypto/secrets.ts';
import type { AccessPort } from '../auth/access.ts';
import type { RecordsService } from '../crm/records.service.ts';
import type { ConversationsService } from '../inbox/conversations.service.ts';
import type { MailboxesService } from '../inbox/mailboxes.service.ts';
import type { JobQueue } from '../jobs/queue.ts';
import type { ActivitiesService } from '../timeline/activities.service.ts';
import type { Publisher } from '../timeline/publisher.ts';
import { inTenant, systemActor } from '../tenancy.ts';
import { MessagingAccountsService } from './accounts.service.ts';
import { MessagingInbound } from './inbound.service.ts';
import { MessagingOutbound } from './outbound.service.ts';
import { MessageTemplatesService } from './templates.service.ts';

/** The services of messaging (issue 19): accounts, webhooks in, sending out, templates. */
export interface MessagingServices {
  /** SMS / WhatsApp / Telegram / Discord accounts, each with its mailbox of kind `messaging`; secrets encrypted. */
  messagingAccounts: MessagingAccountsService;
  /** Webhooks stored once, then processed by the `messaging.event` job; `listeners` hear each inbound message. */
  messagingInbound: MessagingInbound;
  /** `send()` queues a message (WhatsApp window, templates); the `messaging.send` job hands it to the provider. */
  messagingOutbound: MessagingOutbound;
  messageTemplates: MessageTemplatesService;
}

export function messagingServices(deps: {
  orm: MikroORM;
  config: Config;
  log: Logger;
  secrets: Secrets;
  access: AccessPort;
  records: RecordsService;
  mailboxes: MailboxesService;
  conversations: ConversationsService;
  activities: ActivitiesService;
  publisher: Publisher;
  queue: JobQueue;
}): MessagingServices {
  const { orm, config } = deps;
  const log = deps.log.child({ component: 'messaging' });
  const messagingAccounts = new MessagingAccountsService({
    orm,
    secrets: deps.secrets,
    publicUrl: config.publicUrl,
    access: deps.access,
  });
  const apiBase = (provider: string) => config.messaging.apiBase[provider];
  // A provider with a `connect` step (Telegram's setWebhook) runs it after each save; a failure shows on the account.
  messagingAccounts.onSaved = async (tenantId, accountId) => {
    const account = await inTenant(orm, systemActor(tenantId), (uow) => messagingAccounts.load(uow, accountId));
    if (!account.provider.connect) return;
    try {
      await account.provider.connect(account.view, {
        apiBase: apiBase(account.row.provider),
        statusUrl: messagingAccounts.webhookUrl(account.row.provider, accountId, 'status'),
      });
      await messagingAccounts.setError(tenantId, accountId, null);
    } catch (err) {
      log.warn({ accountId, err: (err as Error).message }, 'messaging account could not connect');
      await messagingAccounts.setError(tenantId, accountId, (err as Error).message);
    }
  };
  messagingAccounts.onRemoved = async (account) => {
    await account.provider
      .disconnect?.(account.view, { apiBase: apiBase(account.row.provider), statusUrl: '' })
      .catch((err: unknown) =>
        log.warn({ accountId: account.row.id, err: (err as Error).message }, 'disconnect failed'),
      );
  };
  const shared = {
    orm,
    accounts: messagingAccounts,
    conversations: deps.conversations,
    activities: deps.activities,
    publisher: deps.publisher,
    queue: deps.queue,
    log,
  };
  return {
    messagingAccounts,
    messagingInbound: new MessagingInbound({ ...shared, records: deps.records }),
    messagingOutbound: new MessagingOutbound({ ...shared, mailboxes: deps.mailboxes, apiBase }),
    messageTemplates: new MessageTemplatesService(orm),
  };
}
