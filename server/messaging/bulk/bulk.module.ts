import type { MikroORM } from '../../../db/orm.ts';
import type { ConsentService } from '../../consent/consent.service.ts';
import type { BulkEngine } from '../../delivery/bulk/engine.ts';
import type { ConversationsService } from '../../inbox/conversations.service.ts';
import type { MailboxesService } from '../../inbox/mailboxes.service.ts';
import type { Logger } from '../../logger.ts';
import type { MessagingServices } from '../messaging.module.ts';
import type { RecordsService } from '../../crm/records.service.ts';
import { MessagingBotService } from '../bot/bot.service.ts';
import { applyOptOut } from '../opt-out.ts';
import { BulkMessageHandler } from './bulk-handler.ts';
import { BulkMessagesService } from './bulk-messages.service.ts';

/** Bulk messages and the chatbot (issue 19); the engine's source and the inbound listener are wired by `wireBulkMessaging`. */
export interface BulkMessagingServices {
  bulkMessages: BulkMessagesService;
  /** Chatbot rules per account; its inbound listener is added by `wireBulkMessaging`. */
  messagingBot: MessagingBotService;
}

export function bulkMessagingServices(deps: {
  orm: MikroORM;
  mailboxes: MailboxesService;
  records: RecordsService;
  log: Logger;
}): BulkMessagingServices {
  return {
    bulkMessages: new BulkMessagesService(deps),
    messagingBot: new MessagingBotService({ ...deps, log: deps.log.child({ component: 'messaging-bot' }) }),
  };
}

/**
 * Plugs bulk messaging into the engine and the inbound job: the `bulk_message` handler, and the opt-out listener
 * (an inbound STOP / START / Telegram /stop changes the sender's consent to the channel in the message's transaction).
 */
export function wireBulkMessaging(
  s: MessagingServices &
    BulkMessagingServices & {
      bulk: BulkEngine;
      consent: ConsentService;
      conversations: ConversationsService;
    },
  deps: { orm: MikroORM; log: Logger },
): void {
  s.bulkMessages.bulk = s.bulk;
  s.messagingBot.outbound = s.messagingOutbound;
  s.bulk.register(
    new BulkMessageHandler({
      orm: deps.orm,
      accounts: s.messagingAccounts,
      outbound: s.messagingOutbound,
      conversations: s.conversations,
    }),
  );
  s.messagingInbound.listeners.push(async (uow, event) => {
    const [c] = (await uow.em.execute(`select contact_id from conversations where id = ?`, [
      event.conversation.id,
    ])) as {
      contact_id: string | null;
    }[];
    const did = await applyOptOut(uow, s.consent, {
      channel: event.channel,
      address: event.party,
      contactId: c?.contact_id ?? null,
      text: event.text,
      providerMessageId: event.message.id,
    });
    if (did) deps.log.info({ channel: event.channel, intent: did }, 'messaging consent changed by keyword');
    // A stop word is not a question for the bot.
    else await s.messagingBot.onInbound(uow, event);
  });
}
