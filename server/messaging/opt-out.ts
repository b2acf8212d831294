import type { ConsentService } from '../consent/consent.service.ts';
import type { UnitOfWork } from '../tenancy.ts';

/** The carriers' opt-out words (CTIA; what Twilio honours on long codes): the whole message, any case. */
export const STOP_WORDS = ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'END', 'QUIT', 'CANCEL', 'REVOKE', 'OPTOUT'] as const;
export const START_WORDS = ['START', 'UNSTOP'] as const;

/** The channels an inbound message can withdraw consent on (Discord webhooks have no subscriber to stop). */
export type OptOutChannel = 'sms' | 'whatsapp' | 'telegram';

export type OptIntent = 'stop' | 'start';

/**
 * What an inbound message asks of its sender's consent: SMS and WhatsApp, one keyword alone (trailing punctuation
 * and spaces ignored, "stop." counts, "please stop calling" does not); Telegram, the `/stop` or `/start` command
 * (also as `/stop@SomeBot`).
 */
export function optIntent(channel: string, text: string | null | undefined): OptIntent | null {
  if (!text) return null;
  const t = text.trim();
  if (channel === 'telegram') {
    const m = /^\/(stop|start)(?:@\w+)?(?:\s|$)/i.exec(t);
    return m ? (m[1]!.toLowerCase() as OptIntent) : null;
  }
  if (channel !== 'sms' && channel !== 'whatsapp') return null;
  const word = t.replace(/[\s.!]+$/u, '').toUpperCase();
  if ((STOP_WORDS as readonly string[]).includes(word)) return 'stop';
  if ((START_WORDS as readonly string[]).includes(word)) return 'start';
  return null;
}

export interface InboundOptOut {
  channel: string;
  /** The sender's E.164 number or chat id: the address its consent is kept under. */
  address: string;
  contactId: string | null;
  text: string | null;
  /** The provider's message id: the evidence of which message withdrew it. */
  providerMessageId?: string | null;
}

/**
 * The inbound job's one call per message (in its transaction): a stop word withdraws the sender's consent to the
 * whole channel (source `stop`, the message as evidence), a start word gives it back. Answers what it did.
 */
export async function applyOptOut(
  uow: UnitOfWork,
  consent: ConsentService,
  msg: InboundOptOut,
): Promise<OptIntent | null> {
  const intent = optIntent(msg.channel, msg.text);
  if (!intent) return null;
  const evidence = `${msg.channel} message${msg.providerMessageId ? ` ${msg.providerMessageId}` : ''}: ${msg.text!.trim().slice(0, 200)}`;
  await consent.set(uow, {
    channel: msg.channel as OptOutChannel,
    address: msg.address,
    listId: null,
    status: intent === 'stop' ? 'unsubscribed' : 'subscribed',
    source: 'stop',
    contactId: msg.contactId,
    evidence: { consentText: evidence },
  });
  return intent;
}
