import { createReadStream } from 'node:fs';
import type { Response } from 'express';
import type { Readable } from 'node:stream';
import { ApiRouter } from '../http/routes.ts';
import { notFound } from '../http/errors.ts';
import { parseBody, parseQuery, idOf } from '../http/validate.ts';
import { actorOf } from '../auth/auth.middleware.ts';
import { visibleBidi } from '../text.ts';
import type { Services } from '../services.ts';
import { type Message as MessageEntity, emailOf } from '../../db/entities/message.entity.ts';
import {
  conversationCountsQuery,
  conversationDetail,
  conversationListQuery,
  conversationPage,
  conversationPatch,
  conversationRead,
  conversationSummary,
  failedInboundList,
  inboundRetry,
  inboxCounts,
  mailbox,
  mailboxInput,
  mailboxList,
  mailboxPatch,
  type FailedInbound,
  type Message,
  type MessageStatus,
} from '#contracts/inbox';
import { note, noteList } from '#contracts/crm';
import { noteOnConversationInput } from './conversations.service.ts';

/** Images a browser may show inline from a message; anything else is a download. */
const INLINE_IMAGES = /^image\/(png|jpeg|gif|webp)$/;

function send(res: Response, stream: Readable, type: string, fileName: string, inline: boolean) {
  res.setHeader('Content-Type', type);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
  if (inline) res.setHeader('Content-Disposition', 'inline');
  else res.attachment(visibleBidi(fileName)).setHeader('Content-Type', type);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;

const messageDto = (m: MessageEntity): Message => ({
  id: m.id,
  direction: m.direction,
  classification: m.classification,
  messageId: m.messageIdHeader ?? null,
  inReplyTo: emailOf(m).inReplyTo ?? null,
  from: m.fromAddress ? { address: m.fromAddress, name: m.fromName ?? '' } : null,
  to: emailOf(m).to,
  cc: emailOf(m).cc,
  subject: m.subject,
  text: m.text ?? null,
  html: m.html ?? null,
  hasRemoteImages: m.hasRemoteImages,
  sentAt: iso(m.sentAt),
  receivedAt: m.createdAt.toISOString(),
  auth: emailOf(m).auth ?? null,
  /** How it was read: duplicate_message_id, yenc, partial, tnef, html_replaced_by_text. */
  notices: m.notices,
  attachments: m.attachments.map((a) => ({
    ...a,
    url: `/api/inbox/messages/${m.id}/attachments/${a.documentId}`,
  })),
  contactId: m.contactId ?? null,
  companyId: m.companyId ?? null,
  status: (m.status ?? null) as MessageStatus | null,
  error: m.error ?? null,
  channel: m.channel,
  toAddress: m.toAddress ?? null,
  errorCode: m.errorCode ?? null,
  /** Outbound from a tracking mailbox: human opens and clicks (machine ones are not counted). */
  tracking:
    m.direction === 'outbound'
      ? { opens: m.openCount, openedAt: iso(m.openedAt), clicks: m.clickCount, clickedAt: iso(m.clickedAt) }
      : null,
  /** The teammate who sent it (outbound). */
  sentBy: m.sentBy ?? null,
  inboundId: m.inboundMessageId ?? null,
  raw: m.inboundMessageId ? `/api/inbox/messages/${m.id}/raw` : null,
});

/** Mailboxes, conversations and their messages (the shared inbox builds on these). */
export function inboxRoutes(s: Services): ApiRouter {
  const r = new ApiRouter('/inbox');

  r.get('/mailboxes', { summary: 'List the mailboxes this user sees', response: mailboxList }, async (req, res) => {
    res.json({ items: await s.mailboxes.list(actorOf(req)) });
  });
  r.post(
    '/mailboxes',
    { summary: 'Create a mailbox', body: mailboxInput, response: mailbox, status: 201 },
    async (req, res) => {
      res.status(201).json(await s.mailboxes.create(actorOf(req), parseBody(mailboxInput, req)));
    },
  );
  r.get('/mailboxes/:id', { summary: 'A mailbox and its settings', response: mailbox }, async (req, res) => {
    res.json(await s.mailboxes.get(actorOf(req), idOf(req.params.id)));
  });
  r.patch(
    '/mailboxes/:id',
    { summary: 'Change a mailbox', body: mailboxPatch, response: mailbox },
    async (req, res) => {
      res.json(await s.mailboxes.update(actorOf(req), idOf(req.params.id), parseBody(mailboxPatch, req)));
    },
  );
  r.delete(
    '/mailboxes/:id',
    { summary: 'Delete a mailbox and its conversations', response: 'empty' },
    async (req, res) => {
      await s.mailboxes.remove(actorOf(req), idOf(req.params.id));
      res.status(204).end();
    },
  );

  const listSpec = { summary: 'List conversations', query: conversationListQuery, response: conversationPage };
  r.get('/conversations', listSpec, async (req, res) => {
    res.json(await s.conversations.list(actorOf(req), parseQuery(conversationListQuery, req)));
  });
  r.get(
    '/conversations/:id',
    { summary: 'A conversation and its messages', response: conversationDetail },
    async (req, res) => {
      const { conversation, messages } = await s.conversations.get(actorOf(req), idOf(req.params.id));
      res.json({ ...conversation, messages: messages.map(messageDto) });
    },
  );
  const patchSpec = { summary: 'Change status, assignee, tags or snooze', body: conversationPatch };
  r.patch('/conversations/:id', { ...patchSpec, response: conversationSummary }, async (req, res) => {
    const id = idOf(req.params.id);
    res.json(await s.conversations.update(actorOf(req), id, parseBody(conversationPatch, req)));
  });
  r.post(
    '/conversations/:id/read',
    { summary: 'Mark read for this user', response: conversationRead },
    async (req, res) => {
      res.json(await s.conversations.markRead(actorOf(req), idOf(req.params.id)));
    },
  );
  r.get('/conversations/:id/notes', { summary: 'Internal notes', response: noteList }, async (req, res) => {
    res.json({ items: await s.notes.list(actorOf(req), 'conversation', idOf(req.params.id)) });
  });
  const noteSpec = { summary: 'Add an internal note', body: noteOnConversationInput, response: note, status: 201 };
  r.post('/conversations/:id/notes', noteSpec, async (req, res) => {
    const id = idOf(req.params.id);
    const input = parseBody(noteOnConversationInput, req);
    const note = await s.notes.create(actorOf(req), {
      entityType: 'conversation',
      entityId: id,
      content: input.content,
      mentions: input.mentions,
      noteType: input.noteType,
      isPinned: input.isPinned,
    });
    res.status(201).json(note);
  });
  const countsSpec = { summary: 'Sidebar counts', query: conversationCountsQuery, response: inboxCounts };
  r.get('/counts', countsSpec, async (req, res) => {
    res.json(await s.conversations.counts(actorOf(req), parseQuery(conversationCountsQuery, req)));
  });
  r.get(
    '/messages/:id/raw',
    { summary: 'A message as it arrived', response: { file: 'message/rfc822' } },
    async (req, res) => {
      const raw = await s.conversations.raw(actorOf(req), idOf(req.params.id));
      send(res, createReadStream(raw.path), 'message/rfc822', `${req.params.id}.eml`, false);
    },
  );
  const attachmentSpec = { summary: 'An attachment of a message', response: { file: 'application/octet-stream' } };
  r.get('/messages/:id/attachments/:documentId', attachmentSpec, async (req, res) => {
    const { meta, stream } = await s.conversations.attachment(actorOf(req), idOf(req.params.id), {
      documentId: idOf(req.params.documentId),
    });
    const image = INLINE_IMAGES.test(meta.contentType);
    send(res, stream, image ? meta.contentType : 'application/octet-stream', meta.fileName, false);
  });
  r.get(
    '/messages/:id/cid/:cid',
    { summary: 'An inline image of a message', response: { file: 'image/*' } },
    async (req, res) => {
      const { meta, stream } = await s.conversations.attachment(actorOf(req), idOf(req.params.id), {
        cid: String(req.params.cid).slice(0, 998),
      });
      if (!INLINE_IMAGES.test(meta.contentType)) {
        stream.destroy();
        throw notFound('Image');
      }
      res.setHeader('Cache-Control', 'private, max-age=86400');
      send(res, stream, meta.contentType, meta.fileName, true);
    },
  );

  r.get(
    '/failed',
    { summary: 'Mail that could not be read (admins)', response: failedInboundList },
    async (req, res) => {
      const rows = await s.conversations.failed(actorOf(req));
      res.json({
        items: rows.map((m): FailedInbound => ({
          id: m.id,
          mailboxId: m.mailboxId,
          mailFrom: m.mailFrom ?? null,
          rcptTo: m.rcptTo,
          size: m.size,
          error: m.error ?? null,
          attempts: m.attempts,
          receivedAt: m.createdAt.toISOString(),
          raw: `/api/inbox/inbound/${m.id}/raw`,
        })),
      });
    },
  );
  const inboundSpec = { summary: 'Unreadable mail as it arrived', response: { file: 'message/rfc822' } };
  r.get('/inbound/:id/raw', inboundSpec, async (req, res) => {
    const { path } = await s.conversations.inbound(actorOf(req), idOf(req.params.id));
    send(res, createReadStream(path), 'message/rfc822', `${req.params.id}.eml`, false);
  });
  const retrySpec = { summary: 'Read unreadable mail again', response: inboundRetry, status: 202 };
  r.post('/inbound/:id/retry', retrySpec, async (req, res) => {
    const row = await s.conversations.retryInbound(actorOf(req), idOf(req.params.id));
    res.status(202).json({ id: row.id, status: row.status });
  });
  return r;
}
