import { CompanySchema } from '../../db/entities/company.entity.ts';
import { ContactSchema, type Contact } from '../../db/entities/contact.entity.ts';
import { ConversationSchema, type Conversation } from '../../db/entities/conversation.entity.ts';
import type { Mailbox } from '../../db/entities/mailbox.entity.ts';
import { HttpError, notFound } from '../http/errors.ts';
import type { MailboxesService } from '../inbox/mailboxes.service.ts';
import type { UnitOfWork } from '../tenancy.ts';
import { TokenError, type TokenValues } from './tokens.ts';

/** Where token values come from: a conversation (its contact, company and mailbox), or a contact and a mailbox. */
export interface ContextSource {
  conversationId?: string | undefined;
  contactId?: string | undefined;
  mailboxId?: string | undefined;
}

export interface TokenContext {
  values: TokenValues;
  conversation: Conversation | null;
  contact: Contact | null;
  mailbox: Mailbox | null;
}

/** A conversation the actor may see (its mailbox is visible to them), else 404. */
export async function visibleConversation(
  uow: UnitOfWork,
  mailboxes: MailboxesService,
  id: string,
): Promise<{ conversation: Conversation; mailbox: Mailbox }> {
  const conversation = await uow.em.findOne(ConversationSchema, { id });
  if (!conversation) throw notFound('Conversation');
  try {
    return { conversation, mailbox: await mailboxes.findVisible(uow, conversation.mailboxId) };
  } catch {
    throw notFound('Conversation');
  }
}

export async function tokenContext(
  uow: UnitOfWork,
  mailboxes: MailboxesService,
  source: ContextSource,
): Promise<TokenContext> {
  let conversation: Conversation | null = null;
  let mailbox: Mailbox | null = null;
  if (source.conversationId) {
    ({ conversation, mailbox } = await visibleConversation(uow, mailboxes, source.conversationId));
  } else if (source.mailboxId) {
    mailbox = await mailboxes.findVisible(uow, source.mailboxId);
  }
  const contactId = source.contactId ?? conversation?.contactId ?? null;
  const contact = contactId ? await uow.em.findOne(ContactSchema, { id: contactId }) : null;
  if (source.contactId && !contact) throw notFound('Contact');
  const companyId = conversation?.companyId ?? contact?.companyId ?? null;
  const company = companyId ? await uow.em.findOne(CompanySchema, { id: companyId }) : null;
  return {
    conversation,
    contact,
    mailbox,
    values: {
      'contact.first_name': contact?.firstName,
      'contact.last_name': contact?.lastName,
      'contact.email': contact?.email,
      'company.name': company?.name,
      'user.name': uow.actor.system ? null : uow.actor.userName,
      'mailbox.name': mailbox?.name,
    },
  };
}

/** A refused token: 422 `unknown_token`, with the field and its position (line, column, offset). */
export class TokenHttpError extends HttpError {
  readonly position: { field: string; line: number; column: number; offset: number; token: string; reason: string };

  constructor(field: string, err: TokenError) {
    const where = `line ${err.position.line}, column ${err.position.column}`;
    super(422, 'unknown_token', `${err.message} in the ${field} at ${where}`, {
      [field]: `${err.message} at ${where}`,
    });
    this.position = { field, ...err.position, token: err.token, reason: err.reason };
  }
}

/** Runs `fn`, turning a TokenError into a TokenHttpError for `field`. */
export function checkTokens<T>(field: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TokenError) throw new TokenHttpError(field, err);
    throw err;
  }
}
